"""Every JobStore read and write the engine, the admin commands and the CLI use, on both backends.

The engine's own tests run on SQLite only; these make sure each statement means the same on
PostgreSQL (parameter types, NULL handling, sums and orders).
"""

from __future__ import annotations

from bot.domain.jobs import InputFile, JobKind, JobRequest, JobState, Origin
from bot.domain.limits import MemberLimits, MemberUsage
from bot.store import JobStore, JobUpdate
from bot.store.job_rows import StateCount

GUILD = 900000000000000200


def request(owner: int = 1, guild: int | None = GUILD, **kwargs: object) -> JobRequest:
    origin = Origin(guild, 20)
    return JobRequest(kind=JobKind.CREATE, owner_id=owner, origin=origin, prompt="p", **kwargs)  # type: ignore[arg-type]


async def delivered(store: JobStore, owner: int, created: float, cost: float | None = None) -> int:
    """A job walked to delivered: submitted at created+1, finished at created+11."""
    job = await store.insert(request(owner, cost_usd=cost), created)
    await store.transition(job.id, JobState.SUBMITTING, created + 1, JobUpdate(submitted_at=created + 1))
    await store.transition(job.id, JobState.RUNNING, created + 2, JobUpdate(upstream_id=f"up-{job.id}"))
    await store.transition(job.id, JobState.COMPLETED, created + 10)
    await store.transition(job.id, JobState.DELIVERED, created + 11)
    return job.id


async def test_reports_and_the_queue(store: JobStore) -> None:
    """What /pika-admin status, /metrics and pikabot jobs list read."""
    first = await delivered(store, 1, 100.0, cost=0.25)
    second = await delivered(store, 2, 200.0, cost=0.5)
    failed = await store.insert(request(3), 300.0)
    await store.transition(failed.id, JobState.FAILED, 301.0, JobUpdate(error_code="x"))
    queued = [await store.insert(request(owner), at) for owner, at in ((4, 400.0), (4, 401.0), (5, 402.0))]

    assert sorted(await store.count_by_state(), key=lambda c: c.state.value) == [
        StateCount(JobState.DELIVERED, 2),
        StateCount(JobState.FAILED, 1),
        StateCount(JobState.QUEUED, 3),
    ]
    assert await store.outcomes_since(250.0) == [
        StateCount(JobState.FAILED, 1),
        StateCount(JobState.QUEUED, 3),
    ]
    assert await store.recent_run_times(10) == [10.0, 10.0]
    assert await store.video_times_since(150.0) == [11.0]
    assert await store.spend_since(150.0) == 0.5
    assert await store.spend_since(0.0) == 0.75
    assert await store.spend_since(1000.0) == 0.0
    assert await store.queue_depth() == 3
    oldest = await store.oldest_queued()
    assert oldest is not None and oldest.id == queued[0].id
    assert [j.id for j in await store.unfinished()] == [j.id for j in queued]
    assert [j.id for j in await store.queued_in_order(10)] == [queued[0].id, queued[2].id, queued[1].id]
    assert [j.id for j in await store.newest(2)] == [queued[2].id, queued[1].id]
    assert [j.id for j in await store.newest(10, state=JobState.DELIVERED)] == [second, first]
    assert [j.id for j in await store.newest(10, owner_id=4)] == [queued[1].id, queued[0].id]
    assert await store.newest(10, state=JobState.FAILED, owner_id=4) == []


async def test_polling_expiry_and_notices(store: JobStore) -> None:
    """What the loop's poller, reconciler, expiry and notices look for."""
    running = await store.insert(request(), 1.0)
    await store.transition(running.id, JobState.SUBMITTING, 2.0, JobUpdate(account="acct", submitted_at=2.0))
    await store.transition(running.id, JobState.RUNNING, 3.0, JobUpdate(upstream_id="u-1", next_poll_at=50.0))
    assert await store.due_for_poll(49.0, 10) == []
    assert [j.id for j in await store.due_for_poll(50.0, 10)] == [running.id]
    assert [j.id for j in await store.running_on("acct")] == [running.id]
    assert await store.running_on("other") == []
    assert [j.id for j in await store.running_of("useapi")] == [running.id]
    found = await store.by_upstream_id("useapi", "u-1")
    assert found is not None and found.id == running.id
    assert await store.by_upstream_id("fal", "u-1") is None
    assert [j.id for j in await store.overdue(2.5, 10)] == [running.id]
    assert await store.overdue(2.0, 10) == []

    failed = await store.insert(request(), 5.0)
    await store.transition(failed.id, JobState.FAILED, 6.0, JobUpdate(next_attempt_at=7.0))
    assert await store.needing_notice(6.5, 10) == []
    assert [j.id for j in await store.needing_notice(7.0, 10)] == [failed.id]
    await store.update(failed.id, JobState.FAILED, 8.0, JobUpdate(notified=True))
    assert await store.needing_notice(9.0, 10) == []


