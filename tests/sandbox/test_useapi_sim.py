"""Tests for the useapi.net Pika v1 simulator, driven over real 127.0.0.1 sockets."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from sandbox.useapi_sim import (
    DEFAULT_CHANNEL,
    JobStatus,
    RunningSimulator,
    SimAccount,
    SimConfig,
    UseapiSimulator,
    start_simulator,
)

TOKEN = "sim-token"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 120
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DISCORD_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")
File = tuple[str, bytes, str]
REPO_ROOT = Path(__file__).resolve().parents[2]


def fast_config(**overrides: Any) -> SimConfig:
    """A config with millisecond timings so the whole module stays fast."""
    base: dict[str, Any] = {
        "job_started_delay": 0.01,
        "job_progress_delay": 0.02,
        "job_complete_delay": 0.04,
        "random_seed": 7,
    }
    base.update(overrides)
    return SimConfig(**base)


@dataclass
class Api:
    """A tiny client for the simulator: multipart submits and JSON GETs."""

    running: RunningSimulator
    http: aiohttp.ClientSession

    @property
    def sim(self) -> UseapiSimulator:
        return self.running.sim

    def url(self, path: str) -> str:
        return self.running.base_url + path

    async def submit(
        self,
        endpoint: str,
        fields: dict[str, str] | None = None,
        files: dict[str, File] | None = None,
        token: str | None = TOKEN,
    ) -> tuple[int, Any]:
        data = aiohttp.FormData(default_to_multipart=True)
        for name, value in (fields or {}).items():
            data.add_field(name, value)
        for name, (filename, content, ctype) in (files or {}).items():
            data.add_field(name, content, filename=filename, content_type=ctype)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.post(self.url(f"pika/{endpoint}"), data=data, headers=headers) as resp:
            return resp.status, json.loads(await resp.text())

    async def get(self, path: str, token: str | None = TOKEN, **params: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(self.url(path), params=params, headers=headers) as resp:
            return resp.status, json.loads(await resp.text())

    async def create(self, prompt: str = "smiling and blinking", **fields: str) -> dict[str, Any]:
        status, body = await self.submit("create", {"prompt": prompt, **fields})
        assert status == 200, body
        result: dict[str, Any] = body
        return result


@dataclass
class Receiver:
    """A callback receiver on 127.0.0.1 that records every JSON POST it gets."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def next(self, within: float = 2.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), within)


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with await start_simulator(fast_config()) as running, aiohttp.ClientSession() as http:
        yield Api(running, http)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    runner = web.AppRunner(app)
    rec = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        rec.bodies.append(body)
        rec.content_types.append(request.content_type)
        rec.queue.put_nowait(body)
        return web.Response(text="ok")

    app.router.add_post("/hook/s3cr3t", hook)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook/s3cr3t"
    yield rec
    await runner.cleanup()


async def wait_status(api: Api, jobid: str, *statuses: JobStatus) -> None:
    await api.sim.wait_for_status(jobid, *statuses, within=3.0)


# ---------------------------------------------------------------------------------------------------
# Submit happy paths
# ---------------------------------------------------------------------------------------------------


async def test_create_returns_documented_shape(api: Api) -> None:
    body = await api.create(
        "smiling and blinking -ar 16:9", replyRef="ref-1", replyUrl="http://127.0.0.1:9/x"
    )
    assert body["verb"] == "pika-create"
    assert body["status"] == "started"
    assert body["code"] == 200
    assert re.fullmatch(r"j\d{20}", body["jobid"])
    assert ISO_MS.match(body["created"]) and ISO_MS.match(body["updated"])
    assert DISCORD_TS.match(body["timestamp"])
    assert body["discord"] == "MTE…secured…xYz"
    assert body["channel"] == DEFAULT_CHANNEL
    assert body["maxJobs"] == 10
    assert body["replyRef"] == "ref-1"
    assert body["replyUrl"] == "http://127.0.0.1:9/x"
    assert body["messageId"].isdigit() and len(body["messageId"]) >= 18
    assert body["content"] == (
        "<@1100000000000000000> Creation job queued. (Prompt: smiling and blinking -ar 16:9  "
        "Author: <@1100000000000000000>)"
    )
    assert "image" not in body


