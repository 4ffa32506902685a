"""The useapi.net Pika v1 provider against the simulator: every endpoint and every documented answer."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest

from bot.domain.jobs import InputFile, JobKind
from bot.domain.prompt import PikaOptions
from bot.providers.base import Account, ErrorKind, SubmitRequest, UpstreamError, UpstreamStatus
from bot.providers.useapi import Timeouts, UseapiPikaProvider, _classify
from bot.providers.useapi_jobs import parse_job
from sandbox.useapi_sim import DEFAULT_CHANNEL, JobStatus, RunningSimulator, SimConfig, start_simulator

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
ACCOUNT = Account(DEFAULT_CHANNEL, DEFAULT_CHANNEL, 10)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(SimConfig(job_complete_delay=0.1))
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def provider(sim: RunningSimulator) -> AsyncIterator[UseapiPikaProvider]:
    client = UseapiPikaProvider(sim.base_url, sim.sim.config.api_token, timeouts=Timeouts(submit_total=5))
    try:
        yield client
    finally:
        await client.close()


def submit_request(kind: JobKind = JobKind.CREATE, prompt: str = "a fox", **kwargs: object) -> SubmitRequest:
    fields: dict[str, object] = {"job_id": 7, "kind": kind, "prompt": prompt, "options": PikaOptions()}
    fields.update(account=ACCOUNT, reply_ref="7")
    fields.update(kwargs)
    return SubmitRequest(**fields)  # type: ignore[arg-type]


async def test_create_starts_a_job(provider: UseapiPikaProvider, sim: RunningSimulator) -> None:
    """create answers 200 started; the job is running upstream with our replyRef and account."""
    job = await provider.submit(submit_request(options=PikaOptions(guidance=12, motion=3)))
    assert job.status is UpstreamStatus.RUNNING and job.reply_ref == "7"
    record = sim.sim.requests[-1]
    assert record.path == "/v1/pika/create"
    assert record.content_type.startswith("multipart/form-data")
    assert record.fields["prompt"] == "a fox -gs 12 -motion 3"
    assert record.fields["channel"] == DEFAULT_CHANNEL and record.fields["maxJobs"] == "10"
    assert "replyUrl" not in record.fields  # polling only when no URL is given
    assert sim.sim.jobs[job.upstream_id].channel == DEFAULT_CHANNEL
    assert provider.health.last_ok_at is not None


async def test_animate_encrypt_text_and_encrypt_image(
    provider: UseapiPikaProvider, sim: RunningSimulator
) -> None:
    """Each submit endpoint gets its own fields, images as file parts with filename and type."""
    image = InputFile("image", "in.png", "image/png", PNG)
    message = InputFile("message", "logo.png", "image/png", PNG + b"logo")
    animate = await provider.submit(submit_request(JobKind.ANIMATE, prompt="", inputs=(image,)))
    text = await provider.submit(
        submit_request(JobKind.ENCRYPT_TEXT, prompt="neon sign", message_text="HELLO", font="BAUHAUS")
    )
    hidden = await provider.submit(
        submit_request(JobKind.ENCRYPT_IMAGE, prompt="waves", inputs=(message, image))
    )
    assert {animate.status, text.status, hidden.status} == {UpstreamStatus.RUNNING}
    by_path = {r.path: r for r in sim.sim.requests}
    assert by_path["/v1/pika/animate"].files["image"].filename == "in.png"
    assert "prompt" not in by_path["/v1/pika/animate"].fields
    assert by_path["/v1/pika/encrypt_text"].fields["message"] == "HELLO"
    assert by_path["/v1/pika/encrypt_text"].fields["font"] == "BAUHAUS"
    encrypt_image = by_path["/v1/pika/encrypt_image"]
    assert encrypt_image.files["message"].size == len(PNG) + 4
    assert encrypt_image.files["image"].content_type == "image/png"


async def test_fetch_follows_a_job_to_its_video(provider: UseapiPikaProvider, sim: RunningSimulator) -> None:
    """GET jobs/?jobid= reports progress, then completed with the video URL and the seed."""
    started = await provider.submit(submit_request(prompt="smiling and blinking"))
    await sim.sim.wait_for_status(started.upstream_id, JobStatus.COMPLETED)
    done = await provider.fetch(started.upstream_id)
    assert done.status is UpstreamStatus.COMPLETED
    assert done.video is not None and done.video.url.startswith(sim.root_url)
    assert done.video.content_type == "video/mp4"
    assert done.seed is not None and f"seed{done.seed}" in (done.video.filename or "")
    assert done.reply_ref == "7"


async def test_button_retry_of_a_completed_job(provider: UseapiPikaProvider, sim: RunningSimulator) -> None:
    """pika/button with button=retry on a completed job starts a new upstream job."""
    parent = await provider.submit(submit_request())
    await sim.sim.wait_for_status(parent.upstream_id, JobStatus.COMPLETED)
    child = await provider.submit(
        submit_request(JobKind.RETRY, prompt="", parent_upstream_id=parent.upstream_id)
    )
    assert child.upstream_id != parent.upstream_id
    record = sim.sim.requests[-1]
    assert record.path == "/v1/pika/button"
    assert record.fields["jobid"] == parent.upstream_id and record.fields["button"] == "retry"
    assert "channel" not in record.fields  # the button endpoint takes it from the parent job


async def test_button_on_an_unfinished_job_is_invalid(
    provider: UseapiPikaProvider, sim: RunningSimulator
) -> None:
    """useapi refuses a retry of a job that has not completed (400)."""
    sim.sim.faults.hold_jobs = True
    parent = await provider.submit(submit_request())
    with pytest.raises(UpstreamError) as caught:
        await provider.submit(submit_request(JobKind.RETRY, prompt="", parent_upstream_id=parent.upstream_id))
    assert caught.value.kind is ErrorKind.INVALID_REQUEST and caught.value.status == 400


async def test_jobs_list_find_by_ref_and_cancel(provider: UseapiPikaProvider, sim: RunningSimulator) -> None:
    """GET jobs lists executing jobs; find_by_ref locates ours; cancel stops it; 404 after."""
    sim.sim.faults.hold_jobs = True
    job = await provider.submit(submit_request(reply_ref="job-41"))
    assert job.upstream_id in await provider.executing()
    found = await provider.find_by_ref("job-41")
    assert found is not None and found.upstream_id == job.upstream_id
    assert await provider.find_by_ref("job-42") is None
    await provider.cancel(job.upstream_id)
    cancelled = await provider.fetch(job.upstream_id)
    assert cancelled.status is UpstreamStatus.CANCELLED
    with pytest.raises(UpstreamError) as caught:
        await provider.fetch("no-such-job")
    assert caught.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(UpstreamError) as caught:
        await provider.cancel("no-such-job")
    assert caught.value.kind is ErrorKind.NOT_FOUND


async def test_bad_and_expired_tokens(sim: RunningSimulator) -> None:
    """401 for a wrong token, 402 for a lapsed subscription, on submit and on fetch."""
    for token, kind in (
        ("wrong", ErrorKind.UNAUTHORIZED),
        (sim.sim.config.expired_token, ErrorKind.PAYMENT_REQUIRED),
    ):
        client = UseapiPikaProvider(sim.base_url, token)
        try:
            with pytest.raises(UpstreamError) as caught:
                await client.submit(submit_request())
            assert caught.value.kind is kind
            with pytest.raises(UpstreamError) as caught:
                await client.fetch("x")
            assert caught.value.kind is kind
            assert client.health.last_error is not None and token not in client.health.last_error
        finally:
            await client.close()


async def test_too_long_reply_url_is_a_400(provider: UseapiPikaProvider) -> None:
    """A replyUrl over 1024 characters gets useapi's documented 400 text."""
    with pytest.raises(UpstreamError) as caught:
        await provider.submit(submit_request(reply_url="http://127.0.0.1/" + "x" * 1100))
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert caught.value.message == "prompt, replyRef or replyUrl is too long"


