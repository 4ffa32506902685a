"""The fal queue/storage client against the fal simulator: the fixtures and checks its tests share."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from bot.providers.fal.answers import FalError
from bot.providers.fal.client import FalClient
from sandbox.fal_sim import (
    DEFAULT_KEY,
    FalSimulator,
    QueueStatus,
    RunningFalSimulator,
    SimConfig,
    start_simulator,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SECRET = DEFAULT_KEY.partition(":")[2]
T2V = {"prompt": "a red fox running through snow", "duration": 5, "resolution": "720p"}


def fast_config(**overrides: Any) -> SimConfig:
    base: dict[str, Any] = {
        "queue_delay": 0.0,
        "step_delay": 0.005,
        "log_messages": ("Generating video...",),
        "webhook_backoff": 0.01,
        "random_seed": 11,
    }
    base.update(overrides)
    return SimConfig(**base)


@dataclass
class Env:
    running: RunningFalSimulator
    http: aiohttp.ClientSession
    clock_now: list[float]

    @property
    def sim(self) -> FalSimulator:
        return self.running.sim

    def client(self, key: str = DEFAULT_KEY, **kwargs: Any) -> FalClient:
        base = self.running.base_url
        return FalClient(base, key, self.http, rest_base_url=base, clock=lambda: self.clock_now[0], **kwargs)

    async def done(self, request_id: str) -> None:
        await self.sim.wait_for_status(request_id, QueueStatus.COMPLETED, within=3.0)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with await start_simulator(fast_config()) as running, aiohttp.ClientSession() as http:
        yield Env(running, http, [time.time()])


@pytest.fixture
def fal(env: Env) -> FalClient:
    return env.client()


def assert_no_secret(err: BaseException) -> None:
    for text in (str(err), repr(err), str(err.args), str(vars(err))):
        assert DEFAULT_KEY not in text and SECRET not in text


async def raises(coro: Any) -> FalError:
    with pytest.raises(FalError) as info:
        await coro
    assert_no_secret(info.value)
    return info.value