async def test_jobids_are_unique(api: Api) -> None:
    ids = {(await api.create(f"prompt {i}"))["jobid"] for i in range(5)}
    assert len(ids) == 5


async def test_animate_echoes_image(api: Api) -> None:
    status, body = await api.submit(
        "animate", {"prompt": "waves crashing"}, {"image": ("pic.png", PNG, "image/png")}
    )
    assert status == 200
    assert body["verb"] == "pika-animate"
    assert body["image"] == {"size": len(PNG), "type": "image/png"}
    assert "Image: 1 Attachment" in body["content"]


async def test_animate_without_prompt_is_fine(api: Api) -> None:
    status, body = await api.submit("animate", files={"image": ("blob", PNG, "image/png")})
    assert status == 200
    assert "prompt" not in body


async def test_encrypt_text_with_font(api: Api) -> None:
    fields = {"message": "Hello", "prompt": "waves -w 2 -size 100", "font": "BAUHAUS"}
    status, body = await api.submit("encrypt_text", fields)
    assert status == 200, body
    assert body["verb"] == "pika-encrypt_text"
    assert body["message"] == "Hello"
    assert "Message: Hello (Font: BAUHAUS)" in body["content"]


async def test_encrypt_image_echoes_message_and_image(api: Api) -> None:
    status, body = await api.submit(
        "encrypt_image",
        {"prompt": "waves crashing over the sandy beach, overhead shot -w 2 -size 100"},
        {"message": ("logo.jpg", b"j" * 50, "image/jpeg"), "image": ("ref.webp", b"w" * 30, "image/webp")},
    )
    assert status == 200, body
    assert body["verb"] == "pika-encrypt_image"
    assert body["message"] == {"size": 50, "type": "image/jpeg"}
    assert body["image"] == {"size": 30, "type": "image/webp"}
    assert "Message: 1 Attachment  Image: 1 Attachment" in body["content"]


# ---------------------------------------------------------------------------------------------------
# 400 / 401 / 402
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "fields", "files", "error"),
    [
        ("create", {}, {}, "prompt, discord or channel value is missing"),
        ("create", {"prompt": "  "}, {}, "prompt, discord or channel value is missing"),
        ("create", {"prompt": "p", "image": "http://x/y.png"}, {}, "image is not File or Blob"),
        ("animate", {"prompt": "p"}, {}, "image, discord or channel value is missing"),
        ("animate", {"image": "not-a-file"}, {}, "image is not File or Blob"),
        ("encrypt_text", {"prompt": "p"}, {}, "message, prompt, discord or channel value is missing"),
        ("encrypt_image", {"prompt": "p"}, {}, "message, prompt, discord or channel value is missing"),
        ("encrypt_image", {"prompt": "p", "message": "text"}, {}, "message is not File or Blob"),
        (
            "encrypt_image",
            {"prompt": "p", "image": "x"},
            {"message": ("m.png", PNG, "image/png")},
            "image is not File or Blob",
        ),
        ("button", {"jobid": "j1"}, {}, "jobid or button value is missing"),
        ("button", {"jobid": "j1", "button": "remix"}, {}, "button remix not supported"),
        ("create", {"prompt": "x" * 1501}, {}, "prompt, replyRef or replyUrl is too long"),
        ("create", {"prompt": "p", "replyRef": "r" * 1025}, {}, "prompt, replyRef or replyUrl is too long"),
        ("create", {"prompt": "p", "replyUrl": "u" * 1025}, {}, "prompt, replyRef or replyUrl is too long"),
        (
            "button",
            {"jobid": "j1", "button": "retry", "replyRef": "r" * 1025},
            {},
            "replyRef or replyUrl is too long",
        ),
        (
            "encrypt_text",
            {"prompt": "p", "message": "m" * 21},
            {},
            "message, prompt, replyRef or replyUrl is too long",
        ),
        ("encrypt_text", {"prompt": "p", "message": "hi", "font": "ARIAL"}, {}, "font ARIAL not supported"),
        (
            "create",
            {"prompt": "p", "channel": "999999999999999999"},
            {},
            "prompt, discord or channel value is missing",
        ),
        (
            "create",
            {"prompt": "p", "discord": "tok-without-channel"},
            {},
            "prompt, discord or channel value is missing",
        ),
    ],
)
async def test_bad_requests(
    api: Api, endpoint: str, fields: dict[str, str], files: dict[str, File], error: str
) -> None:
    status, body = await api.submit(endpoint, fields, files)
    assert (status, body) == (400, {"error": error, "code": 400})
    assert not api.sim.jobs


