"""The API Glue provider's submits: each command's route and body, and what needs a URL first."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.jobs import JobKind
from bot.domain.params import VideoParams
from bot.providers.apiglue import ApiGlueProvider
from bot.providers.base import ErrorKind, UpstreamError, UpstreamStatus
from sandbox.apiglue_sim import RunningGlueSimulator, VideoStatus
from tests.helpers.apiglue import IMAGE_URL, image, provider, sim, submit_request

__all__ = ["provider", "sim"]  # fixtures shared from the helpers module


DEFAULT_OPTIONS: dict[str, Any] = {
    "aspectRatio": "16:9",
    "frameRate": 24,
    "parameters": {"motion": 1, "guidanceScale": 12, "negativePrompt": "", "seed": None},
}


async def finished_video(provider: ApiGlueProvider, sim: RunningGlueSimulator, prompt: str = "a fox") -> str:
    """Generate a video, let it finish and return its resultUrl."""
    job = await provider.submit(submit_request(prompt=prompt))
    await sim.sim.wait_for_status(job.upstream_id, VideoStatus.FINISHED)
    done = await provider.fetch(job.upstream_id)
    assert done.video is not None
    return done.video.url


# -- submit routes and bodies -------------------------------------------------------------------


async def test_generate_sends_the_defaults(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """A bare generate: required options filled with the documented defaults, no camera, no webhook."""
    job = await provider.submit(submit_request(prompt="  a fox  "))
    record = sim.sim.requests[-1]
    assert (record.method, record.path) == ("POST", "/web/generate")
    assert record.content_type == "application/json"
    assert record.body == {"promptText": "a fox", "options": DEFAULT_OPTIONS, "ref": "7"}
    assert job.upstream_id in sim.sim.jobs and job.status is UpstreamStatus.RUNNING
    assert job.reply_ref == "7"
    assert provider.health.last_ok_at is not None and provider.health.last_error is None


async def test_generate_with_image_camera_and_webhook(
    provider: ApiGlueProvider, sim: RunningGlueSimulator
) -> None:
    """Every option the member gave goes into options; the image URL and webhookOverride are sent."""
    sim.sim.faults.hold_jobs = True  # no webhook is attempted while the job is held
    params = VideoParams(
        aspect_ratio="5:2",
        fps=12,
        motion=3,
        guidance=5,
        negative="A village",
        seed=123123123,
        pan="right",
        zoom="in",
    )
    hook = "http://127.0.0.1:9/callbacks/apiglue/abc"
    await provider.submit(
        submit_request(JobKind.ANIMATE, prompt="a cat", params=params, inputs=(image(),), reply_url=hook)
    )
    assert sim.sim.requests[-1].body == {
        "promptText": "a cat",
        "options": {
            "aspectRatio": "5:2",
            "frameRate": 12,
            "camera": {"pan": "right", "zoom": "in"},
            "parameters": {"motion": 3, "guidanceScale": 5, "negativePrompt": "A village", "seed": 123123123},
        },
        "image": IMAGE_URL,
        "ref": "7",
        "webhookOverride": hook,
    }
    job = next(iter(sim.sim.jobs.values()))
    assert job.image == IMAGE_URL and job.webhook_override == hook
    assert job.options["camera"] == {"pan": "right", "zoom": "in", "tilt": None, "rotate": None}


async def test_create_goes_to_generate(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """/create routed here is a text generate."""
    await provider.submit(submit_request(JobKind.CREATE, prompt="a lighthouse"))
    assert sim.sim.requests[-1].path == "/web/generate"
    assert sim.sim.requests[-1].body == {"promptText": "a lighthouse", "options": DEFAULT_OPTIONS, "ref": "7"}


async def test_extend_and_upscale(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """Extend sends prompt, options and the video; upscale sends only the video; both echo the ref."""
    url = await finished_video(provider, sim)
    extended = await provider.submit(
        submit_request(
            JobKind.EXTEND, params=VideoParams(motion=2), parent_video_url=url, reply_ref="8", reply_url=None
        )
    )
    record = sim.sim.requests[-1]
    assert record.path == "/web/extend"
    options = {**DEFAULT_OPTIONS, "parameters": {**DEFAULT_OPTIONS["parameters"], "motion": 2}}
    assert record.body == {"promptText": "a fox", "options": options, "video": url, "ref": "8"}
    assert sim.sim.jobs[extended.upstream_id].request_type == "extend" and extended.reply_ref == "8"
    upscaled = await provider.submit(
        submit_request(
            JobKind.UPSCALE, prompt="", parent_video_url=url, reply_ref="9", reply_url="http://127.0.0.1:9/x"
        )
    )
    record = sim.sim.requests[-1]
    assert record.path == "/web/upscale"
    assert record.body == {"video": url, "ref": "9", "webhookOverride": "http://127.0.0.1:9/x"}
    assert sim.sim.jobs[upscaled.upstream_id].upscaled


async def test_follow_ups_and_images_need_urls(provider: ApiGlueProvider, sim: RunningGlueSimulator) -> None:
    """Without the finished video's URL, or with an image that has no URL, nothing is sent."""
    for request in (
        submit_request(JobKind.EXTEND),
        submit_request(JobKind.UPSCALE),
        submit_request(inputs=(image(url=None),)),
    ):
        with pytest.raises(UpstreamError) as caught:
            await provider.submit(request)
        assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert sim.sim.requests == []
