"""The API Glue provider's errors: statuses, refusals, tokens, bad answers and timeouts, typed."""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import pytest
from aiohttp import web

from bot.domain.params import VideoParams
from bot.providers.apiglue import ApiGlueProvider, Timeouts
from bot.providers.apiglue_answers import classify, parse_retry_after
from bot.providers.base import ErrorKind, UpstreamError, UpstreamJob
from sandbox.apiglue_sim import RunningGlueSimulator
from tests.helpers.apiglue import provider, sim, submit_request

__all__ = ["provider", "sim"]  # fixtures shared from the helpers module


Call = Callable[[], Awaitable[UpstreamJob]]


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ErrorKind.INVALID_REQUEST),
        (401, ErrorKind.UNAUTHORIZED),
        (402, ErrorKind.PAYMENT_REQUIRED),
        (404, ErrorKind.NOT_FOUND),
        (422, ErrorKind.MODERATED),
        (429, ErrorKind.RATE_LIMITED),
        (500, ErrorKind.TRANSIENT),
        (503, ErrorKind.TRANSIENT),
    ],
)
async def test_error_statuses(
    provider: ApiGlueProvider, sim: RunningGlueSimulator, status: int, kind: ErrorKind
) -> None:
    """Each status, on a submit and on a fetch, maps to its kind and carries the body's error text."""
    sim.sim.update_faults({"submit_status": status, "poll_status": status})
    calls: tuple[Call, ...] = (lambda: provider.submit(submit_request()), lambda: provider.fetch("any"))
    for call in calls:
        with pytest.raises(UpstreamError) as caught:
            await call()
        assert caught.value.kind is kind and caught.value.status == status
        assert HTTPStatus(status).phrase in caught.value.message


