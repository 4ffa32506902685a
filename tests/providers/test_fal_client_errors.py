"""The fal client's typed errors: keys, validation, failures, timeouts and malformed answers."""

from __future__ import annotations

import socket

from bot.providers.fal.answers import FalErrorDetail
from bot.providers.fal.client import FalClient
from sandbox.fal_sim import DEFAULT_KEY, PIKAFRAMES, TEXT_TO_VIDEO
from tests.helpers.fal_client import PNG, T2V, Env, env, fal, raises

__all__ = ["env", "fal"]  # fixtures shared from the helpers module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
