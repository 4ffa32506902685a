"""The API Glue provider following a job: fetch statuses and outcomes; no cancel and no search."""

from __future__ import annotations

import pytest

from bot.domain.params import VideoParams
from bot.providers.apiglue import ApiGlueProvider
from bot.providers.apiglue_answers import parse_job
from bot.providers.base import ErrorKind, UpstreamError, UpstreamStatus
from sandbox.apiglue_sim import RunningGlueSimulator, VideoStatus, video_filename
from tests.helpers.apiglue import provider, sim, submit_request

__all__ = ["provider", "sim"]  # fixtures shared from the helpers module


# -- fetch --------------------------------------------------------------------------------------


async def test_fetch_follows_queued_progress_finished(
    provider: ApiGlueProvider, sim: RunningGlueSimulator
) -> None:
    """queued, pending (and an unknown status) are RUNNING with a percentage; finished has the video."""
    sim.sim.update_faults({"stuck_queued": True, "hold_jobs": True, "running_status": "rendering"})
    job = await provider.submit(submit_request(prompt="robed villain", params=VideoParams(seed=42)))
    queued = await provider.fetch(job.upstream_id)
    assert (queued.status, queued.progress, queued.video) == (UpstreamStatus.RUNNING, "0", None)
    sim.sim.faults.stuck_queued = False
    await sim.sim.wait_for_status(job.upstream_id, VideoStatus.PENDING)
    pending = await provider.fetch(job.upstream_id)
    assert (pending.status, pending.progress) == (UpstreamStatus.RUNNING, "20")
    sim.sim.release(job.upstream_id)
    await sim.sim.wait_for_status(job.upstream_id, VideoStatus.FINISHED)
    done = await provider.fetch(job.upstream_id)
    assert done.status is UpstreamStatus.COMPLETED and done.progress == "100"
    assert done.video is not None and done.video.url == sim.sim.jobs[job.upstream_id].result_url
    assert done.video.filename == video_filename("robed villain") and done.video.content_type == "video/mp4"
    assert done.seed == 42 and done.reply_ref == "7" and done.error is None


@pytest.mark.parametrize(
    ("error", "status", "expected"),
    [
        ("Video generation failed", VideoStatus.ERROR, UpstreamStatus.FAILED),
        ("Video generation failed", VideoStatus.FAILED, UpstreamStatus.FAILED),
        ("NSFW content blocked by moderation", VideoStatus.ERROR, UpstreamStatus.MODERATED),
    ],
)
async def test_failed_video(
    provider: ApiGlueProvider,
    sim: RunningGlueSimulator,
    error: str,
    status: VideoStatus,
    expected: UpstreamStatus,
) -> None:
    """error and failed videos end the job with the video's own error text."""
    sim.sim.faults.hold_jobs = True
    job = await provider.submit(submit_request())
    sim.sim.fail_now(job.upstream_id, error, status)
    failed = await provider.fetch(job.upstream_id)
    assert (failed.status, failed.error, failed.video) == (expected, error, None)


async def test_fail_word_fails_on_its_own(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """A video the simulator fails in its normal run is FAILED with the reason."""
    job = await provider.submit(submit_request(prompt="the city will explode"))
    await sim.sim.wait_for_status(job.upstream_id, VideoStatus.ERROR)
    failed = await provider.fetch(job.upstream_id)
    assert failed.status is UpstreamStatus.FAILED and "Video generation failed" in (failed.error or "")


def test_parse_job_of_the_seed_answers() -> None:
    """Seed 004's generate answer is RUNNING; its finished job is COMPLETED with the file name."""
    submitted = parse_job(
        {
            "job": {"id": "1233696d-67c8-4293-bf95-524e13aa6578", "requestType": "generate", "createdAt": {}},
            "video": {"id": "1233696d-67c8-4293-bf95-524e13aa6578", "status": "queued"},
        }
    )
    assert submitted.upstream_id == "1233696d-67c8-4293-bf95-524e13aa6578"
    assert submitted.status is UpstreamStatus.RUNNING and submitted.reply_ref is None
    url = "https://example.video/1234-a186-53c4c6171ab5/robed_villain_lurking_the_streets.mp4"
    done = parse_job(
        {
            "job": {"id": "e89c86c1-2969-1234-a186-53c4c6171ab5"},
            "videos": [{"seed": None, "progress": 100, "resultUrl": url, "status": "finished"}],
        }
    )
    assert done.status is UpstreamStatus.COMPLETED and done.progress == "100" and done.seed is None
    assert done.video is not None and done.video.filename == "robed_villain_lurking_the_streets.mp4"
    empty = parse_job({"job": {"id": "x"}, "videos": [{"status": "finished", "resultUrl": None}]})
    assert empty.status is UpstreamStatus.FAILED and "no resultUrl" in (empty.error or "")


# -- cancel and find_by_ref ---------------------------------------------------------------------


async def test_cancel_and_find_by_ref_make_no_calls(
    provider: ApiGlueProvider, sim: RunningGlueSimulator
) -> None:
    """There is no cancel or search route: cancel refuses and find_by_ref finds nothing, offline."""
    with pytest.raises(UpstreamError) as caught:
        await provider.cancel("any")
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert caught.value.message == "API Glue cannot cancel a job once it has started"
    assert await provider.find_by_ref("7") is None
    assert sim.sim.requests == []
