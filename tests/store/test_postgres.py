"""What only PostgreSQL has to show: several processes (here: several pools) on one database.

Migrations under an advisory lock, Discord snowflakes and times at full width, compare-and-set that
holds across processes, and the placeholder translation the shared SQL goes through.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin, VideoResult
from bot.store import Database, DatabaseUnavailable, JobStore, JobUpdate, MigrationError
from bot.store.leases import LeaseOwner
from bot.store.migrate import load_migrations
from bot.store.postgres import PostgresDatabase, to_postgres
from bot.store.sqlite import SqliteDatabase
from tests.helpers.postgres import PostgresServer

SNOWFLAKE = 1183508299895820390  # a real-looking Discord id: far beyond 32 bits


def request(owner: int = 1) -> JobRequest:
    return JobRequest(kind=JobKind.CREATE, owner_id=owner, origin=Origin(10, 20), prompt="a fox")


def test_placeholders_are_numbered_outside_quoted_text() -> None:
    sql = "SELECT '?', \"a?b\" FROM t WHERE x = ? AND y IN (?, ?) AND z = 'it''s ?'"
    assert to_postgres(sql) == "SELECT '?', \"a?b\" FROM t WHERE x = $1 AND y IN ($2, $3) AND z = 'it''s ?'"


async def test_processes_starting_together_migrate_once(postgres: PostgresServer) -> None:
    """Three processes open an empty database at once: one migrates, the others wait and find it done."""
    url = postgres.fresh_database(migrated=False)
    try:
        opened = await asyncio.gather(*(Database.open(url) for _ in range(3)))
        newest = load_migrations("postgresql")[-1].version
        try:
            assert [await db.schema_version() for db in opened] == [newest] * 3
            row = await opened[0].fetch_one(
                "SELECT COUNT(*), COUNT(DISTINCT version) FROM pikabot_migrations"
            )
            assert row is not None and (row[0], row[1]) == (newest, newest)
            job = await JobStore(opened[1]).insert(request(), 1.0)
            assert await JobStore(opened[2]).get(job.id) == job
        finally:
            for db in opened:
                await db.close()
        again = await Database.open(url)  # and once more later: nothing to apply, data kept
        try:
            assert await again.schema_version() == newest
            assert await JobStore(again).get(job.id) == job
            assert await again.integrity_ok()
        finally:
            await again.close()
    finally:
        postgres.drop(url)


async def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    """A database a newer pikabot migrated is not touched."""
    db = await Database.open(postgres_url)
    try:
        await db.execute("INSERT INTO pikabot_migrations VALUES (99, '0099_future.sql', 0)")
    finally:
        await db.close()
    with pytest.raises(MigrationError, match="newer"):
        await Database.open(postgres_url)


async def test_the_pool_keeps_at_most_the_configured_connections(postgres_url: str) -> None:
    """`[database] pool_size` caps a process's connections: 8 slow statements at once use 3."""
    db = await Database.open(postgres_url, pool_size=3)
    try:
        await asyncio.gather(*(db.execute("SELECT pg_sleep(0.05)") for _ in range(8)))
        rows = await db.fetch(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert isinstance(db, PostgresDatabase) and db.pool.get_max_size() == 3
        assert rows[0][0] <= 2  # the other connections this pool opened, besides the one asking
    finally:
        await db.close()


async def test_an_unreachable_server_is_named_without_its_password() -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        await Database.open("postgresql://pikabot:hunter2-secret@127.0.0.1:1/pikabot")
    assert "postgresql://pikabot:***@127.0.0.1:1/pikabot" in str(caught.value)
    assert "hunter2" not in str(caught.value)


async def test_snowflakes_and_times_round_trip(postgres_url: str) -> None:
    """Every Discord id at 64 bits, and time.time() to the microsecond (DOUBLE PRECISION, not float4)."""
    db = await Database.open(postgres_url)
    try:
        store = JobStore(db)
        now = time.time()
        origin = Origin(SNOWFLAKE + 1, SNOWFLAKE + 2, SNOWFLAKE + 3, SNOWFLAKE + 4, upload_limit=2**31)
        job = await store.insert(JobRequest(JobKind.CREATE, SNOWFLAKE, origin, prompt="wide"), now)
        assert job.id >= 1 and job.owner_id == SNOWFLAKE and job.origin == origin and job.created_at == now
        video = VideoResult("/m/x.mp4", 2**31 + 7, "x.mp4", "video/mp4", "http://127.0.0.1/x.mp4", 2**64 - 1)
        await store.transition(job.id, JobState.SUBMITTING, now + 0.000001)
        await store.transition(job.id, JobState.RUNNING, now + 1, JobUpdate(upstream_id="u"))
        await store.transition(job.id, JobState.COMPLETED, now + 2, JobUpdate(video=video))
        done = await store.transition(
            job.id, JobState.DELIVERED, now + 3, JobUpdate(delivered_message_id=SNOWFLAKE + 5)
        )
        assert done is not None and done.video == video and done.delivered_message_id == SNOWFLAKE + 5
        assert [e.at for e in await store.events(job.id)] == [now, now + 0.000001, now + 1, now + 2, now + 3]
        assert await store.member_jobs(SNOWFLAKE, SNOWFLAKE + 1, 10) == [done]
        assert await store.member_job_count(SNOWFLAKE, None) == 0  # null-safe: NULL guild is not this one
    finally:
        await db.close()


async def test_no_column_is_too_narrow(postgres_url: str) -> None:
    """Ids and counts are BIGINT, times DOUBLE PRECISION: no INTEGER id, no REAL anywhere."""
    db = await Database.open(postgres_url)
    try:
        rows = await db.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name <> 'pikabot_migrations'"
        )
    finally:
        await db.close()
    types = {(r["table_name"], r["column_name"]): r["data_type"] for r in rows}
    assert "real" not in types.values()
    ids = {key: kind for key, kind in types.items() if key[1] == "id" or key[1].endswith("_id")}
    narrow = {key: kind for key, kind in ids.items() if kind not in ("bigint", "text")}
    assert narrow == {}
    assert types[("jobs", "owner_id")] == types[("job_events", "job_id")] == "bigint"
    assert types[("jobs", "created_at")] == "double precision"


