"""The useapi.net simulator's callbacks: the job JSON posted, and duplicate, dropped, late or dead ones."""

from __future__ import annotations

import asyncio

from sandbox.useapi_sim import JobStatus
from tests.sandbox.useapi_sim.helpers import Api, Receiver, wait_status


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