async def test_max_jobs_out_of_range(api: Api) -> None:
    status, body = await api.submit("create", {"prompt": "p", "maxJobs": "11"})
    assert status == 400 and body["code"] == 400


async def test_non_multipart_body_rejected(api: Api) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with api.http.post(api.url("pika/create"), json={"prompt": "p"}, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "pika/create"),
        ("POST", "pika/animate"),
        ("POST", "pika/encrypt_text"),
        ("POST", "pika/encrypt_image"),
        ("POST", "pika/button"),
        ("GET", "pika/jobs/?jobid=x"),
        ("GET", "pika/jobs"),
        ("GET", "pika/jobs/cancel/?jobid=x"),
        ("GET", "pika/account"),
    ],
)
async def test_auth_on_every_endpoint(api: Api, method: str, path: str) -> None:
    for headers, expected in (
        ({}, (401, {"error": "Unauthorized", "code": 401})),
        ({"Authorization": "Bearer wrong"}, (401, {"error": "Unauthorized", "code": 401})),
        (
            {"Authorization": "Bearer sim-expired-token"},
            (402, {"error": "Account has no subscription or subscription expired", "code": 402}),
        ),
    ):
        async with api.http.request(method, api.url(path), headers=headers) as resp:
            assert (resp.status, await resp.json()) == expected
    assert not api.sim.jobs


# ---------------------------------------------------------------------------------------------------
# 422
# ---------------------------------------------------------------------------------------------------


async def test_moderated_word(api: Api) -> None:
    status, body = await api.submit("create", {"prompt": "something Forbidden here"})
    assert status == 422
    jobid = body["jobid"]
    assert body == {
        "error": "Sorry, your input may be inconsistent with server rules.",
        "jobid": jobid,
        "status": "moderated",
        "code": 422,
    }
    status, job = await api.get("pika/jobs/", jobid=jobid)
    assert (status, job["status"], job["code"]) == (200, "moderated", 200)
    assert not api.sim.executing_jobids()


async def test_unknown_flag_uses_backticks(api: Api) -> None:
    status, body = await api.submit("create", {"prompt": "waves -size 100"})
    assert status == 422
    assert body == {
        "error": "Invalid parameter",
        "errorDetails": "Unrecognized parameter(s): `size`",
        "jobid": body["jobid"],
        "status": "moderated",
        "code": 422,
    }
    assert api.sim.jobs[body["jobid"]].status is JobStatus.MODERATED


async def test_known_flags_accepted_and_w_size_only_on_encrypt(api: Api) -> None:
    prompt = "cat -gs 12 -neg blurry, low-quality -ar 9:16 -seed 5 -motion 2 -fps 24 -camera pan up left"
    await api.create(prompt)
    status, body = await api.submit("create", {"prompt": "cat -foo 1"})
    assert status == 422 and body["errorDetails"] == "Unrecognized parameter(s): `foo`"
    status, _ = await api.submit("encrypt_text", {"message": "hi", "prompt": "cat -w 2 -size 100"})
    assert status == 200


# ---------------------------------------------------------------------------------------------------
# 429
# ---------------------------------------------------------------------------------------------------


async def test_max_jobs_full_gives_429_with_executing_jobs(api: Api) -> None:
    api.sim.faults.hold_jobs = True
    first = await api.create("one", maxJobs="2")
    second = await api.create("two", maxJobs="2")
    status, body = await api.submit("create", {"prompt": "three", "maxJobs": "2"})
    assert status == 429
    assert body == {
        "error": "Maximum of 2 jobs executing in parallel supported",
        "executingJobs": [first["jobid"], second["jobid"]],
        "code": 429,
    }
    api.sim.release(first["jobid"])
    await wait_status(api, first["jobid"], JobStatus.COMPLETED)
    status, _ = await api.submit("create", {"prompt": "three", "maxJobs": "2"})
    assert status == 200


