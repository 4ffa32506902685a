"""The store on both backends: compare-and-set transitions, fair queue order, history; SQLite's
migrations (PostgreSQL's are in test_postgres.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.domain.jobs import IllegalTransition, InputFile, JobKind, JobRequest, JobState, Origin, VideoResult
from bot.domain.prompt import AspectRatio, PikaOptions
from bot.store import JobStore, JobUpdate, MigrationError
from bot.store.migrate import load_migrations
from bot.store.sqlite import SqliteDatabase


def request(owner: int = 1, prompt: str = "a fox", **kwargs: object) -> JobRequest:
    return JobRequest(
        kind=JobKind.CREATE,
        owner_id=owner,
        origin=Origin(guild_id=10, channel_id=20, thread_id=30, interaction_id=40),
        prompt=prompt,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.sqlite_only
async def test_migrations_from_empty_set_user_version(tmp_path: Path) -> None:
    """A new file ends at the newest migration's version with every table present."""
    db = await SqliteDatabase.connect(tmp_path / "a.sqlite3")
    try:
        assert await db.user_version() == load_migrations()[-1].version
        async with db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
            tables = {row[0] for row in await cursor.fetchall()}
        assert {"jobs", "job_inputs", "job_events"} <= tables
        async with db.conn.execute("PRAGMA journal_mode") as cursor:
            row = await cursor.fetchone()
        assert row is not None and row[0] == "wal"
        async with db.conn.execute("PRAGMA foreign_keys") as cursor:
            row = await cursor.fetchone()
        assert row is not None and row[0] == 1
    finally:
        await db.close()


@pytest.mark.sqlite_only
async def test_migrations_are_idempotent(tmp_path: Path) -> None:
    """Opening the same file again applies nothing and keeps the data."""
    path = tmp_path / "a.sqlite3"
    db = await SqliteDatabase.connect(path)
    job = await JobStore(db).insert(request(), 1.0)
    await db.close()
    db = await SqliteDatabase.connect(path)
    try:
        assert await db.user_version() == load_migrations()[-1].version
        assert await JobStore(db).get(job.id) == job
    finally:
        await db.close()


@pytest.mark.sqlite_only
async def test_newer_unknown_schema_is_refused(tmp_path: Path) -> None:
    """A database written by a newer pikabot is not touched."""
    path = tmp_path / "a.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(MigrationError, match="newer"):
        await SqliteDatabase.connect(path)


async def test_insert_round_trips_every_field(store: JobStore) -> None:
    """A stored job comes back with its request, options and input bytes intact."""
    options = PikaOptions(guidance=12, negative="blur", aspect_ratio=AspectRatio("16:9"), seed=7, motion=2)
    image = InputFile("image", "cat.png", "image/png", b"\x89PNG-bytes")
    job = await store.insert(request(options=options, inputs=(image,)), 5.0)
    assert job.state is JobState.QUEUED
    assert job.options == options
    assert job.origin == Origin(10, 20, 30, 40)
    assert job.created_at == 5.0
    assert await store.inputs(job.id) == (image,)
    assert [e.to_state for e in await store.events(job.id)] == [JobState.QUEUED]


async def test_transition_is_compare_and_set(store: JobStore) -> None:
    """A transition applies only from a legal prior state; a stale one changes nothing."""
    job = await store.insert(request(), 1.0)
    moved = await store.transition(job.id, JobState.SUBMITTING, 2.0, JobUpdate(account="a"))
    assert moved is not None and moved.state is JobState.SUBMITTING and moved.account == "a"
    # A second identical move finds the job no longer queued.
    assert await store.transition(job.id, JobState.SUBMITTING, 3.0) is None
    # running -> completed is not possible from submitting.
    assert await store.transition(job.id, JobState.COMPLETED, 3.0) is None
    again = await store.get(job.id)
    assert again is not None and again.state is JobState.SUBMITTING and again.updated_at == 2.0


async def test_illegal_expected_state_raises(store: JobStore) -> None:
    """Asking for an edge the state machine does not have is a programming error, never applied."""
    job = await store.insert(request(), 1.0)
    with pytest.raises(IllegalTransition):
        await store.transition(job.id, JobState.DELIVERED, 2.0, expected=(JobState.QUEUED,))
    current = await store.get(job.id)
    assert current is not None and current.state is JobState.QUEUED


async def test_racing_transitions_have_one_winner(store: JobStore) -> None:
    """Fifty concurrent completions of one running job: exactly one succeeds."""
    job = await store.insert(request(), 1.0)
    await store.transition(job.id, JobState.SUBMITTING, 2.0)
    await store.transition(job.id, JobState.RUNNING, 3.0, JobUpdate(upstream_id="u1"))
    video = VideoResult("/tmp/x.mp4", 10, "x.mp4", "video/mp4", "http://127.0.0.1/x.mp4", 5)
    results = await asyncio.gather(
        *(store.transition(job.id, JobState.COMPLETED, 4.0, JobUpdate(video=video)) for _ in range(50))
    )
    assert sum(r is not None for r in results) == 1
    history = [e.to_state for e in await store.events(job.id)]
    assert history == [JobState.QUEUED, JobState.SUBMITTING, JobState.RUNNING, JobState.COMPLETED]


async def test_terminal_and_completed_spend_the_callback_token(store: JobStore) -> None:
    """Once a job is completed its callback token no longer finds it."""
    job = await store.insert(request(), 1.0)
    await store.transition(job.id, JobState.SUBMITTING, 2.0, JobUpdate(callback_token_hash="h1"))
    found = await store.by_callback_token("h1")
    assert found is not None and found.id == job.id
    await store.transition(job.id, JobState.RUNNING, 3.0, JobUpdate(upstream_id="u"))
    assert await store.by_callback_token("h1") is not None
    done = await store.transition(job.id, JobState.FAILED, 4.0, JobUpdate(error_code="x"))
    assert done is not None and done.finished_at == 4.0
    assert await store.by_callback_token("h1") is None


