"""``pikabot db copy``: a SQLite database filled by the real stores, copied into a real PostgreSQL
database by the real command, then read back through the stores; and every refusal."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.guild_settings import GuildSettings
from bot.domain.jobs import JobKind, JobRequest, Origin
from bot.domain.limits import MemberLimits
from bot.store import Database, JobStore
from bot.store.leases import Pipeline
from bot.store.member_defaults import MemberDefaultsStore
from bot.store.settings_store import SettingsStore
from tests.helpers.copy_source import DAY, GUILD, MEMBER, T0, Filled, fill, table_names, write_outdated
from tests.helpers.postgres import PostgresServer, run_coroutine

PASSWORD = "s3cret-pg-password"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No config or password from the environment; logging set up by the command is put back."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def target(postgres: PostgresServer) -> Iterator[str]:
    """A new, empty (not even migrated) database's URL, with a password (the test cluster trusts
    127.0.0.1, so any password is accepted, and the output must still never show it)."""
    url = postgres.fresh_database(migrated=False)
    try:
        yield url.replace("://postgres@", f"://postgres:{PASSWORD}@")
    finally:
        postgres.drop(url)


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, Filled]:
    path = tmp_path / "pikabot.sqlite3"
    return path, run_coroutine(fill(path))


def copy(source: Path, target: str) -> int:
    return main(["db", "copy", "--from", f"sqlite:///{source}", "--to", target])


async def read_all(where: str | Path) -> dict[str, object]:
    """Everything the stores read back: every job with its inputs and history, and the settings."""
    db = await Database.open(where)
    try:
        store = JobStore(db)
        jobs = {
            job.id: (job, await store.inputs(job.id), await store.events(job.id))
            for job in await store.all_jobs()
        }
        return {
            "jobs": jobs,
            "settings": await SettingsStore(db).get(GUILD),
            "alerts": await SettingsStore(db).alert_channels(),
            "limits": await store.guild_limits(GUILD, MemberLimits()),
            "defaults": await MemberDefaultsStore(db).get(MEMBER),
            "meta": await store.get_meta("command_tree"),
            "spend": await store.spend(GUILD, MEMBER, T0 - 1),
        }
    finally:
        await db.close()


def test_every_row_reads_back_equal(
    source: tuple[Path, Filled], target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, filled = source
    assert copy(path, target) == 0
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    assert "postgres:***@127.0.0.1" in out
    before, after = run_coroutine(read_all(path)), run_coroutine(read_all(target))
    assert sorted(before["jobs"]) == sorted(filled.job_ids)  # type: ignore[call-overload]
    assert after == before
    assert f"next jobs.id: {filled.deleted_id + 1}" in out


def test_every_table_of_the_schema_is_filled_and_copied(
    source: tuple[Path, Filled], target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A table added to the schema fails here until the fill writes a row to it and the copy
    carries that row over (the copy takes its tables from the schema; this proves each one moves)."""
    path, _ = source
    tables = table_names(path)
    with sqlite3.connect(path) as conn:
        empty = [t for t in tables if conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] == 0]
    conn.close()
    assert empty == [], "fill() in tests/helpers/copy_source.py must write a row to every table"
    assert copy(path, target) == 0
    summary = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    for table in tables:
        assert table in summary, f"{table} is not in the copy's summary"
        source_rows, target_rows = summary[table]
        assert source_rows == target_rows != "0"


def test_new_jobs_continue_after_the_copied_ones_with_their_history(
    source: tuple[Path, Filled], target: str
) -> None:
    """The identity is past every id SQLite handed out (a deleted job's too: old buttons name it),
    and the triggers that were off during the copy write the new job's history again."""
    path, filled = source
    assert copy(path, target) == 0

    async def insert() -> tuple[int, int, bool]:
        db = await Database.open(target)
        try:
            store = JobStore(db)
            job = await store.insert(
                JobRequest(JobKind.CREATE, MEMBER, Origin(GUILD, 1), prompt="new"), T0 + 99
            )
            alerted_again = await store.claim_budget_alert(GUILD, DAY, 80, T0 + 99)
            return job.id, len(await store.events(job.id)), alerted_again
        finally:
            await db.close()

    new_id, events, alerted_again = run_coroutine(insert())
    assert new_id == filled.deleted_id + 1 > max(filled.job_ids)
    assert events == 1
    assert not alerted_again  # the copied budget alert still counts: no second alert today


