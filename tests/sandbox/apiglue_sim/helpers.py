"""Shared helpers for the API Glue simulator tests: seed answers, a fast config, a JSON client, a receiver."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from sandbox.apiglue_sim import (
    ApiGlueSimulator,
    RunningGlueSimulator,
    SimConfig,
    VideoStatus,
    start_simulator,
)

TOKEN = "glue-token"
REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLE_MP4 = (REPO_ROOT / "sandbox" / "assets" / "sample.mp4").read_bytes()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 120
# Seed 004, verbatim: the generate answer and the finished GET /web/jobs/{id} answer.
SEED_GENERATE: dict[str, Any] = json.loads(
    """{ "job": { "id": "1233696d-67c8-4293-bf95-524e13aa6578", "adjusted": false,
    "accountId": "zx234I5GukOugL1vcG2Mf", "extended": 0, "pikaJobId": "123696d-67c8-4293-bf95-524e13aa6578",
    "params": { "options": { "aspectRatio": "16:9", "frameRate": 24,
    "camera": { "rotate": null, "zoom": null, "tilt": null, "pan": null },
    "parameters": { "motion": 1, "guidanceScale": 12, "negativePrompt": "", "seed": 144124 },
    "extend": false }, "userId": "92b68ee2-a71d-4500-1234-4eea210d0cac",
    "promptText": "robed villain lurking the streets" }, "promptText": "robed villain lurking the streets",
    "requestType": "generate", "upscaled": false, "createdAt": {} },
    "video": { "accountId": "zx234I5GukOugL1vcG2Mf", "id": "1233696d-67c8-4293-bf95-524e13aa6578",
    "jobId": "123696d-67c8-4293-bf95-524e13aa6578", "status": "queued",
    "pikaVideoId": "1233696d-67c8-4293-bf95-524e13aa6578" } }"""
)
SEED_FINISHED: dict[str, Any] = json.loads(
    """{ "job": { "requestType": "generate", "upscaled": false, "adjusted": false,
    "pikaJobId": "e89c86c1-2969-1234-a186-53c4c6171ab5", "id": "e89c86c1-2969-1234-a186-53c4c6171ab5",
    "accountId": "zJHhI5G1234gL1vcG2Mf", "params": { "options": { "extend": false, "frameRate": 24,
    "aspectRatio": "16:9", "camera": { "rotate": null, "zoom": null, "tilt": null, "pan": null },
    "parameters": { "motion": 1, "seed": null, "guidanceScale": 12, "negativePrompt": "" } },
    "promptText": "robed villain lurking the streets", "userId": "92b68ee2-a71d-4500-8fe1-4eea210d0cac" },
    "promptText": "robed villain lurking the streets", "extended": 0,
    "createdAt": { "_seconds": 1704766446, "_nanoseconds": 451000000 } },
    "videos": [ { "jobId": "e89c86c1-2969-1234-a186-53c4c6171ab5",
    "pikaVideoId": "e89c86c1-2969-1234-a186-53c4c6171ab5", "accountId": "zJHhI5G1234gL1vcG2Mf",
    "id": "e89c86c1-2969-1234-a186-53c4c6171ab5", "duration": 3, "feedback": 0, "seed": null,
    "progress": 100,
    "resultUrl": "https://example.video/1234-a186-53c4c6171ab5/robed_villain_lurking_the_streets.mp4",
    "imageThumb": "https://example.image/1234-a186-53c4c6171ab5/thumbnail.jpg",
    "videoPoster": "https://example.image/1234-a186-53c4c6171ab5/poster.jpg", "status": "finished" } ] }"""
)
# The guide's own request options (seed 004, "Exploring the Generate Command").
SEED_OPTIONS: dict[str, Any] = {
    "aspectRatio": "5:2",
    "frameRate": 24,
    "camera": {"pan": "right", "tilt": "up", "rotate": "cw", "zoom": "in"},
    "parameters": {"guidanceScale": 5, "motion": 3, "negativePrompt": "A village", "seed": 123123123},
}


def fast_config(**overrides: Any) -> SimConfig:
    """A config with millisecond timings so the tests stay fast."""
    base: dict[str, Any] = {
        "queued_delay": 0.01,
        "progress_delay": 0.01,
        "progress_steps": (0, 40, 80),
        "random_seed": 7,
    }
    base.update(overrides)
    return SimConfig(**base)


def auth(token: str | None = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def options(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(SEED_OPTIONS))
    out.update(changes)
    return out


@dataclass
class Api:
    """A tiny JSON client for the simulator."""

    running: RunningGlueSimulator
    http: aiohttp.ClientSession

    @property
    def sim(self) -> ApiGlueSimulator:
        return self.running.sim

    def url(self, path: str) -> str:
        return self.running.base_url + path

    async def post(self, path: str, body: object, token: str | None = TOKEN) -> tuple[int, Any]:
        async with self.http.post(self.url(path), json=body, headers=auth(token)) as resp:
            return resp.status, json.loads(await resp.text())

    async def get(self, path: str, token: str | None = TOKEN) -> tuple[int, Any]:
        async with self.http.get(self.url(path), headers=auth(token)) as resp:
            return resp.status, json.loads(await resp.text())

    async def generate(
        self, prompt: str = "robed villain lurking the streets", **body: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"promptText": prompt, "options": options(), **body}
        status, answer = await self.post("/web/generate", payload)
        assert status == 200, answer
        result: dict[str, Any] = answer
        return result

    async def finished(
        self, prompt: str = "robed villain lurking the streets", **body: Any
    ) -> dict[str, Any]:
        """Generate, wait for the video to finish, and return the GET /web/jobs/{id} answer."""
        job_id = (await self.generate(prompt, **body))["job"]["id"]
        return await self.finish(job_id)

    async def finish(self, job_id: str) -> dict[str, Any]:
        await self.sim.wait_for_status(job_id, VideoStatus.FINISHED, within=3.0)
        status, job = await self.get(f"/web/jobs/{job_id}")
        assert status == 200
        return dict(job)


@dataclass
class Receiver:
    """A webhook receiver (and image host) on 127.0.0.1 that records every JSON POST it gets."""

    url: str
    image_url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def next(self, within: float = 2.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), within)


@contextlib.asynccontextmanager
async def serve(config: SimConfig) -> AsyncIterator[Api]:
    """A simulator on a real socket plus a client session, both closed on exit."""
    async with await start_simulator(config) as running, aiohttp.ClientSession() as http:
        yield Api(running, http)


def keys(obj: dict[str, Any]) -> set[str]:
    return set(obj)
