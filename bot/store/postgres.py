"""The PostgreSQL backend: an asyncpg pool shared by every query, for several pikabot processes.

The store's SQL is written once with ``?`` placeholders; ``to_postgres`` numbers them ``$1, $2, …``
(cached per statement). Migrations run in one transaction under an advisory lock, so processes that
start together migrate once; the version is kept in ``pikabot_migrations``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Final

import asyncpg

from bot.config.database import DatabaseUrl
from bot.store.backend import POSTGRESQL, Database, DatabaseUnavailable, Session
from bot.store.migrate import Migration, load_migrations, newer_than_known
from bot.store.rows import Params, Rows

log = logging.getLogger(__name__)

# Enough for the engine's concurrent reads and writes; each process has its own pool, and
# PostgreSQL's default max_connections (100) leaves room for several processes.
POOL_SIZE: Final = 10
# A server that does not answer must not hang startup or the operator CLI for asyncpg's 60 s.
CONNECT_TIMEOUT: Final = 10.0
# Any constant will do as long as it is ours: pg_advisory_xact_lock's key for "migrating now".
_MIGRATION_LOCK: Final = 0x70696B61626F74  # "pikabot"

_VERSIONS_TABLE: Final = """
    CREATE TABLE IF NOT EXISTS pikabot_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at DOUBLE PRECISION NOT NULL
    )
"""

# Invalid indexes (a failed CREATE INDEX CONCURRENTLY) or unvalidated constraints in our schema.
_INTEGRITY: Final = """
    SELECT NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                       WHERE NOT i.indisvalid AND c.relnamespace = current_schema()::regnamespace)
       AND NOT EXISTS (SELECT 1 FROM pg_constraint
                       WHERE NOT convalidated AND connamespace = current_schema()::regnamespace)
"""


@functools.lru_cache(maxsize=1024)
def to_postgres(sql: str) -> str:
    """Number a statement's ``?`` placeholders ``$1, $2, …``, leaving quoted text alone."""
    out: list[str] = []
    quote: str | None = None
    count = 0
    for char in sql:
        if quote is not None:
            quote = None if char == quote else quote  # '' inside a literal closes and reopens it
        elif char in "'\"":
            quote = char
        elif char == "?":
            count += 1
            out.append(f"${count}")
            continue
        out.append(char)
    return "".join(out)


class _PostgresSession(Session):
    """Statements on one pooled connection inside its transaction."""

    def __init__(self, conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record]) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> None:
        await self._conn.execute(to_postgres(sql), *params)

    async def fetch(self, sql: str, params: Params = ()) -> Rows:
        return await self._conn.fetch(to_postgres(sql), *params)


class PostgresDatabase(Database):
    """A pool of connections to one PostgreSQL database. Every statement commits on its own unless
    grouped in ``transaction()``; the server, not this process, serialises concurrent writers."""

    dialect = POSTGRESQL

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], url: DatabaseUrl) -> None:
        self.pool = pool
        self.url = url
        self._writes: set[asyncio.Task[Rows]] = set()

    @classmethod
    async def connect(cls, url: DatabaseUrl, *, pool_size: int = POOL_SIZE) -> PostgresDatabase:
        """Connect to `url`'s database and apply pending migrations; DatabaseUnavailable if we cannot."""
        try:
            pool = await asyncpg.create_pool(url.dsn, min_size=1, max_size=pool_size, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # `from None`: the cause's arguments may carry the connection parameters.
            raise DatabaseUnavailable(f"cannot connect to {url.masked()}: {_reason(exc, url)}") from None
        db = cls(pool, url)
        try:
            await db._migrate(load_migrations("postgresql"))
        except BaseException:
            await pool.close()
            raise
        return db

    @property
    def description(self) -> str:
        return self.url.masked()

    async def _migrate(self, migrations: tuple[Migration, ...]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            # Processes starting together queue here: the first migrates, the others find it done.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(_VERSIONS_TABLE)
            current = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM pikabot_migrations"))
            too_new = newer_than_known(self.url.masked(), current, migrations)
            if too_new is not None:
                raise too_new
            for migration in migrations:
                if migration.version <= current:
                    continue
                log.info("applying migration postgresql/%s", migration.name)
                await conn.execute(migration.sql)  # no parameters: the whole script in one round trip
                await conn.execute(
                    "INSERT INTO pikabot_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    time.time(),
                )

    async def schema_version(self) -> int:
        return int(await self.pool.fetchval("SELECT COALESCE(MAX(version), 0) FROM pikabot_migrations"))

    async def integrity_ok(self) -> bool:
        """No invalid index or unvalidated constraint (PostgreSQL checksums its own pages)."""
        return bool(await self.pool.fetchval(_INTEGRITY))

    async def fetch(self, sql: str, params: Params = ()) -> Rows:
        return await self.pool.fetch(to_postgres(sql), *params)

    async def execute(self, sql: str, params: Params = ()) -> None:
        await self.pool.execute(to_postgres(sql), *params)

    async def write_returning(
        self, sql: str, params: Params, on_commit: Callable[[Rows], None] | None = None
    ) -> Rows:
        """One statement in its own transaction (the server shares commits among concurrent ones).

        As with SQLite's group commit, a caller that stops waiting does not undo the write: it runs
        to its commit in a task of its own, and `on_commit` sees its rows.
        """
        task = asyncio.create_task(self._write(to_postgres(sql), params, on_commit))
        self._writes.add(task)
        task.add_done_callback(_settled)
        task.add_done_callback(self._writes.discard)
        return await asyncio.shield(task)

    async def _write(self, sql: str, params: Params, on_commit: Callable[[Rows], None] | None) -> Rows:
        rows = await self.pool.fetch(sql, *params)
        if on_commit is not None:
            on_commit(rows)
        return rows

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        """BEGIN … COMMIT on one pooled connection (ROLLBACK if the block raises)."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield _PostgresSession(conn)

    async def sync_callback_tokens(self) -> None:
        """Nothing to sync: there is no mirror here, callback lookups read the table."""

    async def close(self) -> None:
        """Finish the writes in flight (even those nobody waits for), then close every connection."""
        while self._writes:
            await asyncio.wait(set(self._writes))
        await self.pool.close()


def _settled(task: asyncio.Task[Rows]) -> None:
    # Its caller may have stopped waiting: fetch the outcome so asyncio does not report it as lost.
    if not task.cancelled():
        task.exception()


def _reason(exc: BaseException, url: DatabaseUrl) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        text = f"no answer within {CONNECT_TIMEOUT:g} s"
    for secret in url.secrets():
        text = text.replace(secret, "***")
    return text