async def test_external_executing_occupies_slots(api: Api) -> None:
    api.sim.update_faults({"external_executing": {DEFAULT_CHANNEL: 10}})
    status, body = await api.submit("create", {"prompt": "p"})
    assert status == 429
    assert len(body["executingJobs"]) == 10
    assert body["error"] == "Maximum of 10 jobs executing in parallel supported"


async def test_discord_429_knob_counts_down(api: Api) -> None:
    api.sim.faults.discord_429_submits = 1
    status, body = await api.submit("create", {"prompt": "p"})
    assert status == 429
    assert body["error"] == "Discord /interactions failed with HTTP status 429"
    assert "executingJobs" not in body
    assert json.loads(body["errorDetails"]) == {
        "global": True,
        "message": "You are being rate limited.",
        "retry_after": 10,
    }
    assert not api.sim.jobs
    await api.create("p")


async def test_random_account_pick_and_all_full() -> None:
    accounts = {
        "111111111111111111": SimAccount("AAAtoken-one-aaa", 1),
        "222222222222222222": SimAccount("BBBtoken-two-bbb", 1),
    }
    config = fast_config(accounts=accounts)
    async with await start_simulator(config) as running, aiohttp.ClientSession() as http:
        api = Api(running, http)
        api.sim.faults.hold_jobs = True
        channels = {(await api.create("a"))["channel"], (await api.create("b"))["channel"]}
        assert channels == set(accounts)
        status, body = await api.submit("create", {"prompt": "c"})
        assert status == 429 and len(body["executingJobs"]) == 2
        # A configured channel alone selects that account and its discord token.
        api.sim.release_all()
        for jobid in list(api.sim.jobs):
            await wait_status(api, jobid, JobStatus.COMPLETED)
        body = await api.create("d", channel="222222222222222222")
        assert body["discord"] == "BBB…secured…bbb"
        assert body["maxJobs"] == 1


async def test_explicit_discord_and_channel(api: Api) -> None:
    body = await api.create("p", discord="XYZmy-own-token123", channel="333333333333333333", maxJobs="3")
    assert (body["discord"], body["channel"], body["maxJobs"]) == ("XYZ…secured…123", "333333333333333333", 3)


# ---------------------------------------------------------------------------------------------------
# Life cycle, attachments, jobs endpoints
# ---------------------------------------------------------------------------------------------------


async def test_job_completes_and_attachment_serves_mp4(api: Api) -> None:
    created = await api.create("smiling and blinking -ar 16:9 -seed 42")
    jobid = created["jobid"]
    seen = {api.sim.jobs[jobid].status}
    while api.sim.jobs[jobid].status is not JobStatus.COMPLETED:
        await api.sim.wait_for_status(jobid, JobStatus.PROGRESS, JobStatus.COMPLETED, within=3.0)
        seen.add(api.sim.jobs[jobid].status)
        await asyncio.sleep(0.005)
    assert JobStatus.PROGRESS in seen or JobStatus.STARTED in seen
    status, job = await api.get("pika/jobs/", jobid=jobid)
    assert status == 200
    assert job["status"] == "completed" and job["code"] == 200
    assert job["buttons"] == ["retry"]
    (att,) = job["attachments"]
    assert att["filename"] == "smiling_and_blinking_seed42.mp4"
    assert att["content_type"] == "video/mp4"
    assert att["url"].startswith(f"{api.running.root_url}/attachments/{DEFAULT_CHANNEL}/{job['messageId']}/")
    assert {"id", "size", "proxy_url", "width", "height"} <= set(att)
    for url in (att["url"], att["proxy_url"]):
        async with api.http.get(url) as resp:
            data = await resp.read()
            assert resp.status == 200
            assert resp.content_type == "video/mp4"
            assert resp.content_length == len(data) == att["size"]
            assert data[4:8] == b"ftyp"
    assert job["content"] == (
        "<@1100000000000000000> Prompt: smiling and blinking -ar 16:9 -seed 42  "
        "Author: <@1100000000000000000>"
    )


