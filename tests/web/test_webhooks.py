"""The webhook server over real sockets: capability tokens, body limits, duplicates, health, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.observability.metrics import Metrics
from bot.web.webhooks import WebhookServer
from tests.helpers.engine import Engine, start_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    running = await start_engine(tmp_path, callback_grace=60)
    running.sim.sim.faults.hold_jobs = True
    running.sim.sim.faults.drop_callbacks = True
    try:
        yield running
    finally:
        await running.stop()


async def running_job_url(engine: Engine) -> str:
    """Submit a job, wait until it runs upstream, and return its callback URL (as useapi got it)."""
    await engine.service.submit(
        JobRequest(kind=JobKind.CREATE, owner_id=1, origin=Origin(1, 2), prompt="a lighthouse at dusk")
    )
    await engine.wait_until(lambda jobs: jobs[-1].state is JobState.RUNNING, timeout=5)
    post = [r for r in engine.sim.sim.requests if r.method == "POST"][-1]
    return post.fields["replyUrl"]


def base(engine: Engine) -> str:
    assert engine.webhooks is not None
    return f"http://127.0.0.1:{engine.webhooks.port}"


def job_gets(engine: Engine) -> int:
    return sum(
        1 for r in engine.sim.sim.requests if r.method == "GET" and r.path.startswith("/v1/pika/jobs/")
    )


async def test_unknown_tokens_and_providers_are_404(engine: Engine) -> None:
    """Guessing a token, or the right token under another provider name, finds nothing."""
    url = await running_job_url(engine)
    token = url.rsplit("/", 1)[1]
    async with aiohttp.ClientSession() as session:
        for path in (
            f"/callbacks/useapi/{'x' * 43}",
            f"/callbacks/apiglue/{token}",
            f"/callbacks/useapi/{'y' * 500}",
        ):
            async with session.post(base(engine) + path, json={"jobid": "j"}) as response:
                assert response.status == 404, path
    assert job_gets(engine) == 0


async def test_body_limits_and_shapes(engine: Engine) -> None:
    """Over 64 KiB is 413 (with or without Content-Length); non-JSON and non-objects are 400."""
    url = await running_job_url(engine)

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 4096

    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=b"{" + b" " * (64 * 1024) + b"}") as response:
            assert response.status == 413
        async with session.post(url, data=chunked()) as response:
            assert response.status == 413
        async with session.post(url, data=b"not json") as response:
            assert response.status == 400
        async with session.post(url, json=["a", "list"]) as response:
            assert response.status == 400
    assert job_gets(engine) == 0


async def test_concurrent_duplicates_confirm_once(engine: Engine) -> None:
    """Ten copies of one callback at once: all 200, one confirming GET while it is still running."""
    url = await running_job_url(engine)
    async with aiohttp.ClientSession() as session:

        async def post() -> int:
            async with session.post(url, json={"jobid": "whatever", "status": "progress"}) as response:
                return response.status

        statuses = await asyncio.gather(*(post() for _ in range(10)))
    assert statuses == [200] * 10
    await asyncio.sleep(0.3)
    assert 1 <= job_gets(engine) <= 2  # one confirm; a second only if a copy came after it finished
    job = (await engine.store.all_jobs())[-1]
    assert job.state is JobState.RUNNING


async def test_spent_token_after_the_job_ends(engine: Engine) -> None:
    """Once the job is finished its callback URL answers 404 and changes nothing."""
    url = await running_job_url(engine)
    engine.sim.sim.release_all()
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"jobid": "x"}) as response:
            assert response.status == 200
        await engine.wait_all_terminal()
        async with session.post(url, json={"jobid": "x", "status": "completed"}) as response:
            assert response.status == 404
    assert len(engine.delivery.results) == 1


async def test_healthz_reports_database_and_upstream(engine: Engine) -> None:
    """/healthz: 200 with the database ok and the upstream's last success."""
    await running_job_url(engine)
    async with aiohttp.ClientSession() as session, session.get(base(engine) + "/healthz") as response:
        assert response.status == 200
        body = await response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["upstream"]["useapi"]["last_ok_at"] is not None
    assert body["upstream"]["useapi"]["last_error"] is None


@pytest.fixture
async def metered(engine: Engine) -> AsyncIterator[tuple[Metrics, str]]:
    """A second webhook server on the same engine, with metrics (the harness's has none)."""
    metrics = Metrics()
    server = WebhookServer(engine.service, "127.0.0.1", 0, metrics)
    await server.start()
    try:
        yield metrics, f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def test_metrics_is_404_without_metrics(engine: Engine) -> None:
    """A server built without Metrics has no /metrics route."""
    async with aiohttp.ClientSession() as session, session.get(base(engine) + "/metrics") as response:
        assert response.status == 404


async def test_metrics_endpoint_counts_callback_results(engine: Engine, metered: tuple[Metrics, str]) -> None:
    """/metrics answers Prometheus text; every callback is counted under the result it got."""
    _, root = metered
    token = (await running_job_url(engine)).rsplit("/", 1)[1]
    url = f"{root}/callbacks/useapi/{token}"
    async with aiohttp.ClientSession() as session:
        for body, status in ((b"not json", 400), (b"[1]", 400), (b'{"jobid": "x"}', 200)):
            async with session.post(url, data=body) as response:
                assert response.status == status
        async with session.post(url, data={"jobid": "x"}) as response:
            assert response.status == 415
        async with session.post(url, data=b"{" + b" " * (64 * 1024) + b"}") as response:
            assert response.status == 413
        # Misses spend the per-address budget (30); the 31st guess is throttled.
        statuses = []
        for n in range(31):
            async with session.post(f"{root}/callbacks/useapi/{n:043d}", json={}) as response:
                statuses.append(response.status)
        assert statuses == [404] * 30 + [429]
        async with session.get(root + "/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            text = await response.text()
    counted = {
        sample.labels["result"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "pikabot_callbacks_total"
    }
    assert counted == {
        "accepted": 1,
        "bad_request": 2,
        "bad_signature": 0,
        "unsupported_type": 1,
        "too_large": 1,
        "unknown_token": 30,
        "throttled": 1,
    }
    assert 'pikabot_jobs{state="running"} 1.0' in text
    assert token not in text
