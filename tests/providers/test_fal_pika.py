"""FalPikaProvider against the fal simulator: models, uploads, outcomes, errors, cancel, webhook signatures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.jobs import InputFile, JobKind, JobRequest, Origin
from bot.params import VideoParams
from bot.prompt import PikaOptions, PromptError
from bot.providers.base import Account, ErrorKind, SubmitRequest, UpstreamError, UpstreamStatus
from bot.providers.fal_pika import IMAGE_TO_VIDEO, PIKAFRAMES, PIKASCENES, TEXT_TO_VIDEO, FalPikaProvider
from bot.providers.fal_prices import FalPrices, price_usd
from bot.sandbox.fal_sim import (
    RunningFalSimulator,
    SimConfig,
    default_signing_key,
    serialize_webhook_body,
    start_simulator,
    webhook_headers,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ACCOUNT = Account("fal", None, 2, provider="fal")


@pytest.fixture
async def sim() -> AsyncIterator[RunningFalSimulator]:
    running = await start_simulator(SimConfig(queue_delay=0.01, step_delay=0.02))
    yield running
    await running.close()


@pytest.fixture
async def fal(sim: RunningFalSimulator) -> AsyncIterator[FalPikaProvider]:
    provider = FalPikaProvider(
        sim.base_url, sim.sim.config.key, rest_base_url=sim.base_url, jwks_url=sim.jwks_url
    )
    yield provider
    await provider.close()


def image(n: int = 1) -> InputFile:
    return InputFile(f"image_{n}", f"pic{n}.png", "image/png", PNG)


def request(kind: JobKind = JobKind.CREATE, prompt: str = "a fox", **kwargs: object) -> JobRequest:
    return JobRequest(kind=kind, owner_id=1, origin=Origin(1, 2), prompt=prompt, provider="fal", **kwargs)  # type: ignore[arg-type]


def submit_request(req: JobRequest, reply_url: str | None = None) -> SubmitRequest:
    return SubmitRequest(
        job_id=1,
        kind=req.kind,
        prompt=req.prompt,
        options=req.options,
        account=ACCOUNT,
        reply_ref="pikabot-1",
        reply_url=reply_url,
        inputs=req.inputs,
        params=req.params,
    )


async def run_to_end(fal: FalPikaProvider, req: JobRequest) -> tuple[str, UpstreamStatus]:
    started = await fal.submit(submit_request(req))
    assert started.status is UpstreamStatus.RUNNING and started.handle
    for _ in range(200):
        snapshot = await fal.fetch(started.upstream_id, started.handle)
        if snapshot.status is not UpstreamStatus.RUNNING:
            return started.upstream_id, snapshot.status
        await asyncio.sleep(0.02)  # let the simulator's run progress between polls
    raise AssertionError("never finished")


@pytest.mark.parametrize(
    ("kind", "inputs", "model"),
    [
        (JobKind.CREATE, (), TEXT_TO_VIDEO),
        (JobKind.CREATE, (image(),), IMAGE_TO_VIDEO),
        (JobKind.ANIMATE, (image(),), IMAGE_TO_VIDEO),
        (JobKind.SCENES, (image(1), image(2), image(3)), PIKASCENES),
        (JobKind.FRAMES, (image(1), image(2)), PIKAFRAMES),
    ],
)
async def test_each_command_runs_on_its_model_with_uploaded_images(
    fal: FalPikaProvider, sim: RunningFalSimulator, kind: JobKind, inputs: tuple[InputFile, ...], model: str
) -> None:
    """The model follows the command; images reach fal as fal-storage URLs, never Discord links."""
    req = request(kind, inputs=inputs, params=VideoParams(seed=7))
    fal.check(req)
    upstream_id, status = await run_to_end(fal, req)
    assert status is UpstreamStatus.COMPLETED
    queued = sim.sim.requests[upstream_id]
    assert queued.model_id == model and queued.arguments["seed"] == 7
    many = queued.arguments.get("image_urls")
    one = queued.arguments.get("image_url")
    urls = [str(u) for u in many] if isinstance(many, list) else ([str(one)] if one else [])
    assert len(urls) == len(inputs)
    assert all(u.startswith(sim.base_url + "/files/") for u in urls)
    snapshot = await fal.fetch(upstream_id, None)  # no stored handle: the owner/app URLs are rebuilt
    assert snapshot.status is UpstreamStatus.COMPLETED and snapshot.video is not None


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (request(params=VideoParams(motion=2)), "motion"),
        (
            request(JobKind.ANIMATE, inputs=(image(),), params=VideoParams(aspect_ratio="16:9")),
            "aspect_ratio",
        ),
        (request(JobKind.FRAMES, inputs=(image(1), image(2)), params=VideoParams(duration=5)), "duration"),
        (request(params=VideoParams(resolution="4k")), "resolution"),
        (request(params=VideoParams(duration=7)), "duration"),
        (request(params=VideoParams(aspect_ratio="21:9")), "aspect_ratio"),
        (request(JobKind.SCENES, inputs=(image(),)), "image"),
        (request(JobKind.ANIMATE), "image"),
        (request(prompt=" "), "prompt"),
        (request(options=PikaOptions(guidance=12)), "prompt"),
    ],
)
def test_check_refuses_what_the_model_would_reject_or_ignore(
    fal: FalPikaProvider, req: JobRequest, field: str
) -> None:
    """Each refusal names the option to change."""
    with pytest.raises(PromptError) as caught:
        fal.check(req)
    assert caught.value.field == field


async def test_content_policy_is_moderated_and_result_errors_fail(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """A banned word ends MODERATED; a clean status with a failing result (422) ends FAILED with fal's msg."""
    _, status = await run_to_end(fal, request(prompt="something forbidden"))
    assert status is UpstreamStatus.MODERATED
    sim.sim.faults.result_error_next = 1
    _, status = await run_to_end(fal, request(prompt="a calm lake"))
    assert status is UpstreamStatus.FAILED


