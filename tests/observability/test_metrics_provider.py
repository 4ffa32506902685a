"""MeteredProvider against the useapi simulator: ok, HTTP errors and no answer are counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.jobs import JobKind
from bot.domain.prompt import PikaOptions
from bot.observability.metrics import Metrics
from bot.providers.base import (
    Account,
    ErrorKind,
    Provider,
    SubmitRequest,
    UpstreamError,
    UpstreamStatus,
    executing_lister,
)
from bot.providers.metered import MeteredProvider
from bot.providers.useapi import Timeouts, UseapiPikaProvider
from bot.store import JobStore
from sandbox.useapi_sim import DEFAULT_CHANNEL, RunningSimulator, SimConfig, start_simulator
from tests.helpers.metrics import closed_port, gauges, store, value

__all__ = ["store"]  # fixtures shared from the helpers module


# -- MeteredProvider against the useapi simulator ---------------------------------------------


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(SimConfig(job_complete_delay=0.1))
    try:
        yield running
    finally:
        await running.close()


def submit_request() -> SubmitRequest:
    account = Account(DEFAULT_CHANNEL, DEFAULT_CHANNEL, 10)
    return SubmitRequest(
        job_id=7, kind=JobKind.CREATE, prompt="a fox", options=PikaOptions(), account=account, reply_ref="7"
    )


async def test_metered_provider_counts_ok_and_errors(sim: RunningSimulator, store: JobStore) -> None:
    """ok, an HTTP status with its kind, and "none" when nothing answered; the error is the provider's own."""
    metrics = Metrics()
    inner = UseapiPikaProvider(sim.base_url, sim.sim.config.api_token, timeouts=Timeouts(submit_total=5))
    metered: Provider = MeteredProvider(inner, metrics)
    try:
        assert (metered.name, metered.display_name, metered.retries_upstream) == (
            "useapi",
            "useapi.net",
            True,
        )
        assert metered.capabilities is inner.capabilities and metered.health is inner.health
        started = await metered.submit(submit_request())
        assert started.status is UpstreamStatus.RUNNING
        await metered.fetch(started.upstream_id)
        assert (await metered.find_by_ref("7")) is not None
        with pytest.raises(UpstreamError) as missing:
            await metered.fetch("no-such-job")
        assert missing.value.kind is ErrorKind.NOT_FOUND and missing.value.status == 404
        # Re-raised as it was: the traceback still ends where the provider raised it.
        assert Path(str(missing.traceback[-1].path)).name == "useapi.py"
        # The executing list passes through the wrapper (declared capability) and is counted too.
        lister = executing_lister(metered)
        assert lister is not None
        executing = await lister.executing()
        assert started.upstream_id in executing
    finally:
        await metered.close()

    unreachable = MeteredProvider(
        UseapiPikaProvider(f"http://127.0.0.1:{closed_port()}/v1/", "token"), metrics
    )
    try:
        with pytest.raises(UpstreamError) as refused:
            await unreachable.cancel("j1")
        assert refused.value.kind is ErrorKind.TRANSIENT and refused.value.status is None
    finally:
        await unreachable.close()

    text = (metrics.render(await gauges(store))).decode()

    def requests(operation: str, status: str) -> float:
        return value(
            text, "pikabot_upstream_requests_total", provider="useapi", operation=operation, status=status
        )

    assert requests("submit", "ok") == 1
    assert requests("fetch", "ok") == 1
    assert requests("find_by_ref", "ok") == 1  # one call, however many requests it took
    assert requests("fetch", "404") == 1
    assert requests("executing", "ok") == 1
    assert requests("cancel", "none") == 1
    errors = "pikabot_upstream_errors_total"
    assert value(text, errors, provider="useapi", operation="fetch", kind="not_found") == 1
    assert value(text, errors, provider="useapi", operation="cancel", kind="transient") == 1
    assert value(text, errors, provider="useapi", operation="submit", kind="not_found") == 0
