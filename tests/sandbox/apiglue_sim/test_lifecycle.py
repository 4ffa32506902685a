"""The API Glue simulator's job life cycle: progress to a finished video with real media, or an error."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.apiglue_sim import VideoStatus
from tests.sandbox.apiglue_sim.helpers import (
    SAMPLE_MP4,
    SEED_FINISHED,
    Api,
    auth,
    fast_config,
    keys,
    options,
    serve,
)


async def test_job_progresses_to_finished_with_real_media() -> None:
    # Slower steps than elsewhere, so that polling sees the pending phase even on a loaded machine.
    async with serve(fast_config(queued_delay=0.03, progress_delay=0.04)) as api:
        await check_progress_and_media(api)


async def check_progress_and_media(api: Api) -> None:
    job_id = (await api.generate())["job"]["id"]
    seen: list[tuple[str, int]] = []
    while True:
        status, body = await api.get(f"/web/jobs/{job_id}")
        assert status == 200
        video = body["videos"][0]
        if not seen or seen[-1] != (video["status"], video["progress"]):
            seen.append((video["status"], video["progress"]))
        if video["status"] == "finished":
            break
        await asyncio.sleep(0.005)
    assert {s for s, _ in seen} >= {"pending", "finished"}
    assert {s for s, _ in seen} <= {"queued", "pending", "finished"}
    assert [p for _, p in seen] == sorted(p for _, p in seen)
    assert seen[-1] == ("finished", 100)
    assert keys(body) == keys(SEED_FINISHED)
    assert keys(body["job"]) == keys(SEED_FINISHED["job"]) | {"ref"}
    assert keys(body["job"]["createdAt"]) == {"_seconds", "_nanoseconds"}
    assert keys(video) == keys(SEED_FINISHED["videos"][0])
    root = api.running.root_url
    assert video["resultUrl"] == f"{root}/videos/{job_id}/robed_villain_lurking_the_streets.mp4"
    assert video["videoPoster"] == f"{root}/images/{job_id}/poster.jpg"
    assert video["imageThumb"] == f"{root}/images/{job_id}/thumbnail.jpg"
    assert (video["duration"], video["seed"], video["feedback"]) == (3, 123123123, 0)
    async with api.http.get(video["resultUrl"]) as resp:
        assert (resp.status, resp.content_type) == (200, "video/mp4")
        data = await resp.read()
    assert data == SAMPLE_MP4 and data[4:8] == b"ftyp"
    for url in (video["videoPoster"], video["imageThumb"]):
        async with api.http.get(url) as resp:
            assert (resp.status, resp.content_type) == (200, "image/jpeg")
            assert (await resp.read())[:2] == b"\xff\xd8"


async def test_random_seed_when_none_requested(api: Api) -> None:
    opts = options(parameters={"motion": 1, "guidanceScale": 12, "seed": None})
    status, body = await api.post("/web/generate", {"promptText": "p", "options": opts})
    assert status == 200
    video = (await api.finish(body["job"]["id"]))["videos"][0]
    assert isinstance(video["seed"], int) and video["seed"] > 0


async def test_running_video_has_null_result_fields(api: Api) -> None:
    api.sim.faults.hold_jobs = True
    job_id = (await api.generate())["job"]["id"]
    await api.sim.wait_for_status(job_id, VideoStatus.PENDING, within=3.0)
    _, body = await api.get(f"/web/jobs/{job_id}")
    video = body["videos"][0]
    assert (video["status"], video["progress"]) == ("pending", 0)
    assert video["resultUrl"] is video["videoPoster"] is video["imageThumb"] is None
    assert video["duration"] is video["seed"] is None
    assert keys(video) == keys(SEED_FINISHED["videos"][0])
    async with api.http.get(f"{api.running.root_url}/videos/{job_id}/pika.mp4") as resp:
        assert resp.status == 404


@pytest.mark.parametrize("fail_status", [VideoStatus.ERROR, VideoStatus.FAILED])
async def test_fail_word_ends_in_error(fail_status: VideoStatus) -> None:
    async with serve(fast_config(fail_status=fail_status)) as api:
        job_id = (await api.generate("make it explode"))["job"]["id"]
        await api.sim.wait_for_status(job_id, fail_status, within=3.0)
        status, body = await api.get(f"/web/jobs/{job_id}")
    video = body["videos"][0]
    assert (status, video["status"]) == (200, str(fail_status))
    assert video["error"].startswith("Video generation failed")
    assert video["resultUrl"] is None


async def test_unknown_job_and_route_are_404(api: Api) -> None:
    assert await api.get("/web/jobs/nope") == (404, {"error": "Job not found", "code": 404})
    assert await api.get("/web/nothing") == (404, {"error": "Not Found", "code": 404})


async def test_json_answers_have_exact_content_type(api: Api) -> None:
    async with api.http.post(api.url("/web/generate"), json={}, headers=auth()) as resp:
        assert resp.status == 400
        assert resp.headers["Content-Type"] == "application/json"
    body = await api.generate()
    async with api.http.get(api.url(f"/web/jobs/{body['job']['id']}"), headers=auth()) as resp:
        assert resp.headers["Content-Type"] == "application/json"
