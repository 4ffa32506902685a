"""The engine with the API Glue provider: a job API Glue never starts expires, and the member is told."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.downloads import DownloadPolicy, VideoDownloader
from bot.jobs import JobKind, JobRequest, JobState, Origin
from bot.params import VideoParams
from bot.providers.apiglue import ApiGlueProvider
from bot.providers.base import Account
from bot.sandbox.apiglue_sim import SimConfig, start_simulator
from bot.scheduler import Scheduler
from bot.service import EngineSettings, JobService
from bot.store import Database, JobStore
from tests.engine.harness import FAST_POLICY, NO_LIMITS, RecordingDelivery


async def test_a_job_stuck_in_api_glues_queue_expires_and_is_told(tmp_path: Path) -> None:
    """API Glue keeps the video `queued` forever: past the timeout the job is EXPIRED with one notice."""
    glue = await start_simulator(SimConfig(queued_delay=0.01))
    glue.sim.faults.stuck_queued = True
    db = await Database.open(tmp_path / "pikabot.sqlite3")
    store = JobStore(db)
    provider = ApiGlueProvider(glue.base_url, glue.sim.config.api_token)
    downloader = VideoDownloader(DownloadPolicy(allowed_hosts=frozenset({"127.0.0.1"}), max_bytes=1 << 20))
    await downloader.start()
    delivery = RecordingDelivery()
    settings = EngineSettings(
        media_dir=tmp_path / "media",
        poll_interval=0.2,
        timeout=1.0,
        callback_grace=0,
        callback_base_url=None,
        tick=0.05,
        limits=NO_LIMITS,
    )
    service = JobService(
        store,
        {"apiglue": provider},
        Scheduler([Account("apiglue", None, 2, provider="apiglue")], FAST_POLICY),
        delivery,
        downloader,
        settings,
    )
    await service.start()
    try:
        job = await service.submit(
            JobRequest(
                kind=JobKind.GENERATE,
                owner_id=7,
                origin=Origin(guild_id=1, channel_id=2),
                prompt="a lighthouse in fog",
                provider="apiglue",
                params=VideoParams(fps=12),
            )
        )
        for _ in range(100):
            stored = await store.get(job.id)
            if stored is not None and stored.terminal and stored.notified:
                break
            await asyncio.sleep(0.05)
        assert stored is not None and stored.state is JobState.EXPIRED
        assert delivery.notice_ids() == [job.id]
        assert any(r.path == "/web/generate" for r in glue.sim.requests)
    finally:
        await service.stop()
        await provider.close()
        await downloader.close()
        await db.close()
        await glue.close()
