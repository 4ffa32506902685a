"""The pikabot command line: check-config output and exit codes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from bot.cli import COMMANDS, Command, build_parser, main
from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.store import Database, JobStore
from bot.store.job_rows import JobUpdate

REPO = Path(__file__).resolve().parent.parent
DISCORD_SECRET = "MTEdiscordSECRETvalue.abcdef.ghijklmnopqrstuvwxYz"
USEAPI_SECRET = "user:1234-useapiSECRETvalue"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real tokens or ./config.toml from the developer's environment leak into these tests."""
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    for variable in ("USEAPI_TOKEN", "APIGLUE_TOKEN", "FAL_KEY"):
        monkeypatch.delenv(variable, raising=False)
    for variable in [v for v in os.environ if v.startswith("PIKABOT_")]:
        monkeypatch.delenv(variable)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Subcommands set up process-wide logging; put pytest's own setup back afterwards."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    filters = {handler: list(handler.filters) for handler in handlers}
    level = root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler, saved in filters.items():
        handler.filters[:] = saved
    root.setLevel(level)


def test_valid_config_prints_effective_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "pika.toml"
    config.write_text('[jobs]\npoll_interval = 20\n[database]\npath = "jobs.sqlite3"\n', encoding="utf-8")

    assert main(["check-config", "--config", str(config)]) == 0

    out, err = capsys.readouterr()
    assert out.startswith(f"# pikabot 0.1.0: effective configuration from {config}; secrets masked\n")
    assert "[jobs]\npoll_interval = 20\n" in out
    assert 'url = "sqlite:///jobs.sqlite3"' in out
    assert 'token = "(not set)"' in out
    assert "warning: discord.token is not set (DISCORD_TOKEN)" in err


def test_secrets_from_env_are_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_SECRET)
    monkeypatch.setenv("USEAPI_TOKEN", USEAPI_SECRET)
    config = tmp_path / "pika.toml"
    config.write_text('[useapi]\ntoken = "file-token-overridden"\n', encoding="utf-8")

    assert main(["check-config", "--config", str(config)]) == 0

    out, err = capsys.readouterr()
    assert 'token = "MTE…secured…xYz"' in out
    assert 'token = "use…secured…lue"' in out
    for secret in (DISCORD_SECRET, USEAPI_SECRET, "file-token-overridden"):
        assert secret not in out and secret not in err
    assert err == ""  # tokens set, defaults sound: nothing to warn about


def test_problems_exit_2_and_list_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "pika.toml"
    config.write_text(
        f'[discord]\ntoken = "{DISCORD_SECRET}"\n[database]\ncolour = "red"\n'
        '[[useapi.accounts]]\nchannel = "1183508299895820390"\nmax_jobs = 11\n',
        encoding="utf-8",
    )

    assert main(["check-config", "--config", str(config)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "config: 2 problem(s):",
        "  useapi.accounts[0].max_jobs: must be between 1 and 10 (got 11)",
        "  database.colour: unknown key (allowed: path, url, pool_size)",
    ]


def test_missing_explicit_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(tmp_path / "absent.toml")]) == 2
    err = capsys.readouterr().err
    assert "config: 1 problem(s):" in err and "config file not found:" in err


def test_defaults_when_no_config_toml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "built-in defaults (config.toml not found)" in out
    assert 'base_url = "https://api.useapi.net/v1/"' in out


def test_uses_config_toml_in_working_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config.toml").write_text("[jobs]\ntimeout = 99\n", encoding="utf-8")
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "effective configuration from config.toml" in out and "timeout = 99" in out


def test_warnings_do_not_fail_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "pika.toml"
    config.write_text("[jobs]\npoll_interval = 2\n", encoding="utf-8")
    assert main(["check-config", "--config", str(config)]) == 0
    assert "warning: jobs.poll_interval is 2 s" in capsys.readouterr().err


def test_example_config_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(REPO / "config.example.toml")]) == 0


