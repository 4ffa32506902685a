"""PostgreSQL for the tests: one throwaway cluster per session, one fresh database per test.

The cluster is started by the tests themselves (``sandbox.postgres``), never a server the machine
happens to run. Without PostgreSQL's server programs the tests that need it FAIL, saying what to
install; ``PIKABOT_SKIP_POSTGRES=1`` skips them instead, explicitly.

``postgres`` (session fixture) is a ``PostgresServer``; ``fresh_database()`` on it returns the URL of
a new, migrated database (a copy of a migrated template: a few ms). ``postgres_url`` is a fixture
giving one such URL per test, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import pytest

from bot.store import Database
from sandbox.postgres import PostgresCluster, PostgresNotInstalled, start_cluster

SKIP_VARIABLE: Final = "PIKABOT_SKIP_POSTGRES"
TEMPLATE: Final = "pikabot_template"

T = TypeVar("T")
_names = itertools.count(1)


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to completion on a loop of its own (in a worker thread), from sync or async code."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass
class PostgresServer:
    """The session's cluster, and a template database that has every migration applied."""

    cluster: PostgresCluster

    def fresh_database(self, *, migrated: bool = True) -> str:
        """The URL of a new database: migrated (a copy of the template) or empty."""
        name = f"pikabot_test_{os.getpid()}_{next(_names)}"
        template = TEMPLATE if migrated else "template0"
        return run_coroutine(self.cluster.create_database(name, template=template))

    def drop(self, url: str) -> None:
        """Drop the database at `url` (closing connections still open to it)."""
        run_coroutine(self.cluster.drop_database(url.rsplit("/", 1)[1]))


async def _migrate_template(cluster: PostgresCluster) -> None:
    url = await cluster.create_database(TEMPLATE)
    db = await Database.open(url)
    await db.close()  # CREATE DATABASE … TEMPLATE needs the template without connections


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of our own on 127.0.0.1, for the whole session."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: PostgreSQL tests skipped on request")
    try:
        cluster = start_cluster()
    except PostgresNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        run_coroutine(_migrate_template(cluster))
        yield PostgresServer(cluster)
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh migrated database for one test, dropped after it."""
    url = postgres.fresh_database()
    try:
        yield url
    finally:
        postgres.drop(url)
