"""JobService end to end: real SQLite, the useapi simulator over sockets, callbacks and polling."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.domain.jobs import InputFile, Job, JobKind, JobRequest, JobState, Origin
from bot.domain.params import VideoParams
from bot.domain.prompt import PikaOptions, PromptError
from bot.engine.service import CancelOutcome
from sandbox.useapi_sim import (
    DEFAULT_CHANNEL,
    JobStatus,
    RunningSimulator,
    SimAccount,
    SimConfig,
    start_simulator,
)
from tests.helpers.engine import Engine, RecordingDelivery, is_job_fetch, is_listing, start_engine

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def make_request(owner: int, prompt: str = "a red fox running", **kwargs: object) -> JobRequest:
    return JobRequest(
        kind=kwargs.pop("kind", JobKind.CREATE),  # type: ignore[arg-type]
        owner_id=owner,
        origin=Origin(guild_id=1, channel_id=2, thread_id=3),
        prompt=prompt,
        **kwargs,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def max_executing(sim: RunningSimulator, channel: str = DEFAULT_CHANNEL) -> AsyncIterator[list[int]]:
    """Sample how many jobs the simulator is running at once; yields a one-item list with the peak."""
    peak = [0]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], len(sim.sim.executing_jobids(channel)))
            await asyncio.sleep(0.002)

    task = asyncio.create_task(sample())
    try:
        yield peak
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def submits_by_ref(sim: RunningSimulator) -> dict[str, int]:
    """How many submit POSTs upstream accepted (200) per replyRef."""
    counts: dict[str, int] = {}
    for rec in sim.sim.requests:
        if rec.method == "POST" and rec.status == 200 and "replyRef" in rec.fields:
            counts[rec.fields["replyRef"]] = counts.get(rec.fields["replyRef"], 0) + 1
    return counts


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


async def test_animate_sends_the_image_as_a_file_part(tmp_path: Path) -> None:
    """An animate job carries its stored image upstream as a multipart file with name and type."""
    engine = await start_engine(tmp_path)
    try:
        image = InputFile("image", "cat.png", "image/png", PNG)
        job = await engine.service.submit(make_request(7, prompt="", kind=JobKind.ANIMATE, inputs=(image,)))
        await engine.wait_all_terminal()
        post = next(r for r in engine.sim.sim.requests if r.path == "/v1/pika/animate")
        assert post.files["image"].filename == "cat.png"
        assert post.files["image"].content_type == "image/png"
        assert post.files["image"].size == len(PNG)
        assert post.fields["replyRef"] == str(job.id)
        assert post.fields["channel"] == DEFAULT_CHANNEL and post.fields["maxJobs"] == "3"
        assert post.fields["replyUrl"].startswith("http://127.0.0.1:")
        assert "Bearer" not in str(post.headers)
    finally:
        await engine.stop()


async def test_prompt_parameters_reach_upstream(tmp_path: Path) -> None:
    """Typed options are appended as Pika flags; an invalid one never creates a job."""
    engine = await start_engine(tmp_path)
    try:
        options = PikaOptions(guidance=16, motion=2, seed=42, camera="zoom in")
        await engine.service.submit(make_request(1, prompt="waves", options=options))
        await engine.wait_all_terminal()
        post = next(r for r in engine.sim.sim.requests if r.path == "/v1/pika/create")
        assert post.fields["prompt"] == "waves -gs 16 -seed 42 -motion 2 -camera zoom in"
        with pytest.raises(PromptError):
            await engine.service.submit(make_request(1, prompt="waves", options=PikaOptions(guidance=99)))
        assert len(await engine.store.all_jobs()) == 1
    finally:
        await engine.stop()


async def test_an_undeclared_option_or_kind_is_refused_by_name(tmp_path: Path) -> None:
    """useapi.net declares no typed options and no scenes: both are refused before anything is stored."""
    engine = await start_engine(tmp_path)
    try:
        with pytest.raises(PromptError, match=r"useapi\.net does not take the `resolution` option"):
            await engine.service.submit(make_request(1, params=VideoParams(resolution="1080p")))
        with pytest.raises(PromptError, match=r"useapi\.net cannot run scenes jobs"):
            await engine.service.submit(
                JobRequest(
                    kind=JobKind.SCENES, owner_id=1, origin=Origin(guild_id=1, channel_id=2), prompt="p"
                )
            )
        assert await engine.store.all_jobs() == []
        assert not engine.sim.sim.requests
    finally:
        await engine.stop()


async def test_moderated_and_failed_jobs_are_told(tmp_path: Path) -> None:
    """A moderated prompt (422 on submit) and a job Pika fails both end with one notice each."""
    engine = await start_engine(tmp_path)
    try:
        moderated = await engine.service.submit(make_request(1, prompt="something forbidden"))
        failed = await engine.service.submit(make_request(1, prompt="make it explode"))
        jobs = {j.id: j for j in await engine.wait_all_terminal()}
        assert jobs[moderated.id].state is JobState.MODERATED
        assert "inconsistent with server rules" in (jobs[moderated.id].error_message or "")
        assert jobs[moderated.id].upstream_id  # the 422 carries the jobid
        assert jobs[failed.id].state is JobState.FAILED
        assert jobs[failed.id].error_code == "failed"
        assert sorted(engine.delivery.notice_ids()) == sorted([moderated.id, failed.id])
        assert engine.delivery.results == []
    finally:
        await engine.stop()


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


async def test_discord_rate_limit_and_5xx_are_retried(tmp_path: Path) -> None:
    """A Discord-side 429 and a 500 on submit send the job back to wait, then it succeeds."""
    engine = await start_engine(tmp_path)
    try:
        engine.sim.sim.faults.discord_429_submits = 1
        first = await engine.service.submit(make_request(1))
        await engine.wait_all_terminal()
        engine.sim.sim.faults.submit_status = 500
        second = await engine.service.submit(make_request(2))
        await engine.wait_until(
            lambda jobs: any(j.id == second.id and j.attempts >= 1 for j in jobs), timeout=5
        )
        engine.sim.sim.faults.submit_status = None
        jobs = {j.id: j for j in await engine.wait_all_terminal()}
        assert jobs[first.id].state is JobState.DELIVERED
        assert jobs[second.id].state is JobState.DELIVERED
    finally:
        await engine.stop()


async def test_persistent_5xx_fails_with_a_clear_reason(tmp_path: Path) -> None:
    """Upstream answering 503 to every submit: the job fails after capped retries, and is told."""
    engine = await start_engine(tmp_path)
    try:
        engine.sim.sim.faults.submit_status = 503
        await engine.service.submit(make_request(1))
        jobs = await engine.wait_all_terminal(timeout=20)
        assert jobs[0].state is JobState.FAILED
        assert jobs[0].error_code == "upstream_unavailable"
        assert "503" in (jobs[0].error_message or "")
        assert engine.delivery.notice_ids() == [jobs[0].id]
    finally:
        await engine.stop()


async def test_ambiguous_submit_is_reconciled_not_resent(tmp_path: Path) -> None:
    """The submit answer never arrives in time: the job is found by replyRef, never sent twice."""
    engine = await start_engine(tmp_path, submit_timeout=0.3, callbacks=False)
    try:
        engine.sim.sim.faults.accept_then_delay = 2.0
        engine.sim.sim.faults.hold_jobs = True
        job = await engine.service.submit(make_request(1))
        await engine.wait_until(lambda jobs: jobs[0].state is JobState.RUNNING, timeout=10)
        running = await engine.store.get(job.id)
        assert running is not None and running.upstream_id in engine.sim.sim.jobs
        engine.sim.sim.faults.accept_then_delay = 0
        engine.sim.sim.release_all()
        jobs = await engine.wait_all_terminal()
        assert jobs[0].state is JobState.DELIVERED
        posts = [r for r in engine.sim.sim.requests if r.method == "POST"]
        assert len(posts) == 1
    finally:
        await engine.stop()


async def test_lost_submit_that_never_started_fails_visibly(tmp_path: Path) -> None:
    """A job stuck in submitting that upstream never heard of ends failed (outcome unknown), told."""
    engine = await start_engine(tmp_path, callbacks=False)
    try:
        await engine.service.stop()
        job = await engine.service.submit(make_request(1))
        # Simulate a crash right after the slot was claimed, before the POST left.
        from bot.store import JobUpdate

        await engine.store.transition(job.id, JobState.SUBMITTING, 1.0, JobUpdate(account=DEFAULT_CHANNEL))
        await engine.service.start()
        jobs = await engine.wait_all_terminal(timeout=20)
        assert jobs[0].state is JobState.FAILED and jobs[0].error_code == "outcome_unknown"
        assert not [r for r in engine.sim.sim.requests if r.method == "POST"]
        assert engine.delivery.notice_ids() == [job.id]
    finally:
        await engine.stop()


async def test_callback_before_submit_answer(tmp_path: Path) -> None:
    """The completion callback arrives while the submit answer is still on its way: one delivery."""
    engine = await start_engine(tmp_path, submit_timeout=10)
    try:
        engine.sim.sim.faults.accept_then_delay = 1.0  # job finishes (0.35 s) before the answer
        await engine.service.submit(make_request(1))
        jobs = await engine.wait_all_terminal()
        assert jobs[0].state is JobState.DELIVERED
        assert len(engine.delivery.results) == 1
        assert (
            engine.sim.sim.callbacks_sent
            and engine.sim.sim.callbacks_sent[0].at
            < max(r.at for r in engine.sim.sim.requests if r.method == "POST") + 1.0
        )
    finally:
        await engine.stop()


async def test_duplicate_and_late_callbacks_are_harmless(tmp_path: Path) -> None:
    """Each callback sent four times, and again late: one result, spent tokens answer 404."""
    engine = await start_engine(tmp_path)
    try:
        engine.sim.sim.faults.duplicate_callbacks = 3
        for n in range(3):
            await engine.service.submit(make_request(n))
        await engine.wait_all_terminal()
        await asyncio.sleep(0.3)
        assert sorted(engine.delivery.result_ids()) == sorted(j.id for j in await engine.store.all_jobs())
        statuses = [c.http_status for c in engine.sim.sim.callbacks_sent]
        # Copies that beat the confirmation get 200, later ones 404; either way nothing doubles.
        assert len(statuses) == 12 and set(statuses) <= {200, 404}
        # Replay a callback now: still 404, nothing changes.
        first = engine.sim.sim.callbacks_sent[0]
        async with (
            aiohttp.ClientSession() as session,
            session.post(first.url, json={"jobid": first.jobid}) as r,
        ):
            assert r.status == 404
        assert len(engine.delivery.results) == 3
    finally:
        await engine.stop()


async def test_dropped_callbacks_are_covered_by_the_poller(tmp_path: Path) -> None:
    """Callbacks never arrive: the executing list (or the backstop poll) finishes the job."""
    engine = await start_engine(tmp_path, callback_grace=1.0, poll_interval=1.0)
    try:
        engine.sim.sim.faults.drop_callbacks = True
        await engine.service.submit(make_request(1))
        jobs = await engine.wait_all_terminal(timeout=15)
        assert jobs[0].state is JobState.DELIVERED
    finally:
        await engine.stop()


async def test_forged_callback_cannot_complete_a_running_job(tmp_path: Path) -> None:
    """A callback body claiming "completed" while upstream says "progress": upstream wins."""
    engine = await start_engine(tmp_path)
    try:
        engine.sim.sim.faults.hold_jobs = True
        await engine.service.submit(make_request(1))
        await engine.wait_until(lambda jobs: jobs[0].state is JobState.RUNNING, timeout=5)
        post = next(r for r in engine.sim.sim.requests if r.method == "POST")
        forged = {
            "jobid": "forged",
            "status": "completed",
            "attachments": [{"url": "http://127.0.0.1:1/x.mp4"}],
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(post.fields["replyUrl"], json=forged) as r,
        ):
            assert r.status == 200
        await asyncio.sleep(0.3)
        job = (await engine.store.all_jobs())[0]
        assert job.state is JobState.RUNNING
        engine.sim.sim.release_all()
        jobs = await engine.wait_all_terminal()
        assert jobs[0].state is JobState.DELIVERED
        assert jobs[0].video is not None and "127.0.0.1:1/" not in jobs[0].video.source_url
    finally:
        await engine.stop()


async def test_retry_uses_the_button_endpoint(tmp_path: Path) -> None:
    """Retry of a delivered job is a new job sent as button=retry on the parent's upstream id."""
    engine = await start_engine(tmp_path)
    try:
        parent = await engine.service.submit(make_request(1, prompt="retry me"))
        await engine.wait_all_terminal()
        done = await engine.store.get(parent.id)
        assert done is not None and done.upstream_id
        child = await engine.service.retry(parent.id, requester_id=1)
        assert child.kind is JobKind.RETRY and child.parent_id == parent.id and child.id != parent.id
        jobs = {j.id: j for j in await engine.wait_all_terminal()}
        assert jobs[child.id].state is JobState.DELIVERED
        assert jobs[parent.id] == done  # the old row is untouched
        button = next(r for r in engine.sim.sim.requests if r.path == "/v1/pika/button")
        assert button.fields["jobid"] == done.upstream_id and button.fields["button"] == "retry"
    finally:
        await engine.stop()