@pytest.mark.parametrize(
    ("fault", "kind"),
    [({"locked": True}, ErrorKind.PAYMENT_REQUIRED), ({"submit_fail_next": 1}, ErrorKind.TRANSIENT)],
)
async def test_submit_errors_are_typed(
    fal: FalPikaProvider, sim: RunningFalSimulator, fault: dict[str, object], kind: ErrorKind
) -> None:
    """403 locked (no credit) is PAYMENT_REQUIRED for the engine's account health; 504 is TRANSIENT."""
    sim.sim.update_faults(fault)
    with pytest.raises(UpstreamError) as caught:
        await fal.submit(submit_request(request()))
    assert caught.value.kind is kind
    assert sim.sim.config.key not in str(caught.value) and sim.sim.config.key not in repr(fal)


async def test_wrong_key_is_unauthorized(sim: RunningFalSimulator) -> None:
    provider = FalPikaProvider(sim.base_url, "wrong:key", rest_base_url=sim.base_url, jwks_url=sim.jwks_url)
    try:
        with pytest.raises(UpstreamError) as caught:
            await provider.submit(submit_request(request()))
        assert caught.value.kind is ErrorKind.UNAUTHORIZED
    finally:
        await provider.close()


async def test_cancel_answers(fal: FalPikaProvider, sim: RunningFalSimulator) -> None:
    """Queued → accepted; finished → INVALID_REQUEST; unknown → NOT_FOUND."""
    sim.sim.faults.stuck_queued = True
    queued = await fal.submit(submit_request(request()))
    await fal.cancel(queued.upstream_id, queued.handle)
    sim.sim.faults.stuck_queued = False
    upstream_id, _ = await run_to_end(fal, request(prompt="done"))
    with pytest.raises(UpstreamError) as finished:
        await fal.cancel(upstream_id, None)
    assert finished.value.kind is ErrorKind.INVALID_REQUEST
    with pytest.raises(UpstreamError) as unknown:
        await fal.cancel("00000000-0000-4000-8000-000000000000", None)
    assert unknown.value.kind is ErrorKind.NOT_FOUND


def signed(body: bytes, *, key: Ed25519PrivateKey | None = None, ts: int | None = None) -> dict[str, str]:
    return webhook_headers(key or default_signing_key(), "req-1", "github|u", ts or int(time.time()), body)


async def test_webhook_signatures(fal: FalPikaProvider) -> None:
    """Valid passes; a wrong key, a stale timestamp, an altered body or a missing header is refused."""
    body = serialize_webhook_body({"request_id": "req-1", "status": "OK", "payload": None, "error": None})
    assert await fal.authenticate_callback(signed(body), body) is None
    assert fal.callback_upstream_id({"request_id": "req-1"}) == "req-1"
    assert await fal.authenticate_callback(signed(body, key=Ed25519PrivateKey.generate()), body) is not None
    assert await fal.authenticate_callback(signed(body, ts=int(time.time()) - 301), body) is not None
    assert await fal.authenticate_callback(signed(body), body + b" ") is not None
    for header in (
        "X-Fal-Webhook-Request-Id",
        "X-Fal-Webhook-User-Id",
        "X-Fal-Webhook-Timestamp",
        "X-Fal-Webhook-Signature",
    ):
        headers = signed(body)
        del headers[header]
        assert await fal.authenticate_callback(headers, body) is not None


def test_prices() -> None:
    """Clips per 5 s by resolution (scenes default 1080p), frames per second with a 5 s minimum."""
    prices = FalPrices()
    assert price_usd(prices, JobKind.CREATE, VideoParams(), 0) == pytest.approx(0.20)
    assert price_usd(
        prices, JobKind.CREATE, VideoParams(resolution="1080p", duration=10), 0
    ) == pytest.approx(0.90)
    assert price_usd(prices, JobKind.SCENES, VideoParams(), 3) == pytest.approx(0.45)
    assert price_usd(prices, JobKind.FRAMES, VideoParams(), 2) == pytest.approx(0.20)
    assert price_usd(prices, JobKind.FRAMES, VideoParams(resolution="1080p"), 5) == pytest.approx(1.20)
