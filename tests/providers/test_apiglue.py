"""The API Glue provider against its simulator over 127.0.0.1: every route, answer and refusal."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from http import HTTPStatus
from typing import Any

import pytest
from aiohttp import web

from bot.domain.jobs import InputFile, JobKind, JobRequest, Origin
from bot.domain.params import VideoParams
from bot.domain.prompt import AspectRatio, PikaOptions, PromptError
from bot.providers.apiglue import ApiGlueProvider, Timeouts
from bot.providers.apiglue_answers import classify, parse_job, parse_retry_after
from bot.providers.base import (
    Account,
    ErrorKind,
    Provider,
    SubmitRequest,
    UpstreamError,
    UpstreamJob,
    UpstreamStatus,
)
from sandbox.apiglue_sim import (
    RunningGlueSimulator,
    SimConfig,
    VideoStatus,
    start_simulator,
    video_filename,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
# Not a loopback host: the simulator records the URL without downloading it.
IMAGE_URL = "https://cdn.discordapp.com/attachments/1/2/cat.png"
ACCOUNT = Account("glue", None, 10, provider="apiglue")
Call = Callable[[], Awaitable[UpstreamJob]]
DEFAULT_OPTIONS: dict[str, Any] = {
    "aspectRatio": "16:9",
    "frameRate": 24,
    "parameters": {"motion": 1, "guidanceScale": 12, "negativePrompt": "", "seed": None},
}


@pytest.fixture
async def sim() -> AsyncIterator[RunningGlueSimulator]:
    config = SimConfig(queued_delay=0.01, progress_delay=0.01, progress_steps=(20, 45), random_seed=7)
    running = await start_simulator(config)
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def provider(sim: RunningGlueSimulator) -> AsyncIterator[ApiGlueProvider]:
    client = ApiGlueProvider(sim.base_url, sim.sim.config.api_token, timeouts=Timeouts(submit_total=5))
    try:
        yield client
    finally:
        await client.close()


def submit_request(kind: JobKind = JobKind.GENERATE, prompt: str = "a fox", **kwargs: Any) -> SubmitRequest:
    fields: dict[str, Any] = {"job_id": 7, "kind": kind, "prompt": prompt, "options": PikaOptions()}
    fields.update(account=ACCOUNT, reply_ref="7")
    fields.update(kwargs)
    return SubmitRequest(**fields)


def job_request(kind: JobKind = JobKind.GENERATE, prompt: str = "a fox", **kwargs: Any) -> JobRequest:
    return JobRequest(kind=kind, owner_id=1, origin=Origin(1, 2), prompt=prompt, provider="apiglue", **kwargs)


def image(url: str | None = IMAGE_URL, form_field: str = "image") -> InputFile:
    return InputFile(form_field, "cat.png", "image/png", PNG, url=url)


async def finished_video(provider: ApiGlueProvider, sim: RunningGlueSimulator, prompt: str = "a fox") -> str:
    """Generate a video, let it finish and return its resultUrl."""
    job = await provider.submit(submit_request(prompt=prompt))
    await sim.sim.wait_for_status(job.upstream_id, VideoStatus.FINISHED)
    done = await provider.fetch(job.upstream_id)
    assert done.video is not None
    return done.video.url


# -- submit routes and bodies -------------------------------------------------------------------


async def test_generate_sends_the_defaults(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """A bare generate: required options filled with the documented defaults, no camera, no webhook."""
    job = await provider.submit(submit_request(prompt="  a fox  "))
    record = sim.sim.requests[-1]
    assert (record.method, record.path) == ("POST", "/web/generate")
    assert record.content_type == "application/json"
    assert record.body == {"promptText": "a fox", "options": DEFAULT_OPTIONS, "ref": "7"}
    assert job.upstream_id in sim.sim.jobs and job.status is UpstreamStatus.RUNNING
    assert job.reply_ref == "7"
    assert provider.health.last_ok_at is not None and provider.health.last_error is None


async def test_generate_with_image_camera_and_webhook(
    provider: ApiGlueProvider, sim: RunningGlueSimulator
) -> None:
    """Every option the member gave goes into options; the image URL and webhookOverride are sent."""
    sim.sim.faults.hold_jobs = True  # no webhook is attempted while the job is held
    params = VideoParams(
        aspect_ratio="5:2",
        fps=12,
        motion=3,
        guidance=5,
        negative="A village",
        seed=123123123,
        pan="right",
        zoom="in",
    )
    hook = "http://127.0.0.1:9/callbacks/apiglue/abc"
    await provider.submit(
        submit_request(JobKind.ANIMATE, prompt="a cat", params=params, inputs=(image(),), reply_url=hook)
    )
    assert sim.sim.requests[-1].body == {
        "promptText": "a cat",
        "options": {
            "aspectRatio": "5:2",
            "frameRate": 12,
            "camera": {"pan": "right", "zoom": "in"},
            "parameters": {"motion": 3, "guidanceScale": 5, "negativePrompt": "A village", "seed": 123123123},
        },
        "image": IMAGE_URL,
        "ref": "7",
        "webhookOverride": hook,
    }
    job = next(iter(sim.sim.jobs.values()))
    assert job.image == IMAGE_URL and job.webhook_override == hook
    assert job.options["camera"] == {"pan": "right", "zoom": "in", "tilt": None, "rotate": None}


async def test_create_goes_to_generate(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """/create routed here is a text generate."""
    await provider.submit(submit_request(JobKind.CREATE, prompt="a lighthouse"))
    assert sim.sim.requests[-1].path == "/web/generate"
    assert sim.sim.requests[-1].body == {"promptText": "a lighthouse", "options": DEFAULT_OPTIONS, "ref": "7"}


async def test_extend_and_upscale(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """Extend sends prompt, options and the video; upscale sends only the video; both echo the ref."""
    url = await finished_video(provider, sim)
    extended = await provider.submit(
        submit_request(
            JobKind.EXTEND, params=VideoParams(motion=2), parent_video_url=url, reply_ref="8", reply_url=None
        )
    )
    record = sim.sim.requests[-1]
    assert record.path == "/web/extend"
    options = {**DEFAULT_OPTIONS, "parameters": {**DEFAULT_OPTIONS["parameters"], "motion": 2}}
    assert record.body == {"promptText": "a fox", "options": options, "video": url, "ref": "8"}
    assert sim.sim.jobs[extended.upstream_id].request_type == "extend" and extended.reply_ref == "8"
    upscaled = await provider.submit(
        submit_request(
            JobKind.UPSCALE, prompt="", parent_video_url=url, reply_ref="9", reply_url="http://127.0.0.1:9/x"
        )
    )
    record = sim.sim.requests[-1]
    assert record.path == "/web/upscale"
    assert record.body == {"video": url, "ref": "9", "webhookOverride": "http://127.0.0.1:9/x"}
    assert sim.sim.jobs[upscaled.upstream_id].upscaled


async def test_follow_ups_and_images_need_urls(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """Without the finished video's URL, or with an image that has no URL, nothing is sent."""
    for request in (
        submit_request(JobKind.EXTEND),
        submit_request(JobKind.UPSCALE),
        submit_request(inputs=(image(url=None),)),
    ):
        with pytest.raises(UpstreamError) as caught:
            await provider.submit(request)
        assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert sim.sim.requests == []


