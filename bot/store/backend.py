"""What the query objects (JobStore, SettingsStore) need from a database, and opening one by URL.

Two implementations share one SQL text: SQLite (``bot.store.sqlite``: one file, one connection,
group commit) and PostgreSQL (``bot.store.postgres``: an asyncpg pool, several processes). SQL is
written with ``?`` placeholders and in the dialect both understand; the few real differences are
the ``Dialect`` fields below.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bot.config.database import Backend, DatabaseUrl, parse_database_url
from bot.store.callback_tokens import CallbackTokens
from bot.store.rows import Params, Row, Rows


class MigrationError(Exception):
    """The database cannot be brought to this version of pikabot's schema."""


class DatabaseUnavailable(Exception):
    """The database server cannot be reached or refused us; the message never holds a password."""


@dataclass(frozen=True)
class Dialect:
    """The SQL that truly differs between the backends (everything else is written once)."""

    name: Backend
    #: Null-safe equality: SQLite's ``IS`` compares values; PostgreSQL's only tests NULL/TRUE/FALSE.
    same: str
    #: One top-level field of a JSON text column, as SQL (format with ``column`` and ``key``).
    json_field: str
    #: Ends a SELECT that takes rows for its transaction: PostgreSQL skips rows another process
    #: holds instead of waiting; SQLite runs one write transaction at a time and needs nothing.
    skip_locked: str
    #: Makes the transactions that run it with one (space, key) take turns across processes, until
    #: they end; None where write transactions already run one at a time (SQLite).
    key_lock: str | None

    def json(self, column: str, key: str) -> str:
        """SQL for ``column``'s JSON field ``key`` (NULL when absent or JSON null)."""
        return self.json_field.format(column=column, key=key)


SQLITE: Final = Dialect("sqlite", "IS", "json_extract({column}, '$.{key}')", "", None)
POSTGRESQL: Final = Dialect(
    "postgresql",
    "IS NOT DISTINCT FROM",
    "({column}::jsonb ->> '{key}')",
    " FOR UPDATE SKIP LOCKED",
    "SELECT pg_advisory_xact_lock(?, hashtext(?))",
)


class Session(ABC):
    """The statements of one transaction (``Database.transaction()``)."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> None:
        """Run one statement."""

    @abstractmethod
    async def fetch(self, sql: str, params: Params = ()) -> Rows:
        """Run one statement and return its rows."""

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of one statement, or None."""
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None


class Database(ABC):
    """One open database. Reads and single-statement writes are atomic; ``transaction()`` groups."""

    dialect: Dialect
    #: SQLite mirrors live callback tokens in memory (one process owns the file); None on a server
    #: that other processes write to, where the table itself is asked every time.
    callback_tokens: CallbackTokens | None = None

    @classmethod
    async def open(cls, target: DatabaseUrl | str | Path, *, pool_size: int | None = None) -> Database:
        """Open (creating and migrating as needed) a URL's database; a bare path is a SQLite file.
        `pool_size` caps PostgreSQL's connections (SQLite has one)."""
        url = as_database_url(target)
        # Imported here, not at the top: both backends import this module for the interface.
        if url.backend == "postgresql":
            from bot.store.postgres import POOL_SIZE, PostgresDatabase

            return await PostgresDatabase.connect(url, pool_size=pool_size or POOL_SIZE)
        from bot.store.sqlite import SqliteDatabase

        return await SqliteDatabase.connect(url.path)

    @property
    @abstractmethod
    def description(self) -> str:
        """The database's URL with any password masked (for logs and messages)."""

    @abstractmethod
    async def fetch(self, sql: str, params: Params = ()) -> Rows:
        """Every row of one read."""

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of one read, or None."""
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> None:
        """One single-statement write, committed on return."""

    @abstractmethod
    async def write_returning(
        self, sql: str, params: Params, on_commit: Callable[[Rows], None] | None = None
    ) -> Rows:
        """One single-statement write; its rows once durable. `on_commit` sees them first."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Session]:
        """BEGIN … COMMIT around the block (ROLLBACK if it raises)."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The newest migration applied."""

    @abstractmethod
    async def integrity_ok(self) -> bool:
        """The database's own consistency check passes."""

    @abstractmethod
    async def sync_callback_tokens(self) -> None:
        """Bring ``callback_tokens`` up to date with other connections' writes (when it exists)."""

    @abstractmethod
    async def close(self) -> None:
        """Answer pending writes, then close."""


def as_database_url(target: DatabaseUrl | str | Path) -> DatabaseUrl:
    """A URL as is; ``scheme://…`` parsed; anything else is a SQLite file path."""
    if isinstance(target, DatabaseUrl):
        return target
    text = str(target)
    return parse_database_url(text) if "://" in text else DatabaseUrl.sqlite(text)
