"""SIGTERM with jobs, callbacks and uploads in flight: exit within 10 s, lose nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.helpers.process import FAULT_SIM, ProcessStack


async def test_sigterm_mid_flight_then_restart(tmp_path: Path) -> None:
    """Six jobs at various stages when SIGTERM arrives; a restart finishes all of them exactly once."""
    stack = await ProcessStack.start(tmp_path, FAULT_SIM)
    try:
        await stack.launch()
        emu = stack.emulator.emu
        channel = emu.config.text_channel_id
        for n in range(6):
            interaction = await emu.slash(
                101 + n % 3, channel, "pika", "create", {"prompt": f"shutdown scene {n}"}
            )
            await emu.wait_acked(interaction, timeout=10)
        await asyncio.sleep(0.4)  # some jobs running upstream, some queued, maybe one uploading
        started = time.monotonic()
        assert await stack.terminate() == 0
        assert time.monotonic() - started < 10
        await stack.launch()
        await stack.settle(6)
        assert await stack.terminate() == 0
        stack.check()
    finally:
        await stack.close()
