"""The useapi.net simulator's job life cycle, attachments and jobs endpoints."""

from __future__ import annotations

import asyncio
import re

import pytest

from sandbox.useapi_sim import DEFAULT_CHANNEL, JobStatus
from tests.sandbox.useapi_sim.helpers import Api, Receiver, wait_status


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
