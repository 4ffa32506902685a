"""Store benchmarks: transitions per second and the fair-queue read, on SQLite and on PostgreSQL.

Both run the same JobStore code; each backend brings its floor (the same number of bare single-row
UPDATEs through its driver) and its bulk seeding of 100,000 finished jobs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks.figures import Row, summary
from bot.config.database import parse_database_url
from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.store import JobStore, JobUpdate
from bot.store.postgres import PostgresDatabase
from bot.store.sqlite import SqliteDatabase
from sandbox.postgres import PostgresNotInstalled, start_cluster

SEED_COLUMNS = ("provider", "kind", "state", "owner_id", "channel_id", "created_at", "updated_at")
SEED_ROWS = [("useapi", "create", "delivered", n % 500, 2, float(n), float(n)) for n in range(100_000)]

#: (n, job id) -> one bare UPDATE, committed: the floor a transition is compared with.
BareUpdate = Callable[[int, int], Awaitable[None]]


async def bench_store(tmp: Path) -> list[Row]:
    """Job state transitions per second through the real store (SQLite: WAL, synchronous=FULL)."""
    db = await SqliteDatabase.connect(tmp / "store.sqlite3")

    async def bare_update(n: int, job_id: int) -> None:
        async with db.write() as conn:
            await conn.execute("UPDATE jobs SET progress = ? WHERE id = ?", (str(n), job_id))

    async def seed() -> None:
        columns = ", ".join(SEED_COLUMNS)
        await db.conn.executemany(f"INSERT INTO jobs ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", SEED_ROWS)

    try:
        return await store_figures("store", JobStore(db), bare_update, seed)
    finally:
        await db.close()


async def bench_store_pg(tmp: Path) -> list[Row]:
    """The same figures on PostgreSQL: a throwaway local cluster with its default durability
    (fsync on, synchronous_commit on), reached over TCP on 127.0.0.1."""
    try:
        cluster = await asyncio.to_thread(start_cluster, durable=True)
    except PostgresNotInstalled as exc:
        print(f"bench_store_pg skipped: {exc}")
        return []
    try:
        db = await PostgresDatabase.connect(parse_database_url(await cluster.create_database("bench")))

        async def bare_update(n: int, job_id: int) -> None:
            await db.pool.execute("UPDATE jobs SET progress = $1 WHERE id = $2", str(n), job_id)

        async def seed() -> None:
            await db.pool.copy_records_to_table("jobs", records=SEED_ROWS, columns=SEED_COLUMNS)
            await db.pool.execute("ANALYZE")  # what autovacuum would have done on a live server

        try:
            return await store_figures("store/pg", JobStore(db), bare_update, seed)
        finally:
            await db.close()
    finally:
        await asyncio.to_thread(cluster.stop)


async def store_figures(
    label: str, store: JobStore, bare_update: BareUpdate, seed: Callable[[], Awaitable[None]]
) -> list[Row]:
    """Transition latency and rates (one at a time, 500 at once) and the 100k-job fair-queue read."""
    # One at a time: every transition waits for its own commit (the worst case).
    jobs = await new_jobs(store)
    latencies: list[float] = []
    start = time.perf_counter()
    for job_id in jobs:
        await walk(store, job_id, latencies)
    rate = len(latencies) / (time.perf_counter() - start)
    # 500 jobs moving at once, as when many videos progress together: commits are shared.
    together = await new_jobs(store)
    grouped: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(*(walk(store, job_id, grouped) for job_id in together))
    grouped_rate = len(grouped) / (time.perf_counter() - start)
    # Floor: the same number of single-row UPDATEs through the driver with no pikabot code around them.
    t0 = time.perf_counter()
    for n in range(len(latencies)):
        await bare_update(n, jobs[n % len(jobs)])
    floor_rate = len(latencies) / (time.perf_counter() - t0)
    await seed()
    q_median, q_p99, q_max = await fair_queue_read(store)
    median, p99, top = summary(latencies)
    return [
        Row(f"{label}: transition latency", "ms", median, p99, top, None, "-", None),
        Row.single(f"{label}: transitions/s, one at a time", "/s", rate, floor_rate, ">= 2,000/s", rate >= 2000),
        Row.single(f"{label}: transitions/s, 500 jobs at once", "/s", grouped_rate, floor_rate, ">= 2,000/s",
                   grouped_rate >= 2000),
        Row(f"{label}: member usage + fair queue, 100k jobs", "ms", q_median, q_p99, q_max, None, "< 5 ms",
            q_p99 < 5),
    ]  # fmt: skip


async def walk(store: JobStore, job_id: int, latencies: list[float]) -> None:
    """Move one job from submitting to delivered, noting each transition's milliseconds."""
    for state in (JobState.SUBMITTING, JobState.RUNNING, JobState.COMPLETED, JobState.DELIVERED):
        t0 = time.perf_counter()
        await store.transition(job_id, state, 2.0, JobUpdate(notified=state is JobState.DELIVERED or None))
        latencies.append((time.perf_counter() - t0) * 1000)


async def new_jobs(store: JobStore) -> list[int]:
    """500 queued jobs from 50 members."""
    return [
        (await store.insert(JobRequest(JobKind.CREATE, n % 50, Origin(1, 2), "x"), 1.0)).id
        for n in range(500)
    ]


async def fair_queue_read(store: JobStore) -> tuple[float, float, float]:
    """Milliseconds of the query behind queue positions (member usage + the fair queue), 50 times."""
    for n in range(200):
        await store.insert(JobRequest(JobKind.CREATE, n % 20, Origin(1, 2), "q"), 1e9 + n)
    query: list[float] = []
    for n in range(50):
        t0 = time.perf_counter()
        await store.member_usage(1, n % 20, 0.0)
        await store.due_queued(2e9, 20)
        query.append((time.perf_counter() - t0) * 1000)
    return summary(query)
