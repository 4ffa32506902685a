"""The pikabot command line: `pikabot jobs` lists, shows, retries and cancels without leaking secrets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.store import Database, JobStore
from bot.store.job_rows import JobUpdate
from tests.helpers.cli import DISCORD_SECRET, USEAPI_SECRET, isolated, restore_logging

__all__ = ["isolated", "restore_logging"]  # fixtures shared from the helpers module


# --- pikabot jobs ----------------------------------------------------------------------------------


def _seed(path: Path, *, error_message: str = "Pika said no") -> tuple[int, int]:
    """A database as the running bot leaves it: one failed job and one queued job; their ids."""

    async def seed() -> tuple[int, int]:
        db = await Database.open(path)
        try:
            store = JobStore(db)
            origin = Origin(guild_id=222, channel_id=333)
            failed = await store.insert(
                JobRequest(JobKind.CREATE, 111, origin, prompt="a fox"), 1_700_000_000
            )
            await store.transition(failed.id, JobState.SUBMITTING, 1_700_000_001)
            await store.transition(
                failed.id,
                JobState.FAILED,
                1_700_000_002,
                JobUpdate(error_code="upstream_failed", error_message=error_message),
            )
            queued = await store.insert(
                JobRequest(JobKind.CREATE, 112, origin, prompt="a cat"), 1_700_000_100
            )
            return failed.id, queued.id
        finally:
            await db.close()

    return asyncio.run(seed())


def _jobs_config(tmp_path: Path) -> Path:
    config = tmp_path / "pika.toml"
    config.write_text('[database]\npath = "jobs.sqlite3"\n', encoding="utf-8")
    return config


def test_jobs_list_and_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--config goes before or after the action; the table lists newest first."""
    failed, queued = _seed(tmp_path / "jobs.sqlite3")
    config = str(_jobs_config(tmp_path))

    assert main(["jobs", "list", "--config", config]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["ID", "STATE", "KIND"]
    assert [line.split()[0] for line in lines[1:]] == [str(queued), str(failed)]

    assert main(["jobs", "--config", config, "list", "--state", "failed", "--owner", "111"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].split()[:2] == [str(failed), "failed"]
    assert lines[1].endswith("upstream_failed")

    assert main(["jobs", "list", "--config", config, "--owner", "5"]) == 0
    assert capsys.readouterr().out == "no jobs match\n"


def test_jobs_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    failed, _ = _seed(tmp_path / "jobs.sqlite3")
    config = str(_jobs_config(tmp_path))
    assert main(["jobs", "show", str(failed), "--config", config]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"job {failed}\n") and "error_code             upstream_failed" in out
    assert "history:\n" in out and "submitting -> failed" in out

    assert main(["jobs", "show", "999", "--config", config]) == 1
    assert capsys.readouterr().err == "job 999 not found\n"


def test_jobs_output_never_contains_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a stored error message quoted, the operator's terminal gets it redacted."""
    monkeypatch.setenv("USEAPI_TOKEN", USEAPI_SECRET)
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_SECRET)
    failed, _ = _seed(
        tmp_path / "jobs.sqlite3", error_message=f"401 for {USEAPI_SECRET} / Bot {DISCORD_SECRET}"
    )
    config = str(_jobs_config(tmp_path))
    for argv in (["show", str(failed)], ["list"], ["cancel", str(failed)], ["retry", str(failed)]):
        main(["jobs", *argv, "--config", config])
        out, err = capsys.readouterr()
        for secret in (USEAPI_SECRET, DISCORD_SECRET):
            assert secret not in out and secret not in err
    assert main(["jobs", "show", str(failed), "--config", config]) == 0
    assert "401 for [redacted] / Bot [redacted]" in capsys.readouterr().out


def test_jobs_retry_and_cancel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """retry prints the new job's id; cancel says what happened; refusals exit 1."""
    failed, queued = _seed(tmp_path / "jobs.sqlite3")
    config = str(_jobs_config(tmp_path))
    # A retry needs the failed job's provider: without its key, a config error naming it.
    assert main(["jobs", "retry", str(failed), "--config", config]) == 2
    assert "provider 'useapi' is not configured" in capsys.readouterr().err
    monkeypatch.setenv("USEAPI_TOKEN", USEAPI_SECRET)

    assert main(["jobs", "retry", str(failed), "--config", config]) == 0
    new_id = queued + 1
    assert (
        capsys.readouterr().out
        == f"job {new_id} queued as a retry of job {failed}; the running bot will run it\n"
    )
    assert main(["jobs", "retry", str(queued), "--config", config]) == 1
    assert capsys.readouterr().err == f"job {queued} not retried: job {queued} is still queued\n"
    assert main(["jobs", "retry", "999", "--config", config]) == 1

    assert main(["jobs", "cancel", str(new_id), "--config", config]) == 0
    assert "cancelled before it started" in capsys.readouterr().out
    assert main(["jobs", "cancel", str(new_id), "--config", config]) == 1
    assert capsys.readouterr().err == f"job {new_id} is already cancelled; nothing to cancel\n"
    assert main(["jobs", "cancel", "999", "--config", config]) == 1
    assert capsys.readouterr().err == "job 999 not found\n"

    assert main(["jobs", "show", str(new_id), "--config", config]) == 0
    assert f"parent_id              {failed}" in capsys.readouterr().out


def test_jobs_missing_database_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(_jobs_config(tmp_path))
    assert main(["jobs", "list", "--config", config]) == 2
    assert (
        capsys.readouterr().err
        == "config: database not found: jobs.sqlite3 (is --config the bot's config file?)\n"
    )
    assert not (tmp_path / "jobs.sqlite3").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["jobs"],
        ["jobs", "purge"],
        ["jobs", "show"],
        ["jobs", "show", "x"],
        ["jobs", "list", "--state", "sleeping"],
        ["jobs", "list", "--limit", "0"],
    ],
)
def test_jobs_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: pikabot jobs" in capsys.readouterr().err
