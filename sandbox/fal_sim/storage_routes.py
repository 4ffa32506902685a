"""Storage and media routes: storage tokens, uploads, ``/files/`` and the JWKS."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from aiohttp import web

from sandbox.fal_sim.constants import ERR_BAD_TOKEN
from sandbox.fal_sim.errors import detail_error
from sandbox.fal_sim.operations import OperationsLayer
from sandbox.fal_sim.records import StoredFile
from sandbox.fal_sim.server import ServerLayer
from sandbox.fal_sim.values import safe_name


class StorageRoutesLayer(ServerLayer, OperationsLayer):
    """Storage, file and JWKS handlers."""

    async def _storage_token(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        token = secrets.token_urlsafe(24)
        expires = time.time() + self.config.token_ttl
        self.tokens[token] = expires
        payload = {
            "token": token,
            "token_type": "Bearer",
            "base_url": self._base(request),
            "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
        }
        return self._reply(payload)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        expires = self.tokens.get(token.strip())
        if scheme.lower() != "bearer" or expires is None or expires <= time.time():
            raise detail_error(401, ERR_BAD_TOKEN)
        data = await request.read()
        name = safe_name(request.headers.get("X-Fal-File-Name", "") or "file")
        content_type = request.headers.get("Content-Type", "application/octet-stream")
        path = f"/files/u/{secrets.token_hex(8)}_{name}"
        self.files[path] = StoredFile(path, data, content_type, name, uploaded=True)
        return self._reply({"access_url": f"{self._base(request)}{path}"}, json_fault=False)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        stored = self.files.get(request.path)
        if stored is None or self.faults.expire_media:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored.data, headers={"Content-Type": stored.content_type})

    async def _jwks(self, _request: web.Request) -> web.StreamResponse:
        if self.faults.jwks_status is not None:
            return web.json_response({"detail": "JWKS unavailable"}, status=self.faults.jwks_status)
        return web.json_response(self.jwks())