async def test_placing_a_job_once(store: JobStore) -> None:
    """An unplaced job is found by the sweep, placed once, and keeps its thread if none is given."""
    job = await store.insert(request(), 1.0, placed=False)
    assert [j.id for j in await store.unplaced(2.0, 2.0, 10)] == [job.id]
    placed = await store.place(job.id, 3.0, thread_id=None, status_message_id=900000000000000300)
    assert placed is not None and placed.placed and placed.status_message_id == 900000000000000300
    assert placed.origin.thread_id is None
    assert await store.place(job.id, 4.0, thread_id=5, status_message_id=6) is None
    assert await store.unplaced(5.0, 5.0, 10) == []


async def test_member_usage_in_a_guild_and_in_dms(store: JobStore) -> None:
    """Counts per member per guild, a DM (no guild) apart from every guild."""
    assert await store.member_usage(GUILD, 1, 0.0) == MemberUsage(0, 0, None)
    first = await store.insert(request(1), 10.0)
    await delivered(store, 1, 20.0)
    await store.insert(request(1, guild=None), 30.0)
    await store.insert(request(2), 40.0)
    assert await store.member_usage(GUILD, 1, 15.0) == MemberUsage(in_flight=1, today=1, last_request_at=20.0)
    assert await store.member_usage(None, 1, 0.0) == MemberUsage(in_flight=1, today=1, last_request_at=30.0)
    assert await store.member_job_count(1, GUILD) == 2
    assert await store.member_job_count(1, None) == 1
    assert [j.id for j in await store.member_jobs(1, GUILD, 1, offset=1)] == [first.id]
    assert [j.created_at for j in await store.member_jobs(1, GUILD, 10)] == [20.0, 10.0]


async def test_guild_limits_meta_and_ping(store: JobStore) -> None:
    """Overrides on top of the default, reset with None; installation facts; the health check."""
    default = MemberLimits(in_flight=2, per_day=0, cooldown=3.0)
    assert await store.guild_limits(GUILD, default) == default
    await store.set_guild_limits(GUILD, 1.0, in_flight=5, per_day=None, cooldown=0.5)
    assert await store.guild_limits(GUILD, default) == MemberLimits(in_flight=5, per_day=0, cooldown=0.5)
    await store.set_guild_limits(GUILD, 2.0, in_flight=None, per_day=10, cooldown=None)
    assert await store.guild_limits(GUILD, default) == MemberLimits(in_flight=2, per_day=10, cooldown=3.0)

    assert await store.get_meta("commands") is None
    await store.set_meta("commands", "abc")
    await store.set_meta("commands", "def")
    assert await store.get_meta("commands") == "def"
    await store.ping()


async def test_a_retry_gets_its_parents_inputs(store: JobStore) -> None:
    """copy_inputs: bytes and URLs alike, under the new job's id."""
    images = (
        InputFile("image", "a.png", "image/png", b"\x89PNG\x00bytes"),
        InputFile("image_2", "b.png", "image/png", b"b", url="https://cdn.example/b.png"),
    )
    parent = await store.insert(request(inputs=images), 1.0)
    child = await store.insert(request(), 2.0, parent_id=parent.id)
    await store.copy_inputs(parent.id, child.id)
    assert await store.inputs(child.id) == images
    assert child.parent_id == parent.id


async def test_replace_meta_is_a_compare_and_set(store: JobStore) -> None:
    """A fact is written only over the value the writer read (None: only while it is absent)."""
    assert await store.replace_meta("k", None, "one")
    assert not await store.replace_meta("k", None, "two")  # someone wrote it first
    assert not await store.replace_meta("k", "stale", "two")
    assert await store.replace_meta("k", "one", "two")
    assert await store.get_meta("k") == "two"
