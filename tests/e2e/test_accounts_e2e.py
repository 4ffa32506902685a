"""Several useapi.net accounts and fairness, end to end: slots per account, a failing account, round-robin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import LimitSettings
from bot.domain.jobs import JobState
from sandbox.stack import LocalStack
from sandbox.useapi_sim import DEFAULT_DISCORD, SimAccount
from tests.e2e.conftest import FAST_SIM, settle_all
from tests.helpers.bot_e2e import emu_ids, jobs, reply_of
from tests.helpers.engine import FAST_POLICY
from tests.helpers.invariants import assert_invariants

ACCOUNT_A = "1183508299895820391"
ACCOUNT_B = "1183508299895820392"
TWO_ACCOUNTS = replace(
    FAST_SIM,
    job_complete_delay=0.6,
    accounts={ACCOUNT_A: SimAccount(discord=DEFAULT_DISCORD), ACCOUNT_B: SimAccount(discord=DEFAULT_DISCORD)},
)
MANY = LimitSettings(in_flight=20, per_day=0, cooldown=0)


@pytest.fixture
async def two_accounts(tmp_path: Path) -> AsyncIterator[LocalStack]:
    """The bot with two useapi.net accounts: A with 2 slots, B with 3."""
    running = await LocalStack.start(
        tmp_path,
        sim_config=TWO_ACCOUNTS,
        policy=FAST_POLICY,
        status_interval=0.2,
        limits=MANY,
        accounts=((ACCOUNT_A, 2), (ACCOUNT_B, 3)),
        apiglue=False,
    )
    try:
        yield running
        await settle_all(running, timeout=40)
        assert running.emulator.emu.violations == []
    finally:
        await running.stop()
    assert_invariants(Path(running.settings.database.path), running.emulator.emu, running.simulator.sim)


async def create(stack: LocalStack, user: int, prompt: str) -> None:
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(user, channel_id, "pika", "create", {"prompt": prompt})
    await reply_of(stack, interaction, "Follow it in")


async def test_two_accounts_never_exceed_their_slots_and_share_the_load(two_accounts: LocalStack) -> None:
    """12 jobs on accounts with 2 and 3 slots: never more than 2 / 3 / 5 running, and both are used."""
    stack = two_accounts
    sim = stack.simulator.sim
    peaks = {ACCOUNT_A: 0, ACCOUNT_B: 0, "total": 0}
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            a, b = len(sim.executing_jobids(ACCOUNT_A)), len(sim.executing_jobids(ACCOUNT_B))
            peaks[ACCOUNT_A] = max(peaks[ACCOUNT_A], a)
            peaks[ACCOUNT_B] = max(peaks[ACCOUNT_B], b)
            peaks["total"] = max(peaks["total"], a + b)
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    for n in range(12):
        await create(stack, 101 + n % 3, f"a lighthouse number {n}")
    await settle_all(stack, timeout=40)
    stop.set()
    await sampler
    assert peaks[ACCOUNT_A] <= 2 and peaks[ACCOUNT_B] <= 3 and peaks["total"] <= 5
    assert peaks["total"] == 5  # the slots were actually used
    done = await jobs(stack)
    assert all(job.state is JobState.DELIVERED for job in done)
    by_account = {job.account for job in done}
    assert by_account == {ACCOUNT_A, ACCOUNT_B}


async def test_an_account_answering_402_is_drained_and_the_other_takes_over(two_accounts: LocalStack) -> None:
    """Account A's subscription lapses: it is marked unhealthy, admins are told, B runs every job."""
    stack = two_accounts
    sim = stack.simulator.sim
    sim.faults.channel_status = {ACCOUNT_A: 402}
    for n in range(6):
        await create(stack, 101 + n % 3, f"a windmill number {n}")
    await settle_all(stack, timeout=40)
    done = await jobs(stack)
    assert all(job.state is JobState.DELIVERED for job in done)
    assert {job.account for job in done} == {ACCOUNT_B}
    health = stack.bot.runtime.service.scheduler.health
    assert not health[ACCOUNT_A].healthy and health[ACCOUNT_B].healthy
    last_error = health[ACCOUNT_A].last_error
    assert last_error is not None and "402" in last_error
    refused = [r for r in sim.requests if r.path == "/v1/pika/create" and r.status == 402]
    assert len(refused) == 1  # drained after the first refusal: no job is sent there again


async def test_single_jobs_start_before_a_heavy_members_third(tmp_path: Path) -> None:
    """Member 101 asks for 10, then 102 and 103 for one each: both start before 101's third job."""
    stack = await LocalStack.start(
        tmp_path,
        sim_config=FAST_SIM,
        policy=FAST_POLICY,
        status_interval=0.2,
        limits=MANY,
        max_jobs=2,
        apiglue=False,
    )
    try:
        # Upstream holds the first two, so the rest really wait in pikabot's queue while 102 and 103 ask.
        stack.simulator.sim.faults.hold_jobs = True
        for n in range(10):
            await create(stack, 101, f"heavy batch {n}")
        await create(stack, 102, "a single owl")
        await create(stack, 103, "a single fox")
        await settle_all(stack, timeout=60)  # releases the held jobs first
        done = await jobs(stack)
        started = sorted(done, key=lambda job: job.submitted_at or 0)
        order = [job.owner_id for job in started]
        heavy_third = [i for i, owner in enumerate(order) if owner == 101][2]
        assert order.index(102) < heavy_third and order.index(103) < heavy_third, order
    finally:
        await stack.stop()
    assert_invariants(Path(stack.settings.database.path), stack.emulator.emu, stack.simulator.sim)
