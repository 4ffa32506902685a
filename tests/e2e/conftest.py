"""End-to-end fixtures: the real PikaBot against the Discord emulator and the useapi simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.stack import LocalStack
from sandbox.useapi_sim import SimConfig
from tests.helpers.engine import FAST_POLICY
from tests.helpers.invariants import assert_invariants

FAST_SIM = SimConfig(job_started_delay=0.05, job_progress_delay=0.1, job_complete_delay=0.2)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    """A connected bot with fast stand-ins. After the test: every held job is released, the jobs must
    settle, and I1-I4 must hold over SQLite and the emulator's record, with no emulator violation."""
    running = await LocalStack.start(tmp_path, sim_config=FAST_SIM, policy=FAST_POLICY, status_interval=0.2)
    try:
        yield running
        await settle_all(running)
        assert running.emulator.emu.violations == []
    finally:
        await running.stop()
    assert_invariants(Path(running.settings.database.path), running.emulator.emu, running.simulator.sim)


async def settle_all(stack: LocalStack, timeout: float = 20) -> None:
    """Release everything the test held upstream and wait until every job ended and was told."""
    stack.simulator.sim.faults.hold_jobs = False
    stack.simulator.sim.release_all()
    store = stack.bot.runtime.store
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        jobs = await store.all_jobs()
        if all(job.terminal and job.notified for job in jobs):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"jobs never settled: {[(j.id, j.state.value) for j in jobs]}")
        await asyncio.sleep(0.05)
