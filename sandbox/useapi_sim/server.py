"""HTTP plumbing: the recording and error middlewares, authorization and JSON answers."""

from __future__ import annotations

import asyncio
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from sandbox.sim_common.recording import recording_middleware
from sandbox.useapi_sim.constants import ERR_EXPIRED, ERR_UNAUTHORIZED, dumps
from sandbox.useapi_sim.errors import ApiError, api_error
from sandbox.useapi_sim.records import RecordedRequest
from sandbox.useapi_sim.state import UseapiState

RECORD_KEY: Final = web.RequestKey("useapi_sim_record", RecordedRequest)


class ServerLayer(UseapiState):
    """Middlewares and the helpers every route uses."""

    def _record_middleware(self) -> Middleware:
        return recording_middleware(self.requests, self._new_record)

    async def _new_record(self, request: web.Request) -> RecordedRequest:
        rec = RecordedRequest.of(request)
        request[RECORD_KEY] = rec
        return rec

    def _api_middleware(self) -> Middleware:
        @web.middleware
        async def api(request: web.Request, handler: Handler) -> web.StreamResponse:
            if not request.path.startswith("/v1/"):
                return await handler(request)
            if self.faults.delay_seconds > 0:
                await asyncio.sleep(self.faults.delay_seconds)
            try:
                self._check_auth(request)
                return await handler(request)
            except ApiError as err:
                return self._reply(err.payload, err.status)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                return self._reply({"error": exc.reason, "code": exc.status}, exc.status)

        return api

    def _check_auth(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token == self.config.api_token:
            return
        if scheme.lower() == "bearer" and token == self.config.expired_token:
            raise api_error(402, ERR_EXPIRED)
        raise api_error(401, ERR_UNAUTHORIZED)

    def _reply(self, payload: object, status: int = 200) -> web.Response:
        """JSON answer for /v1; the ``malformed_json`` knob turns it into a truncated 200 body."""
        text = dumps(payload)
        if self.faults.malformed_json:
            return web.Response(
                status=200, text=text[: max(1, len(text) // 2)], content_type="application/json"
            )
        return web.Response(status=status, text=text, content_type="application/json")
