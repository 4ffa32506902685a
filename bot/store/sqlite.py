"""The SQLite backend: one connection, pragmas, numbered migrations, group commit, the token mirror."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.store.backend import SQLITE, Database, MigrationError, Session
from bot.store.callback_tokens import CallbackTokens
from bot.store.group_commit import WriteQueue
from bot.store.migrate import Migration, load_migrations, newer_than_known
from bot.store.rows import Params, Rows

log = logging.getLogger(__name__)


class _SqliteSession(Session):
    """Statements inside a BEGIN IMMEDIATE on the shared connection (its lock is held)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> None:
        await self._conn.execute(sql, params)

    async def fetch(self, sql: str, params: Params = ()) -> Rows:
        return _rows(await self._conn.execute_fetchall(sql, params))


class SqliteDatabase(Database):
    """One aiosqlite connection in autocommit mode, with an explicit lock-guarded write transaction.

    aiosqlite serialises statements on one thread, but a transaction spans several awaits; the
    asyncio lock keeps another coroutine's statement from landing inside someone else's
    transaction on the shared connection.
    """

    dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()
        self._writes = WriteQueue(conn, self._write_lock)
        # One mirror per connection, not per JobStore: every writer on this connection must keep
        # it exact, and several JobStores may share one Database.
        self.callback_tokens: CallbackTokens | None = CallbackTokens()

    @classmethod
    async def connect(cls, path: str | Path) -> SqliteDatabase:
        """Open (creating if needed) the database file at `path` and apply pending migrations."""
        path_str = str(path)
        if path_str != ":memory:":
            Path(path_str).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path_str, isolation_level=None)
        conn.row_factory = sqlite3.Row
        db = cls(conn, path_str)
        try:
            await db._configure()
            await db._migrate(load_migrations("sqlite"))
        except BaseException:
            await conn.close()
            raise
        return db

    @property
    def description(self) -> str:
        return f"sqlite:///{self.path}"

    async def _configure(self) -> None:
        # WAL: readers never block the writer. synchronous=FULL: a committed job survives power
        # loss too; the cost (~25 %) is far below what the bot needs (docs/reliability.md).
        await self.conn.execute("PRAGMA journal_mode=WAL")
        await self.conn.execute("PRAGMA synchronous=FULL")
        await self.conn.execute("PRAGMA busy_timeout=5000")
        await self.conn.execute("PRAGMA foreign_keys=ON")

    async def _migrate(self, migrations: tuple[Migration, ...]) -> None:
        current = await self.user_version()
        too_new = newer_than_known(self.path, current, migrations)
        if too_new is not None:
            raise too_new
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

    async def schema_version(self) -> int:
        return await self.user_version()

    async def integrity_ok(self) -> bool:
        row = await self.fetch_one("PRAGMA integrity_check")
        return row is not None and row[0] == "ok"

    async def fetch(self, sql: str, params: Params = ()) -> Rows:
        # One trip to aiosqlite's thread (a cursor costs three).
        return _rows(await self.conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Params = ()) -> None:
        async with self.write() as conn:
            await conn.execute(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error), one writer at a time."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteSession(self.conn)
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
        self, sql: str, params: Params, on_commit: Callable[[Rows], None] | None = None
    ) -> Rows:
        """One single-statement write, group-committed with concurrent ones; its rows once durable."""
        return _rows(await self._writes.run(sql, params, on_commit))

    async def sync_callback_tokens(self) -> None:
        """Reload the token mirror if another connection wrote since the last check (data_version)."""
        tokens = self.callback_tokens
        if tokens is None:
            return
        # Under the write lock: no committed write can fall between the read and the install.
        async with self.write() as conn:
            (version_row,) = await conn.execute_fetchall("PRAGMA data_version")
            version = int(version_row[0])
            if tokens.loaded and version == tokens.data_version:
                tokens.checked(version)
                return
            rows = await conn.execute_fetchall(
                "SELECT id, provider, callback_token_hash FROM jobs WHERE callback_token_hash IS NOT NULL"
            )
            tokens.install(rows, version)

    async def close(self) -> None:
        """Close the connection (after answering every queued write)."""
        await self._writes.wait_idle()
        await self.conn.close()


def _rows(rows: Iterable[sqlite3.Row]) -> Rows:
    return list(rows)


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
