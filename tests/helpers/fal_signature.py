"""fal webhook signature tests: the contract's test vector, a JWKS server, a clock, and signing helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.providers.fal.signature import FalWebhookVerifier
from sandbox.fal_sim import TEST_VECTOR_X

NOW = 1767225600.0
REQUEST_ID = "6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c"
# The contract's test vector (section 4), byte for byte.
VECTOR_HEADERS = {
    "Content-Type": "application/json",
    "X-Fal-Webhook-Request-Id": REQUEST_ID,
    "X-Fal-Webhook-User-Id": "github|test-user-0001",
    "X-Fal-Webhook-Timestamp": "1767225600",
    "X-Fal-Webhook-Signature": (
        "82c4937bc23e4590b80a0c8dc8dc64f829f54f7334c38435fc7b737beb4492d5"
        "81ed7ffb0b63e864860c686f1fd7bf7af3f3f7b437936090a653a5f85d01d80f"
    ),
}
VECTOR_BODY = (
    b'{"error": null, "gateway_request_id": "6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c", "payload": {"video": '
    b'{"content_type": "video/mp4", "file_name": "output.mp4", "file_size": 2874113, "url": '
    b'"https://v3b.fal.media/files/b/koala/T3stV1d3o_output.mp4"}}, "request_id": '
    b'"6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c", "status": "OK"}'
)
CONTRACT_JWKS: dict[str, Any] = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": TEST_VECTOR_X}]}


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class JwksServer:
    """A tiny JWKS host: serves ``document`` (or ``status``), counts hits."""

    url: str = ""
    document: Any = field(default_factory=lambda: json.loads(json.dumps(CONTRACT_JWKS)))
    status: int = 200
    raw: bytes | None = None
    hits: int = 0


@pytest.fixture
async def jwks() -> AsyncIterator[JwksServer]:
    server = JwksServer()

    async def handler(_request: web.Request) -> web.Response:
        server.hits += 1
        if server.raw is not None:
            return web.Response(body=server.raw, content_type="application/json")
        return web.json_response(server.document, status=server.status)

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}/.well-known/jwks.json"
    yield server
    await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def clock() -> Iterator[Clock]:
    yield Clock()


def make(url: str, http: aiohttp.ClientSession, clock: Clock, **kwargs: Any) -> FalWebhookVerifier:
    return FalWebhookVerifier(url, http, clock=clock, **kwargs)
