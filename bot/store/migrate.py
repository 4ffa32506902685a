"""Numbered migrations, one folder per backend: ``migrations/<backend>/NNNN_name.sql``.

SQLite keeps its version in ``PRAGMA user_version``. PostgreSQL numbers its own files from 0001,
which is the SQLite schema as of SQLite's 0006; each later SQLite migration has a PostgreSQL twin
(SQLite 0007 is PostgreSQL 0002), so both backends always have the same tables and columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from bot.config.database import Backend
from bot.store.backend import MigrationError

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered .sql file."""

    version: int
    name: str
    sql: str


def load_migrations(backend: Backend = "sqlite") -> tuple[Migration, ...]:
    """Every migration shipped for `backend`, in version order."""
    found: list[Migration] = []
    for entry in resources.files("bot.store").joinpath("migrations", backend).iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"migrations must be numbered 0001, 0002, …; {migration.name} breaks it")
    return tuple(found)


def newer_than_known(where: str, current: int, migrations: tuple[Migration, ...]) -> MigrationError | None:
    """The error for a database written by a newer pikabot, or None."""
    newest = migrations[-1].version if migrations else 0
    if current <= newest:
        return None
    return MigrationError(
        f"database {where} is at schema version {current}, newer than this pikabot "
        f"knows ({newest}); upgrade pikabot or restore a backup"
    )