# -- fetch --------------------------------------------------------------------------------------


async def test_fetch_follows_queued_progress_finished(
    provider: ApiGlueProvider, sim: RunningGlueSimulator
) -> None:
    """queued, pending (and an unknown status) are RUNNING with a percentage; finished has the video."""
    sim.sim.update_faults({"stuck_queued": True, "hold_jobs": True, "running_status": "rendering"})
    job = await provider.submit(submit_request(prompt="robed villain", params=VideoParams(seed=42)))
    queued = await provider.fetch(job.upstream_id)
    assert (queued.status, queued.progress, queued.video) == (UpstreamStatus.RUNNING, "0", None)
    sim.sim.faults.stuck_queued = False
    await sim.sim.wait_for_status(job.upstream_id, VideoStatus.PENDING)
    pending = await provider.fetch(job.upstream_id)
    assert (pending.status, pending.progress) == (UpstreamStatus.RUNNING, "20")
    sim.sim.release(job.upstream_id)
    await sim.sim.wait_for_status(job.upstream_id, VideoStatus.FINISHED)
    done = await provider.fetch(job.upstream_id)
    assert done.status is UpstreamStatus.COMPLETED and done.progress == "100"
    assert done.video is not None and done.video.url == sim.sim.jobs[job.upstream_id].result_url
    assert done.video.filename == video_filename("robed villain") and done.video.content_type == "video/mp4"
    assert done.seed == 42 and done.reply_ref == "7" and done.error is None


