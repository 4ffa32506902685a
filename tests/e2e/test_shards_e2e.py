"""Two `pikabot run` processes split Discord's gateway: shards 0 and 1 of 2, one shared database.

Each process hears only the guilds of its shard, so each member's command is answered by the
process holding their guild; either process may then run and post the job (the work queue is
shared), and only the process holding shard 0 registers the slash commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.discord_emu import EmuConfig, EmuGuild, RunningEmulator, shard_of, start_emulator
from sandbox.stack import free_port
from sandbox.useapi_sim import DEFAULT_CHANNEL, RunningSimulator, start_simulator
from tests.e2e.conftest import FAST_SIM
from tests.helpers.invariants import assert_invariants

GUILD_A = EmuConfig.guild_id  # shard 1 of 2
CHANNEL_A = EmuConfig.text_channel_id
GUILD_B = GUILD_A + (1 << 22)  # shard 0 of 2
CHANNEL_B = 900000000000000210
ALICE, BOB = 101, 102  # alice asks in guild A, bob in guild B


@dataclass
class Shard:
    """One `pikabot run` process holding one shard."""

    shard_id: int
    process: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def write_config(path: Path, emulator: RunningEmulator, simulator: RunningSimulator, shard_id: int) -> None:
    port = free_port()  # each process has its own webhook server; the database is shared
    path.write_text(
        f"""
[discord]
api_base_url = "{emulator.api_base_url}"
gateway_url = "{emulator.gateway_url}"
shard_count = 2
shard_ids = [{shard_id}]
[useapi]
base_url = "{simulator.base_url}"
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
path = "{path.parent / "pikabot.sqlite3"}"
[limits]
in_flight = 10
cooldown = 0
"""
    )


@contextlib.asynccontextmanager
async def shard_process(
    tmp_path: Path, emulator: RunningEmulator, simulator: RunningSimulator, shard_id: int
) -> AsyncIterator[Shard]:
    """Start the process for one shard, wait until its shard is connected, SIGTERM it afterwards."""
    config = tmp_path / f"shard-{shard_id}.toml"
    write_config(config, emulator, simulator, shard_id)
    env = {
        **os.environ,
        "DISCORD_TOKEN": emulator.emu.config.bot_token,
        "USEAPI_TOKEN": simulator.sim.config.api_token,
    }
    log_path = tmp_path / f"shard-{shard_id}.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config),
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
        )  # fmt: skip
    shard = Shard(shard_id, process, log_path)
    try:
        await emulator.emu.wait_ready(shard=shard_id, timeout=30)
        yield shard
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def video_posted(emulator: RunningEmulator, channel_id: int) -> None:
    """Wait for the job's thread under the channel, and for the video in it."""
    emu = emulator.emu
    await emu.wait_for(lambda: len(emu.threads(channel_id)) == 1, 10, "the job's thread")
    (thread,) = emu.threads(channel_id)
    await emu.wait_for_message(lambda m: m.channel_id == thread.id and bool(m.attachments), timeout=15)


async def settled(db: Path, expected: list[tuple[int, str, int]], timeout: float = 10) -> None:
    """Wait until the shared database holds exactly these (owner, state, notified) jobs."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("SELECT owner_id, state, notified FROM jobs ORDER BY owner_id").fetchall()
        finally:
            conn.close()
        if rows == expected:
            return
        if loop.time() > deadline:
            raise AssertionError(f"jobs did not settle: {rows}")
        await asyncio.sleep(0.05)


async def test_two_processes_each_answer_the_guilds_of_their_shard(tmp_path: Path) -> None:
    assert (shard_of(GUILD_A, 2), shard_of(GUILD_B, 2)) == (1, 0)
    emulator = await start_emulator(EmuConfig(extra_guilds=(EmuGuild(GUILD_B, "Second", CHANNEL_B),)))
    simulator = await start_simulator(FAST_SIM)
    emu = emulator.emu
    try:
        # Shard 1 first: nothing is synced yet, and still it leaves the commands to shard 0's process.
        async with shard_process(tmp_path, emulator, simulator, 1) as one:
            assert emu.calls_to("bulk_set_commands") == []
            async with shard_process(tmp_path, emulator, simulator, 0) as zero:
                await emu.wait_ready()  # both shards of 2
                assert [c.status for c in emu.calls_to("bulk_set_commands")] == [200]
                in_a = await emu.slash(ALICE, CHANNEL_A, "pika", "create", {"prompt": "a fox on shard one"})
                in_b = await emu.slash(BOB, CHANNEL_B, "pika", "create", {"prompt": "a fox on shard zero"})
                # Only the session holding each guild got its interaction (and so its token).
                assert (in_a.shards, in_b.shards) == ([(1, 2)], [(0, 2)])
                for inter, channel in ((in_a, CHANNEL_A), (in_b, CHANNEL_B)):
                    await emu.wait_acked(inter, timeout=5)
                    await video_posted(emulator, channel)
                db = tmp_path / "pikabot.sqlite3"
                await settled(db, [(ALICE, "delivered", 1), (BOB, "delivered", 1)])
        assert (one.process.returncode, zero.process.returncode) == (0, 0)
        log_one, log_zero = one.log(), zero.log()
        assert "queued (create by 101)" in log_one and "queued (create by 102)" not in log_one
        assert "queued (create by 102)" in log_zero and "queued (create by 101)" not in log_zero
        assert "slash commands synced" in log_zero and "slash commands synced" not in log_one
        assert "synced by the process holding shard 0" in log_one
        assert emu.violations == []
        assert_invariants(db, emu, simulator.sim)
    finally:
        await emulator.close()
        await simulator.close()
