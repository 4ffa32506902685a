"""The engine with the fal.ai provider: a request fal never starts is cancelled upstream and expires."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.downloads import DownloadPolicy, VideoDownloader
from bot.jobs import JobKind, JobRequest, JobState, Origin
from bot.providers.base import Account
from bot.providers.fal_pika import FalPikaProvider
from bot.sandbox.fal_sim import SimConfig, start_simulator
from bot.scheduler import Scheduler
from bot.service import EngineSettings, JobService
from bot.store import Database, JobStore
from tests.engine.harness import FAST_POLICY, NO_LIMITS, RecordingDelivery


async def test_a_request_stuck_in_fals_queue_is_cancelled_there_and_expires(tmp_path: Path) -> None:
    """fal keeps the request IN_QUEUE: past our deadline it is cancelled upstream, EXPIRED, told once."""
    fal = await start_simulator(SimConfig(queue_delay=0.01))
    fal.sim.faults.stuck_queued = True
    db = await Database.open(tmp_path / "pikabot.sqlite3")
    store = JobStore(db)
    provider = FalPikaProvider(
        fal.base_url, fal.sim.config.key, rest_base_url=fal.base_url, jwks_url=fal.jwks_url
    )
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
        {"fal": provider},
        Scheduler([Account("fal", None, 2, provider="fal")], FAST_POLICY),
        delivery,
        downloader,
        settings,
    )
    await service.start()
    try:
        job = await service.submit(
            JobRequest(
                kind=JobKind.CREATE,
                owner_id=7,
                origin=Origin(guild_id=1, channel_id=2),
                prompt="fog",
                provider="fal",
            )
        )
        assert job.cost_usd is not None and job.cost_usd > 0
        for _ in range(100):
            stored = await store.get(job.id)
            if stored is not None and stored.terminal and stored.notified:
                break
            await asyncio.sleep(0.05)
        assert stored is not None and stored.state is JobState.EXPIRED
        assert delivery.notice_ids() == [job.id]
        # The notice goes out first; the upstream cancel follows it.
        for _ in range(100):
            if any(r.method == "PUT" and r.path.endswith("/cancel") for r in fal.sim.recorded):
                break
            await asyncio.sleep(0.05)
        assert any(r.method == "PUT" and r.path.endswith("/cancel") for r in fal.sim.recorded)
    finally:
        await service.stop()
        await provider.close()
        await downloader.close()
        await db.close()
        await fal.close()
