"""kill -9 at every step where state is saved, then restart: nothing lost, nothing doubled (I1-I4)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from bot.engine.crashpoints import POINTS
from tests.helpers.process import ProcessStack

TRIALS = 2  # per point in CI; `make soak` runs the randomized long run


async def submit_jobs(stack: ProcessStack, count: int) -> None:
    """Members type /pika create; each command is acknowledged before the next."""
    emu = stack.emulator.emu
    channel = emu.config.text_channel_id
    for n in range(count):
        interaction = await emu.slash(
            101 + n % 3, channel, "pika", "create", {"prompt": f"crash test scene {n}"}
        )
        await emu.wait_acked(interaction, timeout=10)


@pytest.mark.parametrize("trial", range(TRIALS))
@pytest.mark.parametrize("point", POINTS)
async def test_kill_at_each_step_then_restart(tmp_path: Path, point: str, trial: int) -> None:
    """The bot dies at `point` (on the 1st or 2nd time it gets there); a restart finishes every job."""
    stack = await ProcessStack.start(tmp_path)
    if point == "complete.unplaced":
        # Status follow-ups slower than the job itself: the result is ready before its thread exists.
        stack.emulator.emu.faults.followup_delay = 2.0
    try:
        await stack.launch(crash_at=f"{point}:{trial + 1}")
        jobs = 3
        # The bot may die while commands are being typed: that is the point of the test.
        with contextlib.suppress(TimeoutError, AssertionError):
            await submit_jobs(stack, jobs)
        await stack.wait_killed()
        submitted = len(stack.jobs())
        await stack.launch()
        await stack.settle(submitted)
        assert await stack.terminate() == 0
        stack.check()
    finally:
        await stack.close()
