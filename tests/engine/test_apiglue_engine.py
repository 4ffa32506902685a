"""The engine with the API Glue provider: a job API Glue never starts expires, and the member is told."""

from __future__ import annotations

from pathlib import Path

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.domain.params import VideoParams
from bot.providers.apiglue import ApiGlueProvider
from sandbox.apiglue_sim import SimConfig, start_simulator
from tests.helpers.engine import start_provider_engine


async def test_a_job_stuck_in_api_glues_queue_expires_and_is_told(tmp_path: Path) -> None:
    """API Glue keeps the video `queued` forever: past the timeout the job is EXPIRED with one notice."""
    glue = await start_simulator(SimConfig(queued_delay=0.01))
    glue.sim.faults.stuck_queued = True
    engine = await start_provider_engine(
        tmp_path, ApiGlueProvider(glue.base_url, glue.sim.config.api_token), timeout=1.0
    )
    try:
        job = await engine.service.submit(
            JobRequest(
                kind=JobKind.GENERATE,
                owner_id=7,
                origin=Origin(guild_id=1, channel_id=2),
                prompt="a lighthouse in fog",
                provider="apiglue",
                params=VideoParams(fps=12),
            )
        )
        told = await engine.wait_told(job.id)
        assert told.state is JobState.EXPIRED
        assert engine.delivery.notice_ids() == [job.id]
        assert any(r.path == "/web/generate" for r in glue.sim.requests)
    finally:
        await engine.stop()
        await glue.close()
