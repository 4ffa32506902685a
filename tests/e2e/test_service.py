"""pikabot as deploy/pikabot.service starts it, minus systemd: the unit's command line, its
Environment= and EnvironmentFile=, its working directory; stopped with its KillSignal.

The machine running the tests has no systemd to start the unit itself, so the test does what the
unit asks for, with /opt/pikabot, /etc/pikabot and /var/lib/pikabot mapped under a temporary folder.
The config file is the README's, the env file the shipped example with its two values filled in.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bot import __version__
from sandbox.discord_emu import start_emulator
from sandbox.fal_sim import SimConfig, start_simulator
from sandbox.stack import free_port
from tests.helpers.standins import clean_env, pikabot_command, standin_env
from tests.helpers.systemd_unit import read_env_file, read_unit

#: /etc/pikabot/config.toml as the README writes it.
README_CONFIG = '[database]\npath = "/var/lib/pikabot/pikabot.sqlite3"\n'


def mapped(text: str, root: Path) -> str:
    """The unit's absolute paths, moved under ``root``."""
    for prefix in ("/etc/pikabot", "/var/lib/pikabot"):
        text = text.replace(prefix, f"{root}{prefix}")
    return text


async def test_the_unit_s_command_starts_the_bot_and_sigterm_stops_it_with_exit_0(tmp_path: Path) -> None:
    unit = read_unit()
    state = tmp_path / "var/lib/pikabot"  # what StateDirectory=pikabot creates
    state.mkdir(parents=True)
    config = Path(mapped(unit.exec_start[unit.exec_start.index("--config") + 1], tmp_path))
    config.parent.mkdir(parents=True)
    config.write_text(mapped(README_CONFIG, tmp_path), encoding="utf-8")

    emulator = await start_emulator()
    fal = await start_simulator(SimConfig(queue_delay=0.02, step_delay=0.1))
    env_file = read_env_file() | {
        "DISCORD_TOKEN": emulator.emu.config.bot_token,
        "FAL_KEY": fal.sim.config.key,
    }
    env = clean_env() | unit.environment | env_file | standin_env(emulator, fal, free_port())
    argv = [*pikabot_command(), *(mapped(arg, tmp_path) for arg in unit.exec_start[1:])]
    log_path = tmp_path / "journal.log"
    with log_path.open("wb") as journal:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=mapped(unit.service["WorkingDirectory"], tmp_path), env=env,
            stdout=journal, stderr=journal,
        )  # fmt: skip
    try:
        await emulator.emu.wait_ready(timeout=30)
        process.send_signal(signal.Signals[unit.service["KillSignal"]])
        code = await asyncio.wait_for(process.wait(), timeout=unit.stop_timeout)
        assert code == 0  # a clean stop: Restart=on-failure leaves it stopped
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await emulator.close()
        await fal.close()

    log = log_path.read_text(errors="replace")
    assert f"pikabot {__version__} starting; config file {config}" in log
    assert "routes: create → fal.ai, animate → fal.ai, scenes → fal.ai, frames → fal.ai" in log
    assert f"database: {state / 'pikabot.sqlite3'}; videos wait in {state / 'pikabot-media'}" in log
    assert "shutting down" in log
    assert (state / "pikabot.sqlite3").is_file()
    for secret in (emulator.emu.config.bot_token, fal.sim.config.key):
        assert secret not in log
