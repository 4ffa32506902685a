"""The API Glue simulator's generate endpoint: the seed answer's shape, options and input images."""

from __future__ import annotations

import json
import re

from tests.sandbox.apiglue_sim.helpers import (
    PNG,
    SEED_FINISHED,
    SEED_GENERATE,
    SEED_OPTIONS,
    Api,
    Receiver,
    fast_config,
    keys,
    options,
    serve,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


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
