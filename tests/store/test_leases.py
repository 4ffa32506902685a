"""Claims and leases: several processes on one database take each job once and never overfill an account."""

from __future__ import annotations

import subprocess
import sys

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.store import JobStore
from bot.store.leases import LeaseOwner, Pipeline


def request(owner: int = 1) -> JobRequest:
    return JobRequest(kind=JobKind.CREATE, owner_id=owner, origin=Origin(10, 20, 30, 40), prompt="a fox")


def process(store: JobStore, instance: str, pid: int = 4242) -> JobStore:
    """Another process's view of the same database: the same tables, its own lease owner."""
    return JobStore(store.db, LeaseOwner(instance, pid, "n0nce"))


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(child.stdout)


async def test_claim_counts_the_slots_of_every_process(store: JobStore) -> None:
    """Two processes claiming for one account never put more than max_jobs on it."""
    a, b = process(store, "a"), process(store, "b")
    jobs = [await store.insert(request(owner=n), 1.0) for n in range(5)]
    assert await a.leases.claim(jobs[0].id, "acct", 2, 2.0, 32.0) is not None
    assert await b.leases.claim(jobs[1].id, "acct", 2, 2.0, 32.0) is not None
    assert await a.leases.claim(jobs[2].id, "acct", 2, 2.0, 32.0) is None  # acct is full
    assert await b.leases.claim(jobs[2].id, "other", 2, 2.0, 32.0) is not None  # another account is not
    assert await a.leases.claim(jobs[0].id, "acct", 9, 2.0, 32.0) is None  # taken once only
    assert sorted((await store.active_by_account()).items()) == [("acct", 2), ("other", 1)]
    claimed = await store.get(jobs[0].id)
    assert claimed is not None and claimed.state is JobState.SUBMITTING and claimed.account == "acct"
    assert [e.to_state for e in await store.events(jobs[0].id)] == [JobState.QUEUED, JobState.SUBMITTING]


async def test_due_work_skips_jobs_another_process_leases_until_it_runs_out(store: JobStore) -> None:
    """A job claimed by a process is not due for another until its lease ends, then it is."""
    a, b = process(store, "a"), process(store, "b")
    job = await store.insert(request(), 1.0)
    assert await a.leases.claim(job.id, "acct", 3, 2.0, 32.0) is not None
    assert [j.id for j in await a.due(JobState.SUBMITTING, 10.0, 10)] == [job.id]  # its own
    assert await b.due(JobState.SUBMITTING, 10.0, 10) == []
    assert not await b.leases.acquire(job.id, Pipeline.WORK, 10.0, 40.0)
    assert [j.id for j in await b.due(JobState.SUBMITTING, 32.0, 10)] == [job.id]  # ran out
    assert await b.leases.acquire(job.id, Pipeline.WORK, 32.0, 62.0)
    assert not await a.leases.acquire(job.id, Pipeline.WORK, 33.0, 63.0)  # b has it now


async def test_release_and_renew(store: JobStore) -> None:
    """A released lease is free at once; a renewed one keeps others out past its first end."""
    a, b = process(store, "a"), process(store, "b")
    job = await store.insert(request(), 1.0)
    assert await a.leases.acquire(job.id, Pipeline.WORK, 1.0, 5.0)
    assert await a.leases.renew(50.0) == 1
    assert not await b.leases.acquire(job.id, Pipeline.WORK, 10.0, 40.0)
    await b.leases.release(job.id, Pipeline.WORK)  # not b's to give back: nothing happens
    assert not await b.leases.acquire(job.id, Pipeline.WORK, 10.0, 40.0)
    await a.leases.release(job.id, Pipeline.WORK)
    assert await b.leases.acquire(job.id, Pipeline.WORK, 10.0, 40.0)


async def test_placement_has_its_own_lease(store: JobStore) -> None:
    """Placing a job and working on it are separate pipelines: one lease never blocks the other."""
    a, b = process(store, "a"), process(store, "b")
    job = await store.insert(request(), 1.0, placed=False)
    assert await a.leases.acquire(job.id, Pipeline.WORK, 1.0, 30.0)
    assert await b.leases.acquire(job.id, Pipeline.PLACEMENT, 1.0, 30.0)
    assert await a.unplaced(10.0, 10.0, 10) == []  # b is placing it
    assert [j.id for j in await b.unplaced(10.0, 10.0, 10)] == [job.id]
    assert [j.id for j in await a.unplaced(10.0, 30.0, 10)] == [job.id]  # b's placement lease ran out


async def test_a_restart_frees_its_dead_predecessors_leases_only(store: JobStore) -> None:
    """On one instance, leases of a pid that is gone are freed at once; a live process's and another
    machine's stay until they run out."""
    dead = process(store, "here", dead_pid())
    live = process(store, "here", 1)  # pid 1 is always alive
    remote = process(store, "elsewhere", dead_pid())
    jobs = [await store.insert(request(owner=n), 1.0) for n in range(3)]
    for holder, job in zip((dead, live, remote), jobs, strict=True):
        assert await holder.leases.acquire(job.id, Pipeline.WORK, 1.0, 1e9)
    restarted = process(store, "here", 77777)
    assert await restarted.leases.free_dead_local() == 1
    assert await restarted.leases.acquire(jobs[0].id, Pipeline.WORK, 2.0, 30.0)
    assert not await restarted.leases.acquire(jobs[1].id, Pipeline.WORK, 2.0, 30.0)
    assert not await restarted.leases.acquire(jobs[2].id, Pipeline.WORK, 2.0, 30.0)


def test_lease_owner_round_trips_through_its_text() -> None:
    owner = LeaseOwner("host/with/slashes", 12, "abcd")
    assert LeaseOwner.parse(str(owner)) == owner
    assert LeaseOwner.parse("garbage") is None


async def test_a_periodic_chore_is_done_by_one_process_per_interval(store: JobStore) -> None:
    """take_turn: the first process to ask once the chore is due gets it; the rest wait its interval."""
    a, b = process(store, "a"), process(store, "b")
    assert await a.leases.take_turn("listing:useapi", 100.0, 115.0)
    assert not await b.leases.take_turn("listing:useapi", 101.0, 116.0)
    assert not await a.leases.take_turn("listing:useapi", 114.9, 129.9)
    assert await b.leases.take_turn("listing:useapi", 115.0, 130.0)
    assert await a.leases.take_turn("listing:fal", 115.0, 130.0)  # chores are independent
    # Wall-clock seconds keep their precision in the stored text.
    assert await a.leases.take_turn("big", 1_764_000_000.25, 1_764_000_015.5)
    assert not await b.leases.take_turn("big", 1_764_000_015.25, 0.0)
    assert await b.leases.take_turn("big", 1_764_000_015.5, 0.0)