async def test_progress_content_shows_percent(api: Api) -> None:
    api.sim.faults.hold_jobs = True
    jobid = (await api.create("p"))["jobid"]
    await wait_status(api, jobid, JobStatus.PROGRESS)
    _, job = await api.get("pika/jobs/", jobid=jobid)
    assert job["status"] == "progress"
    assert re.search(r"\(\d+%\)$", job["content"])
    assert api.sim.complete_now(jobid)
    assert api.sim.jobs[jobid].status is JobStatus.COMPLETED


async def test_attachment_bad_signature_or_expired_is_404(api: Api) -> None:
    jobid = (await api.create("p"))["jobid"]
    await wait_status(api, jobid, JobStatus.COMPLETED)
    url = api.sim.jobs[jobid].attachments[0].url
    async with api.http.get(url.replace("hm=", "hm=00")) as resp:
        assert resp.status == 404
        assert await resp.text() == "This content is no longer available."
    api.sim.faults.expire_attachments = True
    async with api.http.get(url) as resp:
        assert resp.status == 404


async def test_fail_word_ends_failed(api: Api) -> None:
    jobid = (await api.create("make it explode"))["jobid"]
    await wait_status(api, jobid, JobStatus.FAILED)
    status, job = await api.get("pika/jobs/", jobid=jobid)
    assert (status, job["status"], job["code"]) == (200, "failed", 200)
    assert job["error"] == "Pika job failed"
    assert job["errorDetails"]
    assert "attachments" not in job


async def test_get_job_errors_and_no_trailing_slash(api: Api) -> None:
    assert await api.get("pika/jobs/") == (400, {"error": "Query param jobid not provided", "code": 400})
    assert await api.get("pika/jobs/", jobid="nope") == (
        404,
        {"error": "Unable to locate job nope", "code": 404},
    )
    jobid = (await api.create("p"))["jobid"]
    status, job = await api.get("pika/jobs", jobid=jobid)
    assert status == 200 and job["jobid"] == jobid


async def test_jobs_list_shows_executing_only(api: Api) -> None:
    api.sim.faults.hold_jobs = True
    a = (await api.create("a"))["jobid"]
    b = (await api.create("b"))["jobid"]
    assert await api.get("pika/jobs") == (200, [a, b])
    api.sim.complete_now(a)
    assert await api.get("pika/jobs") == (200, [b])


async def test_cancel(api: Api, receiver: Receiver) -> None:
    api.sim.faults.hold_jobs = True
    jobid = (await api.create("p", replyUrl=receiver.url))["jobid"]
    assert await api.get("pika/jobs/cancel/", jobid=jobid) == (
        200,
        {"jobid": jobid, "status": "cancelled", "code": 200},
    )
    assert api.sim.jobs[jobid].status is JobStatus.CANCELLED
    callback = await receiver.next()
    assert (callback["jobid"], callback["status"]) == (jobid, "cancelled")
    _, job = await api.get("pika/jobs/", jobid=jobid)
    assert job["status"] == "cancelled"
    assert await api.get("pika/jobs/cancel") == (
        400,
        {"error": "Query param jobid not provided", "code": 400},
    )
    assert await api.get("pika/jobs/cancel/", jobid="zz") == (
        404,
        {"error": "Unable to locate job zz", "code": 404},
    )


async def test_button_retry(api: Api) -> None:
    parent = await api.create("smiling -seed 9", replyRef="parent-ref")
    status, body = await api.submit("button", {"jobid": parent["jobid"], "button": "retry"})
    assert status == 400 and "completed" in body["error"]
    await wait_status(api, parent["jobid"], JobStatus.COMPLETED)
    status, body = await api.submit("button", {"jobid": parent["jobid"], "button": "retry", "replyRef": "r2"})
    assert status == 200, body
    assert body["verb"] == "pika-button"
    assert (body["button"], body["parentJobId"], body["replyRef"]) == ("retry", parent["jobid"], "r2")
    assert body["channel"] == parent["channel"]
    await wait_status(api, body["jobid"], JobStatus.COMPLETED)
    assert api.sim.jobs[body["jobid"]].attachments[0].filename == "smiling_seed9.mp4"
    status, body = await api.submit("button", {"jobid": "jmissing", "button": "retry"})
    assert (status, body) == (404, {"error": "Unable to locate job jmissing", "code": 404})


