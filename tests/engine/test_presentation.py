"""The work and presentation pipelines: a job runs before its status message exists, its result
waits (durably) for the thread, and is posted exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.jobs import Job, JobKind, JobRequest, JobState, Origin
from bot.engine.delivery import JobPlacement
from bot.store import Database, JobStore
from sandbox.useapi_sim import SimConfig
from tests.helpers.engine import RecordingDelivery, start_engine

FAST = SimConfig(job_started_delay=0.02, job_progress_delay=0.05, job_complete_delay=0.1)


@dataclass
class GatedDelivery(RecordingDelivery):
    """Status messages wait for `gate`, as they would behind a busy channel's message budget."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    placed_states: list[JobState] = field(default_factory=list)

    async def place_job(self, job: Job, queue_position: int | None, eta: float | None) -> JobPlacement:
        await self.gate.wait()
        self.placed_states.append(job.state)
        return await super().place_job(job, queue_position, eta)


def request(owner: int, prompt: str = "a fox") -> JobRequest:
    return JobRequest(JobKind.CREATE, owner_id=owner, origin=Origin(1, 2), prompt=prompt)


async def test_the_work_starts_before_the_status_message_and_the_result_waits_for_it(tmp_path: Path) -> None:
    """Upstream runs and finishes an announced job while its placement is stuck; the video is posted
    once, right after the status message exists."""
    delivery = GatedDelivery()
    engine = await start_engine(tmp_path, sim_config=FAST, delivery=delivery)
    try:
        job = await engine.service.submit(request(101), announce=True)
        engine.service.present(job.id)
        (completed,) = await engine.wait_until(lambda jobs: jobs[0].state is JobState.COMPLETED, 10)
        assert not completed.placed and delivery.results == []
        await asyncio.sleep(0.3)  # several loop passes: nothing is posted without its thread
        assert delivery.results == [] and delivery.placed == []
        delivery.gate.set()
        (done,) = await engine.wait_all_terminal(10)
        assert done.state is JobState.DELIVERED and done.placed and done.status_message_id is not None
        assert delivery.result_ids() == [job.id] and delivery.placed == [job.id]
        # The status was drawn when placing began (queued); the state reached meanwhile is shown after.
        assert delivery.placed_states == [JobState.QUEUED]
        assert delivery.progress[-1][:2] == (job.id, JobState.COMPLETED)
    finally:
        await engine.stop()


async def test_a_failure_before_placement_is_told_once_after_it(tmp_path: Path) -> None:
    """A moderated job whose status message is not out yet gets its one notice after it."""
    delivery = GatedDelivery()
    engine = await start_engine(tmp_path, sim_config=FAST, delivery=delivery)
    try:
        job = await engine.service.submit(request(101, "a forbidden scene"), announce=True)
        engine.service.present(job.id)
        await engine.wait_until(lambda jobs: jobs[0].terminal, 10)
        await asyncio.sleep(0.2)
        assert delivery.notices == []
        delivery.gate.set()
        await engine.wait_all_terminal(10)
        assert delivery.notice_ids() == [job.id]
    finally:
        await engine.stop()


async def test_unplaced_jobs_survive_a_restart_and_are_placed_by_the_sweep(tmp_path: Path) -> None:
    """The bot stops with a finished video whose thread never came; the next start places the job
    (no interaction left) and posts the video once."""
    delivery = GatedDelivery()
    engine = await start_engine(tmp_path, sim_config=FAST, delivery=delivery)
    job = await engine.service.submit(request(101), announce=True)
    await engine.wait_until(lambda jobs: jobs[0].state is JobState.COMPLETED, 10)
    await engine.stop(keep_sim=True)
    assert delivery.results == []

    fresh = RecordingDelivery()
    again = await start_engine(tmp_path, sim=engine.sim, delivery=fresh)
    try:
        (done,) = await again.wait_all_terminal(10)
        assert done.id == job.id and done.state is JobState.DELIVERED
        assert fresh.placed == [job.id] and fresh.result_ids() == [job.id]
    finally:
        await again.stop()


async def test_fair_order_holds_whatever_order_status_messages_go_out_in(tmp_path: Path) -> None:
    """One slot, a heavy member's 8 jobs then two light members' 2 each, with every status message
    stuck: the light members' first jobs start before the heavy member's third."""
    delivery = GatedDelivery()
    sim = SimConfig(job_started_delay=0.02, job_progress_delay=0.05, job_complete_delay=0.15)
    engine = await start_engine(tmp_path, sim_config=sim, delivery=delivery, max_jobs=1)
    try:
        owners = [101] * 8 + [102, 102, 103, 103]
        for n, owner in enumerate(owners):
            await engine.service.submit(request(owner, f"scene {n}"), announce=True)
        jobs = await engine.wait_until(lambda js: all(j.state is JobState.COMPLETED for j in js), 30)
        order = [j.owner_id for j in sorted(jobs, key=lambda j: j.submitted_at or 0)]
        third_heavy = [i for i, owner in enumerate(order) if owner == 101][2]
        assert order.index(102) < third_heavy and order.index(103) < third_heavy, order
        delivery.gate.set()
        await engine.wait_all_terminal(30)
        assert sorted(delivery.result_ids()) == sorted(j.id for j in jobs)
    finally:
        await engine.stop()


async def test_store_places_a_job_once(tmp_path: Path) -> None:
    """place() is a compare-and-set; completed jobs are due for delivery only once placed."""
    db = await Database.open(tmp_path / "jobs.sqlite3")
    store = JobStore(db)
    try:
        job = await store.insert(request(101), 100.0, placed=False)
        assert [j.id for j in await store.unplaced(101.0, 101.0, 10)] == [job.id]
        assert await store.unplaced(100.0, 101.0, 10) == []  # created at 100: not before 100
        first = await store.place(job.id, 101.0, thread_id=7, status_message_id=7)
        assert first is not None and first.placed and first.origin.thread_id == 7
        assert await store.place(job.id, 102.0, thread_id=8, status_message_id=8) is None
        assert await store.unplaced(1e9, 1e9, 10) == []
    finally:
        await db.close()
