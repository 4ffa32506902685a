"""The fal.ai simulator's queue: status, result and media, queue positions, timeouts and cancel."""

from __future__ import annotations

import asyncio
import re

from sandbox.fal_sim import IMAGE_TO_VIDEO, TEXT_TO_VIDEO, QueueStatus
from tests.sandbox.fal_sim.helpers import REPO_ROOT, Api, fast_config, serve

SAMPLE_MP4 = (REPO_ROOT / "sandbox" / "assets" / "sample.mp4").read_bytes()


async def test_lifecycle_status_result_and_media(api: Api) -> None:
    api.sim.update_faults({"hold_jobs": True})
    sub = await api.submit_ok()
    rid = sub["request_id"]
    await api.sim.wait_for_status(rid, QueueStatus.IN_PROGRESS)
    running = await api.call("GET", sub["status_url"], params={"logs": "1"})
    assert running.status == 202
    assert running.body["status"] == "IN_PROGRESS"
    assert running.headers["x-fal-request-id"] == rid
    log = running.body["logs"][0]
    assert set(log) == {"message", "level", "source", "timestamp"}
    assert (log["level"], log["source"]) == ("INFO", "USER")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", log["timestamp"])
    quiet = await api.call("GET", sub["status_url"])
    assert quiet.body["logs"] is None
    early = await api.call("GET", sub["response_url"])
    assert (early.status, early.body) == (400, {"detail": "Request is still in progress"})
    api.sim.release(rid)
    await api.completed(rid)
    done = await api.call("GET", sub["status_url"], params={"logs": "true"})
    assert done.status == 200
    assert done.body["status"] == "COMPLETED"
    assert [entry["message"] for entry in done.body["logs"]][1:] == [
        "Generating video...",
        "Encoding video...",
    ]
    assert done.body["metrics"]["inference_time"] > 0
    assert "error" not in done.body
    assert (await api.call("GET", sub["status_url"])).body["logs"] is None
    result = await api.call("GET", sub["response_url"])
    assert result.status == 200
    video = result.body["video"]
    assert video["url"] == f"{api.base}/files/b/{rid}_output.mp4"
    assert (video["content_type"], video["file_name"], video["file_size"]) == (
        "video/mp4",
        "output.mp4",
        len(SAMPLE_MP4),
    )
    async with api.http.get(video["url"]) as resp:  # public: no auth
        assert resp.status == 200 and resp.content_type == "video/mp4"
        assert await resp.read() == SAMPLE_MP4
    api.sim.update_faults({"expire_media": True})
    async with api.http.get(video["url"]) as resp:
        assert resp.status == 404


async def test_unknown_request_ids(api: Api) -> None:
    rid = (await api.submit_ok())["request_id"]
    for path in (f"/fal-ai/pika/requests/{'0' * 8}/status", f"/fal-ai/pika/requests/{'0' * 8}"):
        answer = await api.call("GET", path)
        assert (answer.status, answer.body) == (404, {"detail": "Request not found"})
    # Other owner/app, or the sub-path form: not served.
    assert (await api.call("GET", f"/fal-ai/other/requests/{rid}/status")).status == 404
    assert (await api.call("GET", f"/{TEXT_TO_VIDEO}/requests/{rid}/status")).status == 404


async def test_queue_positions_with_concurrency_two(api: Api) -> None:
    api.sim.update_faults({"hold_jobs": True})
    first = await api.submit_ok()
    second = await api.submit_ok()
    for sub in (first, second):
        await api.sim.wait_for_status(sub["request_id"], QueueStatus.IN_PROGRESS)
    third = await api.submit_ok()
    fourth = await api.submit_ok()
    assert (third["queue_position"], fourth["queue_position"]) == (0, 1)
    await asyncio.sleep(0.05)  # the scheduler had every chance to (wrongly) start them
    third_status = await api.call("GET", third["status_url"])
    fourth_status = await api.call("GET", fourth["status_url"])
    assert (third_status.status, third_status.body["status"], third_status.body["queue_position"]) == (
        202,
        "IN_QUEUE",
        0,
    )
    assert fourth_status.body["queue_position"] == 1
    assert "logs" not in third_status.body
    api.sim.release(first["request_id"])
    await api.sim.wait_for_status(third["request_id"], QueueStatus.IN_PROGRESS)
    assert (await api.call("GET", fourth["status_url"])).body["queue_position"] == 0
    api.sim.update_faults({"hold_jobs": False})
    for sub in (second, third, fourth):
        await api.completed(sub["request_id"])


