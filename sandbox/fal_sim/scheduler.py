"""The queue: scheduling waiting requests onto free slots, running an attempt, and completing a
request with its outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Mapping

from aiohttp import ClientError, ClientTimeout

from sandbox.fal_sim.constants import ERR_CANCELLED, MODEL_ERRORS, OUTPUT_FILE_NAME
from sandbox.fal_sim.errors import model_error_body, request_error_body
from sandbox.fal_sim.records import ImageFetch, QueueRequest, QueueStatus, StoredFile
from sandbox.fal_sim.validation import banned_loc, image_inputs
from sandbox.fal_sim.values import is_image_type, is_loopback
from sandbox.fal_sim.webhooks import WebhooksLayer
from sandbox.sim_common.values import is_http_url


class SchedulerLayer(WebhooksLayer):
    """Scheduling, runs and outcomes."""

    def _enqueue(self, req: QueueRequest) -> None:
        """Append to the queue; normal priority goes ahead of every waiting low-priority request."""
        req.status = QueueStatus.IN_QUEUE
        if req.priority == "low":
            self._waiting.append(req)
            return
        index = next((i for i, r in enumerate(self._waiting) if r.priority == "low"), len(self._waiting))
        self._waiting.insert(index, req)

    async def _scheduler(self) -> None:
        """Move waiting requests to free slots (and expire start deadlines) whenever something changes."""
        while True:
            self._wake.clear()
            timeout = self._dispatch()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _dispatch(self) -> float | None:
        """One scheduling pass; return when to look again (None: on the next kick)."""
        now = asyncio.get_running_loop().time()
        recheck: list[float] = []
        for req in list(self._waiting):
            if req.deadline is not None and now >= req.deadline:
                self._waiting.remove(req)
                status, body = request_error_body("request_timeout")
                headers = {"X-Fal-Error-Type": "request_timeout", "X-Fal-Request-Timeout-Type": "user"}
                self._complete(
                    req, status, body, headers, error=str(body["detail"]), error_type="request_timeout"
                )
            elif req.deadline is not None:
                recheck.append(req.deadline - now)
        running = len(self.running_ids())
        for req in list(self._waiting):
            if running >= self.config.concurrency:
                break
            if req.ready_at > now:
                recheck.append(req.ready_at - now)
                continue
            if self.faults.stuck_queued and not req.released.is_set():
                continue  # switching the knob off or releasing kicks the scheduler
            self._waiting.remove(req)
            self._start(req)
            running += 1
        return max(0.0, min(recheck)) if recheck else None

    def _start(self, req: QueueRequest) -> None:
        req.status = QueueStatus.IN_PROGRESS
        req.attempts += 1
        if req.attempts > 1:
            req.gateway_request_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        req.started_at = asyncio.get_running_loop().time()
        self._notify(req)
        req.task = self._spawn(self._run(req))

    def _stop_run(self, req: QueueRequest) -> None:
        if req in self._waiting:
            self._waiting.remove(req)
        if req.task is not None and not req.task.done() and req.task is not asyncio.current_task():
            req.task.cancel()

    def _cancel_now(self, req: QueueRequest) -> bool:
        return req.cancel_requested and not self.config.cancel_running_finishes

    async def _wait_while(self, req: QueueRequest, condition: Callable[[], bool]) -> None:
        """Wait while ``condition`` holds (re-read often, so switching a knob off works) or until release."""
        while condition() and not req.released.is_set() and not self._cancel_now(req):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(req.released.wait(), 0.02)

    async def _run(self, req: QueueRequest) -> None:
        """One attempt on a runner: logs, image downloads, then an outcome."""
        cfg = self.config
        self._log(req, f"Starting {req.model_id} (attempt {req.attempts})")
        await self._wait_while(req, lambda: self.faults.hold_jobs)
        if self._cancel_now(req):
            self._cancelled(req)
            return
        if await self._download_images(req):
            return
        for message in cfg.log_messages:
            await asyncio.sleep(cfg.step_delay)
            if self._cancel_now(req):
                self._cancelled(req)
                return
            self._log(req, message)
        if self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            self._attempt_failed(req, self.faults.fail_error_type)
            return
        if req.input_errors:
            self._complete_model_error(req, 422, {"detail": req.input_errors})
            return
        banned = banned_loc(req.arguments, cfg.banned_words)
        if banned is not None:
            status, body = model_error_body("content_policy_violation", banned[0], banned[1])
            self._complete_model_error(req, status, body)
            return
        if self.faults.result_error_next > 0:
            self.faults.result_error_next -= 1
            status, body = model_error_body(self.faults.result_error_type)
            self._complete(req, status, body, error=None, error_type=None)
            return
        self._succeed(req)

    async def _download_images(self, req: QueueRequest) -> bool:
        """Fetch loopback input images like a runner would; True if the job failed on one."""
        for loc, url in image_inputs(req.arguments):
            fetch = await self._fetch(url)
            req.image_fetches.append(fetch)
            if fetch.error is None and (fetch.http_status is None or 200 <= fetch.http_status < 300):
                if fetch.fetched and not is_image_type(fetch.content_type):
                    status, body = model_error_body("image_load_error", loc, url)
                    self._complete_model_error(req, status, body)
                    return True
                continue
            status, body = model_error_body("file_download_error", loc, url)
            self._complete_model_error(req, status, body)
            return True
        return False

    async def _fetch(self, url: str) -> ImageFetch:
        if url.startswith("data:"):
            return ImageFetch(url[:64], False, None, None, 0, None)
        if not is_http_url(url):
            return ImageFetch(url, False, None, None, 0, "not an http(s) URL")
        if not is_loopback(url):
            # Never leave 127.0.0.1: other hosts are recorded as if downloaded.
            return ImageFetch(url, False, None, None, 0, None)
        try:
            if self._session is None:
                raise RuntimeError("simulator app is not running")
            timeout = ClientTimeout(total=self.config.fetch_timeout)
            async with self._session.get(url, timeout=timeout, allow_redirects=False) as resp:
                data = await resp.read()
                return ImageFetch(url, True, resp.status, resp.content_type, len(data), None)
        except (ClientError, TimeoutError, RuntimeError) as exc:
            return ImageFetch(url, True, None, None, 0, f"{type(exc).__name__}: {exc}")

    def _attempt_failed(self, req: QueueRequest, error_type: str) -> None:
        """A runner attempt failed: retry ``runner_*`` inside the queue, else complete with the error."""
        retry = (
            error_type.startswith("runner_") and not req.no_retry and req.attempts < self.config.max_attempts
        )
        if retry:
            self._log(req, f"Runner failed ({error_type}); the request goes back to the queue", "WARN")
            req.ready_at = asyncio.get_running_loop().time()
            self._enqueue(req)
            self._notify(req)
            self._kick()
            return
        self._fail_with(req, error_type)

    def _fail_with(self, req: QueueRequest, error_type: str) -> None:
        if error_type in MODEL_ERRORS:
            status, body = model_error_body(error_type)
            self._complete_model_error(req, status, body)
            return
        status, body = request_error_body(error_type)
        self._complete(
            req,
            status,
            body,
            {"X-Fal-Error-Type": error_type},
            error=str(body["detail"]),
            error_type=error_type,
        )

    def _complete_model_error(self, req: QueueRequest, status: int, body: dict[str, object]) -> None:
        detail = body.get("detail")
        first = detail[0] if isinstance(detail, list) and detail and isinstance(detail[0], dict) else {}
        self._complete(
            req,
            status,
            body,
            error=str(first.get("msg", "")),
            error_type=str(first.get("type", "")),
            on_status=self.config.model_errors_on_status,
        )

    def _cancelled(self, req: QueueRequest) -> None:
        status, body = request_error_body("client_cancelled")
        self._complete(
            req,
            status,
            body,
            {"X-Fal-Error-Type": "client_cancelled"},
            error=ERR_CANCELLED,
            error_type="client_cancelled",
        )

    def _succeed(self, req: QueueRequest) -> None:
        path = f"/files/b/{req.id}_{OUTPUT_FILE_NAME}"
        self.files[path] = StoredFile(path, self.video, "video/mp4", OUTPUT_FILE_NAME, uploaded=False)
        video = {
            "url": f"{req.base}{path}",
            "content_type": "video/mp4",
            "file_name": OUTPUT_FILE_NAME,
            "file_size": len(self.video),
        }
        loop_now = asyncio.get_running_loop().time()
        req.inference_time = loop_now - req.started_at if req.started_at is not None else 0.0
        self._complete(req, 200, {"video": video}, error=None, error_type=None)

    def _complete(
        self,
        req: QueueRequest,
        status: int,
        body: object,
        headers: Mapping[str, str] | None = None,
        *,
        error: str | None,
        error_type: str | None,
        on_status: bool = True,
    ) -> None:
        if req.done:
            return
        if req in self._waiting:
            self._waiting.remove(req)
        req.status = QueueStatus.COMPLETED
        req.result_status = status
        req.result_body = body
        req.result_headers = dict(headers or {})
        req.error = error
        req.error_type = error_type
        req.error_on_status = on_status
        self._notify(req)
        self._kick()
        self._schedule_webhook(req)
