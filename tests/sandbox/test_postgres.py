"""The throwaway PostgreSQL cluster the tests and benchmarks start for themselves."""

from __future__ import annotations

import os
import socket

import asyncpg
import pytest

from sandbox import postgres as cluster_module
from tests.helpers.postgres import SKIP_VARIABLE, PostgresServer, run_coroutine


def test_missing_programs_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """No initdb/pg_ctl: an error naming Debian's package and the explicit way to skip, never a silent skip."""
    monkeypatch.setattr(cluster_module, "find_bindir", lambda: None)
    with pytest.raises(cluster_module.PostgresNotInstalled, match=r"postgresql.*PIKABOT_SKIP_POSTGRES=1"):
        cluster_module.start_cluster()


def test_the_session_cluster_listens_on_loopback_only(postgres: PostgresServer) -> None:
    """127.0.0.1 and its own socket directory; a fresh database is migrated and empty of jobs."""
    cluster = postgres.cluster
    assert cluster.url().startswith("postgresql://postgres@127.0.0.1:")

    async def listen_addresses() -> tuple[str, int]:
        url = postgres.fresh_database()
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval("SHOW listen_addresses"), await conn.fetchval(
                "SELECT COUNT(*) FROM jobs"
            )
        finally:
            await conn.close()
            await cluster.drop_database(url.rsplit("/", 1)[1])

    assert run_coroutine(listen_addresses()) == ("127.0.0.1", 0)


@pytest.mark.skipif(os.environ.get(SKIP_VARIABLE) == "1", reason=f"{SKIP_VARIABLE}=1")
def test_stop_shuts_down_and_removes_everything() -> None:
    cluster = cluster_module.start_cluster()
    root, port = cluster.root, cluster.port
    assert (root / "data" / "PG_VERSION").is_file()
    cluster.stop()
    assert not root.exists()
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
