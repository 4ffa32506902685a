"""The fal.ai simulator's failures: content policy, runner retries and the failure fault knobs."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from sandbox.fal_sim import PIKAFRAMES, TEXT_TO_VIDEO
from tests.sandbox.fal_sim.helpers import IMGS, VALID, Api, Receiver, auth, fast_config, serve


async def test_banned_word_fails_with_content_policy_violation(api: Api) -> None:
    sub = await api.submit_ok(TEXT_TO_VIDEO, {"prompt": "Something FORBIDDEN here"})
    await api.completed(sub["request_id"])
    status = await api.call("GET", sub["status_url"])
    assert status.body["error_type"] == "content_policy_violation"
    assert status.body["metrics"] == {}
    result = await api.call("GET", sub["response_url"])
    assert result.status == 422
    detail = result.body["detail"][0]
    assert (detail["loc"], detail["type"], detail["input"]) == (
        ["body", "prompt"],
        "content_policy_violation",
        "Something FORBIDDEN here",
    )
    frames = await api.submit_ok(
        PIKAFRAMES, {"image_urls": IMGS[:2], "transitions": [{"prompt": "forbidden dance"}]}
    )
    await api.completed(frames["request_id"])
    result = await api.call("GET", frames["response_url"])
    assert result.body["detail"][0]["loc"] == ["body", "transitions", 0, "prompt"]


async def test_model_errors_only_at_the_result_when_configured() -> None:
    async with serve(fast_config(model_errors_on_status=False)) as api:
        sub = await api.submit_ok(TEXT_TO_VIDEO, {"prompt": "forbidden"})
        await api.completed(sub["request_id"])
        status = await api.call("GET", sub["status_url"])
        assert "error" not in status.body and "error_type" not in status.body
        assert (await api.call("GET", sub["response_url"])).status == 422


async def test_result_error_knob_fails_only_the_result(api: Api) -> None:
    api.sim.update_faults({"result_error_next": 1})
    sub = await api.submit_ok()
    await api.completed(sub["request_id"])
    status = await api.call("GET", sub["status_url"])
    assert status.status == 200 and "error" not in status.body
    result = await api.call("GET", sub["response_url"])
    assert (result.status, result.body["detail"][0]["type"]) == (422, "no_media_generated")
    assert api.sim.faults.result_error_next == 0
    healthy = await api.submit_ok()
    await api.completed(healthy["request_id"])
    assert (await api.call("GET", healthy["response_url"])).status == 200


async def test_submit_failure_knob(api: Api) -> None:
    api.sim.update_faults({"submit_fail_next": 1})
    answer = await api.submit()
    assert (answer.status, answer.body) == (
        504,
        {"detail": "Request timed out", "error_type": "request_timeout"},
    )
    assert answer.headers["X-Fal-Error-Type"] == "request_timeout"
    assert "x-fal-request-id" in answer.headers
    assert not api.sim.requests
    api.sim.update_faults({"submit_fail_next": 1, "submit_fail_error_type": "runner_scheduling_failure"})
    assert (await api.submit()).status == 503
    assert (await api.submit()).status == 200


async def test_runner_failures_are_retried_inside_the_queue(api: Api, receiver: Receiver) -> None:
    api.sim.update_faults({"fail_next": 2, "fail_error_type": "runner_disconnected"})
    sub = await api.submit_ok(webhook=receiver.url)
    await api.completed(sub["request_id"])
    req = api.sim.requests[sub["request_id"]]
    assert req.succeeded and req.attempts == 3
    assert req.gateway_request_id != req.id
    warnings = [entry for entry in req.logs if entry["level"] == "WARN"]
    assert len(warnings) == 2
    _headers, body = await receiver.next()
    payload = json.loads(body)
    assert (payload["request_id"], payload["gateway_request_id"]) == (req.id, req.gateway_request_id)


@pytest.mark.parametrize(
    ("config", "headers"),
    [({"max_attempts": 2}, {}), ({}, {"X-Fal-No-Retry": "1"})],
)
async def test_runner_failures_end_the_request_when_retries_run_out(
    config: dict[str, Any], headers: dict[str, str]
) -> None:
    async with serve(fast_config(**config)) as api:
        api.sim.update_faults({"fail_next": 5, "fail_error_type": "runner_server_error"})
        sub = await api.submit_ok(headers=headers)
        await api.completed(sub["request_id"])
        status = await api.call("GET", sub["status_url"])
        assert (status.body["error"], status.body["error_type"]) == (
            "Runner server error",
            "runner_server_error",
        )
        result = await api.call("GET", sub["response_url"])
        assert (result.status, result.body["error_type"]) == (500, "runner_server_error")
        assert result.headers["X-Fal-Error-Type"] == "runner_server_error"
        assert api.sim.requests[sub["request_id"]].attempts == (2 if config else 1)


async def test_model_error_injection_is_not_retried(api: Api) -> None:
    api.sim.update_faults({"fail_next": 1, "fail_error_type": "downstream_service_unavailable"})
    sub = await api.submit_ok()
    await api.completed(sub["request_id"])
    result = await api.call("GET", sub["response_url"])
    assert (result.status, result.body["detail"][0]["type"]) == (500, "downstream_service_unavailable")
    assert api.sim.requests[sub["request_id"]].attempts == 1


async def test_ingress_errors_have_no_request_id(api: Api) -> None:
    api.sim.update_faults({"ingress_error_next": 2, "ingress_error_status": 502})
    first = await api.submit()
    assert first.status == 502 and "nginx" in first.body
    assert "x-fal-request-id" not in {k.lower() for k in first.headers}
    assert (await api.call("GET", "/fal-ai/pika/requests/x/status")).status == 502
    assert (await api.submit()).status == 200


async def test_malformed_json_and_accept_then_delay_knobs(api: Api) -> None:
    api.sim.update_faults({"malformed_json": True})
    answer = await api.submit()
    assert answer.status == 200 and isinstance(answer.body, str)
    api.sim.update_faults({"malformed_json": False, "accept_then_delay": 0.4})
    timeout = aiohttp.ClientTimeout(total=0.2)
    with pytest.raises(TimeoutError):
        async with api.http.post(
            f"{api.base}/{TEXT_TO_VIDEO}", json=VALID[TEXT_TO_VIDEO], headers=auth(), timeout=timeout
        ):
            pass
    assert len(api.sim.requests) == 2  # accepted although the client gave up


async def test_finish_and_fail_helpers(api: Api) -> None:
    api.sim.update_faults({"stuck_queued": True})
    one = (await api.submit_ok())["request_id"]
    two = (await api.submit_ok())["request_id"]
    assert api.sim.finish_now(one) and not api.sim.finish_now(one)
    assert api.sim.requests[one].succeeded
    with pytest.raises(ValueError, match="unknown error type"):
        api.sim.fail_now(two, "bogus")
    assert api.sim.fail_now(two, "content_policy_violation")
    assert api.sim.requests[two].result_status == 422
    assert api.sim.waiting_ids() == []
