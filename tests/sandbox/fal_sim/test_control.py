"""The fal.ai simulator's request records, control API and command line."""

from __future__ import annotations

import asyncio
import json
import re
import sys

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from sandbox.fal_sim import DEFAULT_KEY, TEXT_TO_VIDEO, FalSimulator, QueueStatus
from tests.sandbox.fal_sim.helpers import CONTRACT_JWKS, REPO_ROOT, VALID, Api, Receiver, auth, fast_config


async def test_requests_are_recorded_without_authorization(api: Api) -> None:
    await api.submit_ok(params={"fal_max_queue_length": "9"})
    rec = api.sim.recorded[0]
    assert (rec.method, rec.path, rec.query, rec.status) == (
        "POST",
        f"/{TEXT_TO_VIDEO}",
        {"fal_max_queue_length": "9"},
        200,
    )
    assert rec.body == VALID[TEXT_TO_VIDEO]
    assert "authorization" not in {k.lower() for k in rec.headers}
    assert DEFAULT_KEY not in json.dumps([rec.headers, rec.body])


async def test_update_faults_and_config_reject_bad_input(api: Api) -> None:
    with pytest.raises(ValueError, match="unknown fault knob"):
        api.sim.update_faults({"bogus": True})
    for name, value in (
        ("locked", 1),
        ("fail_next", -1),
        ("fail_error_type", "nope"),
        ("jwks_status", 200),
        ("delay_seconds", "x"),
    ):
        with pytest.raises(ValueError, match="bad value"):
            api.sim.update_faults({name: value})
    with pytest.raises(ValueError, match="unknown config field"):
        api.sim.update_config({"signing_key": None})
    api.sim.update_config({"concurrency": 1, "banned_words": ["nope"], "scenes_images": [2, 5]})
    assert (api.sim.config.concurrency, api.sim.config.banned_words, api.sim.config.scenes_images) == (
        1,
        ("nope",),
        (2, 5),
    )


async def test_control_api(api: Api, receiver: Receiver) -> None:
    root = api.base
    async with api.http.post(f"{root}/_sim/faults", json={"stuck_queued": True}) as resp:
        assert resp.status == 200 and (await resp.json())["stuck_queued"] is True
    async with api.http.post(f"{root}/_sim/faults", json={"bogus": 1}) as resp:
        assert resp.status == 400
    async with api.http.post(f"{root}/_sim/config", json={"concurrency": 3}) as resp:
        assert resp.status == 200 and (await resp.json())["concurrency"] == 3
    async with api.http.get(f"{root}/_sim/config") as resp:
        assert "signing_key" not in await resp.json()
    first = (await api.submit_ok(webhook=receiver.url))["request_id"]
    second = (await api.submit_ok())["request_id"]
    third = (await api.submit_ok())["request_id"]
    async with api.http.get(f"{root}/_sim/jobs") as resp:
        jobs = await resp.json()
        assert [(j["request_id"], j["queue_position"]) for j in jobs] == [(first, 0), (second, 1), (third, 2)]
    async with api.http.post(f"{root}/_sim/jobs/{first}/finish") as resp:
        assert resp.status == 200 and (await resp.json())["result_status"] == 200
    async with api.http.post(f"{root}/_sim/jobs/{first}/finish") as resp:
        assert resp.status == 409
    async with api.http.post(
        f"{root}/_sim/jobs/{second}/fail", json={"error_type": "generation_timeout"}
    ) as resp:
        assert resp.status == 200 and (await resp.json())["result_status"] == 504
    async with api.http.post(f"{root}/_sim/jobs/{third}/fail", json={"error_type": "nope"}) as resp:
        assert resp.status == 400
    async with api.http.post(f"{root}/_sim/jobs/{third}/explode") as resp:
        assert resp.status == 400
    async with api.http.post(f"{root}/_sim/jobs/nope/finish") as resp:
        assert resp.status == 404
    async with api.http.post(f"{root}/_sim/jobs/{third}/release") as resp:
        assert resp.status == 200
    await api.completed(third)
    async with api.http.post(f"{root}/_sim/release") as resp:
        assert resp.status == 200
    await receiver.next()
    async with api.http.get(f"{root}/_sim/webhooks") as resp:
        assert (await resp.json())[0]["request_id"] == first
    async with api.http.get(f"{root}/_sim/requests") as resp:
        assert all(not r["path"].startswith("/_sim/") for r in await resp.json())
    async with api.http.get(f"{root}/_sim/files") as resp:
        assert {f["path"] for f in await resp.json()} == {
            f"/files/b/{first}_output.mp4",
            f"/files/b/{third}_output.mp4",
        }
    async with api.http.get(f"{root}/_sim/faults") as resp:
        assert (await resp.json())["stuck_queued"] is True
    async with api.http.post(f"{root}/_sim/rotate-key", json={"seed": "00" * 32, "keep_old": False}) as resp:
        jwks = await resp.json()
        assert len(jwks["keys"]) == 1 and jwks != CONTRACT_JWKS
    async with api.http.post(f"{root}/_sim/rotate-key", json={"seed": "zz"}) as resp:
        assert resp.status == 400


async def test_cli_prints_base_url_and_serves() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.fal_sim",
        "--port",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", line)
        async with aiohttp.ClientSession() as http:
            async with http.get(line + "/fal-ai/pika/requests/x/status", headers=auth()) as resp:
                assert (resp.status, await resp.json()) == (404, {"detail": "Request not found"})
            async with http.get(line + "/.well-known/jwks.json") as resp:
                assert await resp.json() == CONTRACT_JWKS
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 5) == 0


async def test_make_app_in_process_with_aiohttp_client(aiohttp_client: AiohttpClient) -> None:
    sim = FalSimulator(fast_config())
    client = await aiohttp_client(sim.make_app())
    resp = await client.post(f"/{TEXT_TO_VIDEO}", json=VALID[TEXT_TO_VIDEO], headers=auth())
    assert resp.status == 200
    body = await resp.json()
    # Without public_base_url the URLs are built from the submit request's origin.
    assert body["status_url"].startswith(f"http://127.0.0.1:{client.port}/fal-ai/pika/requests/")
    req = await sim.wait_for_status(body["request_id"], QueueStatus.COMPLETED, within=3.0)
    assert req.succeeded