async def test_retry_of_a_moderated_job_resends_the_request(tmp_path: Path) -> None:
    """A job that never produced a video is retried as a fresh job of the same kind and images."""
    engine = await start_engine(tmp_path)
    try:
        image = InputFile("image", "a.png", "image/png", PNG)
        parent = await engine.service.submit(
            make_request(1, prompt="forbidden dance", kind=JobKind.ANIMATE, inputs=(image,))
        )
        await engine.wait_all_terminal()
        # Inputs are dropped once a job ends; an animate without its image cannot be resent.
        with pytest.raises(Exception, match="no longer stored"):
            await engine.service.retry(parent.id, requester_id=1)
        create = await engine.service.submit(make_request(1, prompt="forbidden words"))
        await engine.wait_all_terminal()
        child = await engine.service.retry(create.id, requester_id=2)
        assert child.kind is JobKind.CREATE and child.owner_id == 2 and child.prompt == "forbidden words"
    finally:
        await engine.stop()


async def test_cancel_queued_and_running(tmp_path: Path) -> None:
    """Cancel removes a queued job locally and stops a running one upstream; both are told."""
    engine = await start_engine(tmp_path, max_jobs=1)
    try:
        engine.sim.sim.faults.hold_jobs = True
        running = await engine.service.submit(make_request(1))
        queued = await engine.service.submit(make_request(2))
        await engine.wait_until(lambda jobs: jobs[0].state is JobState.RUNNING, timeout=5)
        assert await engine.service.cancel(queued.id) is CancelOutcome.CANCELLED
        assert await engine.service.cancel(running.id) is CancelOutcome.CANCELLED
        assert await engine.service.cancel(running.id) is CancelOutcome.ALREADY_FINISHED
        assert await engine.service.cancel(999) is CancelOutcome.NOT_FOUND
        jobs = await engine.wait_all_terminal()
        assert {j.state for j in jobs} == {JobState.CANCELLED}
        assert any(r.path.startswith("/v1/pika/jobs/cancel") for r in engine.sim.sim.requests)
        assert sorted(engine.delivery.notice_ids()) == sorted([running.id, queued.id])
    finally:
        await engine.stop()


