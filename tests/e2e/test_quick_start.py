"""The README's "Quick start with fal.ai", step by step, against the stand-ins.

1. A Discord application with a bot token: the emulator's application and token.
2. The invite URL with the scopes and permissions the bot needs: logged by the bot at start.
3. Installed: the venv's ``pikabot`` console script (what ``make install`` / ``pip install`` makes).
4. ``export DISCORD_TOKEN=… FAL_KEY=…`` and ``pikabot run``: no config file anywhere, no --config.
5. ``/pika create`` in a channel: the video arrives in the request's thread.

The stand-ins' addresses reach the process as ``PIKABOT_*`` variables (what an operator behind a
proxy would set), never as a file; no file is written.
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

from bot import __version__
from bot.discord.app import REQUIRED_PERMISSIONS
from sandbox.discord_emu import start_emulator
from sandbox.fal_sim import SimConfig, start_simulator
from sandbox.stack import free_port
from tests.helpers.standins import clean_env, pikabot_command, standin_env

README = Path(__file__).resolve().parents[2] / "README.md"


async def test_quick_start_with_fal_and_no_config_file(tmp_path: Path) -> None:
    """With only DISCORD_TOKEN and FAL_KEY and no config file, `pikabot run` starts on built-in
    defaults, says so, and `/pika create` makes a video; SIGTERM then stops it with exit 0."""
    emulator = await start_emulator()
    fal = await start_simulator(SimConfig(queue_delay=0.02, step_delay=0.1))
    workdir = tmp_path / "team"
    workdir.mkdir()
    log_path = tmp_path / "pikabot.log"  # outside the working directory: it holds only what the bot makes
    # Step 4's two secrets, plus only the stand-ins' addresses.
    env = clean_env() | standin_env(emulator, fal, free_port())
    env |= {"DISCORD_TOKEN": emulator.emu.config.bot_token, "FAL_KEY": fal.sim.config.key}
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            *pikabot_command(), "run",
            cwd=workdir, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
        )  # fmt: skip
    try:
        emu = emulator.emu
        await emu.wait_ready(timeout=30)
        channel = emu.config.text_channel_id
        await emu.slash(101, channel, "pika", "create", {"prompt": "a fox on its first run"})
        await emu.wait_for(lambda: len(emu.threads(channel)) == 1, 15)
        (thread,) = emu.threads(channel)
        video = await emu.wait_for_message(
            lambda m: m.channel_id == thread.id and bool(m.attachments), timeout=45
        )
        assert video.attachments[0].filename == "pika_1_a_fox_on_its_first_run.mp4"  # not fal's "output.mp4"
        assert [r.path for r in fal.sim.recorded if r.method == "POST"] == ["/fal-ai/pika/v2.2/text-to-video"]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await emulator.close()
        await fal.close()

    log = log_path.read_text(errors="replace")
    assert (
        f"pikabot {__version__} starting; no config file found (no --config, no ./config.toml): "
        "using built-in defaults and the environment"
    ) in log
    assert "routes: create → fal.ai, animate → fal.ai, scenes → fal.ai, frames → fal.ai" in log
    assert f"database: {workdir / 'pikabot.sqlite3'}; videos wait in {workdir / 'pikabot-media'}" in log
    assert "callbacks: off, polling every 15 s" in log
    assert "scope=bot+applications.commands" in log and f"permissions={REQUIRED_PERMISSIONS.value}" in log
    for secret in (emu.config.bot_token, fal.sim.config.key):
        assert secret not in log
    assert emu.violations == []
    # No config file was written or read: the working directory holds only the bot's own state.
    made = {p.name for p in workdir.iterdir()}
    assert "pikabot.sqlite3" in made
    assert made <= {"pikabot-media", "pikabot.sqlite3", "pikabot.sqlite3-wal", "pikabot.sqlite3-shm"}
    assert not list(tmp_path.rglob("*.toml"))


def test_the_readme_quick_start_is_these_steps() -> None:
    """The README's first section is the quick start this file runs: five steps, the invite URL the
    bot builds, only the two variables, and `pikabot run` with no config file."""
    text = README.read_text(encoding="utf-8")
    sections = re.findall(r"(?m)^## (.+)$", text)
    assert sections[0] == "Quick start with fal.ai"
    quick = text.split("## Quick start with fal.ai", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"(?m)^(\d)\. ", quick) == ["1", "2", "3", "4", "5"]
    assert f"scope=bot+applications.commands&permissions={REQUIRED_PERMISSIONS.value}" in quick
    assert re.findall(r"(?m)^\s*export (.+)$", quick) == ["DISCORD_TOKEN=…  FAL_KEY=…"]
    assert re.findall(r"(?m)^\s*pikabot (.+)$", quick) == ["run"]
    assert "make install" in quick and "pip install ." in quick
