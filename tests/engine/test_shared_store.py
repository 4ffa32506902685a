"""Two engines ("processes") on one database and one upstream: each job is taken, sent and posted
once, the account's slots are counted over both, and a dead process's jobs move on after its lease."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.domain.jobs import Job, JobState
from bot.providers.base import Account, SubmitRequest, UpstreamJob
from bot.store.leases import LeaseOwner
from sandbox.useapi_sim import SimConfig, start_simulator
from tests.helpers.engine import Engine, start_engine
from tests.helpers.jobs import make_request, max_executing, submits_by_ref


async def _pair(tmp_path: Path, **kwargs: object) -> tuple[Engine, Engine]:
    sim = await start_simulator(SimConfig())
    shared = tmp_path / "shared.sqlite3"
    engines = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        engines.append(
            await start_engine(
                tmp_path / name,
                sim=sim,
                db_path=shared,
                owner=LeaseOwner(name),
                **kwargs,  # type: ignore[arg-type]
            )
        )
    return engines[0], engines[1]


async def submit_as(process: Engine, job: Job, account: Account) -> UpstreamJob:
    """Send `job` upstream the way `process` would have before it died (no callback URL)."""
    request = SubmitRequest(job_id=job.id, kind=job.kind, prompt=job.prompt, options=job.options,
                            account=account, reply_ref=str(job.id), reply_url=None)  # fmt: skip
    return await process.provider.submit(request)


async def _stop(*engines: Engine) -> None:
    for engine in engines:
        await engine.stop(keep_sim=True)
    await engines[0].sim.close()


async def test_two_processes_share_the_queue_and_the_slots(tmp_path: Path) -> None:
    """30 jobs accepted by two processes: all posted exactly once, never over 3 slots. Which process
    does which job is up to the race for free slots, so the split itself is not asserted here."""
    a, b = await _pair(tmp_path, max_jobs=3, poll_interval=1.0)
    try:
        async with max_executing(a.sim) as peak:
            for n in range(30):
                await (a if n % 2 else b).service.submit(make_request(owner=100 + n % 5, prompt=f"scene {n}"))
            jobs = await a.wait_all_terminal(timeout=60)
        assert all(j.state is JobState.DELIVERED for j in jobs), {j.id: j.state for j in jobs}
        posted = a.delivery.result_ids() + b.delivery.result_ids()
        assert sorted(posted) == sorted(j.id for j in jobs)  # once each, by one process or the other
        assert set(submits_by_ref(a.sim).values()) == {1} and len(submits_by_ref(a.sim)) == 30
        assert peak[0] <= 3
        assert not [r for r in a.sim.sim.requests if r.status == 429]  # upstream never said "full"
    finally:
        await _stop(a, b)


async def test_jobs_one_process_accepted_are_done_by_another(tmp_path: Path) -> None:
    """The queue is shared: with a's loop stopped, b sends and posts every job a stored."""
    a, b = await _pair(tmp_path, max_jobs=3, poll_interval=1.0)
    await a.service.stop()  # a accepted the jobs and then stopped working
    try:
        for n in range(6):
            await a.store.insert(make_request(owner=100 + n, prompt=f"scene {n}"), time.time())
        jobs = await b.wait_all_terminal(timeout=30)
        assert [j.state for j in jobs] == [JobState.DELIVERED] * 6
        assert sorted(b.delivery.result_ids()) == sorted(j.id for j in jobs) and not a.delivery.results
        assert set(submits_by_ref(a.sim).values()) == {1} and len(submits_by_ref(a.sim)) == 6
    finally:
        await _stop(a, b)


async def test_a_dead_processs_submit_is_reconciled_after_its_lease_not_resent(tmp_path: Path) -> None:
    """A process claimed a job, sent it upstream and died before recording the answer. Nobody
    touches the job while the lease lasts; then another process finds it by replyRef and posts it."""
    a, b = await _pair(tmp_path, max_jobs=3, poll_interval=1.0, lease=3.0)
    await b.service.stop()  # b is the process that dies; only a's loop runs
    try:
        job = await a.store.insert(make_request(owner=1), time.time())
        now = time.time()
        assert await b.store.leases.claim(job.id, "1183508299895820390", 3, now, now + 3.0) is not None
        account = next(iter(a.service.scheduler.accounts.values()))
        a.sim.sim.faults.hold_jobs = True  # useapi.net finds a job by replyRef only while it runs
        await submit_as(b, job, account)
        await asyncio.sleep(2.0)
        held = await a.store.get(job.id)
        assert held is not None and held.state is JobState.SUBMITTING  # still b's
        await a.wait_until(lambda jobs: jobs[0].state is JobState.RUNNING, timeout=10)  # a found it
        a.sim.sim.release_all()
        jobs = await a.wait_all_terminal(timeout=20)
        assert [j.state for j in jobs] == [JobState.DELIVERED], [
            (j.error_code, j.error_message) for j in jobs
        ]
        assert a.delivery.result_ids() == [job.id]
        assert submits_by_ref(a.sim) == {str(job.id): 1}  # reconciled, never sent again
    finally:
        await _stop(a, b)


async def test_a_callback_for_a_dead_processs_submit_is_kept_until_the_job_is_free(tmp_path: Path) -> None:
    """The callback for a job a dead process sent reaches a live one while the dead one's lease
    lasts. Its upstream id is kept with the job, and reconciliation uses it once upstream confirms
    the replyRef, even though upstream has finished the job and no longer lists it as running."""
    a, b = await _pair(tmp_path, max_jobs=3, poll_interval=1.0, lease=3.0)
    await b.service.stop()  # b is the process that dies
    try:
        job = await a.store.insert(make_request(owner=1), time.time())
        now = time.time()
        assert await b.store.leases.claim(job.id, "1183508299895820390", 3, now, now + 3.0) is not None
        account = next(iter(a.service.scheduler.accounts.values()))
        sent = await submit_as(b, job, account)
        await asyncio.sleep(1.0)  # upstream has finished it by now
        assert sent.upstream_id not in a.sim.sim.executing_jobids("1183508299895820390")
        await a.service.handle_callback(job.id, sent.upstream_id)
        await a.wait_until(lambda jobs: jobs[0].callback_hint == sent.upstream_id, timeout=5)
        jobs = await a.wait_all_terminal(timeout=20)
        assert [j.state for j in jobs] == [JobState.DELIVERED], [
            (j.error_code, j.error_message) for j in jobs
        ]
        assert a.delivery.result_ids() == [job.id]
        assert submits_by_ref(a.sim) == {str(job.id): 1}
    finally:
        await _stop(a, b)
