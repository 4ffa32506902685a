"""FalPikaProvider.check(): what each model would reject or ignore is refused before anything is sent."""

from __future__ import annotations

import pytest

from bot.domain.jobs import InputFile, JobKind, JobRequest
from bot.domain.params import VideoParams
from bot.domain.prompt import PikaOptions, PromptError
from bot.providers.fal.pika import FalPikaProvider
from tests.helpers.fal_pika import fal, image, png, request, sim

__all__ = ["fal", "sim"]  # fixtures shared from the helpers module


# -- check() ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("req", "field", "words"),
    [
        (request(params=VideoParams(motion=2)), "motion", "no `motion` option"),
        (
            request(JobKind.ANIMATE, inputs=(image(),), params=VideoParams(aspect_ratio="16:9")),
            "aspect_ratio",
            "takes its shape from the image",
        ),
        (
            request(inputs=(image(),), params=VideoParams(aspect_ratio="16:9")),
            "aspect_ratio",
            "image-to-video",
        ),
        (
            request(JobKind.FRAMES, inputs=(image(1), image(2)), params=VideoParams(duration=5)),
            "duration",
            "length from the transitions",
        ),
        (
            request(JobKind.FRAMES, inputs=(image(1), image(2)), params=VideoParams(aspect_ratio="1:1")),
            "aspect_ratio",
            "shape from the keyframes",
        ),
        (request(params=VideoParams(resolution="4k")), "resolution", "720p or 1080p"),
        (request(params=VideoParams(duration=7)), "duration", "5 or 10"),
        (request(params=VideoParams(aspect_ratio="21:9")), "aspect_ratio", "one of 16:9"),
        (request(params=VideoParams(seed=-1)), "seed", "whole number"),
        (request(JobKind.SCENES, inputs=(image(1),)), "image", "/pika scenes needs 2 to 5 images"),
        (
            request(JobKind.SCENES, inputs=tuple(image(n) for n in range(1, 7))),
            "image",
            "needs 2 to 5 images",
        ),
        (
            request(JobKind.FRAMES, prompt="", inputs=(image(1),)),
            "image",
            "/pika frames needs 2 to 5 keyframes",
        ),
        (request(JobKind.ANIMATE), "image", "needs an image"),
        (request(inputs=(image(1), image(2))), "image", "takes one image"),
        (request(prompt=" "), "prompt", "prompt is empty"),
        (request(JobKind.SCENES, prompt="", inputs=(image(1), image(2))), "prompt", "prompt is empty"),
        (request(options=PikaOptions(guidance=12)), "guidance", "nothing like `-gs`"),
        (request(options=PikaOptions(seed=3)), "seed", "use the `seed` option"),
        (request(JobKind.ENCRYPT_TEXT), "kind", "cannot run encrypt_text"),
        (request(inputs=(InputFile("message", "m.png", "image/png", png()),)), "message", "message file"),
        (request(inputs=(InputFile("image", "e.png", "image/png", b""),)), "image", "empty"),
    ],
)
def test_check_refuses_what_the_model_would_reject_or_ignore(
    fal: FalPikaProvider, req: JobRequest, field: str, words: str
) -> None:
    """Each refusal names the option to change and says why, in the member's words."""
    with pytest.raises(PromptError) as caught:
        fal.check(req)
    assert caught.value.field == field
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "req",
    [
        request(params=VideoParams(aspect_ratio="2:3", resolution="720p", duration=10, negative="x", seed=0)),
        request(JobKind.ANIMATE, inputs=(image(),), params=VideoParams(resolution="1080p", duration=10)),
        request(
            JobKind.SCENES,
            inputs=tuple(image(n) for n in range(1, 6)),
            params=VideoParams(aspect_ratio="5:4"),
        ),
        request(
            JobKind.FRAMES,
            prompt="",
            inputs=(image(1), image(2), image(3)),
            params=VideoParams(seed=2**53 - 1),
        ),
    ],
)
def test_check_accepts_what_each_model_takes(fal: FalPikaProvider, req: JobRequest) -> None:
    """Every option a model's schema has passes, at its limits."""
    fal.check(req)