async def test_moderated_prompt_keeps_the_jobid(provider: UseapiPikaProvider) -> None:
    """422 for a moderated word: MODERATED with the upstream jobid kept."""
    with pytest.raises(UpstreamError) as caught:
        await provider.submit(submit_request(prompt="something forbidden"))
    assert caught.value.kind is ErrorKind.MODERATED and caught.value.upstream_id
    assert caught.value.message == "Sorry, your input may be inconsistent with server rules."


async def test_account_full_and_discord_rate_limit(
    provider: UseapiPikaProvider, sim: RunningSimulator
) -> None:
    """Both 429 variants are told apart by executingJobs."""
    sim.sim.faults.external_executing = {DEFAULT_CHANNEL: 10}
    with pytest.raises(UpstreamError) as caught:
        await provider.submit(submit_request())
    assert caught.value.kind is ErrorKind.ACCOUNT_FULL and len(caught.value.executing_jobs) == 10
    sim.sim.faults.external_executing = {}
    sim.sim.faults.discord_429_submits = 1
    with pytest.raises(UpstreamError) as caught:
        await provider.submit(submit_request())
    assert caught.value.kind is ErrorKind.RATE_LIMITED and caught.value.retry_after == 10


@pytest.mark.parametrize(
    ("fault", "value", "kind"),
    [
        ("gateway_504_submits", 1, ErrorKind.OVERLOADED),
        ("submit_status", 500, ErrorKind.TRANSIENT),
        ("submit_status", 503, ErrorKind.TRANSIENT),
        ("submit_html_error", True, ErrorKind.TRANSIENT),
        ("malformed_json", True, ErrorKind.AMBIGUOUS),  # a 200 means the job probably exists
    ],
)
async def test_submit_faults_map_to_kinds(
    provider: UseapiPikaProvider, sim: RunningSimulator, fault: str, value: object, kind: ErrorKind
) -> None:
    """Gateway errors, 5xx, HTML pages and truncated 200s each get the kind the engine acts on."""
    sim.sim.update_faults({fault: value})
    with pytest.raises(UpstreamError) as caught:
        await provider.submit(submit_request())
    assert caught.value.kind is kind
    if fault == "submit_html_error":
        assert "HTML" in caught.value.message


