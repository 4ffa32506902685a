"""Group commit: concurrent compare-and-set writes share a transaction, each keeps its own outcome.

SQLite's machinery is tested alone (``sqlite_only``); what callers see of it (each gets its own
outcome, a cancelled caller's write still lands, close answers every write) holds on PostgreSQL too.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from bot.domain.jobs import Job, JobKind, JobRequest, JobState, Origin
from bot.store import Database, JobStore, JobUpdate
from bot.store.sqlite import SqliteDatabase


def request(owner: int = 1) -> JobRequest:
    return JobRequest(kind=JobKind.CREATE, owner_id=owner, origin=Origin(10, 20), prompt="a fox")


async def traced(store: JobStore) -> list[str]:
    """Every statement the store's connection runs from now on (SQLite's own trace hook)."""
    statements: list[str] = []
    assert isinstance(store.db, SqliteDatabase)
    await store.db.conn.set_trace_callback(statements.append)
    return statements


def fresh_state(path: Path, job_id: int) -> tuple[str, str | None]:
    """State and account of a job as a brand-new connection sees them (i.e. what is committed)."""
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT state, account FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert row is not None
    return row[0], row[1]


@pytest.mark.sqlite_only
async def test_concurrent_transitions_all_land_in_shared_commits(store: JobStore) -> None:
    """100 transitions at once: each caller gets its own job back, with fewer commits than writes."""
    jobs = [await store.insert(request(owner=n % 7), 1.0) for n in range(100)]
    statements = await traced(store)
    results = await asyncio.gather(
        *(
            store.transition(job.id, JobState.SUBMITTING, 2.0, JobUpdate(account=f"acct-{job.id}"))
            for job in jobs
        )
    )
    for job, result in zip(jobs, results, strict=True):
        assert result is not None
        assert (result.id, result.state, result.account) == (job.id, JobState.SUBMITTING, f"acct-{job.id}")
    assert all(j.state is JobState.SUBMITTING for j in await store.all_jobs())
    for job in jobs:
        assert [e.to_state for e in await store.events(job.id)] == [JobState.QUEUED, JobState.SUBMITTING]
    commits = sum(1 for s in statements if s == "COMMIT")
    assert 1 <= commits < 50


@pytest.mark.sqlite_only
async def test_a_failed_compare_and_set_does_not_affect_its_batch(store: JobStore) -> None:
    """One CAS that finds its job moved on answers None; the others in the same batch still land."""
    jobs = [await store.insert(request(), 1.0) for _ in range(10)]
    moved = jobs[4]
    await store.transition(moved.id, JobState.SUBMITTING, 2.0)
    statements = await traced(store)
    results = await asyncio.gather(*(store.transition(j.id, JobState.SUBMITTING, 3.0) for j in jobs))
    assert results[4] is None
    assert [r is not None for r in results].count(True) == 9
    assert all(j.state is JobState.SUBMITTING for j in await store.all_jobs())
    assert [e.at for e in await store.events(moved.id)] == [1.0, 2.0]
    assert "ROLLBACK" not in statements


@pytest.mark.sqlite_only
async def test_an_exception_in_a_batch_reaches_only_its_caller(store: JobStore) -> None:
    """A statement that fails (a duplicate token breaks UNIQUE) raises for its caller alone."""
    jobs = [await store.insert(request(), 1.0) for _ in range(6)]
    for job in jobs:
        await store.transition(job.id, JobState.SUBMITTING, 2.0)
    hashes = ["h0", "h1", "h2", "h1", "h4", "h5"]  # the fourth repeats the second's in the same batch
    statements = await traced(store)
    results = await asyncio.gather(
        *(
            store.update(job.id, JobState.SUBMITTING, 3.0, JobUpdate(callback_token_hash=h))
            for job, h in zip(jobs, hashes, strict=True)
        ),
        return_exceptions=True,
    )
    assert isinstance(results[3], sqlite3.IntegrityError)
    for n in (0, 1, 2, 4, 5):
        result = results[n]
        assert isinstance(result, Job) and result.id == jobs[n].id
    stored = {j.id: j for j in await store.all_jobs()}
    assert stored[jobs[3].id].updated_at == 2.0  # untouched
    assert all(stored[jobs[n].id].updated_at == 3.0 for n in (0, 1, 2, 4, 5))
    for n in (0, 1, 2, 4, 5):
        target = await store.callback_target(hashes[n])
        assert target is not None and target.job_id == jobs[n].id
    assert "ROLLBACK" in statements  # they did share a transaction, undone and replayed one by one
    assert isinstance(store.db, SqliteDatabase) and not store.db.conn.in_transaction


async def test_a_failing_write_fails_for_its_caller_alone(store: JobStore) -> None:
    """Concurrent token updates, one repeating another's (UNIQUE): only that caller sees the error."""
    jobs = [await store.insert(request(), 1.0) for _ in range(6)]
    for job in jobs:
        await store.transition(job.id, JobState.SUBMITTING, 2.0)
    hashes = ["h0", "h1", "h2", "h1", "h4", "h5"]
    results = await asyncio.gather(
        *(
            store.update(job.id, JobState.SUBMITTING, 3.0, JobUpdate(callback_token_hash=h))
            for job, h in zip(jobs, hashes, strict=True)
        ),
        return_exceptions=True,
    )
    failed = [
        n
        for n, r in enumerate(results)
        if isinstance(r, sqlite3.IntegrityError | asyncpg.UniqueViolationError)
    ]
    assert len(failed) == 1 and failed[0] in (1, 3)  # PostgreSQL may run either of the two first
    winner = 4 - failed[0]
    assert all(isinstance(results[n], Job) for n in range(6) if n != failed[0])
    target = await store.callback_target("h1")
    assert target is not None and target.job_id == jobs[winner].id


