"""The useapi.net simulator's request records, control API and command line."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import aiohttp
from pytest_aiohttp import AiohttpClient

from sandbox.useapi_sim import JobStatus, UseapiSimulator
from tests.sandbox.useapi_sim.helpers import PNG, TOKEN, Api, Receiver, fast_config

REPO_ROOT = Path(__file__).resolve().parents[3]


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