async def test_fair_queue_is_round_robin_by_owner(store: JobStore) -> None:
    """Owner 1's batch of five does not hold back owners 2 and 3, who asked later."""
    ids: dict[tuple[int, int], int] = {}
    for n in range(5):
        ids[(1, n)] = (await store.insert(request(owner=1), 1.0 + n)).id
    ids[(2, 0)] = (await store.insert(request(owner=2), 10.0)).id
    ids[(3, 0)] = (await store.insert(request(owner=3), 11.0)).id
    ids[(2, 1)] = (await store.insert(request(owner=2), 12.0)).id
    order = [j.id for j in await store.due_queued(100.0, 50)]
    expected = [
        ids[(1, 0)],
        ids[(2, 0)],
        ids[(3, 0)],
        ids[(1, 1)],
        ids[(2, 1)],
        ids[(1, 2)],
        ids[(1, 3)],
        ids[(1, 4)],
    ]
    assert order == expected
    positions = [await store.queue_position(i) for i in expected]
    assert positions == list(range(1, 9))


async def test_due_queued_respects_next_attempt_time(store: JobStore) -> None:
    """A job told to wait (429) is not offered before its time."""
    waiting = await store.insert(request(owner=1), 1.0)
    ready = await store.insert(request(owner=2), 2.0)
    await store.update(waiting.id, JobState.QUEUED, 2.0, JobUpdate(next_attempt_at=50.0))
    assert [j.id for j in await store.due_queued(10.0, 10)] == [ready.id]
    assert [j.id for j in await store.due_queued(60.0, 10)] == [waiting.id, ready.id]


async def test_active_slots_by_account(store: JobStore) -> None:
    """Submitting and running jobs hold slots; queued and finished ones do not."""
    a = await store.insert(request(), 1.0)
    b = await store.insert(request(), 1.0)
    c = await store.insert(request(), 1.0)
    await store.transition(a.id, JobState.SUBMITTING, 2.0, JobUpdate(account="x"))
    await store.transition(b.id, JobState.SUBMITTING, 2.0, JobUpdate(account="x"))
    await store.transition(b.id, JobState.RUNNING, 2.0)
    await store.transition(c.id, JobState.SUBMITTING, 2.0, JobUpdate(account="y"))
    await store.transition(c.id, JobState.FAILED, 2.0)
    assert await store.active_by_account() == {"x": 2}


async def test_update_only_in_expected_state(store: JobStore) -> None:
    """A same-state update (progress text) does nothing once the job moved on."""
    job = await store.insert(request(), 1.0)
    assert await store.update(job.id, JobState.RUNNING, 2.0, JobUpdate(progress="50%")) is None
    updated = await store.update(job.id, JobState.QUEUED, 2.0, JobUpdate(progress="waiting"))
    assert updated is not None and updated.progress == "waiting"


async def test_deleting_inputs_and_integrity(store: JobStore) -> None:
    """Inputs of finished jobs can be dropped; the file stays consistent."""
    job = await store.insert(request(inputs=(InputFile("image", "a.png", "image/png", b"x"),)), 1.0)
    await store.delete_inputs(job.id)
    assert await store.inputs(job.id) == ()
    assert await store.integrity_ok()


@pytest.mark.sqlite_only
async def test_rebuild_migration_keeps_jobs_inputs_and_events(tmp_path: Path) -> None:
    """0003 rebuilds the jobs table: a version-2 file keeps every job, input and event across it."""
    path = tmp_path / "old.sqlite3"
    migrations = load_migrations()
    with sqlite3.connect(path) as conn:
        for migration in migrations[:2]:
            conn.executescript(migration.sql)
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO jobs (provider, kind, state, owner_id, channel_id, prompt, created_at, updated_at) "
            "VALUES ('useapi', 'animate', 'queued', 7, 20, 'old job', 1.0, 1.0)"
        )
        conn.execute(
            "INSERT INTO job_inputs (job_id, field, filename, content_type, size, data) "
            "VALUES (1, 'image', 'a.png', 'image/png', 1, x'41')"
        )
    db = await SqliteDatabase.connect(path)
    try:
        store = JobStore(db)
        job = await store.get(1)
        assert job is not None and job.kind is JobKind.ANIMATE and job.prompt == "old job"
        assert await store.inputs(1) == (InputFile("image", "a.png", "image/png", b"A"),)
        assert [e.to_state for e in await store.events(1)] == [JobState.QUEUED]
        # The rebuilt table has its triggers and takes the new kinds.
        new = await store.insert(JobRequest(kind=JobKind.EXTEND, owner_id=7, origin=job.origin), 2.0)
        assert [e.to_state for e in await store.events(new.id)] == [JobState.QUEUED]
        async with db.conn.execute("PRAGMA foreign_keys") as cursor:
            row = await cursor.fetchone()
        assert row is not None and row[0] == 1
        assert await store.integrity_ok()
    finally:
        await db.close()


async def test_inputs_known_by_url_keep_their_url_after_the_job_ends(store: JobStore) -> None:
    """A finished job's image bytes go; an image known by URL keeps the URL so Retry can resend it."""
    by_url = InputFile("image", "a.png", "image/png", b"bytes", url="https://cdn.example/a.png")
    job = await store.insert(request(inputs=(by_url,)), 1.0)
    await store.delete_inputs(job.id)
    assert await store.inputs(job.id) == (InputFile("image", "a.png", "image/png", b"", url=by_url.url),)
