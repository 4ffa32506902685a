"""The API Glue simulator's extend and upscale endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.apiglue_sim.helpers import SAMPLE_MP4, SEED_GENERATE, Api, Receiver, keys, options


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
