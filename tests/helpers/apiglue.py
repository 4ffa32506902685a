"""The API Glue provider against its simulator: the fixtures and requests its tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.domain.jobs import InputFile, JobKind
from bot.domain.prompt import PikaOptions
from bot.providers.apiglue import ApiGlueProvider, Timeouts
from bot.providers.base import Account, SubmitRequest
from sandbox.apiglue_sim import RunningGlueSimulator, SimConfig, start_simulator

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
# Not a loopback host: the simulator records the URL without downloading it.
IMAGE_URL = "https://cdn.discordapp.com/attachments/1/2/cat.png"
ACCOUNT = Account("glue", None, 10, provider="apiglue")


@pytest.fixture
async def sim() -> AsyncIterator[RunningGlueSimulator]:
    config = SimConfig(queued_delay=0.01, progress_delay=0.01, progress_steps=(20, 45), random_seed=7)
    running = await start_simulator(config)
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def provider(sim: RunningGlueSimulator) -> AsyncIterator[ApiGlueProvider]:
    client = ApiGlueProvider(sim.base_url, sim.sim.config.api_token, timeouts=Timeouts(submit_total=5))
    try:
        yield client
    finally:
        await client.close()


def submit_request(kind: JobKind = JobKind.GENERATE, prompt: str = "a fox", **kwargs: Any) -> SubmitRequest:
    fields: dict[str, Any] = {"job_id": 7, "kind": kind, "prompt": prompt, "options": PikaOptions()}
    fields.update(account=ACCOUNT, reply_ref="7")
    fields.update(kwargs)
    return SubmitRequest(**fields)


def image(url: str | None = IMAGE_URL, form_field: str = "image") -> InputFile:
    return InputFile(form_field, "cat.png", "image/png", PNG, url=url)
