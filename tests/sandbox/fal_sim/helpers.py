"""Shared helpers for the fal.ai simulator tests: a fast config, a JSON client, a webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from sandbox.fal_sim import (
    DEFAULT_KEY,
    IMAGE_TO_VIDEO,
    PIKAFRAMES,
    PIKASCENES,
    TEXT_TO_VIDEO,
    TURBO_IMAGE_TO_VIDEO,
    TURBO_TEXT_TO_VIDEO,
    V21_IMAGE_TO_VIDEO,
    V21_TEXT_TO_VIDEO,
    FalSimulator,
    QueueStatus,
    RunningFalSimulator,
    SimConfig,
    start_simulator,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CONTRACT_JWKS = {
    "keys": [{"kty": "OKP", "crv": "Ed25519", "x": "g9eeZWltf3LIuaW6-nmPMaOQoMtSLkMbDSzup4AaKOs"}]
}
VALID: dict[str, dict[str, Any]] = {
    TEXT_TO_VIDEO: {"prompt": "a red fox running through snow"},
    IMAGE_TO_VIDEO: {"prompt": "the fox turns", "image_url": "https://example.com/fox.png"},
    PIKASCENES: {"prompt": "fox and hat", "image_urls": ["https://example.com/a.png"]},
    PIKAFRAMES: {"image_urls": ["https://example.com/a.png", "https://example.com/b.png"]},
    V21_TEXT_TO_VIDEO: {"prompt": "a red fox running through snow"},
    V21_IMAGE_TO_VIDEO: {"prompt": "the fox turns", "image_url": "https://example.com/fox.png"},
    TURBO_TEXT_TO_VIDEO: {"prompt": "a red fox running through snow"},
    TURBO_IMAGE_TO_VIDEO: {"prompt": "the fox turns", "image_url": "https://example.com/fox.png"},
}


def fast_config(**overrides: Any) -> SimConfig:
    """A config with millisecond timings so the tests stay fast."""
    base: dict[str, Any] = {
        "queue_delay": 0.0,
        "step_delay": 0.005,
        "log_messages": ("Generating video...", "Encoding video..."),
        "webhook_backoff": 0.01,
        "random_seed": 7,
    }
    base.update(overrides)
    return SimConfig(**base)


def auth(key: str | None = DEFAULT_KEY) -> dict[str, str]:
    return {"Authorization": f"Key {key}"} if key is not None else {}


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Api:
    """A tiny JSON client for the simulator."""

    running: RunningFalSimulator
    http: aiohttp.ClientSession

    @property
    def sim(self) -> FalSimulator:
        return self.running.sim

    @property
    def base(self) -> str:
        return self.running.base_url

    async def call(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        if not url.startswith("http"):
            url = self.base + url
        all_headers = {**auth(), **(headers or {})}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        async with self.http.request(method, url, data=data, headers=all_headers, params=params) as resp:
            text = await resp.text()
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = text
            return Answer(resp.status, parsed, dict(resp.headers))

    async def submit(
        self,
        model: str = TEXT_TO_VIDEO,
        body: Any = None,
        *,
        webhook: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        query = dict(params or {})
        if webhook is not None:
            query["fal_webhook"] = webhook
        payload = VALID[model] if body is None else body
        return await self.call("POST", f"/{model}", body=payload, headers=headers, params=query)

    async def submit_ok(self, model: str = TEXT_TO_VIDEO, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        answer = await self.submit(model, body, **kwargs)
        assert answer.status == 200, answer.body
        result: dict[str, Any] = answer.body
        return result

    async def completed(self, request_id: str) -> None:
        await self.sim.wait_for_status(request_id, QueueStatus.COMPLETED, within=3.0)


@dataclass
class Receiver:
    """A webhook receiver and image host on 127.0.0.1; answers ``answers`` in order, then 200."""

    root: str = ""
    answers: list[int] = field(default_factory=list)
    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    queue: asyncio.Queue[tuple[dict[str, str], bytes]] = field(default_factory=asyncio.Queue)

    @property
    def url(self) -> str:
        return f"{self.root}/fal/webhook"

    async def next(self, within: float = 3.0) -> tuple[dict[str, str], bytes]:
        return await asyncio.wait_for(self.queue.get(), within)


@contextlib.asynccontextmanager
async def serve(config: SimConfig) -> AsyncIterator[Api]:
    """A simulator on a real socket plus a client session, both closed on exit."""
    async with await start_simulator(config) as running, aiohttp.ClientSession() as http:
        yield Api(running, http)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


IMGS = [f"https://example.com/{i}.png" for i in range(6)]