async def test_job_past_timeout_expires(tmp_path: Path) -> None:
    """A job upstream never finishes becomes expired after the timeout and the member is told."""
    engine = await start_engine(tmp_path, timeout=1.0, callbacks=False)
    try:
        engine.sim.sim.faults.hold_jobs = True
        await engine.service.submit(make_request(1))
        jobs = await engine.wait_all_terminal(timeout=10)
        assert jobs[0].state is JobState.EXPIRED
        assert engine.delivery.notice_ids() == [jobs[0].id]
    finally:
        await engine.stop()


async def test_delivery_outage_is_retried_then_posted_once(tmp_path: Path) -> None:
    """Discord fails twice: the completed job is posted on the third try, exactly once."""
    delivery = RecordingDelivery(fail_next=2)
    engine = await start_engine(tmp_path, delivery=delivery)
    try:
        await engine.service.submit(make_request(1))
        jobs = await engine.wait_all_terminal()
        assert jobs[0].state is JobState.DELIVERED and len(delivery.results) == 1
    finally:
        await engine.stop()


async def test_unauthorized_token_fails_jobs_clearly(tmp_path: Path) -> None:
    """A wrong useapi token (401) fails the job with a reason an admin can act on."""
    engine = await start_engine(tmp_path, token="not-the-sim-token")
    try:
        await engine.service.submit(make_request(1))
        jobs = await engine.wait_all_terminal()
        assert jobs[0].state is JobState.FAILED and jobs[0].error_code == "unauthorized"
        assert "token" in (jobs[0].error_message or "")
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


