"""HTTP plumbing: the recording and error middlewares, JSON answers, authorization and the base URL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import uuid
from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from sandbox.fal_sim.constants import (
    ERR_KEY_FORMAT,
    ERR_LOCKED,
    ERR_NO_AUTH,
    ERR_NO_USER,
    JSON_HEADERS,
    REQUEST_ID_HEADER,
    dumps,
)
from sandbox.fal_sim.errors import ApiError, detail_error
from sandbox.fal_sim.records import RecordedRequest
from sandbox.fal_sim.state import FalState
from sandbox.sim_common.recording import recording_middleware


class ServerLayer(FalState):
    """Middlewares and the helpers every route uses."""

    @staticmethod
    def _is_queue_path(path: str) -> bool:
        return not path.startswith(("/_sim/", "/files/", "/.well-known/"))

    def _record_middleware(self) -> Middleware:
        return recording_middleware(self.recorded, self._new_record)

    async def _new_record(self, request: web.Request) -> RecordedRequest:
        rec = RecordedRequest.of(request)
        if request.can_read_body:
            # aiohttp caches the bytes, so the handler can still read the body.
            with contextlib.suppress(web.HTTPException):
                raw = await request.read()
                rec.size = len(raw)
                if request.path != "/files/upload":
                    with contextlib.suppress(ValueError):
                        rec.body = json.loads(raw)
        return rec

    def _api_middleware(self) -> Middleware:
        @web.middleware
        async def api(request: web.Request, handler: Handler) -> web.StreamResponse:
            queue_path = self._is_queue_path(request.path)
            if queue_path:
                if self.faults.delay_seconds > 0:
                    await asyncio.sleep(self.faults.delay_seconds)
                if self.faults.ingress_error_next > 0:
                    self.faults.ingress_error_next -= 1
                    return nginx_error(self.faults.ingress_error_status)
            try:
                return await handler(request)
            except ApiError as err:
                return self._reply(err.payload, err.status, err.headers, json_fault=queue_path)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                return self._reply({"detail": exc.reason}, exc.status, json_fault=queue_path)

        return api

    def _reply(
        self,
        payload: object,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        request_id: str | None = None,
        json_fault: bool = True,
    ) -> web.Response:
        """A JSON answer carrying ``x-fal-request-id`` (fal's own answers do; ingress errors do not)."""
        data = dumps(payload).encode()
        if json_fault and self.faults.malformed_json:
            data = data[: max(1, len(data) // 2)]
        out = {**JSON_HEADERS, REQUEST_ID_HEADER: request_id or str(uuid.uuid4()), **(headers or {})}
        return web.Response(status=status, body=data, headers=out)

    def _authorize(self, request: web.Request) -> None:
        header = request.headers.get("Authorization")
        if header is None:
            raise detail_error(401, ERR_NO_AUTH)
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "key" or ":" not in value:
            raise detail_error(401, ERR_KEY_FORMAT)
        key_id, _, key_secret = value.partition(":")
        if not key_id or not key_secret:
            raise detail_error(401, ERR_KEY_FORMAT)
        if not secrets.compare_digest(value.encode(), self.config.key.encode()):
            raise detail_error(401, ERR_NO_USER)
        if self.faults.locked:
            raise detail_error(403, ERR_LOCKED)

    def _base(self, request: web.Request) -> str:
        return (self.config.public_base_url or str(request.url.origin())).rstrip("/")


def nginx_error(status: int) -> web.Response:
    """An ingress error as nginx sends it: HTML, no ``x-fal-request-id`` (fal_client retries these)."""
    phrase = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}.get(
        status, "Error"
    )
    html = (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=html, content_type="text/html")


async def json_object(request: web.Request) -> dict[str, object]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