async def test_fetch_faults_are_transient(provider: UseapiPikaProvider, sim: RunningSimulator) -> None:
    """A truncated or 5 MiB answer to a GET is transient, never a crash."""
    job = await provider.submit(submit_request())
    sim.sim.faults.malformed_json = True
    with pytest.raises(UpstreamError) as caught:
        await provider.fetch(job.upstream_id)
    assert caught.value.kind is ErrorKind.TRANSIENT
    sim.sim.faults.malformed_json = False
    sim.sim.faults.huge_body = True
    with pytest.raises(UpstreamError) as caught:
        await provider.fetch(job.upstream_id)
    assert caught.value.kind is ErrorKind.TRANSIENT and "a job record is a few KiB" in caught.value.message


async def test_timeout_after_sending_is_ambiguous(sim: RunningSimulator) -> None:
    """The job is created but the answer is late: AMBIGUOUS, and the job exists upstream."""
    client = UseapiPikaProvider(sim.base_url, sim.sim.config.api_token, timeouts=Timeouts(submit_total=0.3))
    try:
        sim.sim.faults.accept_then_delay = 1.0
        with pytest.raises(UpstreamError) as caught:
            await client.submit(submit_request(reply_ref="lost-1"))
        assert caught.value.kind is ErrorKind.AMBIGUOUS
        await asyncio.sleep(0.1)
        assert any(j.reply_ref == "lost-1" for j in sim.sim.jobs.values())
    finally:
        await client.close()


