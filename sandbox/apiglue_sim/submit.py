"""The submit routes (``POST /web/generate``, ``/web/extend``, ``/web/upscale``): checks, then a new job."""

from __future__ import annotations

import asyncio
import copy
import time

from aiohttp import ClientError, web
from aiohttp.typedefs import Handler
from yarl import URL

from sandbox.apiglue_sim.constants import (
    BASE_DURATION,
    ERR_ALREADY_UPSCALED,
    ERR_BAD_VIDEO,
    ERR_BUSY,
    ERR_EXTEND_CAP,
    ERR_MODERATED,
    EXTEND_SECONDS,
    LOOPBACK_HOSTS,
    MAX_EXTENDS,
)
from sandbox.apiglue_sim.errors import api_error, phrase
from sandbox.apiglue_sim.lifecycle import LifecycleLayer
from sandbox.apiglue_sim.records import ImageFetch, RequestType, SimJob, VideoStatus
from sandbox.apiglue_sim.server import ServerLayer
from sandbox.apiglue_sim.validation import SubmitBody, parse_submit
from sandbox.apiglue_sim.values import video_filename
from sandbox.sim_common.values import contains_any, is_int


class SubmitLayer(ServerLayer, LifecycleLayer):
    """The submit handlers and how a job is made from a valid body."""

    def _submit_handler(self, request_type: RequestType) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self._submit(request, request_type)

        return handler

    async def _submit(self, request: web.Request, request_type: RequestType) -> web.StreamResponse:
        if self.faults.submit_status is not None:
            status = self.faults.submit_status
            return self._reply({"error": phrase(status), "code": status}, status)
        try:
            raw: object = await request.json()
        except ValueError:
            raw = None
        body = parse_submit(raw, request_type)
        parent = self._parent(body.video) if request_type is not RequestType.GENERATE else None
        if parent is not None and request_type is RequestType.EXTEND and parent.extended >= MAX_EXTENDS:
            raise api_error(400, ERR_EXTEND_CAP)
        if parent is not None and request_type is RequestType.UPSCALE and parent.upscaled:
            raise api_error(400, ERR_ALREADY_UPSCALED)
        prompt = body.prompt_text or ""
        if parent is not None and (request_type is RequestType.UPSCALE or body.prompt_text is None):
            # An upscale keeps its source's prompt; an extend without promptText does too.
            prompt = parent.prompt_text
        if contains_any(prompt, self.config.moderated_words):
            raise api_error(422, ERR_MODERATED)
        image_fetch = await self._fetch_image(body.image) if body.image is not None else None
        # Checked after the last await, so concurrent submits cannot both take the last slot.
        if len(self.executing_job_ids()) >= self.config.max_concurrent:
            raise api_error(429, ERR_BUSY)
        job = self._new_job(request_type, body, prompt, parent, request)
        job.image_fetch = image_fetch
        self.jobs[job.id] = job
        payload = job.submit_json(self.config.submit_created_at_empty)
        job.task = self._spawn(self._run_job(job))
        if self.faults.accept_then_delay > 0:
            await asyncio.sleep(self.faults.accept_then_delay)
        return self._reply(payload)

    def _parent(self, video: str | None) -> SimJob:
        parent = self._by_result_url.get(video or "")
        if parent is None or parent.status is not VideoStatus.FINISHED:
            raise api_error(400, ERR_BAD_VIDEO)
        return parent

    async def _fetch_image(self, url: str) -> ImageFetch | None:
        """GET a loopback image (to prove the client passed a working URL); other hosts are not called."""
        if URL(url).host not in LOOPBACK_HOSTS:
            return None
        try:
            if self._session is None:
                raise RuntimeError("simulator app is not running")
            async with self._session.get(url) as resp:
                data = await resp.read()
                fetch = ImageFetch(url, resp.status, resp.content_type, len(data), None)
        except (ClientError, TimeoutError, RuntimeError) as exc:
            fetch = ImageFetch(url, None, None, 0, f"{type(exc).__name__}: {exc}")
        self.image_fetches.append(fetch)
        if fetch.http_status is None or not 200 <= fetch.http_status < 300:
            # UNCONFIRMED: the real API may instead accept the job and fail it later.
            why = fetch.error or f"HTTP {fetch.http_status}"
            raise api_error(400, f"image could not be downloaded ({why})")
        return fetch

    def _new_job(
        self,
        request_type: RequestType,
        body: SubmitBody,
        prompt: str,
        parent: SimJob | None,
        request: web.Request,
    ) -> SimJob:
        if request_type is RequestType.UPSCALE and parent is not None:
            options = copy.deepcopy(parent.options)
            extended, duration, seed = parent.extended, parent.duration, parent.seed
        else:
            options = body.options or {}
            if request_type is RequestType.EXTEND:
                # UNCONFIRMED: an extend job is echoed with options.extend true.
                options["extend"] = True
            parameters = options.get("parameters")
            raw_seed = parameters.get("seed") if isinstance(parameters, dict) else None
            seed = raw_seed if is_int(raw_seed) else None
            extended = parent.extended + 1 if parent is not None else 0
            duration = parent.duration + EXTEND_SECONDS if parent is not None else BASE_DURATION
        return SimJob(
            id=self._new_id(),
            pika_job_id=self._new_id(),
            request_type=request_type,
            prompt_text=prompt,
            options=options,
            created_ns=time.time_ns(),
            account_id=self.config.account_id,
            user_id=self.config.user_id,
            ref=body.ref,
            webhook_override=body.webhook_override,
            duration=duration,
            extended=extended,
            upscaled=request_type is RequestType.UPSCALE,
            image=body.image,
            video=body.video,
            parent_id=parent.id if parent is not None else None,
            requested_seed=seed,
            extra=body.extra,
            public_base=(self.config.public_base_url or str(request.url.origin())).rstrip("/"),
            filename=video_filename(prompt),
        )