@pytest.mark.parametrize(("argv", "code"), [([], 2), (["nope"], 2), (["--help"], 0), (["--version"], 0)])
def test_usage_exit_codes(argv: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> None:
    """main() returns argparse's status instead of exiting, so callers and tests stay in control."""
    assert main(argv) == code


def test_new_subcommand_is_one_table_entry(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Adding a subcommand takes a handler and one COMMANDS entry; it gets --config for free."""
    seen: list[argparse.Namespace] = []

    def handler(args: argparse.Namespace) -> int:
        seen.append(args)
        return 7

    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--flag", action="store_true")

    monkeypatch.setitem(
        COMMANDS, "probe", Command(help="test only", handler=handler, add_arguments=arguments)
    )
    assert main(["probe", "--flag", "--config", "x.toml"]) == 7
    assert seen[0].flag is True and cli.config_path(seen[0]) == Path("x.toml")


def test_python_dash_m_bot(tmp_path: Path) -> None:
    """`python -m bot` is the same command line, exiting with main()'s status."""
    (tmp_path / "config.toml").write_text("[jobs]\npoll_interval = 0\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("DISCORD_TOKEN", None)
    env.pop("USEAPI_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "jobs.poll_interval: must be a number >= 1 (got 0)" in result.stderr


def test_check_config_names_environment_settings_and_provider_hosts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which PIKABOT_* variables applied (names only), and that fal's CDN is allowed once FAL_KEY is set."""
    monkeypatch.setenv("PIKABOT_DATABASE_PATH", "/srv/pikabot/jobs.sqlite3")
    monkeypatch.setenv("FAL_KEY", "key-id:key-secret")
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "# settings from the environment (they override the file): PIKABOT_DATABASE_PATH\n" in out
    assert 'url = "sqlite:////srv/pikabot/jobs.sqlite3"' in out
    assert "# result videos may also come from the keyed providers' hosts: v3.fal.media, " in out


# --- pikabot run: what it says at start ------------------------------------------------------------


def _run_without_connecting(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    """`pikabot run` up to the point it would connect to Discord (the log goes to stderr)."""
    seen: list[object] = []

    async def run_bot(settings: object) -> int:
        seen.append(settings)
        return 0

    monkeypatch.setattr("bot.discord.runner.run_bot", run_bot)
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_SECRET)
    monkeypatch.setenv("FAL_KEY", "key-id:key-secret")
    assert main(["run", *argv]) == 0
    assert len(seen) == 1


def test_run_logs_version_source_routes_database_and_callbacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no config file: the version, that defaults are used, the routes, the database file (absolute)
    and that callbacks are off (polling); the secrets never."""
    _run_without_connecting(monkeypatch, [])
    err = capsys.readouterr().err
    assert (
        "pikabot 0.1.0 starting; no config file found (no --config, no ./config.toml): "
        "using built-in defaults and the environment" in err
    )
    assert "routes: create → fal.ai, animate → fal.ai, scenes → fal.ai, frames → fal.ai" in err
    assert f"database: {tmp_path / 'pikabot.sqlite3'}; videos wait in {tmp_path / 'pikabot-media'}" in err
    assert "callbacks: off, polling every 15 s" in err
    assert DISCORD_SECRET not in err and "key-secret" not in err


def test_run_logs_the_config_file_and_callbacks_when_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "pika.toml"
    config.write_text(
        '[database]\npath = "/var/lib/pikabot/pikabot.sqlite3"\n'
        '[callbacks]\npublic_url = "https://bot.example.com"\n[jobs]\npoll_interval = 20\n',
        encoding="utf-8",
    )
    _run_without_connecting(monkeypatch, ["--config", str(config)])
    err = capsys.readouterr().err
    assert f"pikabot 0.1.0 starting; config file {config}" in err
    assert "database: /var/lib/pikabot/pikabot.sqlite3; videos wait in /var/lib/pikabot/pikabot-media" in err
    assert "callbacks: on at https://bot.example.com (polling every 20 s as a backup)" in err


def test_database_is_shown_without_a_password() -> None:
    """A URL-style database location (a server, as issue 15 plans) is logged with its password masked."""
    from bot.config import DatabaseSettings, Settings

    url = "postgresql://pika:s3cret@db.example.com:5432/pikabot"
    shown = cli.describe_database(Settings(database=DatabaseSettings(path=url)))
    assert shown == "postgresql://pika:***@db.example.com:5432/pikabot"
    relative = cli.describe_database(Settings(database=DatabaseSettings(path="jobs.sqlite3")))
    assert Path(relative).is_absolute() and relative.endswith("jobs.sqlite3")


# --- log format ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "sync", "demo", "jobs"])
def test_log_format_option(command: str) -> None:
    """Every command that logs takes --log-format text|json; text is the default."""
    parser = build_parser()
    tail = ["list"] if command == "jobs" else []
    assert parser.parse_args([command, *tail]).log_format == "text"
    assert parser.parse_args([command, "--log-format", "json", *tail]).log_format == "json"


def test_unknown_log_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--log-format", "xml"]) == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


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