async def test_stuck_queued_low_priority_and_release(api: Api) -> None:
    api.sim.update_faults({"stuck_queued": True})
    low = await api.submit_ok(headers={"X-Fal-Queue-Priority": "low"})
    normal = await api.submit_ok()
    assert normal["queue_position"] == 0
    assert api.sim.position(low["request_id"]) == 1
    await asyncio.sleep(0.05)
    assert api.sim.running_ids() == []
    api.sim.release(low["request_id"])
    await api.completed(low["request_id"])
    assert api.sim.requests[normal["request_id"]].status is QueueStatus.IN_QUEUE
    api.sim.update_faults({"stuck_queued": False})
    await api.completed(normal["request_id"])


async def test_max_queue_length_is_429(api: Api) -> None:
    api.sim.update_faults({"stuck_queued": True})
    await api.submit_ok(params={"fal_max_queue_length": "1"})
    full = await api.submit(params={"fal_max_queue_length": "1"})
    assert (full.status, full.body) == (429, {"detail": "Queue is full"})
    other_endpoint = await api.submit(IMAGE_TO_VIDEO, params={"fal_max_queue_length": "1"})
    assert other_endpoint.status == 200
    bad = await api.submit(params={"fal_max_queue_length": "many"})
    assert bad.status == 422 and bad.body["detail"][0]["loc"] == ["query", "fal_max_queue_length"]


async def test_start_timeout_expires_while_queued(api: Api) -> None:
    api.sim.update_faults({"stuck_queued": True})
    sub = await api.submit_ok(headers={"X-Fal-Request-Timeout": "0.05"})
    await api.completed(sub["request_id"])
    status = await api.call("GET", sub["status_url"])
    assert (status.body["error"], status.body["error_type"]) == ("Request timed out", "request_timeout")
    result = await api.call("GET", sub["response_url"])
    assert (result.status, result.body) == (
        504,
        {"detail": "Request timed out", "error_type": "request_timeout"},
    )
    assert result.headers["X-Fal-Error-Type"] == "request_timeout"
    assert result.headers["X-Fal-Request-Timeout-Type"] == "user"


async def test_cancel_answers(api: Api) -> None:
    api.sim.update_faults({"stuck_queued": True})
    sub = await api.submit_ok()
    answer = await api.call("PUT", sub["cancel_url"])
    assert (answer.status, answer.body) == (202, {"status": "CANCELLATION_REQUESTED"})
    status = await api.call("GET", sub["status_url"])
    assert (status.status, status.body["status"], status.body["error_type"]) == (
        200,
        "COMPLETED",
        "client_cancelled",
    )
    result = await api.call("GET", sub["response_url"])
    assert result.status == 499 and result.body["error_type"] == "client_cancelled"
    again = await api.call("PUT", sub["cancel_url"])
    assert (again.status, again.body) == (400, {"status": "ALREADY_COMPLETED"})
    unknown = await api.call("PUT", "/fal-ai/pika/requests/nope/cancel")
    assert (unknown.status, unknown.body) == (404, {"status": "NOT_FOUND"})


async def test_cancel_running_request(api: Api) -> None:
    api.sim.update_faults({"hold_jobs": True})
    sub = await api.submit_ok()
    await api.sim.wait_for_status(sub["request_id"], QueueStatus.IN_PROGRESS)
    assert (await api.call("PUT", sub["cancel_url"])).status == 202
    await api.completed(sub["request_id"])
    assert api.sim.requests[sub["request_id"]].error_type == "client_cancelled"


async def test_cancelled_running_request_may_still_finish() -> None:
    async with serve(fast_config(cancel_running_finishes=True)) as api:
        api.sim.update_faults({"hold_jobs": True})
        sub = await api.submit_ok()
        await api.sim.wait_for_status(sub["request_id"], QueueStatus.IN_PROGRESS)
        assert (await api.call("PUT", sub["cancel_url"])).status == 202
        api.sim.release(sub["request_id"])
        await api.completed(sub["request_id"])
        assert api.sim.requests[sub["request_id"]].succeeded
