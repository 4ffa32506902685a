"""The callback endpoint under hostile input: guessing, oversized, malformed, wrong method."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from pathlib import Path

import aiohttp

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.web.webhooks import MissLimiter
from tests.helpers.engine import start_engine


def row_counts(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        jobs = conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        events = conn.execute("SELECT COUNT(*) FROM job_events").fetchone()[0]
    return int(jobs), int(events)


async def test_ten_thousand_guessed_tokens(tmp_path: Path) -> None:
    """10,000 random tokens: every answer 404 or 429 (rate-limited per IP), no database write."""
    engine = await start_engine(tmp_path, callback_grace=1.0)
    engine.sim.sim.faults.hold_jobs = True
    try:
        await engine.service.submit(JobRequest(JobKind.CREATE, 1, Origin(1, 2), "a running job"))
        await engine.wait_until(lambda jobs: jobs[0].state is JobState.RUNNING, timeout=5)
        before = row_counts(tmp_path / "pikabot.sqlite3")
        assert engine.webhooks is not None
        base = f"http://127.0.0.1:{engine.webhooks.port}/callbacks/useapi/"
        statuses: dict[int, int] = {}
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def guess() -> None:
                async with session.post(base + secrets.token_urlsafe(32), json={"jobid": "x"}) as response:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    assert "Traceback" not in await response.text()

            for _ in range(100):
                await asyncio.gather(*(guess() for _ in range(100)))
        assert sum(statuses.values()) == 10_000
        assert set(statuses) <= {404, 429}
        assert statuses.get(404, 0) <= MissLimiter().burst + 20  # then the address is throttled
        assert row_counts(tmp_path / "pikabot.sqlite3") == before
        # The real job is not hurt: with its callback possibly throttled, the poller still finishes it.
        engine.sim.sim.release_all()
        jobs = await engine.wait_all_terminal(timeout=20)
        assert jobs[0].state is JobState.DELIVERED
    finally:
        await engine.stop()


async def test_malformed_bodies_and_methods(tmp_path: Path) -> None:
    """Invalid UTF-8, 100,000-deep nesting, non-objects, GET: a 4xx each, never a traceback."""
    engine = await start_engine(tmp_path, callback_grace=60)
    engine.sim.sim.faults.hold_jobs = True
    engine.sim.sim.faults.drop_callbacks = True
    try:
        await engine.service.submit(JobRequest(JobKind.CREATE, 1, Origin(1, 2), "a running job"))
        await engine.wait_until(lambda jobs: jobs[0].state is JobState.RUNNING, timeout=5)
        url = next(r for r in engine.sim.sim.requests if r.method == "POST").fields["replyUrl"]
        bodies = [b"\xff\xfe\xfa{not utf-8", b"[" * 100_000 + b"]" * 100_000, b"42", b'"text"', b"null", b""]
        async with aiohttp.ClientSession() as session:
            for body in bodies:
                async with session.post(url, data=body, headers={"Content-Type": "text/plain"}) as response:
                    assert response.status == 400 or (response.status == 413 and len(body) > 65536), body[:20]
                    assert "Traceback" not in await response.text()
            async with session.get(url) as response:
                assert response.status == 405
            async with session.post(url, data={"jobid": "x"}) as response:  # a form, not JSON
                assert response.status == 415
        job = (await engine.store.all_jobs())[0]
        assert job.state is JobState.RUNNING
    finally:
        await engine.stop()


def test_miss_limiter_refills() -> None:
    """The per-IP budget refills with time, so a throttled address recovers."""
    now = [0.0]
    limiter = MissLimiter(burst=3, per_minute=60, clock=lambda: now[0])
    for _ in range(3):
        assert not limiter.blocked("1.2.3.4")
        limiter.miss("1.2.3.4")
    assert limiter.blocked("1.2.3.4")
    assert not limiter.blocked("5.6.7.8")
    now[0] += 1.0
    assert not limiter.blocked("1.2.3.4")
