"""Ack latency: INTERACTION_CREATE sent to defer received, against a bare discord.py bot as the floor."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.figures import Row, pct, summary


async def ack_latencies(
    emulator: Any, command: str, sub: str | None, options: dict[str, Any], n: int
) -> list[float]:
    """Dispatch n slash commands at once; each one's dispatch-to-ack time in ms (emulator clock)."""
    emu = emulator.emu
    channel = emu.config.text_channel_id
    interactions = await asyncio.gather(
        *(emu.slash(101 + k % 4, channel, command, sub, options) for k in range(n))
    )
    await asyncio.gather(*(emu.wait_acked(i, timeout=30) for i in interactions))
    # The handlers go on to post status messages, which Discord paces at ~5 per 5 s per channel; the
    # bench measures only the acknowledgement, and shutting the bot down cuts the rest short.
    return [i.ack_latency * 1000 for i in interactions]


async def bare_bot_floor(n: int) -> list[float]:
    """The floor: benchmarks/bare_bot.py (a discord.py bot that only defers) in its own process."""
    from sandbox.discord_emu import start_emulator

    emulator = await start_emulator()
    env = {
        **os.environ,
        "BARE_API_BASE": emulator.api_base_url,
        "BARE_GATEWAY": emulator.gateway_url,
        "BARE_TOKEN": emulator.emu.config.bot_token,
    }
    script = Path(__file__).with_name("bare_bot.py")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        emu = emulator.emu
        await emu.wait_ready(timeout=30)
        await emu.wait_for(
            lambda: any(c.get("name") == "bare" for cs in emu.commands.values() for c in cs), 30
        )
        return await ack_latencies(emulator, "bare", None, {}, n)
    finally:
        process.kill()
        await process.wait()
        await emulator.close()


async def bench_acks(tmp: Path) -> list[Row]:
    """INTERACTION_CREATE sent -> defer received, for 1, 50 and 200 commands arriving together.

    Both bots run as their own processes (`pikabot run` and bare_bot.py), so neither shares its event
    loop with the emulator; they still share the machine's two cores with it.
    """
    from tests.helpers.process import ProcessStack

    rows: list[Row] = []
    for n in (1, 50, 200):
        floor = await bare_bot_floor(n)
        workdir = tmp / f"acks-{n}"
        workdir.mkdir()
        stack = await ProcessStack.start(workdir)
        try:
            await stack.launch()
            stack.simulator.sim.faults.hold_jobs = True
            measured = await ack_latencies(stack.emulator, "pika", "create", {"prompt": "ack bench"}, n)
        finally:
            await stack.close()
        median, p99, top = summary(measured)
        floor_p99 = pct(floor, 0.99)
        target_ok = p99 <= 1.25 * floor_p99 and p99 < 100
        rows.append(
            Row(f"ack latency, {n} together", "ms", median, p99, top, floor_p99, "<=1.25x, <100ms", target_ok)
        )
    return rows
