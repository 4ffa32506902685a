"""JobService requests: what a job, its retry or its cancel sends upstream, and what is refused first."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.jobs import InputFile, JobKind, JobRequest, JobState, Origin
from bot.domain.params import VideoParams
from bot.domain.prompt import PikaOptions, PromptError
from bot.engine.service import CancelOutcome
from sandbox.useapi_sim import DEFAULT_CHANNEL
from tests.helpers.engine import start_engine
from tests.helpers.jobs import make_request

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


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
