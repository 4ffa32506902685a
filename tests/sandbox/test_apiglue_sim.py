"""Tests for the API Glue Pika web API simulator, driven over real 127.0.0.1 sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from sandbox.apiglue_sim import (
    ApiGlueSimulator,
    RunningGlueSimulator,
    SimConfig,
    VideoStatus,
    start_simulator,
)

TOKEN = "glue-token"
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_MP4 = (REPO_ROOT / "sandbox" / "assets" / "sample.mp4").read_bytes()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 120
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# Seed 004, verbatim: the generate answer and the finished GET /web/jobs/{id} answer.
SEED_GENERATE: dict[str, Any] = json.loads(
    """{ "job": { "id": "1233696d-67c8-4293-bf95-524e13aa6578", "adjusted": false,
    "accountId": "zx234I5GukOugL1vcG2Mf", "extended": 0, "pikaJobId": "123696d-67c8-4293-bf95-524e13aa6578",
    "params": { "options": { "aspectRatio": "16:9", "frameRate": 24,
    "camera": { "rotate": null, "zoom": null, "tilt": null, "pan": null },
    "parameters": { "motion": 1, "guidanceScale": 12, "negativePrompt": "", "seed": 144124 },
    "extend": false }, "userId": "92b68ee2-a71d-4500-1234-4eea210d0cac",
    "promptText": "robed villain lurking the streets" }, "promptText": "robed villain lurking the streets",
    "requestType": "generate", "upscaled": false, "createdAt": {} },
    "video": { "accountId": "zx234I5GukOugL1vcG2Mf", "id": "1233696d-67c8-4293-bf95-524e13aa6578",
    "jobId": "123696d-67c8-4293-bf95-524e13aa6578", "status": "queued",
    "pikaVideoId": "1233696d-67c8-4293-bf95-524e13aa6578" } }"""
)
SEED_FINISHED: dict[str, Any] = json.loads(
    """{ "job": { "requestType": "generate", "upscaled": false, "adjusted": false,
    "pikaJobId": "e89c86c1-2969-1234-a186-53c4c6171ab5", "id": "e89c86c1-2969-1234-a186-53c4c6171ab5",
    "accountId": "zJHhI5G1234gL1vcG2Mf", "params": { "options": { "extend": false, "frameRate": 24,
    "aspectRatio": "16:9", "camera": { "rotate": null, "zoom": null, "tilt": null, "pan": null },
    "parameters": { "motion": 1, "seed": null, "guidanceScale": 12, "negativePrompt": "" } },
    "promptText": "robed villain lurking the streets", "userId": "92b68ee2-a71d-4500-8fe1-4eea210d0cac" },
    "promptText": "robed villain lurking the streets", "extended": 0,
    "createdAt": { "_seconds": 1704766446, "_nanoseconds": 451000000 } },
    "videos": [ { "jobId": "e89c86c1-2969-1234-a186-53c4c6171ab5",
    "pikaVideoId": "e89c86c1-2969-1234-a186-53c4c6171ab5", "accountId": "zJHhI5G1234gL1vcG2Mf",
    "id": "e89c86c1-2969-1234-a186-53c4c6171ab5", "duration": 3, "feedback": 0, "seed": null,
    "progress": 100,
    "resultUrl": "https://example.video/1234-a186-53c4c6171ab5/robed_villain_lurking_the_streets.mp4",
    "imageThumb": "https://example.image/1234-a186-53c4c6171ab5/thumbnail.jpg",
    "videoPoster": "https://example.image/1234-a186-53c4c6171ab5/poster.jpg", "status": "finished" } ] }"""
)
# The guide's own request options (seed 004, "Exploring the Generate Command").
SEED_OPTIONS: dict[str, Any] = {
    "aspectRatio": "5:2",
    "frameRate": 24,
    "camera": {"pan": "right", "tilt": "up", "rotate": "cw", "zoom": "in"},
    "parameters": {"guidanceScale": 5, "motion": 3, "negativePrompt": "A village", "seed": 123123123},
}


def fast_config(**overrides: Any) -> SimConfig:
    """A config with millisecond timings so the whole module stays fast."""
    base: dict[str, Any] = {
        "queued_delay": 0.01,
        "progress_delay": 0.01,
        "progress_steps": (0, 40, 80),
        "random_seed": 7,
    }
    base.update(overrides)
    return SimConfig(**base)


def auth(token: str | None = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def options(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(SEED_OPTIONS))
    out.update(changes)
    return out


@dataclass
class Api:
    """A tiny JSON client for the simulator."""

    running: RunningGlueSimulator
    http: aiohttp.ClientSession

    @property
    def sim(self) -> ApiGlueSimulator:
        return self.running.sim

    def url(self, path: str) -> str:
        return self.running.base_url + path

    async def post(self, path: str, body: object, token: str | None = TOKEN) -> tuple[int, Any]:
        async with self.http.post(self.url(path), json=body, headers=auth(token)) as resp:
            return resp.status, json.loads(await resp.text())

    async def get(self, path: str, token: str | None = TOKEN) -> tuple[int, Any]:
        async with self.http.get(self.url(path), headers=auth(token)) as resp:
            return resp.status, json.loads(await resp.text())

    async def generate(
        self, prompt: str = "robed villain lurking the streets", **body: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"promptText": prompt, "options": options(), **body}
        status, answer = await self.post("/web/generate", payload)
        assert status == 200, answer
        result: dict[str, Any] = answer
        return result

    async def finished(
        self, prompt: str = "robed villain lurking the streets", **body: Any
    ) -> dict[str, Any]:
        """Generate, wait for the video to finish, and return the GET /web/jobs/{id} answer."""
        job_id = (await self.generate(prompt, **body))["job"]["id"]
        return await self.finish(job_id)

    async def finish(self, job_id: str) -> dict[str, Any]:
        await self.sim.wait_for_status(job_id, VideoStatus.FINISHED, within=3.0)
        status, job = await self.get(f"/web/jobs/{job_id}")
        assert status == 200
        return dict(job)


@dataclass
class Receiver:
    """A webhook receiver (and image host) on 127.0.0.1 that records every JSON POST it gets."""

    url: str
    image_url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def next(self, within: float = 2.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), within)


@contextlib.asynccontextmanager
async def serve(config: SimConfig) -> AsyncIterator[Api]:
    """A simulator on a real socket plus a client session, both closed on exit."""
    async with await start_simulator(config) as running, aiohttp.ClientSession() as http:
        yield Api(running, http)


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with serve(fast_config()) as api:
        yield api


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    runner = web.AppRunner(app)
    rec = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        rec.bodies.append(body)
        rec.content_types.append(request.headers["Content-Type"])
        rec.queue.put_nowait(body)
        return web.Response(text="ok")

    async def image(_request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    app.router.add_post("/callbacks/apiglue/s3cr3t", hook)
    app.router.add_get("/img/pic.png", image)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    root = f"http://127.0.0.1:{runner.addresses[0][1]}"
    rec.url, rec.image_url = f"{root}/callbacks/apiglue/s3cr3t", f"{root}/img/pic.png"
    yield rec
    await runner.cleanup()


def keys(obj: dict[str, Any]) -> set[str]:
    return set(obj)


# ---------------------------------------------------------------------------------------------------
# Submit happy paths
# ---------------------------------------------------------------------------------------------------


async def test_generate_answers_the_seed_shape(api: Api) -> None:
    body = await api.generate(ref="job-42", webhookOverride="http://127.0.0.1:9/hook")
    assert keys(body) == keys(SEED_GENERATE)
    job, video = body["job"], body["video"]
    assert keys(job) == keys(SEED_GENERATE["job"]) | {"ref"}
    assert keys(job["params"]) == keys(SEED_GENERATE["job"]["params"])
    assert keys(job["params"]["options"]) == keys(SEED_GENERATE["job"]["params"]["options"])
    assert keys(video) == keys(SEED_GENERATE["video"])
    assert UUID.match(job["id"]) and UUID.match(job["pikaJobId"]) and job["id"] != job["pikaJobId"]
    # As in the seed: video.id == job.id == pikaVideoId; video.jobId == job.pikaJobId.
    assert video["id"] == video["pikaVideoId"] == job["id"]
    assert video["jobId"] == job["pikaJobId"]
    assert video["status"] == "queued"
    assert video["accountId"] == job["accountId"] == "zx234I5GukOugL1vcG2Mf"
    assert (job["requestType"], job["upscaled"], job["adjusted"], job["extended"]) == (
        "generate",
        False,
        False,
        0,
    )
    assert job["createdAt"] == {}  # verbatim seed quirk: an unresolved Firestore timestamp
    assert job["ref"] == "job-42"
    assert job["promptText"] == job["params"]["promptText"] == "robed villain lurking the streets"
    assert job["params"]["userId"] == "92b68ee2-a71d-4500-1234-4eea210d0cac"
    assert job["params"]["options"] == {**SEED_OPTIONS, "extend": False}
    assert api.sim.jobs[job["id"]].webhook_override == "http://127.0.0.1:9/hook"


async def test_generate_normalizes_minimal_options(api: Api) -> None:
    minimal = {"frameRate": 8, "parameters": {"motion": 1, "guidanceScale": 12}}
    status, body = await api.post("/web/generate", {"promptText": "p", "options": minimal})
    assert status == 200, body
    assert body["job"]["params"]["options"] == SEED_FINISHED["job"]["params"]["options"] | {"frameRate": 8}
    assert body["job"]["ref"] == ""


async def test_created_at_filled_when_configured() -> None:
    config = fast_config(submit_created_at_empty=False)
    async with serve(config) as api:
        created = (await api.generate())["job"]["createdAt"]
    assert keys(created) == {"_seconds", "_nanoseconds"}
    assert created["_nanoseconds"] % 1_000_000 == 0


async def test_ids_are_unique(api: Api) -> None:
    ids = {(await api.generate(f"prompt {i}"))["job"]["id"] for i in range(5)}
    assert len(ids) == 5


async def test_extra_fields_recorded_and_ignored(api: Api) -> None:
    body = await api.generate("p", style="Anime", sfx=True, model="1.0")
    assert "style" not in json.dumps(body)
    assert api.sim.jobs[body["job"]["id"]].extra == {"style": "Anime", "sfx": True, "model": "1.0"}


async def test_image_on_loopback_is_fetched(api: Api, receiver: Receiver) -> None:
    status, body = await api.post("/web/generate", {"image": receiver.image_url, "options": options()})
    assert status == 200, body
    assert body["job"]["params"]["image"] == receiver.image_url
    assert body["job"]["promptText"] == ""
    fetch = api.sim.jobs[body["job"]["id"]].image_fetch
    assert fetch is not None
    assert (fetch.http_status, fetch.content_type, fetch.size) == (200, "image/png", len(PNG))
    job = await api.finish(body["job"]["id"])
    assert job["videos"][0]["resultUrl"].endswith("/pika.mp4")


async def test_image_elsewhere_is_only_recorded(api: Api) -> None:
    body = await api.generate("p", image="https://cdn.example.com/pic.png")
    assert api.sim.jobs[body["job"]["id"]].image_fetch is None
    assert api.sim.image_fetches == []


async def test_unreachable_loopback_image_is_400(api: Api, receiver: Receiver) -> None:
    for url in ("http://127.0.0.1:1/pic.png", receiver.image_url.replace("pic.png", "gone.png")):
        status, body = await api.post(
            "/web/generate", {"promptText": "p", "image": url, "options": options()}
        )
        assert status == 400 and body["error"].startswith("image could not be downloaded"), body
    assert not api.sim.jobs
    assert api.sim.image_fetches[1].http_status == 404


# ---------------------------------------------------------------------------------------------------
# Life cycle and result media
# ---------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------
# 400 / 401 / 402 / 422 / 429
# ---------------------------------------------------------------------------------------------------

P = {"motion": 1, "guidanceScale": 12}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"options": options()}, "promptText is required unless image is given"),
        ({"promptText": "  ", "options": options()}, "promptText is required unless image is given"),
        ({"promptText": 5, "options": options()}, "promptText must be a string"),
        ({"promptText": "x" * 2001, "options": options()}, "promptText must be at most 2000 characters"),
        ({"promptText": "p"}, "options is required"),
        ({"promptText": "p", "options": []}, "options must be an object"),
        (
            {"promptText": "p", "options": options(aspectRatio="2:1")},
            "options.aspectRatio must be one of 16:9, 9:16, 1:1, 5:2, 4:5, 4:3",
        ),
        ({"promptText": "p", "options": {"parameters": P}}, "options.frameRate is required"),
        (
            {"promptText": "p", "options": options(frameRate=25)},
            "options.frameRate must be an integer from 1 to 24",
        ),
        (
            {"promptText": "p", "options": options(frameRate=0)},
            "options.frameRate must be an integer from 1 to 24",
        ),
        (
            {"promptText": "p", "options": options(frameRate=12.5)},
            "options.frameRate must be an integer from 1 to 24",
        ),
        ({"promptText": "p", "options": options(camera="pan")}, "options.camera must be an object or null"),
        (
            {"promptText": "p", "options": options(camera={"pan": "up"})},
            "options.camera.pan must be one of left, right or null",
        ),
        (
            {"promptText": "p", "options": options(camera={"tilt": "left"})},
            "options.camera.tilt must be one of up, down or null",
        ),
        (
            {"promptText": "p", "options": options(camera={"rotate": "cw2"})},
            "options.camera.rotate must be one of cw, ccw or null",
        ),
        (
            {"promptText": "p", "options": options(camera={"zoom": True})},
            "options.camera.zoom must be one of in, out or null",
        ),
        ({"promptText": "p", "options": {"frameRate": 24}}, "options.parameters is required"),
        ({"promptText": "p", "options": options(parameters=3)}, "options.parameters must be an object"),
        (
            {"promptText": "p", "options": options(parameters={"guidanceScale": 12})},
            "options.parameters.motion is required",
        ),
        (
            {"promptText": "p", "options": options(parameters={**P, "motion": 5})},
            "options.parameters.motion must be an integer from 1 to 4",
        ),
        (
            {"promptText": "p", "options": options(parameters={"motion": 1})},
            "options.parameters.guidanceScale is required",
        ),
        (
            {"promptText": "p", "options": options(parameters={**P, "guidanceScale": 4.5})},
            "options.parameters.guidanceScale must be a number from 5 to 25",
        ),
        (
            {"promptText": "p", "options": options(parameters={**P, "guidanceScale": True})},
            "options.parameters.guidanceScale must be a number from 5 to 25",
        ),
        (
            {"promptText": "p", "options": options(parameters={**P, "negativePrompt": 1})},
            "options.parameters.negativePrompt must be a string",
        ),
        (
            {"promptText": "p", "options": options(parameters={**P, "seed": "7"})},
            "options.parameters.seed must be a non-negative integer or null",
        ),
        ({"promptText": "p", "options": options(extend="no")}, "options.extend must be a boolean"),
        ({"promptText": "p", "options": options(), "image": "ftp://x/y.png"}, "image must be an http(s) URL"),
        ({"promptText": "p", "options": options(), "ref": 42}, "ref must be a string"),
        (
            {"promptText": "p", "options": options(), "webhookOverride": "not a url"},
            "webhookOverride must be an http(s) URL",
        ),
        (["a", "list"], "body must be a JSON object"),
    ],
)
async def test_generate_bad_requests(api: Api, body: object, error: str) -> None:
    assert await api.post("/web/generate", body) == (400, {"error": error, "code": 400})
    assert not api.sim.jobs


async def test_non_json_body_is_400(api: Api) -> None:
    async with api.http.post(api.url("/web/generate"), data=b"promptText=p", headers=auth()) as resp:
        assert (resp.status, await resp.json()) == (400, {"error": "body must be a JSON object", "code": 400})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/web/generate"),
        ("POST", "/web/extend"),
        ("POST", "/web/upscale"),
        ("GET", "/web/jobs/x"),
    ],
)
async def test_auth_on_every_endpoint(api: Api, method: str, path: str) -> None:
    expired = "Payment required: subscription expired or out of credits"
    for headers, expected in (
        ({}, (401, {"error": "Unauthorized", "code": 401})),
        ({"Authorization": "Bearer wrong"}, (401, {"error": "Unauthorized", "code": 401})),
        ({"Authorization": TOKEN}, (401, {"error": "Unauthorized", "code": 401})),
        (auth("glue-expired-token"), (402, {"error": expired, "code": 402})),
    ):
        async with api.http.request(method, api.url(path), json={}, headers=headers) as resp:
            assert (resp.status, await resp.json()) == expected
    assert not api.sim.jobs


async def test_moderated_prompt_is_422(api: Api) -> None:
    body = {"promptText": "something Forbidden here", "options": options()}
    assert await api.post("/web/generate", body) == (
        422,
        {"error": "Prompt flagged by moderation", "code": 422},
    )
    assert not api.sim.jobs


async def test_busy_account_is_429_until_a_slot_frees() -> None:
    async with serve(fast_config(max_concurrent=2)) as api:
        api.sim.faults.hold_jobs = True
        first = (await api.generate("a"))["job"]["id"]
        await api.generate("b")
        status, body = await api.post("/web/generate", {"promptText": "c", "options": options()})
        assert (status, body) == (
            429,
            {"error": "Too many jobs in progress for this account", "code": 429},
        )
        api.sim.release(first)
        await api.finish(first)
        await api.generate("c")
        assert len(api.sim.jobs) == 3


async def test_rate_limit_knob_counts_down_on_all_routes(api: Api) -> None:
    job_id = (await api.generate())["job"]["id"]
    api.sim.faults.rate_limit_next = 2
    limited = (429, {"error": "Too Many Requests", "code": 429})
    assert await api.get(f"/web/jobs/{job_id}") == limited
    assert await api.post("/web/generate", {"promptText": "p", "options": options()}) == limited
    assert api.sim.faults.rate_limit_next == 0
    await api.generate()
    assert len(api.sim.jobs) == 2


# ---------------------------------------------------------------------------------------------------
# Extend and upscale
# ---------------------------------------------------------------------------------------------------


async def test_extend_chain_adds_four_seconds_up_to_fifteen(api: Api) -> None:
    job = await api.finished("a lighthouse at dusk", ref="root")
    durations = [job["videos"][0]["duration"]]
    for n in range(1, 4):
        body = {
            "promptText": job["job"]["params"]["promptText"],
            "options": job["job"]["params"]["options"],
            "video": job["videos"][0]["resultUrl"],
            "ref": f"ext-{n}",
        }
        status, answer = await api.post("/web/extend", body)
        assert status == 200, answer
        assert keys(answer["job"]) == keys(SEED_GENERATE["job"]) | {"ref"}
        assert answer["video"]["status"] == "queued"
        assert (answer["job"]["requestType"], answer["job"]["extended"]) == ("extend", n)
        assert answer["job"]["params"]["video"] == body["video"]
        assert answer["job"]["params"]["options"]["extend"] is True
        job = await api.finish(answer["job"]["id"])
        video = job["videos"][0]
        durations.append(video["duration"])
        assert video["resultUrl"].endswith("/a_lighthouse_at_dusk.mp4")
        assert video["resultUrl"] != body["video"]
        async with api.http.get(video["resultUrl"]) as resp:
            assert await resp.read() == SAMPLE_MP4
    assert durations == [3, 7, 11, 15]
    status, answer = await api.post("/web/extend", {**body, "video": job["videos"][0]["resultUrl"]})
    assert (status, answer) == (400, {"error": "video can't be extended beyond 15 seconds", "code": 400})


async def test_extend_without_prompt_keeps_the_parent_prompt(api: Api) -> None:
    parent = await api.finished("waves")
    status, answer = await api.post(
        "/web/extend", {"options": options(), "video": parent["videos"][0]["resultUrl"]}
    )
    assert status == 200, answer
    assert answer["job"]["promptText"] == "waves"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"options": options()}, "video is required"),
        ({"options": options(), "video": "nope"}, "video must be an http(s) URL"),
        (
            {"options": options(), "video": "https://example.video/x/y.mp4"},
            "video must be the resultUrl of a finished Pika video",
        ),
        ({"video": "https://example.video/x/y.mp4"}, "options is required"),
    ],
)
async def test_extend_bad_requests(api: Api, body: dict[str, Any], error: str) -> None:
    assert await api.post("/web/extend", body) == (400, {"error": error, "code": 400})


async def test_extend_needs_a_finished_video_and_is_moderated(api: Api) -> None:
    parent = await api.finished("waves")
    url = parent["videos"][0]["resultUrl"]
    api.sim.faults.hold_jobs = True
    running = (await api.post("/web/extend", {"options": options(), "video": url}))[1]["job"]["id"]
    # A video that has not finished has no resultUrl; a made-up URL on the sim is refused too.
    fake = url.replace(parent["job"]["id"], running)
    status, body = await api.post("/web/extend", {"options": options(), "video": fake})
    assert (status, body["error"]) == (400, "video must be the resultUrl of a finished Pika video")
    status, body = await api.post(
        "/web/extend", {"promptText": "forbidden", "options": options(), "video": url}
    )
    assert status == 422


async def test_upscale(api: Api, receiver: Receiver) -> None:
    parent = await api.finished("waves", ref="orig")
    url = parent["videos"][0]["resultUrl"]
    status, answer = await api.post(
        "/web/upscale", {"video": url, "ref": "up-1", "webhookOverride": receiver.url}
    )
    assert status == 200, answer
    job = answer["job"]
    assert (job["requestType"], job["upscaled"], job["extended"], job["ref"]) == ("upscale", True, 0, "up-1")
    assert job["promptText"] == "waves"
    assert job["params"]["options"] == parent["job"]["params"]["options"]
    hook = await receiver.next()
    assert hook["job"]["id"] == job["id"]
    video = hook["videos"][0]
    assert (video["status"], video["duration"]) == ("finished", 3)
    assert video["seed"] == parent["videos"][0]["seed"]
    status, answer = await api.post("/web/upscale", {"video": video["resultUrl"]})
    assert (status, answer) == (400, {"error": "video is already upscaled", "code": 400})
    assert await api.post("/web/upscale", {}) == (400, {"error": "video is required", "code": 400})
    status, answer = await api.post("/web/upscale", {"video": "https://example.video/a.mp4"})
    assert (status, answer["error"]) == (400, "video must be the resultUrl of a finished Pika video")


# ---------------------------------------------------------------------------------------------------
# Webhooks
# ---------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------
# Fault knobs
# ---------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------
# Recording, control API, CLI
# ---------------------------------------------------------------------------------------------------


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