async def test_real_refusals(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """The simulator's own 400, 404, 422 and 429 answers, with their texts."""
    with pytest.raises(UpstreamError) as caught:
        await provider.fetch("no-such-job")
    assert (caught.value.kind, caught.value.message) == (ErrorKind.NOT_FOUND, "Job not found")
    with pytest.raises(UpstreamError) as caught:
        await provider.submit(submit_request(prompt="something forbidden"))
    assert (caught.value.kind, caught.value.message) == (ErrorKind.MODERATED, "Prompt flagged by moderation")
    sim.sim.faults.rate_limit_next = 1
    with pytest.raises(UpstreamError) as caught:
        await provider.submit(submit_request())
    assert caught.value.kind is ErrorKind.RATE_LIMITED and caught.value.retry_after is None
    # Documented answers about the job leave API Glue healthy.
    assert provider.health.last_error is None
    with pytest.raises(UpstreamError) as caught:
        await provider.submit(submit_request(params=VideoParams(seed=-1)))  # check() skipped on purpose
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert caught.value.message == "options.parameters.seed must be a non-negative integer or null"
    assert provider.health.last_error == f"invalid_request: {caught.value.message}"  # our request was wrong


async def test_bad_and_expired_tokens(sim: RunningGlueSimulator) -> None:
    """401 for a wrong token, 402 for a lapsed one; the token is never in errors, health or repr."""
    for token, kind in (
        ("wrong-but-long-secret-token", ErrorKind.UNAUTHORIZED),
        (sim.sim.config.expired_token, ErrorKind.PAYMENT_REQUIRED),
    ):
        client = ApiGlueProvider(sim.base_url, token)
        try:
            with pytest.raises(UpstreamError) as caught:
                await client.submit(submit_request())
            assert caught.value.kind is kind
            assert token not in str(caught.value) and token not in repr(caught.value)
            assert token not in repr(client)
            assert client.health.last_error is not None and token not in client.health.last_error
        finally:
            await client.close()


async def test_an_echoed_token_is_scrubbed() -> None:
    """An upstream that echoes the Authorization header back does not get the token into errors."""

    async def echo(request: web.Request) -> web.Response:
        body = {"error": f"bad header {request.headers['Authorization']}", "code": 500}
        return web.json_response(body, status=500)

    app = web.Application()
    app.router.add_post("/web/generate", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    token = "glue-very-secret-token"
    client = ApiGlueProvider(f"http://127.0.0.1:{runner.addresses[0][1]}", token)
    try:
        with pytest.raises(UpstreamError) as caught:
            await client.submit(submit_request())
        assert (
            caught.value.kind is ErrorKind.TRANSIENT and "bad header Bearer [token]" in caught.value.message
        )
        assert token not in str(caught.value) and token not in (client.health.last_error or "")
    finally:
        await client.close()
        await runner.cleanup()


async def test_html_malformed_and_huge_answers(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """HTML 502 and bad answers to a GET are TRANSIENT; a truncated 200 to a submit is AMBIGUOUS."""
    job = await provider.submit(submit_request())
    sim.sim.faults.html_error = True
    calls: tuple[Call, ...] = (
        lambda: provider.submit(submit_request()),
        lambda: provider.fetch(job.upstream_id),
    )
    for call in calls:
        with pytest.raises(UpstreamError) as caught:
            await call()
        assert caught.value.kind is ErrorKind.TRANSIENT and "HTML" in caught.value.message
    sim.sim.faults.html_error = False
    sim.sim.faults.malformed_json = True
    with pytest.raises(UpstreamError) as caught:
        await provider.fetch(job.upstream_id)
    assert caught.value.kind is ErrorKind.TRANSIENT
    with pytest.raises(UpstreamError) as caught:
        await provider.submit(submit_request())  # the simulator made the job, then mangled the answer
    assert caught.value.kind is ErrorKind.AMBIGUOUS
    sim.sim.faults.malformed_json = False
    sim.sim.faults.huge_body = True
    with pytest.raises(UpstreamError) as caught:
        await provider.fetch(job.upstream_id)
    assert caught.value.kind is ErrorKind.TRANSIENT and "a job record is a few KiB" in caught.value.message
    assert provider.health.last_error is not None


async def test_connection_refused_is_transient() -> None:
    """Nothing listening: nothing was sent, so it is safe to retry (TRANSIENT, not AMBIGUOUS)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ApiGlueProvider(f"http://127.0.0.1:{port}", "t")
    try:
        with pytest.raises(UpstreamError) as caught:
            await client.submit(submit_request())
        assert caught.value.kind is ErrorKind.TRANSIENT
    finally:
        await client.close()


async def test_timeouts(sim: RunningGlueSimulator) -> None:
    """A late submit answer is AMBIGUOUS (the job exists upstream); a late GET is TRANSIENT."""
    client = ApiGlueProvider(
        sim.base_url, sim.sim.config.api_token, timeouts=Timeouts(submit_total=0.3, read_total=0.3)
    )
    try:
        sim.sim.faults.accept_then_delay = 1.0
        with pytest.raises(UpstreamError) as caught:
            await client.submit(submit_request(reply_ref="lost-1"))
        assert caught.value.kind is ErrorKind.AMBIGUOUS
        assert [j.ref for j in sim.sim.jobs.values()] == ["lost-1"]
        sim.sim.faults.accept_then_delay = 0
        sim.sim.faults.delay_seconds = 1.0
        with pytest.raises(UpstreamError) as caught:
            await client.fetch(next(iter(sim.sim.jobs)))
        assert caught.value.kind is ErrorKind.TRANSIENT
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("status", "body", "retry_after", "kind", "wait"),
    [
        (429, {"error": "Too Many Requests", "code": 429}, "7", ErrorKind.RATE_LIMITED, 7.0),
        (429, {"error": "Too Many Requests", "code": 429}, "soon", ErrorKind.RATE_LIMITED, None),
        (429, None, "Wed, 21 Oct 2015 07:28:00 GMT", ErrorKind.RATE_LIMITED, 0.0),
        (502, None, None, ErrorKind.TRANSIENT, None),
        (403, {"error": "Forbidden"}, None, ErrorKind.INVALID_REQUEST, None),
    ],
)
def test_classify(
    status: int, body: object, retry_after: str | None, kind: ErrorKind, wait: float | None
) -> None:
    """Retry-After (seconds or a date) becomes retry_after; other answers keep their text."""
    raw = json.dumps(body).encode() if body is not None else b"<html>Bad gateway</html>"
    with pytest.raises(UpstreamError) as caught:
        classify(status, raw, retry_after=retry_after, submitting=True)
    assert caught.value.kind is kind and caught.value.retry_after == wait
    assert parse_retry_after(None) is None
