"""JobService failures: refusals, retries, lost or ambiguous submits, timeouts and bad answers, each
ended clearly and told once."""

from __future__ import annotations

from pathlib import Path

from bot.domain.jobs import JobState
from sandbox.useapi_sim import DEFAULT_CHANNEL
from tests.helpers.engine import RecordingDelivery, start_engine
from tests.helpers.jobs import make_request


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