def test_a_target_with_rows_is_refused(
    source: tuple[Path, Filled], postgres: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = source
    url = postgres.fresh_database()
    try:

        async def one_setting() -> None:
            db = await Database.open(url)
            try:
                await SettingsStore(db).update(42, T0, GuildSettings())
            finally:
                await db.close()

        run_coroutine(one_setting())
        assert copy(path, url) == 2
        err = capsys.readouterr().err
        assert "already holds rows (in guild_settings)" in err
        assert "never merges" in err
        assert run_coroutine(read_all(url))["jobs"] == {}
    finally:
        postgres.drop(url)


def test_an_outdated_source_is_refused_and_left_alone(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.sqlite3"
    version = write_outdated(path)
    assert copy(path, target) == 2
    err = capsys.readouterr().err
    assert f"is at schema version {version}, not the latest ({version + 1})" in err
    assert "start this pikabot once on it" in err
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version
    conn.close()


def test_a_damaged_source_is_refused(
    source: tuple[Path, Filled], target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that fails SQLite's quick_check is refused before anything is copied."""
    path, _ = source
    page = 4096
    with sqlite3.connect(path) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA journal_mode=DELETE")  # the pages in the file itself, not in a WAL
    conn.close()
    pages = path.stat().st_size // page
    with path.open("r+b") as file:  # a b-tree page near the end overwritten, the header left whole
        file.seek(page * (pages - 2))
        file.write(b"\xff" * page)
    assert copy(path, target) == 2
    err = capsys.readouterr().err
    assert "fails SQLite's own check" in err and "restore it from a backup" in err
    assert PASSWORD not in err


def test_a_source_a_bot_still_works_on_is_refused(
    source: tuple[Path, Filled], target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, filled = source

    async def hold_lease() -> str:
        db = await Database.open(path)
        try:
            store = JobStore(db)
            now = time.time()
            assert await store.leases.acquire(filled.job_ids[0], Pipeline.PLACEMENT, now, now + 600)
            return store.leases.name
        finally:
            await db.close()

    holder = run_coroutine(hold_lease())
    assert copy(path, target) == 2
    err = capsys.readouterr().err
    assert f"a pikabot may still be running on sqlite:///{path}: 1 job lease(s) held by {holder}" in err
    assert run_coroutine(_jobs_in(target)) == 0


async def _jobs_in(url: str) -> int:
    db = await Database.open(url)
    try:
        return len(await JobStore(db).all_jobs())
    finally:
        await db.close()


def test_a_broken_row_rolls_the_whole_copy_back(
    source: tuple[Path, Filled], target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """History of a job that is not there (written with foreign keys off): PostgreSQL rejects it
    after the jobs were copied, and nothing stays: exit 1, the target still empty."""
    path, _ = source
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO job_events (job_id, from_state, to_state, at) VALUES (999999, NULL, 'queued', 1)"
        )
    conn.close()
    assert copy(path, target) == 1
    out, err = capsys.readouterr()
    assert "failed: the copy into postgresql://postgres:***@" in err
    assert "rolled back" in err and "foreign key" in err
    assert PASSWORD not in out + err
    assert run_coroutine(_jobs_in(target)) == 0


def test_a_missing_source_is_refused_and_not_created(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.sqlite3"
    assert copy(missing, target) == 2
    assert f"no SQLite database at {missing}" in capsys.readouterr().err
    assert not missing.exists()


def test_the_config_names_the_source_and_the_subprocess_prints_no_password(
    source: tuple[Path, Filled], target: str
) -> None:
    """`python -m bot db copy` with --from taken from the config's [database] path."""
    path, _ = source
    config = path.parent / "config.toml"
    config.write_text(f'[database]\npath = "{path}"\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(  # noqa: S603 - our own command line, with the test's own arguments
        [sys.executable, "-m", "bot", "db", "copy", "--config", str(config), "--to", target],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "counts verified" in result.stdout
    assert "applying migration postgresql/0001_schema.sql" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr


def test_without_a_postgresql_target_it_says_what_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "copy", "--from", str(tmp_path / "x.sqlite3")]) == 2
    assert "give --to postgresql://" in capsys.readouterr().err


def test_help_names_the_options_and_the_refusals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "copy", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--from URL" in out and "--to URL" in out
    assert "a target holding any row" in out
