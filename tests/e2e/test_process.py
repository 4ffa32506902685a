"""`pikabot run` and `pikabot sync` as real processes against the local stand-ins."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import discord

from bot.discord.app import PikaBot, point_discord_at
from bot.discord.runner import sync_commands
from sandbox.discord_emu import start_emulator
from sandbox.fal_sim import SimConfig as FalConfig
from sandbox.fal_sim import start_simulator as start_fal_simulator
from sandbox.stack import LocalStack, free_port, local_settings
from sandbox.useapi_sim import DEFAULT_CHANNEL, start_simulator
from tests.e2e.conftest import FAST_SIM


def write_config(path: Path, *, api: str, gateway: str, useapi: str, port: int, db: Path) -> None:
    path.write_text(
        f"""
[discord]
api_base_url = "{api}"
gateway_url = "{gateway}"
[useapi]
base_url = "{useapi}"
[[useapi.accounts]]
channel = "{DEFAULT_CHANNEL}"
max_jobs = 2
[callbacks]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
[jobs]
poll_interval = 1
callback_grace = 5
[downloads]
allowed_hosts = ["127.0.0.1"]
[database]
path = "{db}"
"""
    )


async def test_run_serves_a_member_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """The `pikabot run` process connects, turns a slash command into a video, and exits 0 on SIGTERM."""
    emulator = await start_emulator()
    simulator = await start_simulator(FAST_SIM)
    config = tmp_path / "config.toml"
    write_config(
        config,
        api=emulator.api_base_url,
        gateway=emulator.gateway_url,
        useapi=simulator.base_url,
        port=free_port(),
        db=tmp_path / "pikabot.sqlite3",
    )
    env = {
        **os.environ,
        "DISCORD_TOKEN": emulator.emu.config.bot_token,
        "USEAPI_TOKEN": simulator.sim.config.api_token,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        emu = emulator.emu
        await emu.wait_ready(timeout=30)
        channel = emu.config.text_channel_id
        interaction = await emu.slash(101, channel, "pika", "create", {"prompt": "a process-level fox"})
        await emu.wait_for(lambda: any("Follow it in" in t for t in emu.ephemeral_replies(interaction)), 15)
        (thread,) = emu.threads(channel)
        await emu.wait_for_message(lambda m: m.channel_id == thread.id and bool(m.attachments), timeout=20)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=15)
        assert code == 0
        assert time.monotonic() - started < 10
        _, stderr = await process.communicate()
        log = stderr.decode()
        assert "invite pikabot with: https://discord.com/oauth2/authorize" in log
        assert "permissions=" in log
        for secret in (emu.config.bot_token, simulator.sim.config.api_token):
            assert secret not in log
        assert emu.violations == []
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await emulator.close()
        await simulator.close()


async def test_run_refuses_to_start_without_tokens(tmp_path: Path) -> None:
    """No DISCORD_TOKEN and no provider key: exit 2 naming both, before touching the network."""
    secrets = ("DISCORD_TOKEN", "USEAPI_TOKEN", "APIGLUE_TOKEN", "FAL_KEY")
    env = {k: v for k, v in os.environ.items() if k not in secrets}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(tmp_path / "missing.toml"),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert "config file not found" in stderr.decode()
    config = tmp_path / "empty.toml"
    config.write_text("")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert "set DISCORD_TOKEN and a provider key (FAL_KEY for fal.ai, USEAPI_TOKEN" in stderr.decode()


async def test_run_starts_with_only_a_fal_key_and_makes_a_video(tmp_path: Path) -> None:
    """DISCORD_TOKEN and FAL_KEY alone (no useapi.net, no [routing]): the bot starts, routes /pika create
    to fal.ai under `auto`, logs the effective routes and posts the video."""
    emulator = await start_emulator()
    fal = await start_fal_simulator(FalConfig(queue_delay=0.02, step_delay=0.1))
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[discord]
api_base_url = "{emulator.api_base_url}"
gateway_url = "{emulator.gateway_url}"
[fal]
base_url = "{fal.base_url}"
rest_base_url = "{fal.base_url}"
jwks_url = "{fal.jwks_url}"
[callbacks]
listen = "127.0.0.1:{free_port()}"
[jobs]
poll_interval = 1
[downloads]
allowed_hosts = ["127.0.0.1"]
[database]
path = "{tmp_path / "pikabot.sqlite3"}"
"""
    )
    secrets = ("DISCORD_TOKEN", "USEAPI_TOKEN", "APIGLUE_TOKEN", "FAL_KEY")
    env = {k: v for k, v in os.environ.items() if k not in secrets}
    env |= {"DISCORD_TOKEN": emulator.emu.config.bot_token, "FAL_KEY": fal.sim.config.key}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        emu = emulator.emu
        await emu.wait_ready(timeout=30)
        channel = emu.config.text_channel_id
        await emu.slash(101, channel, "pika", "create", {"prompt": "a fox on fal"})
        await emu.wait_for(lambda: len(emu.threads(channel)) == 1, 15)
        (thread,) = emu.threads(channel)
        await emu.wait_for_message(lambda m: m.channel_id == thread.id and bool(m.attachments), timeout=20)
        assert len(fal.sim.requests) == 1
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=15) == 0
        _, stderr = await process.communicate()
        log = stderr.decode()
        assert "routes: create → fal.ai, animate → fal.ai, scenes → fal.ai, frames → fal.ai" in log
        assert fal.sim.config.key not in log
        assert emu.violations == []
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await emulator.close()
        await fal.close()


