"""The API Glue simulator's fault knobs: error statuses, broken bodies, delays, stuck and held jobs."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from sandbox.apiglue_sim import VideoStatus
from tests.sandbox.apiglue_sim.helpers import Api, Receiver, auth, options


async def test_submit_and_poll_status_knobs(api: Api) -> None:
    job_id = (await api.generate())["job"]["id"]
    api.sim.faults.submit_status = 503
    body = {"promptText": "p", "options": options()}
    assert await api.post("/web/generate", body) == (503, {"error": "Service Unavailable", "code": 503})
    assert await api.post("/web/upscale", {"video": "x"}) == (
        503,
        {"error": "Service Unavailable", "code": 503},
    )
    assert len(api.sim.jobs) == 1
    api.sim.faults.poll_status = 500
    assert await api.get(f"/web/jobs/{job_id}") == (500, {"error": "Internal Server Error", "code": 500})


async def test_html_error_knob(api: Api) -> None:
    api.sim.faults.html_error = True
    for method, path in (("POST", "/web/generate"), ("GET", "/web/jobs/x")):
        async with api.http.request(method, api.url(path), json={}, headers=auth()) as resp:
            assert (resp.status, resp.content_type) == (502, "text/html")
            assert "<html>" in await resp.text()
    assert not api.sim.jobs


async def test_malformed_json_knob(api: Api) -> None:
    api.sim.faults.malformed_json = True
    body = {"promptText": "p", "options": options()}
    async with api.http.post(api.url("/web/generate"), json=body, headers=auth()) as resp:
        assert resp.status == 200
        text = await resp.text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    (job_id,) = api.sim.jobs  # the job was accepted even though the answer is garbage
    async with api.http.get(api.url(f"/web/jobs/{job_id}"), headers=auth()) as resp:
        assert resp.status == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(await resp.text())


async def test_huge_body_knob(api: Api) -> None:
    job_id = (await api.generate())["job"]["id"]
    api.sim.faults.huge_body = True
    async with api.http.get(api.url(f"/web/jobs/{job_id}"), headers=auth()) as resp:
        assert resp.status == 200
        assert len(await resp.read()) > 5 * 1024 * 1024


async def test_delay_knob_makes_client_time_out(api: Api) -> None:
    api.sim.faults.delay_seconds = 0.5
    with pytest.raises(TimeoutError):
        async with api.http.get(
            api.url("/web/jobs/x"), headers=auth(), timeout=aiohttp.ClientTimeout(total=0.1)
        ):
            pass
    assert not api.sim.jobs


async def test_accept_then_delay_creates_job_despite_timeout(api: Api) -> None:
    api.sim.faults.accept_then_delay = 0.5
    body = {"promptText": "p", "options": options()}
    with pytest.raises(TimeoutError):
        async with api.http.post(
            api.url("/web/generate"), json=body, headers=auth(), timeout=aiohttp.ClientTimeout(total=0.1)
        ):
            pass
    (job_id,) = api.sim.jobs
    await api.finish(job_id)


async def test_stuck_queued_until_released(api: Api) -> None:
    api.sim.faults.stuck_queued = True
    first = (await api.generate("a"))["job"]["id"]
    second = (await api.generate("b"))["job"]["id"]
    await asyncio.sleep(0.08)
    _, body = await api.get(f"/web/jobs/{first}")
    assert (body["videos"][0]["status"], body["videos"][0]["progress"]) == ("queued", 0)
    api.sim.release(first)
    await api.finish(first)
    assert api.sim.jobs[second].status is VideoStatus.QUEUED
    api.sim.faults.stuck_queued = False
    await api.finish(second)


async def test_hold_jobs_until_release_all(api: Api) -> None:
    api.sim.faults.hold_jobs = True
    ids = [(await api.generate(f"p{i}"))["job"]["id"] for i in range(2)]
    for job_id in ids:
        await api.sim.wait_for_status(job_id, VideoStatus.PENDING, within=3.0)
    await asyncio.sleep(0.08)
    assert [(api.sim.jobs[i].status, api.sim.jobs[i].progress) for i in ids] == [(VideoStatus.PENDING, 0)] * 2
    assert api.sim.executing_job_ids() == ids
    api.sim.release_all()
    for job_id in ids:
        await api.finish(job_id)
    assert api.sim.executing_job_ids() == []


async def test_running_status_alias(api: Api, receiver: Receiver) -> None:
    api.sim.update_faults({"hold_jobs": True, "running_status": "processing", "progress_callbacks": True})
    job_id = (await api.generate(webhookOverride=receiver.url))["job"]["id"]
    assert (await receiver.next())["videos"][0]["status"] == "processing"
    _, body = await api.get(f"/web/jobs/{job_id}")
    assert body["videos"][0]["status"] == "processing"
    api.sim.release(job_id)
    assert (await api.finish(job_id))["videos"][0]["status"] == "finished"


async def test_expire_results_knob(api: Api) -> None:
    video = (await api.finished())["videos"][0]
    async with api.http.get(video["resultUrl"] + "x") as resp:
        assert resp.status == 404
    api.sim.faults.expire_results = True
    for url in (video["resultUrl"], video["videoPoster"], video["imageThumb"]):
        async with api.http.get(url) as resp:
            assert resp.status == 404


async def test_update_faults_rejects_unknown_and_bad_types(api: Api) -> None:
    with pytest.raises(ValueError, match="unknown"):
        api.sim.update_faults({"nope": True})
    with pytest.raises(ValueError, match="bad value"):
        api.sim.update_faults({"hold_jobs": 1})
    with pytest.raises(ValueError, match="bad value"):
        api.sim.update_faults({"submit_status": 200})
    with pytest.raises(ValueError, match="bad value"):
        api.sim.update_faults({"rate_limit_next": -1})
    api.sim.update_faults({"delay_seconds": 1, "running_status": None})
    assert api.sim.faults.delay_seconds == 1.0
