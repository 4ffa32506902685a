"""Shared helpers for the useapi.net simulator tests: a fast config, a multipart client, a receiver."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from sandbox.useapi_sim import JobStatus, RunningSimulator, SimConfig, UseapiSimulator

TOKEN = "sim-token"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 120
File = tuple[str, bytes, str]


def fast_config(**overrides: Any) -> SimConfig:
    """A config with millisecond timings so the tests stay fast."""
    base: dict[str, Any] = {
        "job_started_delay": 0.01,
        "job_progress_delay": 0.02,
        "job_complete_delay": 0.04,
        "random_seed": 7,
    }
    base.update(overrides)
    return SimConfig(**base)


@dataclass
class Api:
    """A tiny client for the simulator: multipart submits and JSON GETs."""

    running: RunningSimulator
    http: aiohttp.ClientSession

    @property
    def sim(self) -> UseapiSimulator:
        return self.running.sim

    def url(self, path: str) -> str:
        return self.running.base_url + path

    async def submit(
        self,
        endpoint: str,
        fields: dict[str, str] | None = None,
        files: dict[str, File] | None = None,
        token: str | None = TOKEN,
    ) -> tuple[int, Any]:
        data = aiohttp.FormData(default_to_multipart=True)
        for name, value in (fields or {}).items():
            data.add_field(name, value)
        for name, (filename, content, ctype) in (files or {}).items():
            data.add_field(name, content, filename=filename, content_type=ctype)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.post(self.url(f"pika/{endpoint}"), data=data, headers=headers) as resp:
            return resp.status, json.loads(await resp.text())

    async def get(self, path: str, token: str | None = TOKEN, **params: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(self.url(path), params=params, headers=headers) as resp:
            return resp.status, json.loads(await resp.text())

    async def create(self, prompt: str = "smiling and blinking", **fields: str) -> dict[str, Any]:
        status, body = await self.submit("create", {"prompt": prompt, **fields})
        assert status == 200, body
        result: dict[str, Any] = body
        return result


@dataclass
class Receiver:
    """A callback receiver on 127.0.0.1 that records every JSON POST it gets."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def next(self, within: float = 2.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), within)


async def wait_status(api: Api, jobid: str, *statuses: JobStatus) -> None:
    await api.sim.wait_for_status(jobid, *statuses, within=3.0)