async def test_video_from_a_host_off_the_allow_list_is_refused_and_told(tmp_path: Path) -> None:
    """Upstream hands back a video URL whose host is not allowed: nothing is fetched, the job fails, told."""
    engine = await start_engine(tmp_path)
    from bot.engine.download_policy import DownloadPolicy
    from bot.engine.downloads import VideoDownloader

    await engine.downloader.close()
    engine.downloader = VideoDownloader(
        DownloadPolicy(allowed_hosts=frozenset({"cdn.discordapp.com"}), max_bytes=1 << 20)
    )
    engine.service.downloader = engine.downloader
    try:
        await engine.service.submit(make_request(1))
        jobs = await engine.wait_all_terminal()
        assert jobs[0].state is JobState.FAILED and jobs[0].error_code == "download_failed"
        assert "not allowed" in (jobs[0].error_message or "") or "allow" in (jobs[0].error_message or "")
        assert engine.delivery.notice_ids() == [jobs[0].id] and engine.delivery.results == []
        assert not [r for r in engine.sim.sim.requests if r.path.startswith("/attachments/")]
    finally:
        await engine.stop()


async def test_hanging_and_huge_answers_to_polls(tmp_path: Path) -> None:
    """Polls that hang past their timeout, then 5 MiB answers: the job fails with a clear reason, told;
    a job on a healthy answer path finishes meanwhile."""
    from dataclasses import replace as dc_replace

    from tests.helpers.engine import FAST_POLICY

    policy = dc_replace(FAST_POLICY, poll_failures_max=3)
    engine = await start_engine(tmp_path, callbacks=False, poll_interval=1.0, read_timeout=0.3, policy=policy)
    try:
        engine.sim.sim.faults.hold_jobs = True
        stuck = await engine.service.submit(make_request(1, prompt="a stuck job"))
        await engine.wait_until(lambda jobs: jobs[0].state is JobState.RUNNING, timeout=5)
        engine.sim.sim.faults.delay_seconds = 1.0  # every answer now hangs past the 0.3 s read timeout
        await engine.wait_until(lambda jobs: jobs[0].attempts >= 1, timeout=10)
        engine.sim.sim.faults.delay_seconds = 0.0
        engine.sim.sim.faults.huge_body = True
        jobs = await engine.wait_all_terminal(timeout=20)
        assert jobs[0].id == stuck.id and jobs[0].state is JobState.FAILED
        assert jobs[0].error_code == "upstream_unavailable"
        assert "a job record is a few KiB" in (jobs[0].error_message or "")
        assert engine.delivery.notice_ids() == [stuck.id]
        engine.sim.sim.faults.huge_body = False
        engine.sim.sim.faults.hold_jobs = False
        healthy = await engine.service.submit(make_request(2, prompt="a healthy job"))
        jobs = await engine.wait_all_terminal(timeout=20)
        assert next(j for j in jobs if j.id == healthy.id).state is JobState.DELIVERED
    finally:
        await engine.stop()
