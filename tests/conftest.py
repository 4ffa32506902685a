"""Fixtures shared by the store and engine tests: a real SQLite file per test, and PostgreSQL on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Database, JobStore

# `postgres` (a throwaway cluster, started only by the tests that ask for it) and `postgres_url`.
pytest_plugins = ("tests.helpers.postgres",)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    """A JobStore on a fresh database file, migrated."""
    db = await Database.open(tmp_path / "jobs.sqlite3")
    try:
        yield JobStore(db)
    finally:
        await db.close()
