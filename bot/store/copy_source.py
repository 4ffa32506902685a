"""The SQLite side of ``pikabot db copy``: the file opened read-only, one read transaction, and what
it holds (tables in foreign-key order, row counts, AUTOINCREMENT high-water marks)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from urllib.parse import quote

import aiosqlite

from bot.config.database import DatabaseUrl
from bot.store.leases import Pipeline
from bot.store.migrate import load_migrations, newer_than_known

#: Rows read and written per round trip: bounded memory even for job_inputs' images.
BATCH_ROWS: Final = 500


class CopyRefused(Exception):
    """The copy was not started (or was rolled back before writing): the message says what to do."""


@dataclass(frozen=True)
class SourceTable:
    """One table to copy: its columns in order, its rows, and the highest id SQLite ever handed out."""

    name: str
    columns: tuple[str, ...]
    rows: int
    #: sqlite_sequence's value (AUTOINCREMENT), 0 without one: ids of deleted rows are never reused.
    highest_id: int = 0


@dataclass(frozen=True)
class SourceSnapshot:
    """The source as the copy reads it: its schema version and its tables, referenced ones first."""

    description: str
    version: int
    tables: tuple[SourceTable, ...]


def quoted(name: str) -> str:
    """An identifier quoted for SQL (both dialects): table names come from the schema, not from us."""
    return '"' + name.replace('"', '""') + '"'


def source_file(url: DatabaseUrl) -> Path:
    """The SQLite file to copy, absolute; CopyRefused if there is none (the copy never creates one)."""
    path = Path(url.path)
    if url.path == ":memory:" or not path.is_file():
        raise CopyRefused(f"no SQLite database at {path.absolute()}: check --from (or [database] path)")
    return path.absolute()


@asynccontextmanager
async def open_source(url: DatabaseUrl) -> AsyncIterator[aiosqlite.Connection]:
    """The SQLite file read-only, inside one read transaction: every read sees the same snapshot."""
    # mode=ro: the copy must never change (or migrate, or create) the database it copies from.
    address = f"file:{quote(str(source_file(url)))}?mode=ro"
    conn = await aiosqlite.connect(address, uri=True, isolation_level=None)
    try:
        await conn.execute("BEGIN")
        try:
            yield conn
        finally:
            await conn.execute("ROLLBACK")
    finally:
        await conn.close()


async def read_snapshot(conn: aiosqlite.Connection, url: DatabaseUrl, now: float) -> SourceSnapshot:
    """The source's version and tables; CopyRefused if it is outdated or a bot still works on it."""
    version = await _scalar(conn, "PRAGMA user_version")
    await _check_version(url, version)
    await _check_integrity(conn, url)
    await _check_no_live_leases(conn, url, now)
    names = await _tables_in_reference_order(conn)
    sequences = await _sequences(conn)
    tables = []
    for name in names:
        info = await conn.execute_fetchall(f"PRAGMA table_info({quoted(name)})")
        rows = await _scalar(conn, f"SELECT COUNT(*) FROM {quoted(name)}")
        columns = tuple(str(column[1]) for column in info)
        tables.append(SourceTable(name, columns, rows, sequences.get(name, 0)))
    return SourceSnapshot(url.masked(), version, tuple(tables))


async def read_batches(conn: aiosqlite.Connection, table: SourceTable) -> AsyncIterator[list[sqlite3.Row]]:
    """A table's rows in rowid order (a job's parent before the job), BATCH_ROWS at a time."""
    columns = ", ".join(quoted(column) for column in table.columns)
    async with conn.execute(f"SELECT {columns} FROM {quoted(table.name)} ORDER BY rowid") as cursor:
        while batch := list(await cursor.fetchmany(BATCH_ROWS)):
            yield batch


async def _scalar(conn: aiosqlite.Connection, sql: str) -> int:
    rows = list(await conn.execute_fetchall(sql))
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


async def _check_version(url: DatabaseUrl, version: int) -> None:
    migrations = load_migrations("sqlite")
    too_new = newer_than_known(url.masked(), version, migrations)
    if too_new is not None:
        raise CopyRefused(str(too_new))
    latest = migrations[-1].version
    if version < latest:
        # Migrating here would write to the source; the bot's own start does it the tested way.
        raise CopyRefused(
            f"{url.masked()} is at schema version {version}, not the latest ({latest}): start this "
            "pikabot once on it ([database] path = that file; it migrates at start), stop it, "
            "then copy again"
        )


async def _check_integrity(conn: aiosqlite.Connection, url: DatabaseUrl) -> None:
    # A damaged file would be carried over as far as it reads, or fail half way: refuse it whole.
    try:
        rows = [str(row[0]) for row in await conn.execute_fetchall("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        rows = [str(exc)]
    if rows != ["ok"]:
        raise CopyRefused(
            f"{url.masked()} fails SQLite's own check ({rows[0].splitlines()[-1]}): restore it from a "
            "backup, or rebuild it with the sqlite3 shell's .recover, then copy again"
        )


async def _check_no_live_leases(conn: aiosqlite.Connection, url: DatabaseUrl, now: float) -> None:
    # A bot working on a job renews its lease; one that was stopped handed them back. A live lease
    # means a bot may still write after our snapshot, and those writes would be lost (or the job
    # run twice, once by each database's bot).
    held = " UNION ALL ".join(
        f"SELECT {p.owner_column}, {p.until_column} FROM jobs "
        f"WHERE {p.owner_column} IS NOT NULL AND {p.until_column} > ?"
        for p in Pipeline
    )
    rows = list(await conn.execute_fetchall(held, (now,) * len(Pipeline)))
    if not rows:
        return
    holders = ", ".join(sorted({str(row[0]) for row in rows}))
    until = datetime.fromtimestamp(max(float(row[1]) for row in rows), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    raise CopyRefused(
        f"a pikabot may still be running on {url.masked()}: {len(rows)} job lease(s) held by "
        f"{holders} until {until}. Stop every pikabot process using this file (a stopped bot hands "
        "its leases back at once; a killed one's run out by then), then copy again"
    )


async def _tables_in_reference_order(conn: aiosqlite.Connection) -> list[str]:
    """Every table of ours (not sqlite_*), each after the tables its foreign keys point to."""
    rows = await conn.execute_fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "ORDER BY name"
    )
    pending = {str(row[0]): set[str]() for row in rows}
    for name, refers in pending.items():
        keys = await conn.execute_fetchall(f"PRAGMA foreign_key_list({quoted(name)})")
        refers.update(str(key[2]) for key in keys if str(key[2]) != name)  # self-references: row order
    ordered: list[str] = []
    while pending:
        ready = sorted(name for name, refers in pending.items() if refers <= set(ordered))
        if not ready:
            raise CopyRefused(
                f"the tables {sorted(pending)} refer to each other in a cycle; cannot order them"
            )
        ordered.extend(ready)
        for name in ready:
            del pending[name]
    return ordered


async def _sequences(conn: aiosqlite.Connection) -> dict[str, int]:
    exists = await _scalar(conn, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")
    if not exists:
        return {}
    rows = await conn.execute_fetchall("SELECT name, seq FROM sqlite_sequence")
    return {str(row[0]): int(row[1]) for row in rows}
