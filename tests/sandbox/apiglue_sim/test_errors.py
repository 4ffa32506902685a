"""The API Glue simulator's refusals: bad requests, auth, moderation, a busy account, rate limits."""

from __future__ import annotations

import pytest

from tests.sandbox.apiglue_sim.helpers import TOKEN, Api, auth, fast_config, options, serve

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
