"""The invariant checker itself: it must catch each kind of violation, naming the job."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.store import Database, JobStore, JobUpdate
from tests.helpers.invariants import InvariantError, assert_invariants, find_violations


async def make_db(path: Path) -> JobStore:
    db = await Database.open(path)
    return JobStore(db)


async def test_a_clean_history_passes(tmp_path: Path) -> None:
    """queued -> submitting -> running -> completed -> delivered, told: no violation."""
    store = await make_db(tmp_path / "a.sqlite3")
    job = await store.insert(JobRequest(JobKind.CREATE, 1, Origin(1, 2), "x"), 1.0)
    for state in (JobState.SUBMITTING, JobState.RUNNING, JobState.COMPLETED):
        await store.transition(
            job.id, state, 2.0, JobUpdate(callback_token_hash="h" if state is JobState.SUBMITTING else None)
        )
    await store.transition(job.id, JobState.DELIVERED, 3.0, JobUpdate(notified=True))
    await store.db.close()
    assert_invariants(tmp_path / "a.sqlite3")


async def test_each_violation_is_named(tmp_path: Path) -> None:
    """A stuck job (I1), an untold failure (I1), an illegal move (I3) and a live token (I4) are all found."""
    path = tmp_path / "b.sqlite3"
    store = await make_db(path)
    stuck = await store.insert(JobRequest(JobKind.CREATE, 1, Origin(1, 2), "stuck"), 1.0)
    untold = await store.insert(JobRequest(JobKind.CREATE, 1, Origin(1, 2), "untold"), 1.0)
    await store.transition(untold.id, JobState.FAILED, 2.0)
    await store.db.close()
    with sqlite3.connect(path) as conn:
        # Forge what pikabot's store would never write: a backwards move and a token on a finished job.
        conn.execute("UPDATE jobs SET state = 'running' WHERE id = ?", (untold.id,))
        conn.execute(
            "UPDATE jobs SET state = 'failed', callback_token_hash = 'live' WHERE id = ?", (untold.id,)
        )
    rules = {(v.rule, v.job_id) for v in find_violations(path)}
    assert ("I1", stuck.id) in rules
    assert ("I1", untold.id) in rules
    assert ("I3", untold.id) in rules
    assert ("I4", untold.id) in rules
    with pytest.raises(InvariantError, match=f"job {stuck.id}: still queued"):
        assert_invariants(path)
