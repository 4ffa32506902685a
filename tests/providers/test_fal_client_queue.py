"""The fal client's API: submit, status, result, cancel and uploads; its arguments and sessions."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from bot.providers.fal.answers import (
    FalCancelOutcome,
    FalLogEntry,
    FalState,
    FalStatus,
    FalSubmission,
    FalVideo,
)
from bot.providers.fal.client import FalClient
from sandbox.fal_sim import DEFAULT_KEY, IMAGE_TO_VIDEO, TEXT_TO_VIDEO, QueueStatus
from tests.helpers.fal_client import PNG, T2V, Env, env, fal, raises

__all__ = ["env", "fal"]  # fixtures shared from the helpers module


# ---------------------------------------------------------------------------------------------------
# Happy paths
# ---------------------------------------------------------------------------------------------------


async def test_submit_status_result(env: Env, fal: FalClient) -> None:
    env.sim.update_faults({"hold_jobs": True})
    sub = await fal.submit(TEXT_TO_VIDEO, T2V, "http://127.0.0.1:9/fal/webhook?token=abc")
    assert isinstance(sub, FalSubmission)
    base = f"{env.running.base_url}/fal-ai/pika/requests/{sub.request_id}"
    assert sub == FalSubmission(sub.request_id, f"{base}/status", base, f"{base}/cancel", 0, None)
    req = env.sim.requests[sub.request_id]
    assert req.webhook_url == "http://127.0.0.1:9/fal/webhook?token=abc"
    assert req.input == T2V
    await env.sim.wait_for_status(sub.request_id, QueueStatus.IN_PROGRESS)
    running = await fal.status(sub.status_url, logs=True)
    assert (running.state, running.request_id, running.done, running.failed) == (
        FalState.IN_PROGRESS,
        sub.request_id,
        False,
        False,
    )
    assert running.logs is not None and isinstance(running.logs[0], FalLogEntry)
    assert (running.logs[0].level, running.logs[0].source) == ("INFO", "USER")
    assert (await fal.status(sub.status_url)).logs is None
    early = await raises(fal.result(sub.response_url))
    assert early.is_still_in_progress and early.status == 400 and not early.retryable
    env.sim.release_all()
    await env.done(sub.request_id)
    done = await fal.status(sub.status_url)
    assert (done.state, done.done, done.failed, done.error) == (FalState.COMPLETED, True, False, None)
    assert done.inference_time is not None and done.inference_time > 0
    video = await fal.result(sub.response_url)
    assert video == FalVideo(
        url=f"{env.running.base_url}/files/b/{sub.request_id}_output.mp4",
        content_type="video/mp4",
        file_name="output.mp4",
        file_size=len(env.sim.video),
    )


async def test_queue_position_with_concurrency_two(env: Env, fal: FalClient) -> None:
    env.sim.update_faults({"hold_jobs": True})
    subs = [await fal.submit(TEXT_TO_VIDEO, T2V) for _ in range(2)]
    for sub in subs:
        await env.sim.wait_for_status(sub.request_id, QueueStatus.IN_PROGRESS)
    third = await fal.submit(TEXT_TO_VIDEO, T2V)
    fourth = await fal.submit(TEXT_TO_VIDEO, T2V)
    assert (third.queue_position, fourth.queue_position) == (0, 1)
    assert await fal.status(fourth.status_url) == FalStatus(
        FalState.IN_QUEUE, fourth.request_id, queue_position=1
    )
    env.sim.release_all()


async def test_submit_options_become_headers_and_query(env: Env, fal: FalClient) -> None:
    env.sim.update_faults({"stuck_queued": True})
    await fal.submit(TEXT_TO_VIDEO, T2V, start_timeout=30, priority="low", no_retry=True, max_queue_length=5)
    rec = env.sim.recorded[-1]
    assert rec.query == {"fal_max_queue_length": "5"}
    assert (rec.headers["X-Fal-Request-Timeout"], rec.headers["X-Fal-Queue-Priority"]) == ("30", "low")
    assert rec.headers["X-Fal-No-Retry"] == "1"
    assert rec.headers["Content-Type"] == "application/json"
    req = env.sim.requests[env.sim.waiting_ids()[0]]
    assert (req.priority, req.no_retry) == ("low", True)
    full = await raises(fal.submit(TEXT_TO_VIDEO, T2V, max_queue_length=1))
    assert (full.status, full.message, full.retryable, full.ambiguous) == (429, "Queue is full", True, False)


async def test_cancel_outcomes(env: Env, fal: FalClient) -> None:
    env.sim.update_faults({"stuck_queued": True})
    sub = await fal.submit(TEXT_TO_VIDEO, T2V)
    assert await fal.cancel(sub.cancel_url) is FalCancelOutcome.REQUESTED
    status = await fal.status(sub.status_url)
    assert (status.failed, status.error_type) == (True, "client_cancelled")
    cancelled = await raises(fal.result(sub.response_url))
    assert (cancelled.status, cancelled.error_type, cancelled.retryable) == (499, "client_cancelled", False)
    assert await fal.cancel(sub.cancel_url) is FalCancelOutcome.ALREADY_COMPLETED
    unknown = f"{env.running.base_url}/fal-ai/pika/requests/nope/cancel"
    assert await fal.cancel(unknown) is FalCancelOutcome.NOT_FOUND


@pytest.mark.parametrize(("status", "body"), [(202, "CANCELLATION_REQUESTED"), (200, "OK")])
async def test_cancel_accepted_as_200_ok_or_202(env: Env, fal: FalClient, status: int, body: str) -> None:
    """The simulator answers as configured; either answer is REQUESTED, as fal's own client reads it."""
    env.sim.update_config({"cancel_accepted_status": status})
    env.sim.update_faults({"stuck_queued": True})
    sub = await fal.submit(TEXT_TO_VIDEO, T2V)
    async with env.http.put(sub.cancel_url, headers={"Authorization": f"Key {DEFAULT_KEY}"}) as raw:
        assert (raw.status, await raw.json()) == (status, {"status": body})
    assert await fal.cancel(sub.cancel_url) is FalCancelOutcome.ALREADY_COMPLETED  # the raw PUT won
    sub = await fal.submit(TEXT_TO_VIDEO, T2V)
    assert await fal.cancel(sub.cancel_url) is FalCancelOutcome.REQUESTED


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (204, b"", FalCancelOutcome.REQUESTED),
        (200, b"not json", FalCancelOutcome.REQUESTED),
        (201, b'{"status": "SOMETHING_NEW"}', FalCancelOutcome.REQUESTED),
        (200, b'{"status": "ALREADY_COMPLETED"}', FalCancelOutcome.ALREADY_COMPLETED),
        (200, b'{"status": "NOT_FOUND"}', FalCancelOutcome.NOT_FOUND),
    ],
)
async def test_cancel_reads_any_2xx_as_accepted_unless_the_body_says_otherwise(
    env: Env, status: int, body: bytes, outcome: FalCancelOutcome
) -> None:
    """fal's docs list OK, CANCELLATION_REQUESTED, ALREADY_COMPLETED and NOT_FOUND as cancel bodies."""

    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_put("/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        fal = FalClient(base, DEFAULT_KEY, env.http)
        assert await fal.cancel(f"{base}/fal-ai/pika/requests/x/cancel") is outcome
    finally:
        await runner.cleanup()


async def test_upload_round_trip_and_token_cache(env: Env, fal: FalClient) -> None:
    url = await fal.upload(PNG, "image/png", "cat.png")
    assert url.startswith(f"{env.running.base_url}/files/u/") and url.endswith("_cat.png")
    async with env.http.get(url) as resp:
        assert (resp.status, resp.content_type, await resp.read()) == (200, "image/png", PNG)
    await fal.upload(b"x", "text/plain", "a.txt")
    tokens = [r for r in env.sim.recorded if r.path == "/storage/auth/token"]
    assert len(tokens) == 1
    assert tokens[0].query == {"storage_type": "fal-cdn-v3"} and tokens[0].body == {}
    uploads = [r for r in env.sim.recorded if r.path == "/files/upload"]
    assert uploads[0].headers["X-Fal-File-Name"] == "cat.png"
    assert uploads[0].headers["Content-Type"] == "image/png"
    # The uploaded URL is a valid model input.
    sub = await fal.submit(IMAGE_TO_VIDEO, {"prompt": "p", "image_url": url})
    await env.done(sub.request_id)
    assert (await fal.result(sub.response_url)).url.endswith("_output.mp4")
    # The token is renewed once it nears expires_at, and once if the CDN refuses it.
    env.clock_now[0] += 3600 - 10  # within TOKEN_MARGIN of expires_at
    await fal.upload(b"y", "text/plain", "b.txt")
    env.sim.tokens.clear()
    await fal.upload(b"z", "text/plain", "c.txt")
    assert len([r for r in env.sim.recorded if r.path == "/storage/auth/token"]) == 3


async def test_upload_errors(env: Env, fal: FalClient) -> None:
    env.sim.update_faults({"locked": True})
    locked = await raises(fal.upload(PNG, "image/png", "cat.png"))
    assert (locked.status, locked.is_locked) == (403, True)
    env.sim.update_faults({"locked": False})
    other = env.client(key="nope:nope")
    assert (await raises(other.upload(PNG, "image/png", "cat.png"))).status == 401


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="key"):
        FalClient("http://127.0.0.1:1", " ")
    with pytest.raises(ValueError, match="base_url"):
        FalClient("queue.fal.run", DEFAULT_KEY)


async def test_bad_model_ids(fal: FalClient) -> None:
    for model in ("pika", "/fal-ai/pika", "http://evil/x", "fal-ai/../x", "fal-ai/pika?x=1"):
        with pytest.raises(ValueError, match="model id"):
            await fal.submit(model, T2V)


async def test_owned_session_lifecycle(env: Env) -> None:
    async with FalClient(env.running.base_url, DEFAULT_KEY, rest_base_url=env.running.base_url) as fal:
        sub = await fal.submit(TEXT_TO_VIDEO, T2V)
        assert (await fal.status(sub.status_url)).request_id == sub.request_id
    await fal.close()  # idempotent


async def test_closed_borrowed_session(env: Env) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    fal = FalClient(env.running.base_url, DEFAULT_KEY, session)
    err = await raises(fal.submit(TEXT_TO_VIDEO, T2V))
    assert "closed" in err.message


async def test_concurrent_uploads_fetch_one_token(env: Env, fal: FalClient) -> None:
    urls = await asyncio.gather(*(fal.upload(PNG, "image/png", f"{i}.png") for i in range(4)))
    assert len(set(urls)) == 4
    assert len([r for r in env.sim.recorded if r.path == "/storage/auth/token"]) == 1
