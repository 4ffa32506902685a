"""The engine with the fal.ai provider: a request fal never starts is cancelled upstream and expires."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.providers.fal.pika import FalPikaProvider
from sandbox.fal_sim import SimConfig, start_simulator
from tests.helpers.engine import start_provider_engine


async def test_a_request_stuck_in_fals_queue_is_cancelled_there_and_expires(tmp_path: Path) -> None:
    """fal keeps the request IN_QUEUE: past our deadline it is cancelled upstream, EXPIRED, told once."""
    fal = await start_simulator(SimConfig(queue_delay=0.01))
    fal.sim.faults.stuck_queued = True
    provider = FalPikaProvider(
        fal.base_url, fal.sim.config.key, rest_base_url=fal.base_url, jwks_url=fal.jwks_url
    )
    engine = await start_provider_engine(tmp_path, provider, timeout=1.0)
    try:
        job = await engine.service.submit(
            JobRequest(
                kind=JobKind.CREATE,
                owner_id=7,
                origin=Origin(guild_id=1, channel_id=2),
                prompt="fog",
                provider="fal",
            )
        )
        assert job.cost_usd is not None and job.cost_usd > 0
        told = await engine.wait_told(job.id)
        assert told.state is JobState.EXPIRED
        assert engine.delivery.notice_ids() == [job.id]
        # The notice goes out first; the upstream cancel follows it.
        for _ in range(100):
            if any(r.method == "PUT" and r.path.endswith("/cancel") for r in fal.sim.recorded):
                break
            await asyncio.sleep(0.05)
        assert any(r.method == "PUT" and r.path.endswith("/cancel") for r in fal.sim.recorded)
    finally:
        await engine.stop()
        await fal.close()
