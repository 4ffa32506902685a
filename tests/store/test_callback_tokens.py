"""Finding a job by its live callback token: issue, spend, restart, and writes by other connections.

On SQLite through the in-memory mirror; on PostgreSQL through the table (other processes write it).
"""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.store import Database, JobStore, JobUpdate
from bot.store.callback_tokens import CallbackTarget, CallbackTokens
from bot.store.sqlite import SqliteDatabase


def request(owner: int = 1) -> JobRequest:
    return JobRequest(kind=JobKind.CREATE, owner_id=owner, origin=Origin(10, 20), prompt="a fox")


async def submitting(store: JobStore, token_hash: str) -> int:
    """A job in SUBMITTING with `token_hash` issued the way the service issues it (a CAS update)."""
    job = await store.insert(request(), 1.0)
    await store.transition(job.id, JobState.SUBMITTING, 2.0)
    issued = await store.update(job.id, JobState.SUBMITTING, 2.5, JobUpdate(callback_token_hash=token_hash))
    assert issued is not None
    return job.id


async def test_issued_tokens_are_found_and_spent_ones_are_not(store: JobStore) -> None:
    """Issuing a token makes it findable at once; completing the job spends it."""
    assert await store.callback_target("h1") is None  # loads the (empty) mirror first
    job_id = await submitting(store, "h1")
    assert await store.callback_target("h1") == CallbackTarget(job_id, "useapi")
    await store.transition(job_id, JobState.RUNNING, 3.0, JobUpdate(upstream_id="u1"))
    assert await store.callback_target("h1") == CallbackTarget(job_id, "useapi")
    await store.transition(job_id, JobState.COMPLETED, 4.0)
    assert await store.callback_target("h1") is None
    assert await store.by_callback_token("h1") is None


async def test_a_reissued_token_replaces_the_old_one(store: JobStore) -> None:
    """A job given a new token (a resubmit) is no longer found by its old one."""
    job_id = await submitting(store, "old")
    assert await store.callback_target("old") is not None
    await store.update(job_id, JobState.SUBMITTING, 3.0, JobUpdate(callback_token_hash="new"))
    assert await store.callback_target("old") is None
    assert await store.callback_target("new") == CallbackTarget(job_id, "useapi")


async def test_terminal_states_spend_tokens_in_a_shared_batch(store: JobStore) -> None:
    """Tokens spent by concurrent terminal transitions are all gone; the others stay live."""
    ids = [await submitting(store, f"h{n}") for n in range(10)]
    assert await store.callback_target("h0") is not None
    await asyncio.gather(
        *(store.transition(job_id, JobState.FAILED, 3.0) for job_id in ids[:5]),
        *(store.transition(job_id, JobState.RUNNING, 3.0) for job_id in ids[5:]),
    )
    for n, job_id in enumerate(ids):
        expected = None if n < 5 else CallbackTarget(job_id, "useapi")
        assert await store.callback_target(f"h{n}") == expected
        stored = await store.by_callback_token(f"h{n}")
        assert (stored.id if stored else None) == (expected.job_id if expected else None)


async def test_a_restart_reloads_live_tokens(db_target: str) -> None:
    """After reopening the database, live tokens are found and spent ones are not."""
    db = await Database.open(db_target)
    store = JobStore(db)
    live = await submitting(store, "live")
    spent = await submitting(store, "spent")
    await store.transition(spent, JobState.CANCELLED, 3.0)
    await db.close()
    db = await Database.open(db_target)
    try:
        store = JobStore(db)
        assert await store.callback_target("live") == CallbackTarget(live, "useapi")
        assert await store.callback_target("spent") is None
    finally:
        await db.close()


async def test_another_connection_spending_a_token_is_noticed(db_target: str) -> None:
    """Another process (the operator CLI, a second bot) cancels a job and issues a token: SQLite's
    mirror follows at its next check, PostgreSQL at once (a callback may reach any process)."""
    now = [0.0]
    db = await Database.open(db_target)
    if db.callback_tokens is not None:
        db.callback_tokens = CallbackTokens(clock=lambda: now[0], recheck=1.0)
    other = await Database.open(db_target)
    try:
        store, cli = JobStore(db), JobStore(other)
        job_id = await submitting(store, "h1")
        assert await store.callback_target("h1") is not None
        await cli.transition(job_id, JobState.CANCELLED, 3.0)
        issued_elsewhere = await submitting(cli, "h2")
        if db.callback_tokens is None:  # no mirror to wait for
            assert await store.callback_target("h1") is None
            assert await store.callback_target("h2") == CallbackTarget(issued_elsewhere, "useapi")
        now[0] += 1.0
        assert await store.callback_target("h1") is None
        assert await store.callback_target("h2") == CallbackTarget(issued_elsewhere, "useapi")
    finally:
        await other.close()
        await db.close()


@pytest.mark.sqlite_only
async def test_lookups_between_checks_run_no_sql(store: JobStore) -> None:
    """Once loaded, finding a token does not touch SQLite (the request path stays off its thread)."""
    job_id = await submitting(store, "h1")
    assert await store.callback_target("h1") is not None
    statements: list[str] = []
    assert isinstance(store.db, SqliteDatabase)
    await store.db.conn.set_trace_callback(statements.append)
    for _ in range(100):
        assert await store.callback_target("h1") == CallbackTarget(job_id, "useapi")
        assert await store.callback_target("nope") is None
    assert statements == []
