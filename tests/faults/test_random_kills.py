"""A randomized run of kill -9s over many jobs (Jepsen-style): afterwards 0 lost, 0 duplicated.

CI runs a short version; `make soak` runs the long one (>= 100 kills over 50 jobs).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.engine.crashpoints import POINTS
from tests.helpers.process import ProcessStack


@dataclass
class RunReport:
    """What the run did, for the issue note."""

    kills: int = 0
    crash_point_kills: int = 0
    timed_kills: int = 0
    commands: int = 0
    dropped_commands: int = 0  # typed while the bot was dying: never accepted, so never a job


async def randomized_run(tmp_path: Path, *, kills: int, jobs: int, seed: int) -> RunReport:
    """Alternate starts and kill -9s (at crash points or at random moments) while members submit jobs."""
    rng = random.Random(seed)
    report = RunReport()
    stack = await ProcessStack.start(tmp_path)
    emu = stack.emulator.emu
    channel = emu.config.text_channel_id
    try:
        while report.kills < kills:
            armed = rng.random() < 0.6
            crash_at = f"{rng.choice(POINTS)}:{rng.randint(1, 3)}" if armed else ""
            await stack.launch(crash_at=crash_at)
            for _ in range(rng.randint(0, 3)):
                if report.commands >= jobs:
                    break
                report.commands += 1
                try:
                    interaction = await emu.slash(101 + report.commands % 4, channel, "pika", "create",
                                                  {"prompt": f"soak scene {report.commands}"})  # fmt: skip
                    await emu.wait_acked(interaction, timeout=4)
                except (RuntimeError, TimeoutError, AssertionError):
                    report.dropped_commands += 1
            if armed:
                try:
                    await asyncio.wait_for(asyncio.shield(stack.process.wait()), rng.uniform(0.5, 2.0))  # type: ignore[union-attr]
                except TimeoutError:
                    await stack.kill()  # the armed point was not reached in time: kill anyway
                    report.timed_kills += 1
                else:
                    with contextlib.suppress(Exception):
                        await stack.wait_killed(timeout=1)
                    report.crash_point_kills += 1
            else:
                await asyncio.sleep(rng.uniform(0.05, 1.5))
                await stack.kill()
                report.timed_kills += 1
            report.kills += 1
        await stack.launch()
        while report.commands < jobs:  # the rest of the jobs, with the bot finally left alone
            report.commands += 1
            interaction = await emu.slash(
                101, channel, "pika", "create", {"prompt": f"soak scene {report.commands}"}
            )
            await emu.wait_acked(interaction, timeout=5)
        await stack.settle(len(stack.jobs()), timeout=90)
        assert await stack.terminate() == 0
        # Commands typed while the bot was being killed were never acknowledged: Discord told the
        # member "the application did not respond" and no job exists. Every other rule must hold.
        emu.violations[:] = [v for v in emu.violations if "was not acknowledged" not in v]
        stack.check()
        return report
    finally:
        await stack.close()


async def test_randomized_kills_short(tmp_path: Path) -> None:
    """12 kills over 12 jobs: every accepted job ends once, told; nothing posted twice."""
    report = await randomized_run(tmp_path, kills=12, jobs=12, seed=20261123)
    assert report.kills == 12


@pytest.mark.soak
async def test_randomized_kills_soak(tmp_path: Path) -> None:
    """The long run: at least 100 kills over 50 jobs."""
    report = await randomized_run(tmp_path, kills=100, jobs=50, seed=42)
    print(f"\nsoak report: {report}")
    assert report.kills >= 100 and report.commands == 50
