"""The fal.ai simulator's input validation: schema violations answer pydantic-shaped 422s."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.fal_sim import IMAGE_TO_VIDEO, PIKAFRAMES, PIKASCENES, TEXT_TO_VIDEO
from tests.sandbox.fal_sim.helpers import IMGS, Api, fast_config, serve

I2V_IMG = "https://example.com/i.png"


@pytest.mark.parametrize(
    ("model", "body", "loc", "type_"),
    [
        (TEXT_TO_VIDEO, {}, ["body", "prompt"], "missing"),
        (TEXT_TO_VIDEO, {"prompt": 5}, ["body", "prompt"], "string_type"),
        (TEXT_TO_VIDEO, {"prompt": "p", "duration": 7}, ["body", "duration"], "enum"),
        (TEXT_TO_VIDEO, {"prompt": "p", "duration": "5"}, ["body", "duration"], "enum"),
        (TEXT_TO_VIDEO, {"prompt": "p", "duration": 5.0}, ["body", "duration"], "enum"),
        (TEXT_TO_VIDEO, {"prompt": "p", "aspect_ratio": "21:9"}, ["body", "aspect_ratio"], "enum"),
        (TEXT_TO_VIDEO, {"prompt": "p", "resolution": "4k"}, ["body", "resolution"], "enum"),
        (TEXT_TO_VIDEO, {"prompt": "p", "seed": "42"}, ["body", "seed"], "int_type"),
        (
            TEXT_TO_VIDEO,
            {"prompt": "p", "negative_prompt": ["x"]},
            ["body", "negative_prompt"],
            "string_type",
        ),
        (IMAGE_TO_VIDEO, {"prompt": "p"}, ["body", "image_url"], "missing"),
        (IMAGE_TO_VIDEO, {"image_url": I2V_IMG}, ["body", "prompt"], "missing"),
        (PIKASCENES, {"prompt": "p", "images": [{"image_url": I2V_IMG}]}, ["body", "image_urls"], "missing"),
        (PIKASCENES, {"prompt": "p", "image_urls": IMGS}, ["body", "image_urls"], "too_long"),
        (PIKASCENES, {"prompt": "p", "image_urls": []}, ["body", "image_urls"], "too_short"),
        (
            PIKASCENES,
            {"prompt": "p", "image_urls": IMGS[:2], "ingredients_mode": "wild"},
            ["body", "ingredients_mode"],
            "enum",
        ),
        (PIKASCENES, {"prompt": "p", "image_urls": I2V_IMG}, ["body", "image_urls"], "list_type"),
        (PIKAFRAMES, {"image_urls": IMGS[:1]}, ["body", "image_urls"], "too_short"),
        (PIKAFRAMES, {"image_urls": IMGS}, ["body", "image_urls"], "too_long"),
        (PIKAFRAMES, {"image_urls": [IMGS[0], 3]}, ["body", "image_urls", 1], "string_type"),
        (PIKAFRAMES, {"image_urls": IMGS[:3], "transitions": [{"duration": 5}]}, ["body"], "value_error"),
        (
            PIKAFRAMES,
            {"image_urls": IMGS[:3], "transitions": [{"duration": 20}, {"duration": 6}]},
            ["body"],
            "value_error",
        ),
        (
            PIKAFRAMES,
            {"image_urls": IMGS[:2], "transitions": [{"duration": 0}]},
            ["body", "transitions", 0, "duration"],
            "greater_than_equal",
        ),
        (
            PIKAFRAMES,
            {"image_urls": IMGS[:2], "transitions": [{"duration": 26}]},
            ["body", "transitions", 0, "duration"],
            "less_than_equal",
        ),
        (
            PIKAFRAMES,
            {"image_urls": IMGS[:2], "transitions": ["x"]},
            ["body", "transitions", 0],
            "model_type",
        ),
        (TEXT_TO_VIDEO, ["a list"], ["body"], "model_attributes_type"),
    ],
)
async def test_schema_violations_are_422(api: Api, model: str, body: Any, loc: list[Any], type_: str) -> None:
    answer = await api.submit(model, body)
    assert answer.status == 422, answer.body
    errors = answer.body["detail"]
    assert isinstance(errors, list) and errors
    first = errors[0]
    assert {"loc", "msg", "type", "url"} <= set(first)
    assert (first["loc"], first["type"]) == (loc, type_)
    assert first["url"] == f"https://docs.fal.ai/errors/#{type_}"
    assert not api.sim.requests


async def test_error_shapes_follow_pydantic(api: Api) -> None:
    answer = await api.submit(TEXT_TO_VIDEO, {"prompt": "p", "duration": 7, "seed": "x", "resolution": "8k"})
    errors = answer.body["detail"]
    assert [e["loc"][1] for e in errors] == ["resolution", "duration", "seed"]
    duration = errors[1]
    assert duration["msg"] == "Input should be 5 or 10"
    assert (duration["ctx"], duration["input"]) == ({"expected": "5 or 10"}, 7)
    assert errors[0]["msg"] == "Input should be '720p' or '1080p'"
    frames = await api.submit(PIKAFRAMES, {"image_urls": IMGS[:1]})
    assert frames.body["detail"][0]["ctx"] == {"field_type": "List", "min_length": 2, "actual_length": 1}
    missing = await api.submit(TEXT_TO_VIDEO, {"seed": 1})
    assert missing.body["detail"][0] == {
        "loc": ["body", "prompt"],
        "msg": "Field required",
        "type": "missing",
        "url": "https://docs.fal.ai/errors/#missing",
        "input": {"seed": 1},
    }


async def test_invalid_json_is_422(api: Api) -> None:
    answer = await api.call("POST", f"/{TEXT_TO_VIDEO}", raw=b"{nope")
    assert answer.status == 422
    assert answer.body["detail"][0]["type"] == "json_invalid"


async def test_frames_transitions_within_limits_are_accepted(api: Api) -> None:
    body = {"image_urls": IMGS[:3], "prompt": "p", "transitions": [{"duration": 10, "prompt": "a"}, {}]}
    rid = (await api.submit_ok(PIKAFRAMES, body))["request_id"]
    assert api.sim.requests[rid].arguments["transitions"] == [
        {"duration": 10, "prompt": "a"},
        {"duration": 5, "prompt": None},
    ]


async def test_string_durations_accepted_by_knob() -> None:
    async with serve(fast_config(accept_string_duration=True)) as api:
        rid = (await api.submit_ok(TEXT_TO_VIDEO, {"prompt": "p", "duration": "10"}))["request_id"]
        assert api.sim.requests[rid].arguments["duration"] == 10


async def test_validation_deferred_to_run_time() -> None:
    async with serve(fast_config(validate_at_submit=False)) as api:
        rid = (await api.submit_ok(TEXT_TO_VIDEO, {"prompt": "p", "duration": 7}))["request_id"]
        await api.completed(rid)
        status = await api.call("GET", f"/fal-ai/pika/requests/{rid}/status")
        assert (status.status, status.body["error_type"]) == (200, "enum")
        result = await api.call("GET", f"/fal-ai/pika/requests/{rid}")
        assert result.status == 422 and result.body["detail"][0]["loc"] == ["body", "duration"]