async def test_connection_refused_is_transient() -> None:
    """Nothing listening: nothing was sent, so it is safe to retry (TRANSIENT, not AMBIGUOUS)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = UseapiPikaProvider(f"http://127.0.0.1:{port}/v1/", "t")
    try:
        with pytest.raises(UpstreamError) as caught:
            await client.submit(submit_request())
        assert caught.value.kind is ErrorKind.TRANSIENT
    finally:
        await client.close()


# The documented bodies, verbatim from the seeds, mapped without a server.
@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (
            400,
            {"error": "image, discord or channel value is missing", "code": 400},
            ErrorKind.INVALID_REQUEST,
        ),
        (400, {"error": "image is not File or Blob", "code": 400}, ErrorKind.INVALID_REQUEST),
        (400, {"error": "button remix not supported", "code": 400}, ErrorKind.INVALID_REQUEST),
        (401, {"error": "Unauthorized", "code": 401}, ErrorKind.UNAUTHORIZED),
        (
            402,
            {"error": "Account has no subscription or subscription expired", "code": 402},
            ErrorKind.PAYMENT_REQUIRED,
        ),
        (
            422,
            {
                "error": "Invalid parameter",
                "errorDetails": "Unrecognized parameter(s): `size`",
                "jobid": "j1",
                "status": "moderated",
                "code": 422,
            },
            ErrorKind.MODERATED,
        ),
        (
            429,
            {
                "error": "Maximum of 3 jobs executing in parallel supported",
                "executingJobs": ["a", "b"],
                "code": 429,
            },
            ErrorKind.ACCOUNT_FULL,
        ),
        (
            429,
            {
                "error": "Discord /interactions failed with HTTP status 429",
                "errorDetails": '{"global":true,"message":"You are being rate limited.","retry_after":10}',
                "code": 429,
            },
            ErrorKind.RATE_LIMITED,
        ),
        (504, {"error": "query overflow", "code": 504}, ErrorKind.OVERLOADED),
        (502, None, ErrorKind.TRANSIENT),
    ],
)
def test_documented_answers(status: int, body: object, kind: ErrorKind) -> None:
    """Every answer in the seeds maps to its kind; details and jobids are kept."""
    raw = json.dumps(body).encode() if body is not None else b"<html>Bad gateway</html>"
    with pytest.raises(UpstreamError) as caught:
        _classify(status, raw, submitting=True)
    assert caught.value.kind is kind
    if kind is ErrorKind.MODERATED:
        assert caught.value.upstream_id == "j1"
        assert caught.value.details == "Unrecognized parameter(s): `size`"
    if kind is ErrorKind.ACCOUNT_FULL:
        assert caught.value.executing_jobs == ("a", "b")


def test_parse_job_of_the_documented_example() -> None:
    """A completed record (docs/useapi-pika.md section 3) becomes a COMPLETED snapshot with its seed."""
    body = {
        "jobid": "j-pika-0001",
        "status": "completed",
        "replyRef": "guild123:thread456:job789",
        "content": "<@1100000000000000000> Prompt: smiling and blinking  Author: <@1100000000000000000>",
        "attachments": [
            {
                "filename": "smiling_and_blinking_seed3557373337891796966.mp4",
                "size": 1843251,
                "url": "https://cdn.discordapp.com/attachments/1/2/smiling.mp4?ex=1&is=2&hm=3&",
                "content_type": "video/mp4",
            }
        ],
        "code": 200,
    }
    job = parse_job(body)
    assert job.status is UpstreamStatus.COMPLETED
    assert job.seed == 3557373337891796966
    assert job.video is not None and job.video.size == 1843251
    assert job.progress is None  # Pika's message only echoes the request: no progress to show
    queued = parse_job(
        {**body, "status": "started", "content": "<@1> Creation job queued. (Prompt: a fox  Author: <@1>)"}
    )
    assert (
        queued.progress == "Creation job queued."
    )  # the echo is left out; the status shows prompt and author
    failed = parse_job({"jobid": "x", "status": "completed"})
    assert failed.status is UpstreamStatus.FAILED  # completed without a video is not a success
    unknown = parse_job({"jobid": "x", "status": "something-new"})
    assert unknown.status is UpstreamStatus.RUNNING
