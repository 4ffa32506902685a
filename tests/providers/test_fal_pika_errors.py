"""FalPikaProvider errors: fal's refusals become typed errors that never show the key."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from bot.domain.jobs import JobRequest
from bot.domain.params import VideoParams
from bot.providers.base import ErrorKind, UpstreamError
from bot.providers.fal.pika import FalPikaProvider
from sandbox.fal_sim import DEFAULT_KEY, RunningFalSimulator
from tests.helpers.fal_pika import fal, image, request, sim, submit_request

__all__ = ["fal", "sim"]  # fixtures shared from the helpers module


# -- typed errors -----------------------------------------------------------------------------------


@dataclass
class Case:
    faults: dict[str, object] = field(default_factory=dict)
    key: str = DEFAULT_KEY
    req: JobRequest = field(default_factory=request)


@pytest.mark.parametrize(
    ("case", "kind", "status"),
    [
        (Case(key="sim-key-id:wrong-secret"), ErrorKind.UNAUTHORIZED, 401),
        (Case(faults={"locked": True}), ErrorKind.PAYMENT_REQUIRED, 403),
        (Case(faults={"locked": True}, req=request(inputs=(image(),))), ErrorKind.PAYMENT_REQUIRED, 403),
        (Case(faults={"ingress_error_next": 1, "ingress_error_status": 429}), ErrorKind.RATE_LIMITED, 429),
        (Case(faults={"submit_fail_next": 1}), ErrorKind.TRANSIENT, 504),
        (Case(faults={"ingress_error_next": 1, "ingress_error_status": 504}), ErrorKind.AMBIGUOUS, 504),
    ],
    ids=["401", "403", "403-at-upload", "429", "504-request-timeout", "504-ingress"],
)
async def test_submit_errors_are_typed_and_never_show_the_key(
    sim: RunningFalSimulator, caplog: pytest.LogCaptureFixture, case: Case, kind: ErrorKind, status: int
) -> None:
    """401 → UNAUTHORIZED; 403 locked → PAYMENT_REQUIRED; 429 → RATE_LIMITED; 504 → TRANSIENT or AMBIGUOUS."""
    caplog.set_level(logging.DEBUG)
    sim.sim.update_faults(case.faults)
    provider = FalPikaProvider(sim.base_url, case.key, rest_base_url=sim.base_url, jwks_url=sim.jwks_url)
    try:
        with pytest.raises(UpstreamError) as caught:
            await provider.submit(submit_request(case.req))
    finally:
        await provider.close()
    error = caught.value
    assert error.kind is kind and error.status == status
    secret = case.key.partition(":")[2]
    for text in (str(error), repr(error), repr(provider), str(provider.health), caplog.text):
        assert secret not in text
    if kind in (ErrorKind.UNAUTHORIZED, ErrorKind.PAYMENT_REQUIRED, ErrorKind.TRANSIENT, ErrorKind.AMBIGUOUS):
        assert provider.health.last_error is not None and provider.health.last_error_at is not None


async def test_the_locked_account_says_so_for_the_admins(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """The 403 text reaches the message the engine puts in the admins' alert."""
    sim.sim.faults.locked = True
    with pytest.raises(UpstreamError) as caught:
        await fal.submit(submit_request(request()))
    assert "Exhausted balance" in caught.value.message and "credit" in caught.value.message


async def test_a_refused_input_is_invalid_with_fals_msgs(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """A 422 that is not a content check: INVALID_REQUEST, the detail msg in the member's words."""
    with pytest.raises(UpstreamError) as caught:
        await fal.submit(submit_request(request(params=VideoParams(duration=7))))  # check() skipped
    assert caught.value.kind is ErrorKind.INVALID_REQUEST and caught.value.status == 422
    assert caught.value.details == "duration: Input should be 5 or 10"
    assert fal.health.last_error is None  # an answer about the request, not about fal


async def test_a_failed_poll_is_transient(fal: FalPikaProvider, sim: RunningFalSimulator) -> None:
    """An ingress 503 on the status: TRANSIENT (the engine polls again later)."""
    started = await fal.submit(submit_request(request()))
    sim.sim.update_faults({"ingress_error_next": 1, "ingress_error_status": 503})
    with pytest.raises(UpstreamError) as caught:
        await fal.fetch(started.upstream_id, started.handle)
    assert caught.value.kind is ErrorKind.TRANSIENT
