"""FalPikaProvider against the fal simulator on 127.0.0.1: models, uploads, outcomes, errors, cancel, webhooks."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.domain.jobs import InputFile, JobKind, JobRequest, Origin
from bot.domain.params import VideoParams
from bot.domain.prompt import PikaOptions, PromptError
from bot.providers.base import Account, ErrorKind, SubmitRequest, UpstreamError, UpstreamJob, UpstreamStatus
from bot.providers.fal.failures import MODERATED_TEXT
from bot.providers.fal.payloads import IMAGE_TO_VIDEO, PIKAFRAMES, PIKASCENES, TEXT_TO_VIDEO, FalHandle
from bot.providers.fal.pika import FalPikaProvider
from sandbox.fal_sim import (
    DEFAULT_KEY,
    QueueStatus,
    RunningFalSimulator,
    SimConfig,
    default_signing_key,
    serialize_webhook_body,
    start_simulator,
    webhook_headers,
)
from sandbox.serving import bind

ACCOUNT = Account("fal", None, 2, provider="fal")
DISCORD_CDN = "https://cdn.discordapp.com/attachments/1/2/"
SECRET = DEFAULT_KEY.partition(":")[2]


def png(tag: int = 0) -> bytes:
    """A small PNG-looking file whose bytes differ by tag (to tell uploads apart)."""
    return b"\x89PNG\r\n\x1a\n" + bytes([tag]) * 64


def image(n: int | None = None) -> InputFile:
    """An attachment as the Discord layer stores it, with a Discord CDN link that must never reach fal."""
    form_field = "image" if n is None else f"image_{n}"
    return InputFile(
        form_field, f"pic {n or 0}.png", "image/png", png(n or 0), url=f"{DISCORD_CDN}pic{n}.png"
    )


def request(kind: JobKind = JobKind.CREATE, prompt: str = "a red fox", **kwargs: object) -> JobRequest:
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


@pytest.fixture
async def sim() -> AsyncIterator[RunningFalSimulator]:
    running = await start_simulator(
        SimConfig(
            queue_delay=0.0, step_delay=0.005, log_messages=("Generating video...", "Encoding video...")
        )
    )
    yield running
    await running.close()


@pytest.fixture
async def fal(sim: RunningFalSimulator) -> AsyncIterator[FalPikaProvider]:
    provider = FalPikaProvider(sim.base_url, DEFAULT_KEY, rest_base_url=sim.base_url, jwks_url=sim.jwks_url)
    yield provider
    await provider.close()


async def finish(fal: FalPikaProvider, started: UpstreamJob) -> UpstreamJob:
    """Poll like the engine does until the job leaves RUNNING."""
    for _ in range(300):
        snapshot = await fal.fetch(started.upstream_id, started.handle)
        if snapshot.status is not UpstreamStatus.RUNNING:
            return snapshot
        await asyncio.sleep(0.01)
    raise AssertionError("the job never finished")


async def run(fal: FalPikaProvider, req: JobRequest, reply_url: str | None = None) -> tuple[str, UpstreamJob]:
    fal.check(req)
    started = await fal.submit(submit_request(req, reply_url))
    assert started.status is UpstreamStatus.RUNNING and started.handle
    return started.upstream_id, await finish(fal, started)


def uploaded(sim: RunningFalSimulator, url: str) -> bytes:
    """The bytes the simulator's storage holds at a URL it handed out."""
    assert url.startswith(sim.base_url + "/files/u/"), url
    stored = sim.sim.files[url.removeprefix(sim.base_url)]
    assert stored.uploaded
    return stored.data


def never_sent_a_discord_link(sim: RunningFalSimulator) -> None:
    for recorded in sim.sim.recorded:
        assert "discordapp" not in json.dumps(recorded.body) and "discordapp" not in json.dumps(
            recorded.query
        )


# -- each command on its model --------------------------------------------------------------------


