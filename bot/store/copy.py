"""``pikabot db copy``: every row of a SQLite database into a new PostgreSQL one, all or nothing.

The source is read in one read transaction and never written (``copy_source``). The target is
migrated by the store's own code, must be empty, and is filled in one transaction by binary COPY;
its identity sequences are then set past the copied ids and every table's count checked before COMMIT.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import aiosqlite
import asyncpg

from bot.config.database import DatabaseUrl
from bot.store.copy_source import (
    CopyRefused,
    SourceSnapshot,
    SourceTable,
    open_source,
    quoted,
    read_batches,
    read_snapshot,
)
from bot.store.postgres import PostgresDatabase

__all__ = ["CopyFailed", "CopyRefused", "CopyReport", "NextId", "TableCount", "copy_database"]

# PostgreSQL's own bookkeeping: the target's migrations write it, SQLite keeps its version elsewhere.
_TARGET_ONLY: Final = frozenset({"pikabot_migrations"})

# A string: asyncpg's classes are generic only in their type stubs, not at run time.
_Connection: TypeAlias = "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"


class CopyFailed(Exception):
    """The copy stopped part way; its transaction was rolled back, so the target holds none of it."""


@dataclass(frozen=True)
class TableCount:
    """One table's rows in the source and, after the copy, in the target."""

    name: str
    source_rows: int
    target_rows: int


@dataclass(frozen=True)
class NextId:
    """The id the target hands out next for one identity column (past every copied or used id)."""

    table: str
    column: str
    value: int


@dataclass(frozen=True)
class CopyReport:
    """What was copied where: per-table counts (verified equal) and the ids that come next."""

    source: str
    target: str
    source_version: int
    target_version: int
    tables: tuple[TableCount, ...]
    next_ids: tuple[NextId, ...]


async def copy_database(source: DatabaseUrl, target: DatabaseUrl, now: float) -> CopyReport:
    """Copy `source` (SQLite) into `target` (PostgreSQL, migrated here, must be empty).

    CopyRefused: nothing was started; CopyFailed: rolled back. `now` is for the source's lease check.
    """
    if source.backend != "sqlite":
        raise CopyRefused(f"--from must be a SQLite database (sqlite:///path), not {source.masked()}")
    if target.backend != "postgresql":
        raise CopyRefused(f"--to must be a PostgreSQL database (postgresql://…), not {target.masked()}")
    async with open_source(source) as lite:
        snapshot = await read_snapshot(lite, source, now)
        db = await PostgresDatabase.connect(target, pool_size=1)  # migrates it to the latest schema
        try:
            counts, next_ids = await _fill(db, lite, snapshot)
            target_version = await db.schema_version()
        finally:
            await db.close()
    return CopyReport(
        snapshot.description, target.masked(), snapshot.version, target_version, counts, next_ids
    )


async def _fill(
    db: PostgresDatabase, lite: aiosqlite.Connection, snapshot: SourceSnapshot
) -> tuple[tuple[TableCount, ...], tuple[NextId, ...]]:
    """The whole copy in one target transaction: an error anywhere leaves the target as it was."""
    try:
        async with db.pool.acquire() as conn, conn.transaction():
            types = await _target_columns(conn)
            _check_same_schema(snapshot, types)
            names = ", ".join(quoted(table.name) for table in snapshot.tables)
            # Held to COMMIT: a bot started on the target meanwhile waits instead of writing between.
            await conn.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
            await _check_empty(conn, snapshot, db.description)
            for table in snapshot.tables:
                await _copy_table(conn, lite, table, types[table.name])
            next_ids = await _set_sequences(conn, snapshot)
            counts = await _verify(conn, snapshot)
    except asyncpg.PostgresError as exc:
        text = str(exc)
        for secret in db.url.secrets():
            text = text.replace(secret, "***")
        detail = f" ({exc.detail})" if isinstance(getattr(exc, "detail", None), str) else ""
        raise CopyFailed(
            f"the copy into {db.description} failed and was rolled back: {text}{detail}"
        ) from None
    return counts, next_ids


async def _target_columns(conn: _Connection) -> dict[str, dict[str, str]]:
    """Each target table's columns in order, with their types."""
    rows = await conn.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    )
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        found.setdefault(str(row["table_name"]), {})[str(row["column_name"])] = str(row["data_type"])
    return found


