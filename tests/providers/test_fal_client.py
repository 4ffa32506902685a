"""The fal queue/storage client against the fal simulator (and two hostile servers) over 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.providers.fal.answers import (
    FalCancelOutcome,
    FalError,
    FalErrorDetail,
    FalLogEntry,
    FalState,
    FalStatus,
    FalSubmission,
    FalVideo,
)
from bot.providers.fal.client import FalClient
from sandbox.fal_sim import (
    DEFAULT_KEY,
    IMAGE_TO_VIDEO,
    PIKAFRAMES,
    TEXT_TO_VIDEO,
    FalSimulator,
    QueueStatus,
    RunningFalSimulator,
    SimConfig,
    start_simulator,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SECRET = DEFAULT_KEY.partition(":")[2]
T2V = {"prompt": "a red fox running through snow", "duration": 5, "resolution": "720p"}


def fast_config(**overrides: Any) -> SimConfig:
    base: dict[str, Any] = {
        "queue_delay": 0.0,
        "step_delay": 0.005,
        "log_messages": ("Generating video...",),
        "webhook_backoff": 0.01,
        "random_seed": 11,
    }
    base.update(overrides)
    return SimConfig(**base)


@dataclass
class Env:
    running: RunningFalSimulator
    http: aiohttp.ClientSession
    clock_now: list[float]

    @property
    def sim(self) -> FalSimulator:
        return self.running.sim

    def client(self, key: str = DEFAULT_KEY, **kwargs: Any) -> FalClient:
        base = self.running.base_url
        return FalClient(base, key, self.http, rest_base_url=base, clock=lambda: self.clock_now[0], **kwargs)

    async def done(self, request_id: str) -> None:
        await self.sim.wait_for_status(request_id, QueueStatus.COMPLETED, within=3.0)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with await start_simulator(fast_config()) as running, aiohttp.ClientSession() as http:
        yield Env(running, http, [time.time()])


@pytest.fixture
def fal(env: Env) -> FalClient:
    return env.client()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def assert_no_secret(err: BaseException) -> None:
    for text in (str(err), repr(err), str(err.args), str(vars(err))):
        assert DEFAULT_KEY not in text and SECRET not in text


async def raises(coro: Any) -> FalError:
    with pytest.raises(FalError) as info:
        await coro
    assert_no_secret(info.value)
    return info.value


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


# ---------------------------------------------------------------------------------------------------
# Typed errors
# ---------------------------------------------------------------------------------------------------


async def test_wrong_and_malformed_keys(env: Env) -> None:
    wrong = await raises(env.client(key="someid:" + "s" * 20).submit(TEXT_TO_VIDEO, T2V))
    assert (wrong.status, wrong.message, wrong.is_auth, wrong.is_locked, wrong.retryable) == (
        401,
        "No user found for Key ID and Secret",
        True,
        False,
        False,
    )
    malformed = await raises(
        env.client(key="nocolon").status(f"{env.running.base_url}/fal-ai/pika/requests/x/status")
    )
    assert malformed.status == 401 and "Expected '<key_id>:<key_secret>'" in malformed.message


async def test_locked_account_is_403(env: Env, fal: FalClient) -> None:
    env.sim.update_faults({"locked": True})
    err = await raises(fal.submit(TEXT_TO_VIDEO, T2V))
    assert (err.status, err.is_auth, err.is_locked, err.retryable) == (403, True, True, False)
    assert err.message.startswith("User is locked. Reason: Exhausted balance")


async def test_validation_422_is_typed(fal: FalClient) -> None:
    err = await raises(fal.submit(TEXT_TO_VIDEO, {"prompt": "p", "duration": 7, "aspect_ratio": "21:9"}))
    assert (err.status, err.error_type, err.retryable, err.is_content_policy) == (422, None, False, False)
    assert err.details == (
        FalErrorDetail(
            ("body", "aspect_ratio"),
            "Input should be '16:9', '9:16', '1:1', '4:5', '5:4', '3:2' or '2:3'",
            "enum",
            "https://docs.fal.ai/errors/#enum",
        ),
        FalErrorDetail(
            ("body", "duration"), "Input should be 5 or 10", "enum", "https://docs.fal.ai/errors/#enum"
        ),
    )
    assert err.detail_types == ("enum", "enum")
    assert "body.duration: Input should be 5 or 10" in str(err)
    frames = await raises(fal.submit(PIKAFRAMES, {"image_urls": ["https://example.com/a.png"]}))
    assert frames.details[0].loc == ("body", "image_urls") and frames.details[0].type == "too_short"


async def test_content_policy_violation(env: Env, fal: FalClient) -> None:
    sub = await fal.submit(TEXT_TO_VIDEO, {"prompt": "something forbidden"})
    await env.done(sub.request_id)
    status = await fal.status(sub.status_url)
    assert (status.failed, status.error_type) == (True, "content_policy_violation")
    err = await raises(fal.result(sub.response_url))
    assert (err.status, err.is_content_policy, err.retryable) == (422, True, False)
    assert err.details[0].loc == ("body", "prompt")


async def test_silent_result_failure(env: Env, fal: FalClient) -> None:
    env.sim.update_faults({"result_error_next": 1})
    sub = await fal.submit(TEXT_TO_VIDEO, T2V)
    await env.done(sub.request_id)
    assert not (await fal.status(sub.status_url)).failed
    err = await raises(fal.result(sub.response_url))
    assert (err.status, err.detail_types) == (422, ("no_media_generated",))


async def test_504_request_timeout_at_submit(env: Env, fal: FalClient) -> None:
    env.sim.update_faults({"submit_fail_next": 1})
    err = await raises(fal.submit(TEXT_TO_VIDEO, T2V))
    assert (err.status, err.error_type, err.message, err.retryable, err.ambiguous) == (
        504,
        "request_timeout",
        "Request timed out",
        True,
        False,
    )
    assert err.request_id is not None
    assert str(err) == "fal HTTP 504 [request_timeout]: Request timed out"


async def test_user_start_timeout_is_not_retryable(env: Env, fal: FalClient) -> None:
    env.sim.update_faults({"stuck_queued": True})
    sub = await fal.submit(TEXT_TO_VIDEO, T2V, start_timeout=0.05)
    await env.done(sub.request_id)
    err = await raises(fal.result(sub.response_url))
    assert (err.status, err.error_type, err.retryable) == (504, "request_timeout", False)


async def test_runner_errors_after_retries(env: Env, fal: FalClient) -> None:
    env.sim.update_config({"max_attempts": 1})
    env.sim.update_faults({"fail_next": 1, "fail_error_type": "runner_incomplete_response"})
    sub = await fal.submit(TEXT_TO_VIDEO, T2V)
    await env.done(sub.request_id)
    status = await fal.status(sub.status_url)
    assert (status.error, status.error_type) == (
        "Runner returned an incomplete response",
        "runner_incomplete_response",
    )
    err = await raises(fal.result(sub.response_url))
    assert (err.status, err.error_type, err.retryable) == (502, "runner_incomplete_response", True)


async def test_ingress_errors_are_retryable_and_ambiguous_on_submit(env: Env, fal: FalClient) -> None:
    env.sim.update_faults({"ingress_error_next": 1, "ingress_error_status": 503})
    err = await raises(fal.submit(TEXT_TO_VIDEO, T2V))
    assert (err.status, err.error_type, err.retryable, err.ambiguous, err.request_id) == (
        503,
        None,
        True,
        False,
        None,
    )
    assert err.message == "HTTP 503 Service Unavailable"
    env.sim.update_faults({"ingress_error_next": 1, "ingress_error_status": 502})
    assert (await raises(fal.submit(TEXT_TO_VIDEO, T2V))).ambiguous
    sub = await fal.submit(TEXT_TO_VIDEO, T2V)
    env.sim.update_faults({"ingress_error_next": 1, "ingress_error_status": 504})
    polled = await raises(fal.status(sub.status_url))
    assert (polled.retryable, polled.ambiguous) == (True, False)


async def test_malformed_answers(env: Env, fal: FalClient) -> None:
    env.sim.update_faults({"stuck_queued": True})
    sub = await fal.submit(TEXT_TO_VIDEO, T2V)
    env.sim.update_faults({"malformed_json": True})
    err = await raises(fal.status(sub.status_url))
    assert (err.status, err.message, err.retryable) == (202, "malformed status answer", True)
    submit = await raises(fal.submit(TEXT_TO_VIDEO, T2V))
    assert (submit.status, submit.ambiguous) == (200, True)


async def test_timeout_after_sending_a_submit_is_ambiguous(env: Env) -> None:
    env.sim.update_faults({"accept_then_delay": 0.4})
    fal = env.client(request_timeout=0.2)
    err = await raises(fal.submit(TEXT_TO_VIDEO, T2V))
    assert (err.status, err.ambiguous, err.retryable) == (None, True, True)
    assert str(err).startswith("fal transport error")
    assert len(env.sim.requests) == 1  # it did arrive


async def test_slow_status_is_not_ambiguous(env: Env, fal: FalClient) -> None:
    sub = await fal.submit(TEXT_TO_VIDEO, T2V)
    env.sim.update_faults({"delay_seconds": 0.4})
    err = await raises(env.client(request_timeout=0.2).status(sub.status_url))
    assert (err.status, err.ambiguous, err.retryable) == (None, False, True)


async def test_connection_refused_is_not_ambiguous(env: Env) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    fal = FalClient(base, DEFAULT_KEY, env.http, rest_base_url=base)
    err = await raises(fal.submit(TEXT_TO_VIDEO, T2V))
    assert (err.status, err.ambiguous, err.retryable) == (None, False, True)
    assert (await raises(fal.upload(PNG, "image/png", "x.png"))).status is None


# ---------------------------------------------------------------------------------------------------
# Keeping the key safe
# ---------------------------------------------------------------------------------------------------


async def test_key_only_goes_to_the_configured_origin(env: Env, fal: FalClient) -> None:
    before = len(env.sim.recorded)
    for url in ("http://127.0.0.2:1/fal-ai/pika/requests/x/status", "/fal-ai/pika/requests/x", "nonsense"):
        err = await raises(fal.status(url))
        assert err.status is None and "refusing" in err.message
    await raises(fal.cancel("https://queue.fal.run/fal-ai/pika/requests/x/cancel"))
    await raises(fal.result("http://localhost:1/fal-ai/pika/requests/x"))
    assert len(env.sim.recorded) == before


async def test_echoed_secrets_are_scrubbed(env: Env) -> None:
    async def echo(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        body = {"detail": [{"loc": ["header", header], "msg": f"bad {header}", "type": "value_error"}]}
        if request.method == "PUT":
            return web.json_response({"detail": f"nope {header}", "error_type": "bad_request"}, status=400)
        return web.json_response(body, status=422)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        fal = FalClient(base, DEFAULT_KEY, env.http)
        err = await raises(fal.submit(TEXT_TO_VIDEO, T2V))
        assert err.details[0].msg == "bad Key [redacted]"
        assert err.details[0].loc == ("header", "Key [redacted]")
        put = await raises(fal.cancel(f"{base}/fal-ai/pika/requests/x/cancel"))
        assert (put.message, put.error_type) == ("nope Key [redacted]", "bad_request")
    finally:
        await runner.cleanup()


async def test_key_never_in_repr_or_logs(env: Env, fal: FalClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert DEFAULT_KEY not in repr(fal) and SECRET not in repr(fal)
    sub = await fal.submit(TEXT_TO_VIDEO, T2V, "http://127.0.0.1:9/hook/s3cr3t")
    await fal.status(sub.status_url)
    await fal.upload(PNG, "image/png", "cat.png")
    text = caplog.text
    assert "fal POST" in text
    assert SECRET not in text and "s3cr3t" not in text


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
