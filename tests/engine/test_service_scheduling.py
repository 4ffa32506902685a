"""JobService scheduling: slots, fair order, accounts that are full, member limits, and restarts."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from bot.domain.jobs import Job, JobState
from sandbox.useapi_sim import DEFAULT_CHANNEL, JobStatus, SimAccount, SimConfig, start_simulator
from tests.helpers.engine import Engine, is_job_fetch, is_listing, start_engine
from tests.helpers.jobs import make_request, max_executing, submits_by_ref


def assert_delivered_exactly_once(engine: Engine, jobs: list[Job]) -> None:
    assert all(j.state is JobState.DELIVERED for j in jobs), {j.id: j.state for j in jobs}
    assert sorted(engine.delivery.result_ids()) == sorted(j.id for j in jobs)
    assert all(r.head[4:8] == b"ftyp" for r in engine.delivery.results)
    assert all(count == 1 for count in submits_by_ref(engine.sim).values())
    assert len(submits_by_ref(engine.sim)) == len(jobs)


@pytest.mark.parametrize("callbacks", [True, False], ids=["callbacks", "polling-only"])
async def test_thirty_jobs_five_users_three_slots(tmp_path: Path, callbacks: bool) -> None:
    """30 jobs from 5 members through 3 slots: each delivered exactly once, never more than 3 running."""
    started = time.time()
    engine = await start_engine(tmp_path, callbacks=callbacks, max_jobs=3, poll_interval=1.0)
    try:
        async with max_executing(engine.sim) as peak:
            for n in range(30):
                await engine.service.submit(make_request(owner=100 + n % 5, prompt=f"scene number {n}"))
            jobs = await engine.wait_all_terminal(timeout=60)
        assert_delivered_exactly_once(engine, jobs)
        assert peak[0] <= 3
        assert peak[0] == 3  # the slots were actually used
        assert not [r for r in engine.sim.sim.requests if r.status == 429]
        if callbacks:
            # Submit + one confirming GET per job; the poller never had to step in. The executing
            # list (lost callbacks) costs at most one request per poll interval on top.
            assert sum(is_job_fetch(r) for r in engine.sim.sim.requests) == 30
            listings = sum(is_listing(r) for r in engine.sim.sim.requests)
            assert listings <= (time.time() - started) / 1.0 + 1
        for job in jobs:
            assert await engine.store.inputs(job.id) == ()
            assert job.video is not None and not Path(job.video.path).exists()
        assert await engine.store.integrity_ok()
    finally:
        await engine.stop()


async def test_fair_order_serves_every_member_early(tmp_path: Path) -> None:
    """A member who asks once, after another's batch of six, is among the first served."""
    engine = await start_engine(tmp_path, max_jobs=1)
    try:
        await engine.service.stop()  # queue everything first, then let the scheduler choose
        batch = [await engine.service.submit(make_request(owner=1, prompt=f"batch {n}")) for n in range(6)]
        single = await engine.service.submit(make_request(owner=2, prompt="just one"))
        assert await engine.service.queue_position(single.id) == 2
        await engine.service.start()
        await engine.wait_all_terminal(timeout=30)
        order = engine.delivery.result_ids()
        assert order.index(single.id) <= 1
        assert set(order) == {j.id for j in [*batch, single]}
    finally:
        await engine.stop()


async def test_restart_mid_way_finishes_every_job(tmp_path: Path) -> None:
    """A service stopped mid-way and a new one on the same database finish every job, none resent."""
    sim = await start_simulator(SimConfig(job_complete_delay=0.3))
    first = await start_engine(tmp_path, sim=sim, max_jobs=3, callbacks=False, poll_interval=1.0)
    for n in range(12):
        await first.service.submit(make_request(owner=n % 4, prompt=f"restart {n}"))
    await first.wait_until(lambda jobs: sum(j.state is JobState.RUNNING for j in jobs) >= 2, timeout=10)
    await first.stop(keep_sim=True)
    second = await start_engine(tmp_path, sim=sim, max_jobs=3, callbacks=False, poll_interval=1.0)
    try:
        jobs = await second.wait_all_terminal(timeout=60)
        assert all(j.state is JobState.DELIVERED for j in jobs)
        delivered = first.delivery.result_ids() + second.delivery.result_ids()
        assert sorted(delivered) == sorted(j.id for j in jobs)
        assert all(count == 1 for count in submits_by_ref(sim).values())
    finally:
        await second.stop()


