"""End-to-end fixtures: the real PikaBot against the Discord emulator and the useapi simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.localstack import LocalStack
from bot.sandbox.useapi_sim import SimConfig
from tests.engine.harness import FAST_POLICY

FAST_SIM = SimConfig(job_started_delay=0.05, job_progress_delay=0.1, job_complete_delay=0.2)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    """A connected bot with fast stand-ins; fails the test if the emulator saw any violation."""
    running = await LocalStack.start(tmp_path, sim_config=FAST_SIM, policy=FAST_POLICY, status_interval=0.2)
    try:
        yield running
        assert running.emulator.emu.violations == []
    finally:
        await running.stop()
