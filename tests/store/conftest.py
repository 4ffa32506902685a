"""Every store test runs on both backends: ``store`` and ``db_target`` are parametrized over SQLite
and PostgreSQL. Tests of SQLite's own machinery are marked ``sqlite_only`` and run once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.store import Database, JobStore
from tests.helpers.postgres import PostgresServer

BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every test that uses a database over the backends (SQLite alone if marked so)."""
    if "backend" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", BACKENDS[:1] if only_sqlite else BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The backend's name, sqlite or postgresql (set by pytest_generate_tests)."""
    return str(request.param)


@pytest.fixture
def db_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """What Database.open takes for a fresh, empty-of-jobs database on `backend`: a path or a URL."""
    if backend == "sqlite":
        yield str(tmp_path / "jobs.sqlite3")
        return
    # Looked up only here, so SQLite runs never start a PostgreSQL cluster.
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.fresh_database()
    try:
        yield url
    finally:
        server.drop(url)


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[JobStore]:
    """A JobStore on a fresh database of the test's backend."""
    db = await Database.open(db_target)
    try:
        yield JobStore(db)
    finally:
        await db.close()
