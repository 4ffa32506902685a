"""The SQLite connection: pragmas, numbered migrations and the write transaction."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite

from bot.store.callback_tokens import CallbackTokens
from bot.store.group_commit import Rows, WriteQueue

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    """The database cannot be brought to this version of pikabot's schema."""


@dataclass(frozen=True)
class Migration:
    """One numbered .sql file."""

    version: int
    name: str
    sql: str


def load_migrations() -> tuple[Migration, ...]:
    """Every migration shipped in bot/store/migrations, in version order."""
    found: list[Migration] = []
    for entry in resources.files("bot.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"migrations must be numbered 0001, 0002, …; {migration.name} breaks it")
    return tuple(found)


class Database:
    """One aiosqlite connection in autocommit mode, with an explicit lock-guarded write transaction.

    aiosqlite serialises statements on one thread, but a transaction spans several awaits; the
    asyncio lock keeps another coroutine's statement from landing inside someone else's
    transaction on the shared connection.
    """

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()
        self._writes = WriteQueue(conn, self._write_lock)
        # One mirror per connection, not per JobStore: every writer on this connection must keep
        # it exact, and several JobStores may share one Database.
        self.callback_tokens = CallbackTokens()

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) the database at `path` and apply pending migrations."""
        path_str = str(path)
        if path_str != ":memory:":
            Path(path_str).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path_str, isolation_level=None)
        conn.row_factory = sqlite3.Row
        db = cls(conn, path_str)
        try:
            await db._configure()
            await db._migrate(load_migrations())
        except BaseException:
            await conn.close()
            raise
        return db

    async def _configure(self) -> None:
        # WAL: readers never block the writer. synchronous=FULL: a committed job survives power
        # loss too; the cost (~25 %) is far below what the bot needs (docs/reliability.md).
        await self.conn.execute("PRAGMA journal_mode=WAL")
        await self.conn.execute("PRAGMA synchronous=FULL")
        await self.conn.execute("PRAGMA busy_timeout=5000")
        await self.conn.execute("PRAGMA foreign_keys=ON")

    async def _migrate(self, migrations: tuple[Migration, ...]) -> None:
        current = await self.user_version()
        newest = migrations[-1].version if migrations else 0
        if current > newest:
            raise MigrationError(
                f"database {self.path} is at schema version {current}, newer than this pikabot "
                f"knows ({newest}); upgrade pikabot or restore a backup"
            )
        for migration in migrations:
            if migration.version <= current:
                continue
            log.info("applying migration %s", migration.name)
            # A table rebuild must run with foreign keys off (SQLite's documented 12-step way),
            # or dropping the old table would cascade; the pragma only works outside a txn.
            rebuild = migration.sql.lstrip().startswith(_FOREIGN_KEYS_OFF)
            if rebuild:
                await self.conn.execute("PRAGMA foreign_keys=OFF")
            try:
                async with self.transaction():
                    # executescript would COMMIT first; run the statements one by one in our txn.
                    for statement in _split_sql(migration.sql):
                        await self.conn.execute(statement)
                    if rebuild:
                        async with self.conn.execute("PRAGMA foreign_key_check") as cursor:
                            if await cursor.fetchone() is not None:
                                raise MigrationError(f"{migration.name} left dangling references")
                    await self.conn.execute(f"PRAGMA user_version={migration.version:d}")
            finally:
                if rebuild:
                    await self.conn.execute("PRAGMA foreign_keys=ON")

    async def user_version(self) -> int:
        """The schema version recorded in the file."""
        async with self.conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error), one writer at a time."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A single-statement write: autocommit makes it atomic; the lock keeps it out of others' txns."""
        async with self._write_lock:
            yield self.conn

    async def write_returning(
        self, sql: str, params: Sequence[object], on_commit: Callable[[Rows], None] | None = None
    ) -> Rows:
        """One single-statement write, group-committed with concurrent ones; its rows once durable."""
        return await self._writes.run(sql, params, on_commit)

    async def close(self) -> None:
        """Close the connection (after answering every queued write)."""
        await self._writes.wait_idle()
        await self.conn.close()


_FOREIGN_KEYS_OFF = "-- pikabot: foreign_keys_off"


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN … END;) whole."""
    statements: list[str] = []
    buffer: list[str] = []
    for line in script.splitlines():
        stripped = line.strip()
        if not buffer and (not stripped or stripped.startswith("--")):
            continue
        buffer.append(line)
        candidate = "\n".join(buffer)
        if sqlite3.complete_statement(candidate):
            statements.append(candidate.strip())
            buffer = []
    if "".join(buffer).strip():
        raise MigrationError("migration ends in an unfinished statement")
    return statements
