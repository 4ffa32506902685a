"""FalPikaProvider per model, against the fal simulator: the member's model picks the endpoint, options
a model does not take are refused by name, and /pika frames sends its transitions."""

from __future__ import annotations

import re

import pytest

from bot.config import FalCatalogue, FalModelSettings
from bot.domain.jobs import JobKind, JobRequest
from bot.domain.params import Transition, VideoParams
from bot.domain.prompt import PromptError
from bot.providers.base import ErrorKind, UpstreamError, UpstreamStatus
from bot.providers.fal.payloads import FalHandle
from bot.providers.fal.pika import FalPikaProvider
from sandbox.fal_sim import (
    DEFAULT_KEY,
    PIKAFRAMES,
    TURBO_IMAGE_TO_VIDEO,
    TURBO_TEXT_TO_VIDEO,
    V21_IMAGE_TO_VIDEO,
    V21_TEXT_TO_VIDEO,
    RunningFalSimulator,
)
from tests.helpers.fal_pika import fal, image, request, run, sim, submit_request

__all__ = ["fal", "sim"]  # the fixtures, shared with the provider's main tests


@pytest.mark.parametrize(
    ("model", "inputs", "endpoint"),
    [
        ("v2.1", (), V21_TEXT_TO_VIDEO),
        ("v2.1", (image(),), V21_IMAGE_TO_VIDEO),
        ("v2-turbo", (), TURBO_TEXT_TO_VIDEO),
        ("v2-turbo", (image(),), TURBO_IMAGE_TO_VIDEO),
    ],
)
async def test_create_runs_on_the_chosen_model(
    fal: FalPikaProvider, sim: RunningFalSimulator, model: str, inputs: tuple[object, ...], endpoint: str
) -> None:
    """The model's endpoint gets exactly the options it takes; the handle records that endpoint."""
    params = VideoParams(model=model, resolution="1080p", duration=10, seed=7)
    req = request(inputs=inputs, params=params)
    upstream_id, done = await run(fal, req)
    queued = sim.sim.requests[upstream_id]
    assert queued.model_id == endpoint
    expected = {"prompt": "a red fox", "resolution": "1080p", "duration": 10, "seed": 7}
    assert {k: v for k, v in queued.input.items() if k != "image_url"} == expected
    assert done.status is UpstreamStatus.COMPLETED
    started = await fal.submit(submit_request(req))
    handle = FalHandle.from_text(started.handle or "")
    assert handle is not None and handle.model == endpoint


async def test_without_a_model_the_default_runs(sim: RunningFalSimulator) -> None:
    """No model chosen: the configured default (here v2 turbo) serves create; scenes falls to v2.2."""
    turbo_first = FalPikaProvider(
        sim.base_url,
        DEFAULT_KEY,
        rest_base_url=sim.base_url,
        jwks_url=sim.jwks_url,
        catalogue=FalCatalogue(FalCatalogue().models, "v2-turbo"),
    )
    try:
        upstream_id, _ = await run(turbo_first, request())
        assert sim.sim.requests[upstream_id].model_id == TURBO_TEXT_TO_VIDEO
        assert turbo_first.price_usd(request()) == pytest.approx(0.20)
        assert turbo_first.route(JobKind.SCENES, VideoParams(), 2).model.name == "v2.2"
    finally:
        await turbo_first.close()


@pytest.mark.parametrize(
    ("req", "field", "words"),
    [
        (
            request(params=VideoParams(model="v3")),
            "model",
            "no model `v3` on this bot (it offers v2.2, v2.1, v2-turbo)",
        ),
        (
            request(JobKind.SCENES, inputs=(image(1), image(2)), params=VideoParams(model="v2-turbo")),
            "model",
            "model v2-turbo has no Pikascenes; pick v2.2",
        ),
        (
            request(JobKind.ANIMATE, inputs=(image(),), params=VideoParams(model="v2.1", aspect_ratio="1:1")),
            "aspect_ratio",
            "fal.ai's v2.1 image-to-video takes its shape from the image; remove aspect_ratio",
        ),
        (
            request(params=VideoParams(model="v2-turbo", duration=7)),
            "duration",
            "5 or 10",
        ),
    ],
)
def test_what_a_model_cannot_do_is_refused_by_name(
    fal: FalPikaProvider, req: JobRequest, field: str, words: str
) -> None:
    with pytest.raises(PromptError) as caught:
        fal.check(req)
    assert caught.value.field == field
    assert words in str(caught.value)