# ---------------------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------------------


async def test_accounts_crud(api: Api) -> None:
    status, body = await api.get("pika/account")
    assert status == 200
    assert body == {
        DEFAULT_CHANNEL: {"channel": DEFAULT_CHANNEL, "discord": "MTE…secured…xYz", "maxJobs": 10}
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}
    channel = "444444444444444444"
    new = {"discord": "NEWtoken-value-zzz", "channel": channel, "maxJobs": 3}
    async with api.http.post(api.url(f"pika/account/{channel}"), json=new, headers=headers) as resp:
        assert resp.status == 204
    bad = {**new, "maxJobs": 11}
    async with api.http.post(api.url(f"pika/account/{channel}"), json=bad, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "Required param maxJobs 11 can't be more that 10"
    status, body = await api.get("pika/account")
    assert body[channel] == {"channel": channel, "discord": "NEW…secured…zzz", "maxJobs": 3}
    async with api.http.delete(api.url(f"pika/account/{channel}"), headers=headers) as resp:
        assert resp.status == 204
    status, body = await api.get("pika/account")
    assert channel not in body


# ---------------------------------------------------------------------------------------------------
# Callbacks
# ---------------------------------------------------------------------------------------------------


async def test_callback_posts_job_json(api: Api, receiver: Receiver) -> None:
    jobid = (await api.create("p", replyUrl=receiver.url, replyRef="guild:thread"))["jobid"]
    body = await receiver.next()
    assert body["jobid"] == jobid
    assert body["status"] == "completed"
    assert body["replyRef"] == "guild:thread"
    assert body["attachments"][0]["url"]
    assert receiver.content_types == ["application/json"]
    await asyncio.sleep(0.05)
    assert len(receiver.bodies) == 1
    (sent,) = api.sim.callbacks_sent
    assert (sent.url, sent.jobid, sent.status, sent.http_status, sent.error) == (
        receiver.url,
        jobid,
        "completed",
        200,
        None,
    )


async def test_no_callback_for_moderated(api: Api, receiver: Receiver) -> None:
    status, _ = await api.submit("create", {"prompt": "forbidden", "replyUrl": receiver.url})
    assert status == 422
    await asyncio.sleep(0.1)
    assert receiver.bodies == [] and api.sim.callbacks_sent == []


async def test_failed_job_callback(api: Api, receiver: Receiver) -> None:
    await api.create("explode", replyUrl=receiver.url)
    body = await receiver.next()
    assert body["status"] == "failed" and body["error"] == "Pika job failed"


async def test_duplicate_callbacks(api: Api, receiver: Receiver) -> None:
    api.sim.faults.duplicate_callbacks = 2
    jobid = (await api.create("p", replyUrl=receiver.url))["jobid"]
    bodies = [await receiver.next() for _ in range(3)]
    assert {b["jobid"] for b in bodies} == {jobid}
    assert len(api.sim.callbacks_sent) == 3


async def test_dropped_callbacks(api: Api, receiver: Receiver) -> None:
    api.sim.faults.drop_callbacks = True
    jobid = (await api.create("p", replyUrl=receiver.url))["jobid"]
    await wait_status(api, jobid, JobStatus.COMPLETED)
    await asyncio.sleep(0.05)
    assert receiver.bodies == [] and api.sim.callbacks_sent == []


async def test_late_and_progress_callbacks(api: Api, receiver: Receiver) -> None:
    api.sim.update_faults({"progress_callbacks": True, "late_callback_delay": 0.3})
    jobid = (await api.create("p", replyUrl=receiver.url))["jobid"]
    await wait_status(api, jobid, JobStatus.COMPLETED)
    assert receiver.bodies == []  # everything is still in flight because of the delay
    statuses = [(await receiver.next())["status"] for _ in range(4)]
    assert statuses == ["started", "progress", "progress", "completed"]


async def test_callback_to_dead_url_is_recorded(api: Api) -> None:
    jobid = (await api.create("p", replyUrl="http://127.0.0.1:1/hook"))["jobid"]
    await wait_status(api, jobid, JobStatus.COMPLETED)
    for _ in range(100):
        if api.sim.callbacks_sent:
            break
        await asyncio.sleep(0.01)
    (sent,) = api.sim.callbacks_sent
    assert sent.http_status is None and sent.error


# ---------------------------------------------------------------------------------------------------
# Fault knobs
# ---------------------------------------------------------------------------------------------------


async def test_submit_status_knob(api: Api) -> None:
    api.sim.faults.submit_status = 503
    assert await api.submit("create", {"prompt": "p"}) == (503, {"error": "Service Unavailable", "code": 503})
    assert not api.sim.jobs


async def test_gateway_504_knob(api: Api) -> None:
    api.sim.faults.gateway_504_submits = 1
    status, body = await api.submit("create", {"prompt": "p"})
    assert (status, body["code"]) == (504, 504)
    await api.create("p")


async def test_html_error_knob(api: Api) -> None:
    api.sim.faults.submit_html_error = True
    headers = {"Authorization": f"Bearer {TOKEN}"}
    data = aiohttp.FormData({"prompt": "p"}, default_to_multipart=True)
    async with api.http.post(api.url("pika/create"), data=data, headers=headers) as resp:
        assert resp.status == 502
        assert resp.content_type == "text/html"
        assert "<html>" in await resp.text()


async def test_malformed_json_knob(api: Api) -> None:
    api.sim.faults.malformed_json = True
    headers = {"Authorization": f"Bearer {TOKEN}"}
    data = aiohttp.FormData({"prompt": "p"}, default_to_multipart=True)
    async with api.http.post(api.url("pika/create"), data=data, headers=headers) as resp:
        assert resp.status == 200
        text = await resp.text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    (jobid,) = api.sim.jobs  # the job was accepted even though the answer is garbage
    async with api.http.get(api.url("pika/jobs/"), params={"jobid": jobid}, headers=headers) as resp:
        assert resp.status == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(await resp.text())


async def test_huge_body_knob(api: Api) -> None:
    jobid = (await api.create("p"))["jobid"]
    api.sim.faults.huge_body = True
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with api.http.get(api.url("pika/jobs/"), params={"jobid": jobid}, headers=headers) as resp:
        assert resp.status == 200
        assert len(await resp.read()) > 5 * 1024 * 1024


async def test_delay_knob_makes_client_time_out(api: Api) -> None:
    api.sim.faults.delay_seconds = 0.5
    with pytest.raises(TimeoutError):
        async with api.http.get(
            api.url("pika/jobs"),
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=aiohttp.ClientTimeout(total=0.1),
        ):
            pass
    assert not api.sim.jobs


async def test_accept_then_delay_creates_job_despite_timeout(api: Api) -> None:
    api.sim.faults.accept_then_delay = 0.5
    data = aiohttp.FormData({"prompt": "p"}, default_to_multipart=True)
    with pytest.raises(TimeoutError):
        async with api.http.post(
            api.url("pika/create"),
            data=data,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=aiohttp.ClientTimeout(total=0.1),
        ):
            pass
    (jobid,) = api.sim.jobs
    await wait_status(api, jobid, JobStatus.COMPLETED)


async def test_update_faults_rejects_unknown_and_bad_types(api: Api) -> None:
    with pytest.raises(ValueError, match="unknown"):
        api.sim.update_faults({"nope": True})
    with pytest.raises(ValueError, match="bad value"):
        api.sim.update_faults({"hold_jobs": 1})
    with pytest.raises(ValueError, match="bad value"):
        api.sim.update_faults({"submit_status": 200})


async def test_hold_released_by_switching_knob_off(api: Api) -> None:
    api.sim.faults.hold_jobs = True
    jobid = (await api.create("p"))["jobid"]
    await wait_status(api, jobid, JobStatus.PROGRESS)
    await asyncio.sleep(0.08)
    assert api.sim.jobs[jobid].status is JobStatus.PROGRESS
    api.sim.faults.hold_jobs = False
    await wait_status(api, jobid, JobStatus.COMPLETED)


# ---------------------------------------------------------------------------------------------------
# Recording, control API, CLI
# ---------------------------------------------------------------------------------------------------


async def test_requests_are_recorded_without_authorization(api: Api) -> None:
    await api.submit("animate", {"prompt": "p"}, {"image": ("pic.png", PNG, "image/png")})
    (rec,) = api.sim.requests
    assert (rec.method, rec.path, rec.status) == ("POST", "/v1/pika/animate", 200)
    assert rec.content_type == "multipart/form-data"
    assert rec.fields == {"prompt": "p"}
    assert rec.files["image"].filename == "pic.png"
    assert rec.files["image"].content_type == "image/png"
    assert rec.files["image"].size == len(PNG)
    assert all(k.lower() != "authorization" for k in rec.headers)


async def test_control_api(api: Api, receiver: Receiver) -> None:
    root = api.running.root_url
    async with api.http.post(f"{root}/_sim/faults", json={"hold_jobs": True}) as resp:
        assert resp.status == 200 and (await resp.json())["hold_jobs"] is True
    async with api.http.post(f"{root}/_sim/faults", json={"bogus": 1}) as resp:
        assert resp.status == 400
    first = (await api.create("a", replyUrl=receiver.url))["jobid"]
    second = (await api.create("b"))["jobid"]
    async with api.http.post(f"{root}/_sim/jobs/{first}/complete") as resp:
        assert resp.status == 200 and (await resp.json())["status"] == "completed"
    assert (await receiver.next())["status"] == "completed"
    async with api.http.post(f"{root}/_sim/jobs/{second}/fail", json={"errorDetails": "boom"}) as resp:
        job = await resp.json()
        assert (job["status"], job["errorDetails"]) == ("failed", "boom")
    async with api.http.post(f"{root}/_sim/jobs/{second}/complete") as resp:
        assert resp.status == 409
    async with api.http.get(f"{root}/_sim/jobs") as resp:
        assert [j["jobid"] for j in await resp.json()] == [first, second]
    async with api.http.get(f"{root}/_sim/requests") as resp:
        assert len(await resp.json()) == 2  # /_sim traffic is not recorded
    async with api.http.get(f"{root}/_sim/callbacks") as resp:
        assert [c["status"] for c in await resp.json()] == ["completed"]


async def test_cli_prints_base_url_and_serves() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.useapi_sim",
        "--port",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1/", line)
        async with (
            aiohttp.ClientSession() as http,
            http.get(line + "pika/jobs", headers={"Authorization": f"Bearer {TOKEN}"}) as resp,
        ):
            assert (resp.status, await resp.json()) == (200, [])
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 5) == 0


