"""The API Glue simulator's request records, control API and command line."""

from __future__ import annotations

import asyncio
import re
import sys

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from sandbox.apiglue_sim import ApiGlueSimulator, VideoStatus
from tests.sandbox.apiglue_sim.helpers import REPO_ROOT, SAMPLE_MP4, Api, Receiver, auth, fast_config, options


async def test_requests_are_recorded_without_authorization(api: Api) -> None:
    body = {"promptText": "p", "options": options(), "ref": "r"}
    await api.post("/web/generate", body)
    await api.get("/web/jobs/nope?x=1")
    first, second = api.sim.requests
    assert (first.method, first.path, first.status, first.body) == ("POST", "/web/generate", 200, body)
    assert first.content_type == "application/json"
    assert all(k.lower() != "authorization" for k in first.headers)
    assert (second.method, second.path, second.query, second.status, second.body) == (
        "GET",
        "/web/jobs/nope",
        {"x": "1"},
        404,
        None,
    )


async def test_finish_and_fail_helpers(api: Api) -> None:
    api.sim.faults.hold_jobs = True
    a = (await api.generate("a"))["job"]["id"]
    b = (await api.generate("b"))["job"]["id"]
    assert api.sim.finish_now(a) and not api.sim.finish_now(a)
    assert api.sim.fail_now(b, "boom", VideoStatus.FAILED)
    assert (api.sim.jobs[b].status, api.sim.jobs[b].error) == (VideoStatus.FAILED, "boom")
    with pytest.raises(ValueError, match="not a failure"):
        api.sim.fail_now(b, "x", VideoStatus.FINISHED)


async def test_control_api(api: Api, receiver: Receiver) -> None:
    root = api.running.root_url
    async with api.http.post(f"{root}/_sim/faults", json={"hold_jobs": True}) as resp:
        assert resp.status == 200 and (await resp.json())["hold_jobs"] is True
    async with api.http.post(f"{root}/_sim/faults", json={"bogus": 1}) as resp:
        assert resp.status == 400
    first = (await api.generate("a", webhookOverride=receiver.url))["job"]["id"]
    second = (await api.generate("b"))["job"]["id"]
    third = (await api.generate("c"))["job"]["id"]
    async with api.http.post(f"{root}/_sim/jobs/{first}/finish") as resp:
        assert resp.status == 200 and (await resp.json())["videos"][0]["status"] == "finished"
    assert (await receiver.next())["videos"][0]["status"] == "finished"
    async with api.http.post(
        f"{root}/_sim/jobs/{second}/fail", json={"status": "failed", "error": "x"}
    ) as resp:
        video = (await resp.json())["videos"][0]
        assert (video["status"], video["error"]) == ("failed", "x")
    async with api.http.post(f"{root}/_sim/jobs/{second}/finish") as resp:
        assert resp.status == 409
    async with api.http.post(f"{root}/_sim/jobs/{third}/fail", json={"status": "queued"}) as resp:
        assert resp.status == 400
    async with api.http.post(f"{root}/_sim/jobs/{third}/release") as resp:
        assert resp.status == 200
    await api.finish(third)
    async with api.http.post(f"{root}/_sim/jobs/nope/finish") as resp:
        assert resp.status == 404
    async with api.http.get(f"{root}/_sim/jobs") as resp:
        assert [j["job"]["id"] for j in await resp.json()] == [first, second, third]
    async with api.http.get(f"{root}/_sim/requests") as resp:
        assert len(await resp.json()) == 4  # /_sim traffic is not recorded
    async with api.http.get(f"{root}/_sim/callbacks") as resp:
        assert [c["status"] for c in await resp.json()] == ["finished"]
    async with api.http.get(f"{root}/_sim/faults") as resp:
        assert (await resp.json())["hold_jobs"] is True


async def test_cli_prints_base_url_and_serves() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.apiglue_sim",
        "--port",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", line)
        async with aiohttp.ClientSession() as http, http.get(line + "/web/jobs/x", headers=auth()) as resp:
            assert (resp.status, await resp.json()) == (404, {"error": "Job not found", "code": 404})
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 5) == 0


async def test_make_app_in_process_with_aiohttp_client(aiohttp_client: AiohttpClient) -> None:
    sim = ApiGlueSimulator(fast_config())
    client = await aiohttp_client(sim.make_app())
    resp = await client.post("/web/generate", json={"promptText": "p", "options": options()}, headers=auth())
    assert resp.status == 200
    job_id = (await resp.json())["job"]["id"]
    job = await sim.wait_for_status(job_id, VideoStatus.FINISHED, within=3.0)
    # Without public_base_url the media URLs are built from the submit request's origin.
    assert job.result_url is not None
    origin = f"http://127.0.0.1:{client.port}"
    assert job.result_url.startswith(f"{origin}/videos/{job_id}/")
    assert sim.job_for_result_url(job.result_url) is job
    video = await client.get(job.result_url[len(origin) :])
    assert video.status == 200 and await video.read() == SAMPLE_MP4
