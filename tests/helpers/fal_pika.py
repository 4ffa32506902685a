"""FalPikaProvider against the fal simulator: its fixtures, and the requests and runs its tests share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.domain.jobs import InputFile, JobKind, JobRequest, Origin
from bot.providers.base import Account, SubmitRequest, UpstreamJob, UpstreamStatus
from bot.providers.fal.pika import FalPikaProvider
from sandbox.fal_sim import DEFAULT_KEY, RunningFalSimulator, SimConfig, start_simulator

ACCOUNT = Account("fal", None, 2, provider="fal")
DISCORD_CDN = "https://cdn.discordapp.com/attachments/1/2/"


def png(tag: int = 0) -> bytes:
    """A small PNG-looking file whose bytes differ by tag (to tell uploads apart)."""
    return b"\x89PNG\r\n\x1a\n" + bytes([tag]) * 64


def image(n: int | None = None) -> InputFile:
    """An attachment as the Discord layer stores it, with a Discord CDN link that must never reach fal."""
    form_field = "image" if n is None else f"image_{n}"
    return InputFile(
        form_field, f"pic {n or 0}.png", "image/png", png(n or 0), url=f"{DISCORD_CDN}pic{n}.png"
    )


def request(kind: JobKind = JobKind.CREATE, prompt: str = "a red fox", **kwargs: object) -> JobRequest:
    return JobRequest(kind=kind, owner_id=1, origin=Origin(1, 2), prompt=prompt, provider="fal", **kwargs)  # type: ignore[arg-type]


def submit_request(req: JobRequest, reply_url: str | None = None) -> SubmitRequest:
    return SubmitRequest(
        job_id=1,
        kind=req.kind,
        prompt=req.prompt,
        options=req.options,
        account=ACCOUNT,
        reply_ref="pikabot-1",
        reply_url=reply_url,
        inputs=req.inputs,
        params=req.params,
    )


@pytest.fixture
async def sim() -> AsyncIterator[RunningFalSimulator]:
    running = await start_simulator(
        SimConfig(
            queue_delay=0.0, step_delay=0.005, log_messages=("Generating video...", "Encoding video...")
        )
    )
    yield running
    await running.close()


@pytest.fixture
async def fal(sim: RunningFalSimulator) -> AsyncIterator[FalPikaProvider]:
    provider = FalPikaProvider(sim.base_url, DEFAULT_KEY, rest_base_url=sim.base_url, jwks_url=sim.jwks_url)
    yield provider
    await provider.close()


async def finish(fal: FalPikaProvider, started: UpstreamJob) -> UpstreamJob:
    """Poll like the engine does until the job leaves RUNNING."""
    for _ in range(300):
        snapshot = await fal.fetch(started.upstream_id, started.handle)
        if snapshot.status is not UpstreamStatus.RUNNING:
            return snapshot
        await asyncio.sleep(0.01)
    raise AssertionError("the job never finished")


async def run(fal: FalPikaProvider, req: JobRequest, reply_url: str | None = None) -> tuple[str, UpstreamJob]:
    fal.check(req)
    started = await fal.submit(submit_request(req, reply_url))
    assert started.status is UpstreamStatus.RUNNING and started.handle
    return started.upstream_id, await finish(fal, started)
