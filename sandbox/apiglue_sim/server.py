"""HTTP plumbing: the recording and error middlewares, the fault knobs every route obeys, authorization
and JSON answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from sandbox.apiglue_sim.constants import (
    ERR_EXPIRED,
    ERR_RATE_LIMITED,
    ERR_UNAUTHORIZED,
    JSON_HEADERS,
    dumps,
)
from sandbox.apiglue_sim.errors import ApiError, api_error, html_502
from sandbox.apiglue_sim.records import RecordedRequest
from sandbox.apiglue_sim.state import GlueState
from sandbox.sim_common.recording import recording_middleware


class ServerLayer(GlueState):
    """Middlewares and the helpers every route uses."""

    def _record_middleware(self) -> Middleware:
        return recording_middleware(self.requests, self._new_record)

    async def _new_record(self, request: web.Request) -> RecordedRequest:
        rec = RecordedRequest.of(request)
        if request.can_read_body:
            # aiohttp caches the bytes, so the handler can still read the body.
            with contextlib.suppress(ValueError):
                rec.body = json.loads(await request.read())
        return rec

    def _api_middleware(self) -> Middleware:
        @web.middleware
        async def api(request: web.Request, handler: Handler) -> web.StreamResponse:
            if not request.path.startswith("/web/"):
                return await handler(request)
            if self.faults.delay_seconds > 0:
                await asyncio.sleep(self.faults.delay_seconds)
            try:
                self._check_auth(request)
                if self.faults.html_error:
                    return html_502()
                if self.faults.rate_limit_next > 0:
                    self.faults.rate_limit_next -= 1
                    raise api_error(429, ERR_RATE_LIMITED)
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
        """JSON answer with exactly ``Content-Type: application/json``; ``malformed_json`` truncates it."""
        data = dumps(payload).encode()
        if self.faults.malformed_json:
            return web.Response(status=200, body=data[: max(1, len(data) // 2)], headers=JSON_HEADERS)
        return web.Response(status=status, body=data, headers=JSON_HEADERS)
