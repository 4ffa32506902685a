"""The API Glue provider's check(): out-of-range options and bad requests are refused before sending."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.jobs import JobKind, JobRequest, Origin
from bot.domain.params import VideoParams
from bot.domain.prompt import AspectRatio, PikaOptions, PromptError
from bot.providers.apiglue import ApiGlueProvider
from bot.providers.base import Provider
from tests.helpers.apiglue import image, provider, sim

__all__ = ["provider", "sim"]  # fixtures shared from the helpers module


def job_request(kind: JobKind = JobKind.GENERATE, prompt: str = "a fox", **kwargs: Any) -> JobRequest:
    return JobRequest(kind=kind, owner_id=1, origin=Origin(1, 2), prompt=prompt, provider="apiglue", **kwargs)


# -- check() ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        (VideoParams(aspect_ratio="21:9"), "aspect_ratio", "16:9, 9:16, 1:1, 5:2, 4:5, 4:3"),
        (VideoParams(fps=0), "fps", "from 1 to 24"),
        (VideoParams(fps=25), "fps", "from 1 to 24"),
        (VideoParams(motion=0), "motion", "from 1 to 4"),
        (VideoParams(motion=5), "motion", "from 1 to 4"),
        (VideoParams(guidance=4), "guidance", "from 5 to 25"),
        (VideoParams(guidance=26), "guidance", "from 5 to 25"),
        (VideoParams(pan="up"), "pan", "left or right"),
        (VideoParams(tilt="left"), "tilt", "up or down"),
        (VideoParams(rotate="clockwise"), "rotate", "cw or ccw"),
        (VideoParams(zoom="closer"), "zoom", "in or out"),
        (VideoParams(seed=-1), "seed", "from 0 to"),
        (VideoParams(resolution="1080p"), "resolution", "API Glue does not take resolution"),
        (VideoParams(duration=5), "duration", "API Glue does not take duration"),
    ],
)
def test_check_refuses_each_option(params: VideoParams, field: str, words: str) -> None:
    """Every out-of-range or undeclared option is refused with the option named."""
    provider = ApiGlueProvider("http://127.0.0.1:9", "t")
    with pytest.raises(PromptError) as caught:
        provider.check(job_request(params=params))
    assert caught.value.field == field and words in str(caught.value)


@pytest.mark.parametrize(
    ("request_", "field", "words"),
    [
        (job_request(prompt="  "), "prompt", "prompt is empty"),
        (job_request(JobKind.CREATE, prompt=""), "prompt", "prompt is empty"),
        (job_request(JobKind.ANIMATE, prompt="", inputs=(image(),)), "prompt", "prompt is empty"),
        (job_request(prompt="x" * 2001), "prompt", "allows 2,000"),
        (job_request(JobKind.ANIMATE), "image", "needs an image"),
        (job_request(inputs=(image(url=None),)), "image", "as a link"),
        (job_request(inputs=(image(), image())), "image", "one image"),
        (job_request(inputs=(image(form_field="message"),)), "message", "does not take a message"),
        (job_request(options=PikaOptions(guidance=12)), "guidance", "prompt flags"),
        (job_request(JobKind.ENCRYPT_TEXT), "kind", "cannot run encrypt_text"),
    ],
)
def test_check_refuses_bad_requests(request_: JobRequest, field: str, words: str) -> None:
    """Prompts, images, Pika flags and unsupported kinds are refused with a clear message."""
    provider = ApiGlueProvider("http://127.0.0.1:9", "t")
    with pytest.raises(PromptError) as caught:
        provider.check(request_)
    assert caught.value.field == field and words in str(caught.value)


def test_check_accepts_good_requests() -> None:
    """Every allowed value passes; extend and upscale need nothing from the member."""
    provider: Provider = ApiGlueProvider("http://127.0.0.1:9", "t")  # mypy checks the Protocol here
    full = VideoParams(
        aspect_ratio=str(AspectRatio.TALL),
        fps=1,
        motion=4,
        guidance=25,
        negative="blur",
        seed=0,
        pan="left",
        tilt="down",
        rotate="ccw",
        zoom="out",
    )
    provider.check(job_request(params=full))
    provider.check(job_request(JobKind.ANIMATE, prompt="wave", inputs=(image(),)))
    provider.check(job_request(JobKind.CREATE, prompt="x" * 2000))
    provider.check(job_request(JobKind.EXTEND, prompt=""))
    provider.check(job_request(JobKind.UPSCALE, prompt=""))
