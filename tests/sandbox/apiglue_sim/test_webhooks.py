"""The API Glue simulator's webhooks: the job JSON posted, and duplicate, dropped, late or dead callbacks."""

from __future__ import annotations

import asyncio

from tests.sandbox.apiglue_sim.helpers import Api, Receiver


async def test_webhook_posts_the_job_json(api: Api, receiver: Receiver) -> None:
    job_id = (await api.generate(ref="guild:thread", webhookOverride=receiver.url))["job"]["id"]
    body = await receiver.next()
    assert receiver.content_types == ["application/json"]
    _, polled = await api.get(f"/web/jobs/{job_id}")
    assert body == polled
    assert body["job"]["ref"] == "guild:thread"
    assert body["videos"][0]["status"] == "finished"
    await asyncio.sleep(0.05)
    assert len(receiver.bodies) == 1
    (sent,) = api.sim.callbacks_sent
    assert (sent.url, sent.job_id, sent.status, sent.progress, sent.http_status, sent.error) == (
        receiver.url,
        job_id,
        "finished",
        100,
        200,
        None,
    )


async def test_no_webhook_without_override(api: Api) -> None:
    job_id = (await api.generate())["job"]["id"]
    await api.finish(job_id)
    await asyncio.sleep(0.03)
    assert api.sim.callbacks_sent == []


async def test_error_webhook(api: Api, receiver: Receiver) -> None:
    await api.generate("explode", webhookOverride=receiver.url)
    video = (await receiver.next())["videos"][0]
    assert video["status"] == "error" and video["error"]


async def test_duplicate_callbacks(api: Api, receiver: Receiver) -> None:
    api.sim.faults.duplicate_callbacks = 2
    job_id = (await api.generate(webhookOverride=receiver.url))["job"]["id"]
    bodies = [await receiver.next() for _ in range(3)]
    assert {b["job"]["id"] for b in bodies} == {job_id}
    assert len(api.sim.callbacks_sent) == 3


async def test_dropped_callbacks(api: Api, receiver: Receiver) -> None:
    api.sim.faults.drop_callbacks = True
    job_id = (await api.generate(webhookOverride=receiver.url))["job"]["id"]
    await api.finish(job_id)
    await asyncio.sleep(0.05)
    assert receiver.bodies == [] and api.sim.callbacks_sent == []


async def test_late_and_progress_callbacks(api: Api, receiver: Receiver) -> None:
    api.sim.update_faults({"progress_callbacks": True, "late_callback_delay": 0.3})
    job_id = (await api.generate(webhookOverride=receiver.url))["job"]["id"]
    await api.finish(job_id)
    assert receiver.bodies == []  # everything is still in flight because of the delay
    seen = [(await receiver.next())["videos"][0] for _ in range(4)]
    assert [(v["status"], v["progress"]) for v in seen] == [
        ("pending", 0),
        ("pending", 40),
        ("pending", 80),
        ("finished", 100),
    ]


async def test_callback_to_dead_url_is_recorded(api: Api) -> None:
    job_id = (await api.generate(webhookOverride="http://127.0.0.1:1/hook"))["job"]["id"]
    await api.finish(job_id)
    for _ in range(100):
        if api.sim.callbacks_sent:
            break
        await asyncio.sleep(0.01)
    (sent,) = api.sim.callbacks_sent
    assert sent.http_status is None and sent.error