async def test_a_models_configured_options_narrow_what_it_takes(sim: RunningFalSimulator) -> None:
    """An operator's model without aspect_ratio (as fal's v2.5 schema has none) refuses it by name."""
    v25 = FalModelSettings(
        name="v2.5",
        text_to_video="fal-ai/pika/v2.1/text-to-video",  # a path the simulator serves
        image_to_video="fal-ai/pika/v2.1/image-to-video",
        options=("resolution", "duration", "negative", "seed"),
        clip_price_per="video",
        clip_720p=0.3,
        clip_1080p=0.5,
    )
    provider = FalPikaProvider(
        sim.base_url,
        DEFAULT_KEY,
        rest_base_url=sim.base_url,
        jwks_url=sim.jwks_url,
        catalogue=FalCatalogue((v25,), "v2.5"),
    )
    try:
        with pytest.raises(
            PromptError, match=re.escape("fal.ai's v2.5 text-to-video does not take it; remove aspect_ratio")
        ):
            provider.check(request(params=VideoParams(aspect_ratio="1:1")))
        assert provider.price_usd(request(params=VideoParams(resolution="1080p"))) == pytest.approx(0.5)
        upstream_id, done = await run(provider, request(params=VideoParams(model="v2.5", seed=3)))
        assert sim.sim.requests[upstream_id].input == {"prompt": "a red fox", "seed": 3}
        assert done.status is UpstreamStatus.COMPLETED
    finally:
        await provider.close()


async def test_a_stored_job_whose_model_left_the_config_is_refused_at_submit(fal: FalPikaProvider) -> None:
    """Queued before the operator removed its model: invalid, never sent to fal."""
    with pytest.raises(UpstreamError) as caught:
        await fal.submit(submit_request(request(params=VideoParams(model="gone"))))
    assert caught.value.kind is ErrorKind.INVALID_REQUEST and "gone" in caught.value.message


# -- /pika frames' transitions --------------------------------------------------------------------


async def test_frames_send_each_transitions_prompt_and_length(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """transitions: one per pair of keyframes, each with its length (5 s when not given) and prompt."""
    params = VideoParams(transitions=(Transition("the fox leaps", 3), Transition(), Transition(seconds=12)))
    req = request(
        JobKind.FRAMES, prompt="a fox", inputs=(image(1), image(2), image(3), image(4)), params=params
    )
    upstream_id, done = await run(fal, req)
    queued = sim.sim.requests[upstream_id]
    assert queued.model_id == PIKAFRAMES
    assert queued.input["transitions"] == [
        {"duration": 3, "prompt": "the fox leaps"},
        {"duration": 5},
        {"duration": 12},
    ]
    assert fal.price_usd(req) == pytest.approx(0.80)  # 20 s at $0.04
    assert done.status is UpstreamStatus.COMPLETED


@pytest.mark.parametrize(
    ("transitions", "images", "words"),
    [
        ((Transition(seconds=3),), 3, "3 keyframes make 2 transitions (1 given)"),
        ((Transition(seconds=20), Transition(seconds=6)), 3, "add up to 26 s; fal.ai makes at most 25 s"),
        ((Transition(seconds=26),), 2, "seconds1 must be a whole number from 1 to 25 (you gave 26)"),
        ((Transition(seconds=0),), 2, "seconds1 must be a whole number from 1 to 25 (you gave 0)"),
    ],
)
def test_transitions_fal_would_refuse_are_refused_first(
    fal: FalPikaProvider, transitions: tuple[Transition, ...], images: int, words: str
) -> None:
    inputs = tuple(image(n) for n in range(1, images + 1))
    req = request(JobKind.FRAMES, inputs=inputs, params=VideoParams(transitions=transitions))
    with pytest.raises(PromptError) as caught:
        fal.check(req)
    assert caught.value.field == "transitions" and words in str(caught.value)


def test_exactly_25_seconds_of_transitions_is_allowed(fal: FalPikaProvider) -> None:
    params = VideoParams(transitions=(Transition(seconds=20), Transition()))
    fal.check(request(JobKind.FRAMES, inputs=(image(1), image(2), image(3)), params=params))


def test_transitions_belong_to_frames_only(fal: FalPikaProvider) -> None:
    with pytest.raises(PromptError, match="text-to-video does not take it; remove transitions"):
        fal.check(request(params=VideoParams(transitions=(Transition(seconds=5),))))