async def test_sync_to_a_guild_and_version_gated_sync_at_start(tmp_path: Path) -> None:
    """`pikabot sync --guild` registers /pika in that guild; restarts sync globally only on change."""
    stack = await LocalStack.start(tmp_path, sim_config=FAST_SIM)
    try:
        emu = stack.emulator.emu
        global_puts = [
            c
            for c in emu.calls
            if c.method == "PUT" and c.path.endswith("/commands") and "guilds" not in c.path
        ]
        assert len(global_puts) == 1  # first start: the tree is new
        await stack.restart_bot()
        global_puts = [
            c
            for c in emu.calls
            if c.method == "PUT" and c.path.endswith("/commands") and "guilds" not in c.path
        ]
        assert len(global_puts) == 1  # unchanged tree: no second sync
        assert await sync_commands(stack.settings, emu.config.guild_id) == 0
        guild_cmds = emu.commands.get(emu.config.guild_id, [])
        assert sorted(c["name"] for c in guild_cmds) == ["Animate with Pika", "pika", "pika-admin"]
        pika = next(c for c in guild_cmds if c["name"] == "pika")
        subcommands = {o["name"] for o in pika["options"]}
        assert {"create", "animate", "encrypt_text", "encrypt_image", "job", "generate"} <= subcommands
        assert emu.violations == []
    finally:
        await stack.stop()


def test_invite_url_asks_for_exactly_what_the_bot_uses() -> None:
    """The invite carries bot + applications.commands and the seven permissions, nothing else.

    (discord.py names View Channel `read_messages` when iterating.)
    """
    from bot.discord.app import REQUIRED_PERMISSIONS, invite_url

    url = invite_url(900000000000000001)
    assert "scope=bot+applications.commands" in url
    assert f"permissions={REQUIRED_PERMISSIONS.value}" in url
    assert not REQUIRED_PERMISSIONS.administrator and not REQUIRED_PERMISSIONS.manage_messages
    assert {name for name, on in REQUIRED_PERMISSIONS if on} == {
        "read_messages", "send_messages", "send_messages_in_threads", "create_public_threads", "embed_links", "attach_files", "read_message_history",
    }  # fmt: skip


async def test_bot_needs_no_privileged_intents(tmp_path: Path) -> None:
    """PikaBot asks for the guilds intent only: no members, presences or message content."""
    emulator = await start_emulator()
    simulator = await start_simulator(FAST_SIM)
    try:
        settings = local_settings(tmp_path, emulator, simulator, callback_port=free_port())
        point_discord_at(settings.discord.api_base_url, settings.discord.gateway_url)
        bot = PikaBot(settings)
        assert bot.intents == discord.Intents(guilds=True)
        await bot.close()
    finally:
        await emulator.close()
        await simulator.close()
