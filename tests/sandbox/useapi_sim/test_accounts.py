"""The useapi.net simulator's accounts: their job slots (429 when full), picking one, and CRUD."""

from __future__ import annotations

import json

import aiohttp

from sandbox.useapi_sim import DEFAULT_CHANNEL, JobStatus, SimAccount, start_simulator
from tests.sandbox.useapi_sim.helpers import TOKEN, Api, fast_config, wait_status


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
