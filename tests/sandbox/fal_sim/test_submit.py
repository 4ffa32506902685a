"""The fal.ai simulator's submit endpoint: the queue answer, each model's body, refused fields."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sandbox.fal_sim import (
    IMAGE_TO_VIDEO,
    MODEL_IDS,
    PIKAFRAMES,
    PIKASCENES,
    TEXT_TO_VIDEO,
    TURBO_IMAGE_TO_VIDEO,
    TURBO_TEXT_TO_VIDEO,
    V21_IMAGE_TO_VIDEO,
    V21_TEXT_TO_VIDEO,
)
from tests.sandbox.fal_sim.helpers import VALID, Api, fast_config, serve

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
OLDER = (V21_TEXT_TO_VIDEO, V21_IMAGE_TO_VIDEO, TURBO_TEXT_TO_VIDEO, TURBO_IMAGE_TO_VIDEO)


async def test_submit_answers_in_queue_with_owner_app_urls(api: Api) -> None:
    answer = await api.submit(
        TEXT_TO_VIDEO, {"prompt": "fox", "duration": 5, "aspect_ratio": "9:16", "seed": 42}
    )
    assert answer.status == 200
    body = answer.body
    assert set(body) == {"status", "request_id", "response_url", "status_url", "cancel_url", "queue_position"}
    assert body["status"] == "IN_QUEUE" and body["queue_position"] == 0
    rid = body["request_id"]
    assert UUID.match(rid)
    assert answer.headers["x-fal-request-id"] == rid
    assert body["response_url"] == f"{api.base}/fal-ai/pika/requests/{rid}"
    assert body["status_url"] == f"{api.base}/fal-ai/pika/requests/{rid}/status"
    assert body["cancel_url"] == f"{api.base}/fal-ai/pika/requests/{rid}/cancel"
    assert api.sim.requests[rid].arguments == {
        "prompt": "fox",
        "aspect_ratio": "9:16",
        "resolution": "720p",
        "duration": 5,
        "negative_prompt": "ugly, bad, terrible",
        "seed": 42,
    }


@pytest.mark.parametrize("model", MODEL_IDS)
async def test_every_model_accepts_its_minimal_body(api: Api, model: str) -> None:
    rid = (await api.submit_ok(model))["request_id"]
    args = api.sim.requests[rid].arguments
    assert args["resolution"] == ("1080p" if model == PIKASCENES else "720p")
    plain = (IMAGE_TO_VIDEO, PIKAFRAMES, *OLDER)
    assert args["negative_prompt"] == ("" if model in plain else "ugly, bad, terrible")
    assert ("duration" in args) is (model != PIKAFRAMES)
    text_models = (TEXT_TO_VIDEO, PIKASCENES, V21_TEXT_TO_VIDEO, TURBO_TEXT_TO_VIDEO)
    assert ("aspect_ratio" in args) is (model in text_models)
    await api.completed(rid)
    assert api.sim.requests[rid].succeeded


@pytest.mark.parametrize(
    ("model", "body", "loc"),
    [
        (IMAGE_TO_VIDEO, {**VALID[IMAGE_TO_VIDEO], "aspect_ratio": "16:9"}, ["body", "aspect_ratio"]),
        (
            TURBO_IMAGE_TO_VIDEO,
            {**VALID[TURBO_IMAGE_TO_VIDEO], "aspect_ratio": "1:1"},
            ["body", "aspect_ratio"],
        ),
        (PIKAFRAMES, {**VALID[PIKAFRAMES], "duration": 5}, ["body", "duration"]),
        (TEXT_TO_VIDEO, {**VALID[TEXT_TO_VIDEO], "motion": 2}, ["body", "motion"]),
        (
            PIKAFRAMES,
            {**VALID[PIKAFRAMES], "transitions": [{"duration": 5, "seconds": 5}]},
            ["body", "transitions", 0, "seconds"],
        ),
    ],
)
async def test_fields_a_model_does_not_declare_are_refused(
    api: Api, model: str, body: dict[str, Any], loc: list[Any]
) -> None:
    """An option the model would drop is a 422 naming it, so a client sending one is caught."""
    answer = await api.submit(model, body)
    assert answer.status == 422
    (error,) = answer.body["detail"]
    assert (error["loc"], error["type"], error["msg"]) == (
        loc,
        "extra_forbidden",
        "Extra inputs are not permitted",
    )
    assert not api.sim.requests


async def test_unknown_fields_are_dropped_by_knob() -> None:
    async with serve(fast_config(refuse_unknown_fields=False)) as api:
        body = {**VALID[IMAGE_TO_VIDEO], "aspect_ratio": "bogus"}
        rid = (await api.submit_ok(IMAGE_TO_VIDEO, body))["request_id"]
        assert "aspect_ratio" not in api.sim.requests[rid].arguments


@pytest.mark.parametrize("model", OLDER)
async def test_v21_and_turbo_take_an_integer_duration(api: Api, model: str) -> None:
    """Their schemas say only "integer" (default 5), not v2.2's 5 | 10."""
    rid = (await api.submit_ok(model, {**VALID[model], "duration": 10, "resolution": "1080p"}))["request_id"]
    assert api.sim.requests[rid].arguments["duration"] == 10
    bad = await api.submit(model, {**VALID[model], "duration": "10"})
    assert bad.body["detail"][0]["type"] == "int_type"


async def test_unknown_model_and_paths_are_404(api: Api) -> None:
    for path in ("/fal-ai/pika/v2.1/pikascenes", "/fal-ai/pika/v2/pikaswaps", "/fal-ai/flux/dev"):
        answer = await api.call("POST", path, body={"prompt": "x"})
        assert (answer.status, answer.body) == (404, {"detail": "Not Found"})
    assert (await api.call("GET", "/nothing/here")).status == 404
