"""deploy/: the systemd unit and the env file the README's "Run it as a service" installs.

That SIGTERM stops the real process with exit 0 within the unit's stop timeout is shown by
tests/e2e/test_service.py (the process as the unit starts it) and by
tests/e2e/test_process.py::test_run_serves_a_member_and_stops_cleanly_on_sigterm.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.config.environment import settable_keys
from bot.discord.runner import SHUTDOWN_GRACE
from bot.providers.registry import SECRET_ENV
from tests.helpers.standins import pikabot_command
from tests.helpers.systemd_unit import UNIT, read_env_file, read_unit


def test_the_unit_runs_pikabot_from_its_venv_with_the_etc_config() -> None:
    unit = read_unit()
    assert unit.service["Type"] in ("simple", "exec")
    argv = unit.exec_start
    assert Path(argv[0]).is_absolute() and argv[0].endswith("/.venv/bin/pikabot")
    assert argv[1:] == ["run", "--config", "/etc/pikabot/config.toml"]
    assert unit.sections["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in unit.sections["Unit"]["After"]


def test_the_unit_restarts_on_failure_and_stops_with_sigterm_in_time() -> None:
    service = read_unit().service
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # a config error needs an operator, not a loop
    assert service["KillSignal"] == "SIGTERM"
    assert read_unit().stop_timeout > SHUTDOWN_GRACE  # systemd waits longer than the bot's own grace


def test_the_unit_keeps_secrets_in_an_env_file_and_state_in_var_lib() -> None:
    service = read_unit().service
    assert service["EnvironmentFile"] == "/etc/pikabot/pikabot.env"  # no "-": a missing file is an error
    assert service["StateDirectory"] == "pikabot"
    assert service["WorkingDirectory"] == "/var/lib/pikabot"
    assert service.get("User") == "pikabot" or service.get("DynamicUser") == "yes"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[key] == value, key
    assert not any("TOKEN" in key or "KEY" in key for key in read_unit().environment)


def test_the_env_example_names_only_real_variables_and_holds_no_secret() -> None:
    variables = read_env_file()
    secrets = {variable for variable, _, _ in SECRET_ENV}
    assert {"DISCORD_TOKEN", "FAL_KEY"} <= set(variables) <= secrets | set(settable_keys())
    assert all(value == "" for value in variables.values())
    assert "install -m 600" in (UNIT.parent / "pikabot.env.example").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    """systemd's own check. It insists that ExecStart's program exists, so the copy checked points it
    at this checkout's installed pikabot; every other line is the shipped unit's."""
    shipped = read_unit().exec_start[0]
    copy = tmp_path / "pikabot.service"
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(shipped, pikabot_command()[0]), encoding="utf-8")
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None
    result = subprocess.run(  # noqa: S603 - our own unit file, checked by systemd's own tool
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "pikabot.service" not in result.stderr, result.stderr