@pytest.mark.sqlite_only
async def test_each_caller_is_answered_only_after_its_row_is_committed(tmp_path: Path) -> None:
    """Right after its own transition returns, every caller's row is visible to a new connection."""
    path = tmp_path / "jobs.sqlite3"
    db = await Database.open(path)
    store = JobStore(db)
    try:
        jobs = [await store.insert(request(), 1.0) for _ in range(40)]

        async def move(job: Job) -> tuple[str, str | None]:
            done = await store.transition(job.id, JobState.SUBMITTING, 2.0, JobUpdate(account=f"a{job.id}"))
            assert done is not None
            return fresh_state(path, job.id)  # synchronously, before anything else can run

        seen = await asyncio.gather(*(move(job) for job in jobs))
        assert seen == [("submitting", f"a{job.id}") for job in jobs]
    finally:
        await db.close()


async def test_a_cancelled_caller_does_not_undo_or_block_the_batch(store: JobStore) -> None:
    """A caller that stops waiting still has its write committed, and the others are answered."""
    jobs = [await store.insert(request(), 1.0) for _ in range(5)]
    tasks = [asyncio.create_task(store.transition(j.id, JobState.SUBMITTING, 2.0)) for j in jobs]
    await asyncio.sleep(0)  # every write is queued
    tasks[2].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[2], asyncio.CancelledError)
    assert all(isinstance(results[n], Job) for n in (0, 1, 3, 4))
    # On PostgreSQL each write commits on its own, so the abandoned one may land just after the
    # others are answered: wait for it (bounded) rather than read the table at once.
    deadline = time.monotonic() + 5.0
    while not all(j.state is JobState.SUBMITTING for j in await store.all_jobs()):
        assert time.monotonic() < deadline, "the cancelled caller's write never committed"
        await asyncio.sleep(0.01)


async def test_close_answers_queued_writes_first(db_target: str) -> None:
    """Closing the database waits for writes still in the queue; none is lost or left hanging."""
    db = await Database.open(db_target)
    store = JobStore(db)
    jobs = [await store.insert(request(), 1.0) for _ in range(20)]
    tasks = [asyncio.create_task(store.transition(j.id, JobState.SUBMITTING, 2.0)) for j in jobs]
    await asyncio.sleep(0)
    await db.close()
    assert all(result is not None for result in await asyncio.gather(*tasks))
    db = await Database.open(db_target)
    try:
        assert all(j.state is JobState.SUBMITTING for j in await JobStore(db).all_jobs())
    finally:
        await db.close()


@pytest.mark.parametrize("concurrent", [1, 2, 64])
async def test_transition_chains_keep_their_order(store: JobStore, concurrent: int) -> None:
    """Jobs walked through the whole path by concurrent callers end delivered with a legal history."""
    jobs = [await store.insert(request(owner=n), 1.0) for n in range(concurrent)]
    path = [JobState.SUBMITTING, JobState.RUNNING, JobState.COMPLETED, JobState.DELIVERED]

    async def walk(job: Job, at: Callable[[int], float]) -> None:
        for step, state in enumerate(path):
            assert await store.transition(job.id, state, at(step)) is not None

    await asyncio.gather(*(walk(job, lambda step: 2.0 + step) for job in jobs))
    for job in jobs:
        assert [e.to_state for e in await store.events(job.id)] == [JobState.QUEUED, *path]
