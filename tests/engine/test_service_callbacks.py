"""JobService callbacks: early, duplicate, late, dropped or forged callbacks end in one result."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from bot.domain.jobs import JobState
from tests.helpers.engine import start_engine
from tests.helpers.jobs import make_request


async def test_callback_before_submit_answer(tmp_path: Path) -> None:
    """The completion callback arrives while the submit answer is still on its way: one delivery."""
    engine = await start_engine(tmp_path, submit_timeout=10)
    try:
        engine.sim.sim.faults.accept_then_delay = 1.0  # job finishes (0.35 s) before the answer
        await engine.service.submit(make_request(1))
        jobs = await engine.wait_all_terminal()
        assert jobs[0].state is JobState.DELIVERED
        assert len(engine.delivery.results) == 1
        assert (
            engine.sim.sim.callbacks_sent
            and engine.sim.sim.callbacks_sent[0].at
            < max(r.at for r in engine.sim.sim.requests if r.method == "POST") + 1.0
        )
    finally:
        await engine.stop()


async def test_duplicate_and_late_callbacks_are_harmless(tmp_path: Path) -> None:
    """Each callback sent four times, and again late: one result, spent tokens answer 404."""
    engine = await start_engine(tmp_path)
    try:
        engine.sim.sim.faults.duplicate_callbacks = 3
        for n in range(3):
            await engine.service.submit(make_request(n))
        await engine.wait_all_terminal()
        await asyncio.sleep(0.3)
        assert sorted(engine.delivery.result_ids()) == sorted(j.id for j in await engine.store.all_jobs())
        statuses = [c.http_status for c in engine.sim.sim.callbacks_sent]
        # Copies that beat the confirmation get 200, later ones 404; either way nothing doubles.
        assert len(statuses) == 12 and set(statuses) <= {200, 404}
        # Replay a callback now: still 404, nothing changes.
        first = engine.sim.sim.callbacks_sent[0]
        async with (
            aiohttp.ClientSession() as session,
            session.post(first.url, json={"jobid": first.jobid}) as r,
        ):
            assert r.status == 404
        assert len(engine.delivery.results) == 3
    finally:
        await engine.stop()


async def test_dropped_callbacks_are_covered_by_the_poller(tmp_path: Path) -> None:
    """Callbacks never arrive: the executing list (or the backstop poll) finishes the job."""
    engine = await start_engine(tmp_path, callback_grace=1.0, poll_interval=1.0)
    try:
        engine.sim.sim.faults.drop_callbacks = True
        await engine.service.submit(make_request(1))
        jobs = await engine.wait_all_terminal(timeout=15)
        assert jobs[0].state is JobState.DELIVERED
    finally:
        await engine.stop()


async def test_forged_callback_cannot_complete_a_running_job(tmp_path: Path) -> None:
    """A callback body claiming "completed" while upstream says "progress": upstream wins."""
    engine = await start_engine(tmp_path)
    try:
        engine.sim.sim.faults.hold_jobs = True
        await engine.service.submit(make_request(1))
        await engine.wait_until(lambda jobs: jobs[0].state is JobState.RUNNING, timeout=5)
        post = next(r for r in engine.sim.sim.requests if r.method == "POST")
        forged = {
            "jobid": "forged",
            "status": "completed",
            "attachments": [{"url": "http://127.0.0.1:1/x.mp4"}],
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(post.fields["replyUrl"], json=forged) as r,
        ):
            assert r.status == 200
        await asyncio.sleep(0.3)
        job = (await engine.store.all_jobs())[0]
        assert job.state is JobState.RUNNING
        engine.sim.sim.release_all()
        jobs = await engine.wait_all_terminal()
        assert jobs[0].state is JobState.DELIVERED
        assert jobs[0].video is not None and "127.0.0.1:1/" not in jobs[0].video.source_url
    finally:
        await engine.stop()
