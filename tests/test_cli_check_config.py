"""The pikabot command line: check-config output and exit codes, and the command table."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from bot.cli import COMMANDS, Command, main
from tests.helpers.cli import DISCORD_SECRET, USEAPI_SECRET, isolated, restore_logging

__all__ = ["isolated", "restore_logging"]  # fixtures shared from the helpers module


REPO = Path(__file__).resolve().parent.parent


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
