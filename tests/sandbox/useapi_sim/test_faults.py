"""The useapi.net simulator's fault knobs: error statuses, broken bodies, delays and held jobs."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from sandbox.useapi_sim import JobStatus
from tests.sandbox.useapi_sim.helpers import TOKEN, Api, wait_status


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
