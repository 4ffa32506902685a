"""The command line with ``[database] url`` naming a PostgreSQL server: check-config masks the
password; ``pikabot jobs`` lists, shows, retries and cancels there, or explains why it cannot connect."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.store import Database, JobStore, JobUpdate

USEAPI_SECRET = "user:1234-useapiSECRETvalue"
PASSWORD = "hunter2-pg-secret"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No tokens from the environment; logging set up by a subcommand is put back afterwards."""
    for variable in ("DISCORD_TOKEN", "USEAPI_TOKEN", "APIGLUE_TOKEN", "FAL_KEY", "PGPASSWORD"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    filters = {handler: list(handler.filters) for handler in handlers}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler, saved in filters.items():
        handler.filters[:] = saved
    root.setLevel(level)


def config_for(tmp_path: Path, url: str) -> str:
    config = tmp_path / "pika.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return str(config)


def seed(url: str) -> tuple[int, int]:
    """One failed and one queued job, as the running bot leaves them; their ids."""

    async def run() -> tuple[int, int]:
        db = await Database.open(url)
        try:
            store = JobStore(db)
            origin = Origin(guild_id=1183508299895820390, channel_id=1183508299895820391)
            failed = await store.insert(
                JobRequest(JobKind.CREATE, 111, origin, prompt="a fox"), 1_700_000_000
            )
            await store.transition(failed.id, JobState.SUBMITTING, 1_700_000_001)
            await store.transition(
                failed.id, JobState.FAILED, 1_700_000_002, JobUpdate(error_code="upstream_failed")
            )
            queued = await store.insert(
                JobRequest(JobKind.CREATE, 112, origin, prompt="a cat"), 1_700_000_100
            )
            return failed.id, queued.id
        finally:
            await db.close()

    return asyncio.run(run())


def test_check_config_masks_the_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_for(tmp_path, f"postgresql://pikabot:{PASSWORD}@127.0.0.1:5432/pikabot")
    assert main(["check-config", "--config", config]) == 0
    out, err = capsys.readouterr()
    assert 'url = "postgresql://pikabot:***@127.0.0.1:5432/pikabot"' in out
    assert PASSWORD not in out + err


def test_jobs_on_postgresql(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """list, show, retry and cancel work against the server exactly as against a SQLite file."""
    failed, queued = seed(postgres_url)
    config = config_for(tmp_path, postgres_url)

    assert main(["jobs", "list", "--config", config]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == [str(queued), str(failed)]
    assert main(["jobs", "show", str(failed), "--config", config]) == 0
    assert "submitting -> failed" in capsys.readouterr().out

    monkeypatch.setenv("USEAPI_TOKEN", USEAPI_SECRET)
    assert main(["jobs", "retry", str(failed), "--config", config]) == 0
    retried = int(capsys.readouterr().out.split()[1])
    assert main(["jobs", "cancel", str(retried), "--config", config]) == 0
    assert "cancelled before it started" in capsys.readouterr().out
    assert main(["jobs", "list", "--config", config, "--state", "cancelled"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [[str(retried), "cancelled"]]


def test_jobs_with_an_unreachable_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No "database not found" for a server: a config error saying where it could not connect,
    without the password (port 1 on 127.0.0.1 refuses at once)."""
    config = config_for(tmp_path, f"postgresql://pikabot:{PASSWORD}@127.0.0.1:1/pikabot")
    assert main(["jobs", "list", "--config", config]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("config: cannot connect to postgresql://pikabot:***@127.0.0.1:1/pikabot: ")
    assert PASSWORD not in out + err