def _check_same_schema(snapshot: SourceSnapshot, target: Mapping[str, Mapping[str, str]]) -> None:
    # Both at their latest migration, the schemas match (a store test checks it); a mismatch here is
    # a pikabot bug, and copying by position across it would put values in the wrong columns.
    source = {table.name: list(table.columns) for table in snapshot.tables}
    theirs = {name: list(columns) for name, columns in target.items() if name not in _TARGET_ONLY}
    if source != theirs:
        differ = sorted(
            name for name in source.keys() | theirs.keys() if source.get(name) != theirs.get(name)
        )
        raise CopyRefused(
            f"the SQLite and PostgreSQL schemas differ in {differ}: a pikabot bug, please report it"
        )


async def _check_empty(conn: _Connection, snapshot: SourceSnapshot, where: str) -> None:
    used = [
        t.name
        for t in snapshot.tables
        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {quoted(t.name)})")
    ]
    if used:
        raise CopyRefused(
            f"{where} already holds rows (in {', '.join(used)}); the copy never merges into a database "
            "in use. Copy into a new, empty database (createdb -O pikabot pikabot_new), or drop and "
            "recreate this one if its rows are not needed"
        )


async def _copy_table(
    conn: _Connection, lite: aiosqlite.Connection, table: SourceTable, types: Mapping[str, str]
) -> None:
    """Stream one table's rows into the target by binary COPY, converted to the target's types."""
    convert = tuple(_CONVERTERS.get(types[column], _as_is) for column in table.columns)

    async def records() -> AsyncIterator[tuple[object, ...]]:
        async for batch in read_batches(lite, table):
            for row in batch:
                yield _converted(table, row, convert)

    # The triggers would write a second history: job_events is copied as it is, with its own ids.
    # Foreign keys stay checked (they are system triggers); the ALTER is undone on rollback too.
    await conn.execute(f"ALTER TABLE {quoted(table.name)} DISABLE TRIGGER USER")
    await conn.copy_records_to_table(table.name, records=records(), columns=list(table.columns))
    await conn.execute(f"ALTER TABLE {quoted(table.name)} ENABLE TRIGGER USER")


def _converted(
    table: SourceTable, row: Sequence[object], convert: Sequence[Callable[[object], object]]
) -> tuple[object, ...]:
    try:
        return tuple(None if value is None else to(value) for to, value in zip(convert, row, strict=True))
    except (TypeError, ValueError) as exc:
        raise CopyFailed(f"table {table.name}, row {row[0]!r}: {exc}; nothing was written") from None


async def _set_sequences(conn: _Connection, snapshot: SourceSnapshot) -> tuple[NextId, ...]:
    """Move every identity sequence past the highest id used, so new jobs continue after the copied."""
    rows = await conn.fetch(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%') "
        "ORDER BY table_name, column_name"
    )
    highest = {table.name: table.highest_id for table in snapshot.tables}
    next_ids = []
    for row in rows:
        table, column = str(row["table_name"]), str(row["column_name"])
        if table not in highest:
            continue
        copied = int(await conn.fetchval(f"SELECT COALESCE(MAX({quoted(column)}), 0) FROM {quoted(table)}"))
        # SQLite's AUTOINCREMENT never reuses a deleted job's id (old buttons name it): nor do we.
        value = max(copied, highest[table]) + 1
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence($1, $2), $3, false)", quoted(table), column, value
        )
        next_ids.append(NextId(table, column, value))
    return tuple(next_ids)


async def _verify(conn: _Connection, snapshot: SourceSnapshot) -> tuple[TableCount, ...]:
    """Count every table in the target, inside the transaction: a mismatch rolls everything back."""
    counts = []
    for table in snapshot.tables:
        rows = int(await conn.fetchval(f"SELECT COUNT(*) FROM {quoted(table.name)}"))
        counts.append(TableCount(table.name, table.rows, rows))
    wrong = [
        f"{c.name} ({c.source_rows} in SQLite, {c.target_rows} copied)"
        for c in counts
        if c.source_rows != c.target_rows
    ]
    if wrong:
        raise CopyFailed(
            f"row counts differ after the copy: {', '.join(wrong)}; rolled back, nothing was written"
        )
    return tuple(counts)


def _as_is(value: object) -> object:
    return value


def _as_int(value: object) -> object:
    # SQLite's column types are advisory: a whole number may come back as REAL (1.0).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    raise ValueError(f"{value!r} is not a whole number")


def _as_float(value: object) -> object:
    if isinstance(value, int | float):
        return float(value)
    raise ValueError(f"{value!r} is not a number")


def _as_text(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"{type(value).__name__} value where text belongs")


def _as_bytes(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise ValueError(f"{type(value).__name__} value where bytes belong")


_CONVERTERS: Final[dict[str, Callable[[object], object]]] = {
    "bigint": _as_int,
    "integer": _as_int,
    "smallint": _as_int,
    "double precision": _as_float,
    "real": _as_float,
    "text": _as_text,
    "bytea": _as_bytes,
}