async def test_compare_and_set_holds_across_processes(postgres_url: str) -> None:
    """Two processes race 25 completions each for one running job: exactly one wins, once."""
    first, second = await Database.open(postgres_url), await Database.open(postgres_url)
    try:
        a, b = JobStore(first), JobStore(second)
        job = await a.insert(request(), 1.0)
        await a.transition(job.id, JobState.SUBMITTING, 2.0)
        await b.transition(job.id, JobState.RUNNING, 3.0, JobUpdate(upstream_id="u1"))
        results = await asyncio.gather(
            *(store.transition(job.id, JobState.COMPLETED, 4.0) for _ in range(25) for store in (a, b))
        )
        assert sum(r is not None for r in results) == 1
        history = [e.to_state for e in await b.events(job.id)]
        assert history == [JobState.QUEUED, JobState.SUBMITTING, JobState.RUNNING, JobState.COMPLETED]
    finally:
        await first.close()
        await second.close()


async def test_many_jobs_moved_by_two_processes_each_move_once(postgres_url: str) -> None:
    """Two processes each try to take every queued job: every job is taken by exactly one of them."""
    first, second = await Database.open(postgres_url), await Database.open(postgres_url)
    try:
        a, b = JobStore(first), JobStore(second)
        jobs = [await a.insert(request(owner=n), 1.0) for n in range(60)]
        taken = await asyncio.gather(
            *(
                store.transition(job.id, JobState.SUBMITTING, 2.0, JobUpdate(account=name))
                for job in jobs
                for store, name in ((a, "a"), (b, "b"))
            )
        )
        winners = [t for t in taken if t is not None]
        assert sorted(t.id for t in winners) == [job.id for job in jobs]
        stored = {j.id: j.account for j in await a.all_jobs()}
        assert all(stored[t.id] == t.account for t in winners)
    finally:
        await first.close()
        await second.close()


async def test_claims_from_two_processes_never_overfill_an_account(postgres_url: str) -> None:
    """Two processes (pools) race to claim 40 queued jobs for one account, round after round: the
    account never holds more than max_jobs, and each job is claimed at most once."""
    first, second = await Database.open(postgres_url), await Database.open(postgres_url)
    try:
        a, b = JobStore(first, LeaseOwner("a", 1, "x")), JobStore(second, LeaseOwner("b", 2, "y"))
        jobs = [await a.insert(request(owner=n), 1.0) for n in range(40)]
        for max_jobs in (1, 3, 5):
            claims = await asyncio.gather(
                *(store.leases.claim(job.id, "acct", max_jobs, 2.0, 60.0) for job in jobs for store in (a, b))
            )
            won = [job for job in claims if job is not None]
            assert len(won) == len({job.id for job in won})  # never the same job twice
            assert await a.active_by_account() == {"acct": max_jobs}
        owners = await first.fetch("SELECT DISTINCT lease_owner FROM jobs WHERE state = 'submitting'")
        assert {row[0] for row in owners} <= {"a/1/x", "b/2/y"}
    finally:
        await first.close()
        await second.close()


async def test_both_backends_have_the_same_tables_columns_and_indexes(
    postgres_url: str, tmp_path: Path
) -> None:
    """A migration added to one backend and not the other fails here (SQLite NNNN needs a PostgreSQL twin)."""
    lite = await SqliteDatabase.connect(tmp_path / "same.sqlite3")
    pg = await Database.open(postgres_url)
    try:
        tables = [
            r[0]
            for r in await lite.fetch(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        lite_columns = {t: [r["name"] for r in await lite.fetch(f"PRAGMA table_info({t})")] for t in tables}
        rows = await pg.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name <> 'pikabot_migrations' ORDER BY ordinal_position"
        )
        pg_columns: dict[str, list[str]] = {}
        for row in rows:
            pg_columns.setdefault(row["table_name"], []).append(row["column_name"])
        assert pg_columns == lite_columns
        lite_indexes = {
            r[0]
            for r in await lite.fetch(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'"
            )
        }
        pg_indexes = {
            r[0]
            for r in await pg.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        }
        assert lite_indexes <= pg_indexes
    finally:
        await lite.close()
        await pg.close()