@pytest.mark.parametrize(
    ("error", "status", "expected"),
    [
        ("Video generation failed", VideoStatus.ERROR, UpstreamStatus.FAILED),
        ("Video generation failed", VideoStatus.FAILED, UpstreamStatus.FAILED),
        ("NSFW content blocked by moderation", VideoStatus.ERROR, UpstreamStatus.MODERATED),
    ],
)
async def test_failed_video(
    provider: ApiGlueProvider,
    sim: RunningGlueSimulator,
    error: str,
    status: VideoStatus,
    expected: UpstreamStatus,
) -> None:
    """error and failed videos end the job with the video's own error text."""
    sim.sim.faults.hold_jobs = True
    job = await provider.submit(submit_request())
    sim.sim.fail_now(job.upstream_id, error, status)
    failed = await provider.fetch(job.upstream_id)
    assert (failed.status, failed.error, failed.video) == (expected, error, None)


async def test_fail_word_fails_on_its_own(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """A video the simulator fails in its normal run is FAILED with the reason."""
    job = await provider.submit(submit_request(prompt="the city will explode"))
    await sim.sim.wait_for_status(job.upstream_id, VideoStatus.ERROR)
    failed = await provider.fetch(job.upstream_id)
    assert failed.status is UpstreamStatus.FAILED and "Video generation failed" in (failed.error or "")


def test_parse_job_of_the_seed_answers() -> None:
    """Seed 004's generate answer is RUNNING; its finished job is COMPLETED with the file name."""
    submitted = parse_job(
        {
            "job": {"id": "1233696d-67c8-4293-bf95-524e13aa6578", "requestType": "generate", "createdAt": {}},
            "video": {"id": "1233696d-67c8-4293-bf95-524e13aa6578", "status": "queued"},
        }
    )
    assert submitted.upstream_id == "1233696d-67c8-4293-bf95-524e13aa6578"
    assert submitted.status is UpstreamStatus.RUNNING and submitted.reply_ref is None
    url = "https://example.video/1234-a186-53c4c6171ab5/robed_villain_lurking_the_streets.mp4"
    done = parse_job(
        {
            "job": {"id": "e89c86c1-2969-1234-a186-53c4c6171ab5"},
            "videos": [{"seed": None, "progress": 100, "resultUrl": url, "status": "finished"}],
        }
    )
    assert done.status is UpstreamStatus.COMPLETED and done.progress == "100" and done.seed is None
    assert done.video is not None and done.video.filename == "robed_villain_lurking_the_streets.mp4"
    empty = parse_job({"job": {"id": "x"}, "videos": [{"status": "finished", "resultUrl": None}]})
    assert empty.status is UpstreamStatus.FAILED and "no resultUrl" in (empty.error or "")


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


# -- cancel and find_by_ref ---------------------------------------------------------------------


async def test_cancel_and_find_by_ref_make_no_calls(
    provider: ApiGlueProvider, sim: RunningGlueSimulator
) -> None:
    """There is no cancel or search route: cancel refuses and find_by_ref finds nothing, offline."""
    with pytest.raises(UpstreamError) as caught:
        await provider.cancel("any")
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert caught.value.message == "API Glue cannot cancel a job once it has started"
    assert await provider.find_by_ref("7") is None
    assert sim.sim.requests == []


# -- check() ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        (VideoParams(aspect_ratio="21:9"), "aspect_ratio", "16:9, 9:16, 1:1, 5:2, 4:5, 4:3"),
        (VideoParams(fps=0), "fps", "from 1 to 24"),
        (VideoParams(fps=25), "fps", "from 1 to 24"),
        (VideoParams(motion=0), "motion", "from 1 to 4"),
        (VideoParams(motion=5), "motion", "from 1 to 4"),
        (VideoParams(guidance=4), "guidance", "from 5 to 25"),
        (VideoParams(guidance=26), "guidance", "from 5 to 25"),
        (VideoParams(pan="up"), "pan", "left or right"),
        (VideoParams(tilt="left"), "tilt", "up or down"),
        (VideoParams(rotate="clockwise"), "rotate", "cw or ccw"),
        (VideoParams(zoom="closer"), "zoom", "in or out"),
        (VideoParams(seed=-1), "seed", "from 0 to"),
        (VideoParams(resolution="1080p"), "resolution", "API Glue does not take resolution"),
        (VideoParams(duration=5), "duration", "API Glue does not take duration"),
    ],
)
def test_check_refuses_each_option(params: VideoParams, field: str, words: str) -> None:
    """Every out-of-range or undeclared option is refused with the option named."""
    provider = ApiGlueProvider("http://127.0.0.1:9", "t")
    with pytest.raises(PromptError) as caught:
        provider.check(job_request(params=params))
    assert caught.value.field == field and words in str(caught.value)


