"""Recovery in the engine: from 1,000 jobs in flight in the database to all of them polling or waiting."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.figures import Row
from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.store import Database, JobStore, JobUpdate
from tests.helpers.engine import start_engine


async def bench_recovery(tmp: Path) -> list[Row]:
    """Start with 1,000 jobs in flight in the database: time until all are polling or waiting again."""
    path = tmp / "recovery"
    path.mkdir()
    db = await Database.open(path / "pikabot.sqlite3")
    store = JobStore(db)
    for n in range(1000):
        job = await store.insert(JobRequest(JobKind.CREATE, n % 40, Origin(1, 2), f"r{n}"), 1.0)
        if n % 2:
            await store.transition(job.id, JobState.SUBMITTING, 1.0, JobUpdate(account="1183508299895820390"))
            await store.transition(job.id, JobState.RUNNING, 1.0, JobUpdate(upstream_id=f"gone-{n}"))
    await db.close()
    t0 = time.perf_counter()
    engine = await start_engine(path, callbacks=False, max_jobs=10)
    recovered = time.perf_counter() - t0
    await engine.stop()
    return [
        Row(
            "recovery: restart with 1,000 jobs in flight",
            "s",
            recovered,
            recovered,
            recovered,
            None,
            "< 3 s",
            recovered < 3,
        )
    ]
