"""The pikabot command line: what `pikabot run` logs at start, and the --log-format option."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.ops.startup_summary import describe_database
from tests.helpers.cli import DISCORD_SECRET, isolated, restore_logging

__all__ = ["isolated", "restore_logging"]  # fixtures shared from the helpers module


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
    """A PostgreSQL database is named by its URL with the password masked, a SQLite one by its file."""
    from bot.config import DatabaseSettings, Settings
    from bot.config.database import parse_database_url

    url = parse_database_url("postgresql://pika:s3cret@db.example.com:5432/pikabot")
    shown = describe_database(Settings(database=DatabaseSettings(url=url)))
    assert shown == "postgresql://pika:***@db.example.com:5432/pikabot"
    relative = describe_database(Settings(database=DatabaseSettings(path="jobs.sqlite3")))
    assert Path(relative).is_absolute() and relative.endswith("jobs.sqlite3")


def test_the_start_log_names_the_postgresql_database_not_the_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With `[database] url` set, the start log named the unused default SQLite file."""
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "postgresql://pika:s3cret@db.example.com:5432/pikabot"\n')
    _run_without_connecting(monkeypatch, ["--config", str(config)])
    err = capsys.readouterr().err
    assert "database: postgresql://pika:***@db.example.com:5432/pikabot;" in err
    assert "s3cret" not in err and "pikabot.sqlite3" not in err


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