async def test_make_app_in_process_with_aiohttp_client(aiohttp_client: AiohttpClient) -> None:
    sim = UseapiSimulator(fast_config())
    client = await aiohttp_client(sim.make_app())
    data = aiohttp.FormData({"prompt": "p"}, default_to_multipart=True)
    resp = await client.post("/v1/pika/create", data=data, headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 200
    jobid = (await resp.json())["jobid"]
    job = await sim.wait_for_status(jobid, JobStatus.COMPLETED, within=3.0)
    # Without public_base_url the attachment URL is built from the submit request's origin.
    url = job.attachments[0].url
    assert url.startswith(f"http://127.0.0.1:{client.port}/attachments/")
    video = await client.get(url[len(f"http://127.0.0.1:{client.port}") :])
    assert video.status == 200 and (await video.read())[4:8] == b"ftyp"


async def test_jobs_list_names_foreign_jobs_and_can_fail(api: Api) -> None:
    """The executing list shows foreign jobs as ids (like a 429 body); its fault knob fails it."""
    api.sim.faults.hold_jobs = True
    ours = (await api.create("ours"))["jobid"]
    api.sim.update_faults({"external_executing": {DEFAULT_CHANNEL: 2}})
    status, listed = await api.get("pika/jobs")
    assert status == 200 and listed[0] == ours and len(listed) == 3
    api.sim.update_faults({"jobs_list_status": 503})
    status, body = await api.get("pika/jobs")
    assert status == 503 and body["code"] == 503
    with pytest.raises(ValueError, match="jobs_list_status"):
        api.sim.update_faults({"jobs_list_status": 200})