async def test_account_full_waits_for_a_slot(tmp_path: Path) -> None:
    """429 with executingJobs: the job waits (visibly), is retried with spacing, and then runs."""
    engine = await start_engine(tmp_path, max_jobs=2)
    try:
        engine.sim.sim.faults.external_executing = {DEFAULT_CHANNEL: 2}
        job = await engine.service.submit(make_request(1))
        await engine.wait_until(
            lambda jobs: jobs[0].state is JobState.QUEUED and jobs[0].progress is not None, timeout=5
        )
        waiting = await engine.store.get(job.id)
        assert waiting is not None and "waiting for a free Pika slot" in (waiting.progress or "")
        await asyncio.sleep(1.0)
        refusals = [r.at for r in engine.sim.sim.requests if r.status == 429]
        assert len(refusals) >= 2
        gaps = [b - a for a, b in itertools.pairwise(refusals)]
        assert min(gaps) >= 0.19  # FAST_POLICY's busy_min (10 s in production)
        engine.sim.sim.faults.external_executing = {}
        jobs = await engine.wait_all_terminal()
        assert jobs[0].state is JobState.DELIVERED
        assert any(p[0] == job.id and p[1] is JobState.QUEUED for p in engine.delivery.progress)
    finally:
        await engine.stop()


async def test_two_accounts_share_the_load(tmp_path: Path) -> None:
    """With two configured accounts the simulator sees jobs on both channels."""
    second = "1183508299895820391"
    config = SimConfig(
        accounts={
            DEFAULT_CHANNEL: SimAccount(discord="MTEsim-discord-tokenxYz", max_jobs=10),
            second: SimAccount(discord="MTEsim-discord-token2xYz", max_jobs=10),
        }
    )
    sim = await start_simulator(config)
    engine = await start_engine(tmp_path, sim=sim, max_jobs=1)
    from bot.engine.scheduler import Scheduler
    from bot.providers.base import Account

    engine.service.scheduler = Scheduler(
        [Account(DEFAULT_CHANNEL, DEFAULT_CHANNEL, 1), Account(second, second, 1)],
        engine.service.scheduler.policy,
    )
    try:
        for n in range(4):
            await engine.service.submit(make_request(n))
        jobs = await engine.wait_all_terminal()
        assert all(j.state is JobState.DELIVERED for j in jobs)
        channels = {r.fields.get("channel") for r in engine.sim.sim.requests if r.method == "POST"}
        assert channels == {DEFAULT_CHANNEL, second}
    finally:
        await engine.stop()


async def test_account_full_resyncs_jobs_that_ended_upstream(tmp_path: Path) -> None:
    """A 429 lists what upstream runs; our running job missing from it is polled at once (lost callback)."""
    # A 10-minute poll interval: no executing-list sweep runs during the test, only the 429 re-sync.
    engine = await start_engine(tmp_path, max_jobs=2, callback_grace=600, poll_interval=600)
    try:
        engine.sim.sim.faults.drop_callbacks = True
        first = await engine.service.submit(make_request(1))
        await engine.wait_until(lambda jobs: jobs[0].state is JobState.RUNNING, timeout=5)
        await engine.sim.sim.wait_for_status(next(iter(engine.sim.sim.jobs)), JobStatus.COMPLETED)
        # The account is now full of foreign jobs; the next submit gets 429 with executingJobs.
        engine.sim.sim.faults.external_executing = {DEFAULT_CHANNEL: 2}
        await engine.service.submit(make_request(2))
        await engine.wait_until(
            lambda jobs: any(j.id == first.id and j.state is JobState.DELIVERED for j in jobs)
        )
        # Only the re-sync could have found it: callbacks are dropped and the first poll is 10 min away.
        polls = [r for r in engine.sim.sim.requests if r.method == "GET" and r.query.get("jobid")]
        assert len(polls) == 1
    finally:
        await engine.stop()


async def test_member_limits_hold_and_survive_restart(tmp_path: Path) -> None:
    """Two in flight at most, three a day; counted from SQLite, so a new service sees the same."""
    from bot.domain.limits import LimitExceeded, MemberLimits

    limits = MemberLimits(in_flight=2, per_day=3, cooldown=0)
    sim = await start_simulator(SimConfig())
    first = await start_engine(tmp_path, sim=sim, limits=limits)
    sim.sim.faults.hold_jobs = True
    await first.service.submit(make_request(7))
    await first.service.submit(make_request(7))
    with pytest.raises(LimitExceeded, match="2 jobs in progress"):
        await first.service.submit(make_request(7))
    await first.service.submit(make_request(8))  # another member is not affected
    await first.stop(keep_sim=True)
    second = await start_engine(tmp_path, sim=sim, limits=limits)
    try:
        with pytest.raises(LimitExceeded, match="in progress"):
            await second.service.submit(make_request(7))
        sim.sim.release_all()
        sim.sim.faults.hold_jobs = False
        await second.wait_all_terminal()
        await second.service.submit(make_request(7))  # the third of the day
        with pytest.raises(LimitExceeded, match="3 of the 3 videos allowed per day"):
            await second.service.submit(make_request(7))
        # A guild override raises the daily limit for that guild only.
        await second.store.set_guild_limits(1, 0.0, in_flight=None, per_day=10, cooldown=None)
        await second.service.submit(make_request(7))
    finally:
        await second.stop()