@pytest.mark.parametrize(
    ("request_", "field", "words"),
    [
        (job_request(prompt="  "), "prompt", "prompt is empty"),
        (job_request(JobKind.CREATE, prompt=""), "prompt", "prompt is empty"),
        (job_request(JobKind.ANIMATE, prompt="", inputs=(image(),)), "prompt", "prompt is empty"),
        (job_request(prompt="x" * 2001), "prompt", "allows 2,000"),
        (job_request(JobKind.ANIMATE), "image", "needs an image"),
        (job_request(inputs=(image(url=None),)), "image", "as a link"),
        (job_request(inputs=(image(), image())), "image", "one image"),
        (job_request(inputs=(image(form_field="message"),)), "message", "does not take a message"),
        (job_request(options=PikaOptions(guidance=12)), "guidance", "prompt flags"),
        (job_request(JobKind.ENCRYPT_TEXT), "kind", "cannot run encrypt_text"),
    ],
)
def test_check_refuses_bad_requests(request_: JobRequest, field: str, words: str) -> None:
    """Prompts, images, Pika flags and unsupported kinds are refused with a clear message."""
    provider = ApiGlueProvider("http://127.0.0.1:9", "t")
    with pytest.raises(PromptError) as caught:
        provider.check(request_)
    assert caught.value.field == field and words in str(caught.value)


def test_check_accepts_good_requests() -> None:
    """Every allowed value passes; extend and upscale need nothing from the member."""
    provider: Provider = ApiGlueProvider("http://127.0.0.1:9", "t")  # mypy checks the Protocol here
    full = VideoParams(
        aspect_ratio=str(AspectRatio.TALL),
        fps=1,
        motion=4,
        guidance=25,
        negative="blur",
        seed=0,
        pan="left",
        tilt="down",
        rotate="ccw",
        zoom="out",
    )
    provider.check(job_request(params=full))
    provider.check(job_request(JobKind.ANIMATE, prompt="wave", inputs=(image(),)))
    provider.check(job_request(JobKind.CREATE, prompt="x" * 2000))
    provider.check(job_request(JobKind.EXTEND, prompt=""))
    provider.check(job_request(JobKind.UPSCALE, prompt=""))