async def test_text_to_video_sends_the_typed_options_as_the_models_input(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """/pika create without an image: text-to-video with every option, duration as an int, our webhook."""
    sim.sim.faults.drop_webhooks = True
    params = VideoParams(aspect_ratio="9:16", resolution="1080p", duration=10, negative="blurry", seed=42)
    upstream_id, done = await run(fal, request(params=params), reply_url="http://127.0.0.1:9/callbacks/fal/t")
    queued = sim.sim.requests[upstream_id]
    assert queued.model_id == TEXT_TO_VIDEO
    assert queued.input == {
        "prompt": "a red fox",
        "aspect_ratio": "9:16",
        "resolution": "1080p",
        "duration": 10,
        "negative_prompt": "blurry",
        "seed": 42,
    }
    assert queued.webhook_url == "http://127.0.0.1:9/callbacks/fal/t"
    assert done.status is UpstreamStatus.COMPLETED and done.video is not None
    assert done.video.url == f"{sim.base_url}/files/b/{upstream_id}_output.mp4"
    assert done.video.filename == "output.mp4" and done.video.content_type == "video/mp4"
    assert done.video.size == len(sim.sim.video)
    async with aiohttp.ClientSession() as session, session.get(done.video.url) as media:
        assert await media.read() == sim.sim.video
    assert fal.health.last_ok_at is not None and fal.health.last_error is None


@pytest.mark.parametrize("kind", [JobKind.CREATE, JobKind.ANIMATE])
async def test_image_to_video_uploads_the_image_to_fal_storage(
    fal: FalPikaProvider, sim: RunningFalSimulator, kind: JobKind
) -> None:
    """/pika create with an image and /pika animate: the bytes go to fal storage; image_url is that URL."""
    upstream_id, done = await run(fal, request(kind, inputs=(image(),), params=VideoParams(duration=5)))
    queued = sim.sim.requests[upstream_id]
    assert queued.model_id == IMAGE_TO_VIDEO
    assert set(queued.input) == {"prompt", "image_url", "duration"}
    assert uploaded(sim, str(queued.input["image_url"])) == png(0)
    assert [fetch.http_status for fetch in queued.image_fetches] == [200]
    never_sent_a_discord_link(sim)
    assert done.status is UpstreamStatus.COMPLETED


async def test_scenes_upload_three_images_in_the_members_order(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """/pika scenes with three images: pikascenes gets three storage URLs, image_1 first."""
    req = request(
        JobKind.SCENES,
        prompt="the fox wears the hat",
        inputs=(image(3), image(1), image(2)),
        params=VideoParams(aspect_ratio="1:1"),
    )
    upstream_id, done = await run(fal, req)
    queued = sim.sim.requests[upstream_id]
    assert queued.model_id == PIKASCENES and queued.input["aspect_ratio"] == "1:1"
    urls = queued.input["image_urls"]
    assert isinstance(urls, list)
    assert [uploaded(sim, url) for url in urls] == [png(1), png(2), png(3)]
    never_sent_a_discord_link(sim)
    assert done.status is UpstreamStatus.COMPLETED


async def test_frames_need_no_prompt_and_send_no_duration_or_aspect_ratio(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """/pika frames: pikaframes gets the keyframes, the resolution and nothing it has no field for."""
    req = request(
        JobKind.FRAMES, prompt="", inputs=(image(1), image(2)), params=VideoParams(resolution="1080p")
    )
    upstream_id, done = await run(fal, req)
    queued = sim.sim.requests[upstream_id]
    assert queued.model_id == PIKAFRAMES
    assert set(queued.input) == {"image_urls", "resolution"}
    assert done.status is UpstreamStatus.COMPLETED


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


# -- check() ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("req", "field", "words"),
    [
        (request(params=VideoParams(motion=2)), "motion", "no `motion` option"),
        (
            request(JobKind.ANIMATE, inputs=(image(),), params=VideoParams(aspect_ratio="16:9")),
            "aspect_ratio",
            "takes its shape from the image",
        ),
        (
            request(inputs=(image(),), params=VideoParams(aspect_ratio="16:9")),
            "aspect_ratio",
            "image-to-video",
        ),
        (
            request(JobKind.FRAMES, inputs=(image(1), image(2)), params=VideoParams(duration=5)),
            "duration",
            "length from the transitions",
        ),
        (
            request(JobKind.FRAMES, inputs=(image(1), image(2)), params=VideoParams(aspect_ratio="1:1")),
            "aspect_ratio",
            "shape from the keyframes",
        ),
        (request(params=VideoParams(resolution="4k")), "resolution", "720p or 1080p"),
        (request(params=VideoParams(duration=7)), "duration", "5 or 10"),
        (request(params=VideoParams(aspect_ratio="21:9")), "aspect_ratio", "one of 16:9"),
        (request(params=VideoParams(seed=-1)), "seed", "whole number"),
        (request(JobKind.SCENES, inputs=(image(1),)), "image", "/pika scenes needs 2 to 5 images"),
        (
            request(JobKind.SCENES, inputs=tuple(image(n) for n in range(1, 7))),
            "image",
            "needs 2 to 5 images",
        ),
        (
            request(JobKind.FRAMES, prompt="", inputs=(image(1),)),
            "image",
            "/pika frames needs 2 to 5 keyframes",
        ),
        (request(JobKind.ANIMATE), "image", "needs an image"),
        (request(inputs=(image(1), image(2))), "image", "takes one image"),
        (request(prompt=" "), "prompt", "prompt is empty"),
        (request(JobKind.SCENES, prompt="", inputs=(image(1), image(2))), "prompt", "prompt is empty"),
        (request(options=PikaOptions(guidance=12)), "guidance", "nothing like `-gs`"),
        (request(options=PikaOptions(seed=3)), "seed", "use the `seed` option"),
        (request(JobKind.ENCRYPT_TEXT), "kind", "cannot run encrypt_text"),
        (request(inputs=(InputFile("message", "m.png", "image/png", png()),)), "message", "message file"),
        (request(inputs=(InputFile("image", "e.png", "image/png", b""),)), "image", "empty"),
    ],
)
def test_check_refuses_what_the_model_would_reject_or_ignore(
    fal: FalPikaProvider, req: JobRequest, field: str, words: str
) -> None:
    """Each refusal names the option to change and says why, in the member's words."""
    with pytest.raises(PromptError) as caught:
        fal.check(req)
    assert caught.value.field == field
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "req",
    [
        request(params=VideoParams(aspect_ratio="2:3", resolution="720p", duration=10, negative="x", seed=0)),
        request(JobKind.ANIMATE, inputs=(image(),), params=VideoParams(resolution="1080p", duration=10)),
        request(
            JobKind.SCENES,
            inputs=tuple(image(n) for n in range(1, 6)),
            params=VideoParams(aspect_ratio="5:4"),
        ),
        request(
            JobKind.FRAMES,
            prompt="",
            inputs=(image(1), image(2), image(3)),
            params=VideoParams(seed=2**53 - 1),
        ),
    ],
)
def test_check_accepts_what_each_model_takes(fal: FalPikaProvider, req: JobRequest) -> None:
    """Every option a model's schema has passes, at its limits."""
    fal.check(req)


# -- webhooks -----------------------------------------------------------------------------------------

HEADERS = (
    "X-Fal-Webhook-Request-Id",
    "X-Fal-Webhook-User-Id",
    "X-Fal-Webhook-Timestamp",
    "X-Fal-Webhook-Signature",
)
BODY = serialize_webhook_body({"error": None, "payload": None, "request_id": "req-1", "status": "OK"})


def signed(
    body: bytes = BODY, *, key: Ed25519PrivateKey | None = None, ts: int | None = None
) -> dict[str, str]:
    when = int(time.time()) if ts is None else ts
    return webhook_headers(key or default_signing_key(), "req-1", "github|test-user-0001", when, body)


async def test_a_validly_signed_webhook_is_accepted(fal: FalPikaProvider) -> None:
    """The simulator's key, the JWKS it serves, a fresh timestamp: accepted; request_id is the hint."""
    assert await fal.authenticate_callback(signed(), BODY) is None
    assert fal.callback_upstream_id(json.loads(BODY)) == "req-1"
    assert fal.callback_upstream_id({"request_id": 7}) is None


@pytest.mark.parametrize(
    ("make_headers", "body", "reason"),
    [
        (lambda: signed(key=Ed25519PrivateKey.generate()), BODY, "bad signature"),
        (lambda: signed(ts=int(time.time()) - 301), BODY, "stale timestamp"),
        (signed, BODY.replace(b'"OK"', b'"ERROR"'), "bad signature"),
        (signed, BODY + b" ", "bad signature"),
    ],
    ids=["wrong-key", "stale-timestamp", "altered-body", "appended-byte"],
)
async def test_a_bad_webhook_is_refused(
    fal: FalPikaProvider, make_headers: Callable[[], dict[str, str]], body: bytes, reason: str
) -> None:
    """A wrong key, a stale timestamp or an altered body is refused with the reason."""
    # Signed when the test runs, not when it is collected: a long suite would make them all stale.
    refused = await fal.authenticate_callback(make_headers(), body)
    assert refused is not None and refused.startswith(reason)


@pytest.mark.parametrize("missing", HEADERS)
async def test_a_webhook_missing_a_header_is_refused(fal: FalPikaProvider, missing: str) -> None:
    """Each of the four X-Fal-Webhook-* headers is required."""
    headers = signed()
    del headers[missing]
    assert await fal.authenticate_callback(headers, BODY) == f"missing header ({missing})"


@dataclass
class Receiver:
    """A stand-in for our /callbacks/fal/{token} route that keeps what arrived, byte for byte."""

    url: str
    deliveries: list[tuple[dict[str, str], bytes]]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    deliveries: list[tuple[dict[str, str], bytes]] = []

    async def collect(request: web.Request) -> web.Response:
        deliveries.append((dict(request.headers), await request.read()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/callbacks/fal/{token}", collect)
    runner, port = await bind(app, "127.0.0.1", 0, shutdown_timeout=0.5)
    yield Receiver(f"http://127.0.0.1:{port}/callbacks/fal/token-1", deliveries)
    await runner.cleanup()


@pytest.mark.parametrize("bad_signature", [False, True])
async def test_webhooks_the_simulator_delivers(
    fal: FalPikaProvider, sim: RunningFalSimulator, receiver: Receiver, bad_signature: bool
) -> None:
    """A real delivery verifies and names the request; one signed with a key not in the JWKS does not."""
    sim.sim.faults.webhook_bad_signature = bad_signature
    upstream_id, _ = await run(fal, request(), reply_url=receiver.url)
    await sim.sim.wait_for_webhooks(1)
    headers, body = receiver.deliveries[0]
    verdict = await fal.authenticate_callback(headers, body)
    if bad_signature:
        assert verdict is not None and verdict.startswith("bad signature")
    else:
        assert verdict is None
        assert fal.callback_upstream_id(json.loads(body)) == upstream_id


# -- lifecycle ----------------------------------------------------------------------------------------


async def test_a_given_session_is_shared_and_left_open(sim: RunningFalSimulator) -> None:
    """With a session given, the client and the JWKS fetches use it, and close() leaves it open."""
    async with aiohttp.ClientSession() as session:
        provider = FalPikaProvider(
            sim.base_url, DEFAULT_KEY, rest_base_url=sim.base_url, jwks_url=sim.jwks_url, session=session
        )
        assert await provider.authenticate_callback(signed(), BODY) is None
        await provider.submit(submit_request(request()))
        await provider.close()
        assert not session.closed
    assert SECRET not in repr(provider)
