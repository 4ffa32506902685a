"""The queue routes: submit (``POST /{model_id}``), and status, result and cancel at the owner/app URLs."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import uuid

from aiohttp import web

from sandbox.fal_sim.constants import (
    ERR_IN_PROGRESS,
    ERR_NOT_FOUND,
    ERR_QUEUE_FULL,
    ERR_REQUEST_NOT_FOUND,
    OWNER_APP,
    TRUE_WORDS,
)
from sandbox.fal_sim.errors import ApiError, detail_error, error_object, request_error_body
from sandbox.fal_sim.operations import OperationsLayer
from sandbox.fal_sim.records import QueueRequest, QueueStatus
from sandbox.fal_sim.server import ServerLayer
from sandbox.fal_sim.validation import MODEL_SPECS, ModelSpec, validate_input
from sandbox.sim_common.values import is_http_url


class QueueRoutesLayer(ServerLayer, OperationsLayer):
    """Submit, status, result and cancel handlers."""

    async def _catch_all(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            raise detail_error(404, ERR_NOT_FOUND)
        return await self._submit(request, request.match_info["model_id"])

    async def _submit(self, request: web.Request, model_id: str) -> web.StreamResponse:
        self._authorize(request)
        spec = MODEL_SPECS.get(model_id)
        if spec is None:
            raise detail_error(404, ERR_NOT_FOUND)
        if self.faults.submit_fail_next > 0:
            self.faults.submit_fail_next -= 1
            error_type = self.faults.submit_fail_error_type
            status, fail_body = request_error_body(error_type)
            raise ApiError(status, fail_body, {"X-Fal-Error-Type": error_type})
        webhook = request.query.get("fal_webhook")
        if webhook is not None and not is_http_url(webhook):
            raise ApiError(
                422,
                {
                    "detail": [
                        error_object(
                            ["query", "fal_webhook"],
                            "Input should be a valid URL",
                            "url_parsing",
                            input_value=webhook,
                        )
                    ]
                },
            )
        self._check_queue_length(request, model_id)
        raw = await request.read()
        try:
            body: object = json.loads(raw) if raw else None
        except ValueError as exc:
            raise ApiError(
                422,
                {
                    "detail": [
                        error_object(
                            ["body", 0], "JSON decode error", "json_invalid", ctx={"error": str(exc)}
                        )
                    ]
                },
            ) from None
        arguments, errors = validate_input(spec, body, self.config)
        if errors and self.config.validate_at_submit:
            raise ApiError(422, {"detail": errors})
        req = self._new_request(request, spec, body, arguments, errors, webhook)
        self.requests[req.id] = req
        self._enqueue(req)
        position = self._waiting.index(req)
        self._kick()
        payload = {
            "status": str(QueueStatus.IN_QUEUE),
            "request_id": req.id,
            **req.urls(),
            "queue_position": position,
        }
        if self.faults.accept_then_delay > 0:
            await asyncio.sleep(self.faults.accept_then_delay)
        return self._reply(payload, request_id=req.id)

    def _check_queue_length(self, request: web.Request, model_id: str) -> None:
        raw = request.query.get("fal_max_queue_length")
        if raw is None:
            return
        try:
            limit = int(raw)
        except ValueError:
            raise ApiError(
                422,
                {
                    "detail": [
                        error_object(
                            ["query", "fal_max_queue_length"],
                            "Input should be a valid integer, unable to parse string as an integer",
                            "int_parsing",
                            input_value=raw,
                        )
                    ]
                },
            ) from None
        waiting = sum(1 for r in self._waiting if r.model_id == model_id)
        if waiting >= limit:
            raise detail_error(429, ERR_QUEUE_FULL)

    def _new_request(
        self,
        request: web.Request,
        spec: ModelSpec,
        body: object,
        arguments: dict[str, object],
        errors: list[dict[str, object]],
        webhook: str | None,
    ) -> QueueRequest:
        loop_now = asyncio.get_running_loop().time()
        deadline: float | None = None
        with contextlib.suppress(ValueError):
            seconds = float(request.headers.get("X-Fal-Request-Timeout", ""))
            if seconds > 0:
                deadline = loop_now + seconds
        priority = (
            "low" if request.headers.get("X-Fal-Queue-Priority", "").strip().lower() == "low" else "normal"
        )
        request_id = self._new_id()
        return QueueRequest(
            id=request_id,
            model_id=spec.model_id,
            input=copy.deepcopy(body) if isinstance(body, dict) else {},
            arguments=arguments,
            input_errors=errors,
            webhook_url=webhook,
            base=self._base(request),
            priority=priority,
            no_retry=request.headers.get("X-Fal-No-Retry", "").strip() in TRUE_WORDS,
            ready_at=loop_now + self.config.queue_delay,
            deadline=deadline,
            gateway_request_id=request_id,
        )

    def _new_id(self) -> str:
        while True:
            new = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            if new not in self.requests:
                return new

    def _lookup(self, request: web.Request) -> QueueRequest | None:
        owner_app = f"{request.match_info['owner']}/{request.match_info['app']}"
        req = self.requests.get(request.match_info["request_id"])
        if req is None or owner_app != OWNER_APP:
            return None
        return req

    async def _status(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        req = self._lookup(request)
        if req is None:
            raise detail_error(404, ERR_REQUEST_NOT_FOUND)
        with_logs = request.query.get("logs", "0") in TRUE_WORDS
        status = 200 if req.done else 202
        return self._reply(self.render_status(req, with_logs), status, request_id=req.id)

    async def _result(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        req = self._lookup(request)
        if req is None:
            raise detail_error(404, ERR_REQUEST_NOT_FOUND)
        if not req.done or req.result_status is None:
            return self._reply({"detail": ERR_IN_PROGRESS}, 400, request_id=req.id)
        return self._reply(req.result_body, req.result_status, req.result_headers, request_id=req.id)

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        req = self._lookup(request)
        if req is None:
            return self._reply({"status": "NOT_FOUND"}, 404)
        if req.done:
            return self._reply({"status": "ALREADY_COMPLETED"}, 400, request_id=req.id)
        req.cancel_requested = True
        if req.status is QueueStatus.IN_QUEUE:
            self._stop_run(req)
            self._cancelled(req)
        self._notify(req)
        if self.config.cancel_accepted_status == 200:
            return self._reply({"status": "OK"}, 200, request_id=req.id)
        return self._reply({"status": "CANCELLATION_REQUESTED"}, 202, request_id=req.id)
