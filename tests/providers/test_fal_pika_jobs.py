"""FalPikaProvider jobs: following one through fal's queue, how it can end without a video, and cancel."""

from __future__ import annotations

import json

import pytest

from bot.providers.base import ErrorKind, UpstreamError, UpstreamStatus
from bot.providers.fal.failures import MODERATED_TEXT
from bot.providers.fal.payloads import TEXT_TO_VIDEO, FalHandle
from bot.providers.fal.pika import FalPikaProvider
from sandbox.fal_sim import DEFAULT_KEY, QueueStatus, RunningFalSimulator, SimConfig, start_simulator
from tests.helpers.fal_pika import fal, finish, request, run, sim, submit_request

__all__ = ["fal", "sim"]  # fixtures shared from the helpers module


# -- following a job ----------------------------------------------------------------------------------


async def test_queue_positions_then_logs_then_the_video() -> None:
    """With one slot: waiting jobs show fal's position (counted from 1), the running one its latest log."""
    running = await start_simulator(SimConfig(concurrency=1, queue_delay=0.0, step_delay=0.005))
    fal = FalPikaProvider(
        running.base_url, DEFAULT_KEY, rest_base_url=running.base_url, jwks_url=running.jwks_url
    )
    try:
        running.sim.faults.hold_jobs = True
        first = await fal.submit(submit_request(request()))
        assert first.queue_position == 0 and first.progress == "waiting at fal.ai, position 1"
        await running.sim.wait_for_status(first.upstream_id, QueueStatus.IN_PROGRESS)
        second = await fal.submit(submit_request(request()))
        third = await fal.submit(submit_request(request()))
        assert (second.queue_position, third.queue_position) == (0, 1)
        waiting = await fal.fetch(third.upstream_id, third.handle)
        assert waiting.status is UpstreamStatus.RUNNING
        assert waiting.queue_position == 1 and waiting.progress == "waiting at fal.ai, position 2"
        working = await fal.fetch(first.upstream_id, first.handle)
        assert working.status is UpstreamStatus.RUNNING and working.queue_position is None
        assert working.progress == f"Starting {TEXT_TO_VIDEO} (attempt 1)"  # the runner's latest log line
        running.sim.faults.hold_jobs = False
        running.sim.release_all()
        done = await finish(fal, first)
        assert done.status is UpstreamStatus.COMPLETED and done.video is not None
        await running.sim.wait_for_status(second.upstream_id, QueueStatus.IN_PROGRESS, QueueStatus.COMPLETED)
        moved_up = await fal.fetch(third.upstream_id, third.handle)
        assert moved_up.queue_position == 0 and moved_up.progress == "waiting at fal.ai, position 1"
    finally:
        await fal.close()
        await running.close()


async def test_without_a_stored_handle_the_owner_app_urls_are_rebuilt(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """No handle (or an unreadable one): {base}/fal-ai/pika/requests/{id}[/status] is used."""
    upstream_id, _ = await run(fal, request())
    for handle in (None, "not json"):
        snapshot = await fal.fetch(upstream_id, handle)
        assert snapshot.status is UpstreamStatus.COMPLETED and snapshot.video is not None
    assert FalHandle.rebuilt(sim.base_url, upstream_id).status_url == (
        f"{sim.base_url}/fal-ai/pika/requests/{upstream_id}/status"
    )
    with pytest.raises(UpstreamError) as unknown:
        await fal.fetch("00000000-0000-4000-8000-000000000000")
    assert unknown.value.kind is ErrorKind.NOT_FOUND


async def test_the_stored_handle_holds_fals_urls_and_the_model(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """The handle is JSON with the three URLs exactly as fal returned them, plus the model id."""
    started = await fal.submit(submit_request(request()))
    assert started.handle is not None
    stored = json.loads(started.handle)
    assert stored == {**sim.sim.requests[started.upstream_id].urls(), "model": TEXT_TO_VIDEO}


# -- how a job can end without a video ------------------------------------------------------------------


async def test_a_completed_status_with_an_error_fails_with_fals_text(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """COMPLETED with error/error_type on the status (no FAILED state exists) ends FAILED."""
    sim.sim.update_faults({"fail_next": 1, "fail_error_type": "request_timeout"})
    _, done = await run(fal, request())
    assert done.status is UpstreamStatus.FAILED
    assert done.error == "fal.ai could not make this video: Request timed out (request_timeout)"


async def test_a_clean_status_with_a_failing_result_fails_with_the_detail_msgs(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """COMPLETED without an error, but the result is a 422 detail list: FAILED with its msg."""
    sim.sim.faults.result_error_next = 1
    _, done = await run(fal, request())
    assert done.status is UpstreamStatus.FAILED
    assert done.error == "fal.ai could not make this video: The model did not generate any media."


@pytest.mark.parametrize("on_status", [True, False])
async def test_content_policy_violation_is_moderated(
    fal: FalPikaProvider, sim: RunningFalSimulator, on_status: bool
) -> None:
    """content_policy_violation, on the status or only in the result, ends MODERATED naming the input."""
    sim.sim.update_config({"model_errors_on_status": on_status})
    _, done = await run(fal, request(prompt="something forbidden"))
    assert done.status is UpstreamStatus.MODERATED
    assert done.error == MODERATED_TEXT and done.error_details == "it flagged the prompt"


async def test_a_job_cancelled_at_fal_reads_cancelled(fal: FalPikaProvider, sim: RunningFalSimulator) -> None:
    """After PUT cancel_url a queued job is COMPLETED with client_cancelled: CANCELLED."""
    sim.sim.faults.stuck_queued = True
    started = await fal.submit(submit_request(request()))
    await fal.cancel(started.upstream_id, started.handle)
    snapshot = await fal.fetch(started.upstream_id, started.handle)
    assert snapshot.status is UpstreamStatus.CANCELLED


# -- cancel -------------------------------------------------------------------------------------------


async def test_cancel_answers(fal: FalPikaProvider, sim: RunningFalSimulator) -> None:
    """Queued → accepted; already finished → INVALID_REQUEST; unknown → NOT_FOUND."""
    sim.sim.faults.stuck_queued = True
    queued = await fal.submit(submit_request(request()))
    await fal.cancel(queued.upstream_id, queued.handle)
    sim.sim.faults.stuck_queued = False
    finished, _ = await run(fal, request())
    with pytest.raises(UpstreamError) as too_late:
        await fal.cancel(finished, None)
    assert too_late.value.kind is ErrorKind.INVALID_REQUEST
    assert too_late.value.message == "fal.ai says the job already finished"
    with pytest.raises(UpstreamError) as unknown:
        await fal.cancel("00000000-0000-4000-8000-000000000000", None)
    assert unknown.value.kind is ErrorKind.NOT_FOUND


@pytest.mark.parametrize("status", [202, 200])
async def test_cancel_accepts_any_2xx(fal: FalPikaProvider, sim: RunningFalSimulator, status: int) -> None:
    """fal answers an accepted cancel 202 CANCELLATION_REQUESTED or 200 OK: both are accepted, and the
    job then reads CANCELLED (a 200 is not a malformed answer to retry)."""
    sim.sim.update_config({"cancel_accepted_status": status})
    sim.sim.faults.stuck_queued = True
    queued = await fal.submit(submit_request(request()))
    await fal.cancel(queued.upstream_id, queued.handle)  # no UpstreamError
    answers = [r for r in sim.sim.recorded if r.method == "PUT" and r.path.endswith("/cancel")]
    assert [r.status for r in answers] == [status]
    snapshot = await fal.fetch(queued.upstream_id, queued.handle)
    assert snapshot.status is UpstreamStatus.CANCELLED
