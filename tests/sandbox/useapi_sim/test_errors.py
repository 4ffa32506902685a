"""The useapi.net simulator's refusals: bad requests (400), auth (401, 402) and the prompt checks (422)."""

from __future__ import annotations

import pytest

from sandbox.useapi_sim import JobStatus
from tests.sandbox.useapi_sim.helpers import PNG, TOKEN, Api, File


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
