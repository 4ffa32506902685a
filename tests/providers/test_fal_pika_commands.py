"""FalPikaProvider commands: each /pika command reaches its fal model with the options it takes."""

from __future__ import annotations

import json

import aiohttp
import pytest

from bot.domain.jobs import JobKind
from bot.domain.params import VideoParams
from bot.providers.base import UpstreamStatus
from bot.providers.fal.payloads import IMAGE_TO_VIDEO, PIKAFRAMES, PIKASCENES, TEXT_TO_VIDEO
from bot.providers.fal.pika import FalPikaProvider
from sandbox.fal_sim import RunningFalSimulator
from tests.helpers.fal_pika import fal, image, png, request, run, sim

__all__ = ["fal", "sim"]  # fixtures shared from the helpers module


def uploaded(sim: RunningFalSimulator, url: str) -> bytes:
    """The bytes the simulator's storage holds at a URL it handed out."""
    assert url.startswith(sim.base_url + "/files/u/"), url
    stored = sim.sim.files[url.removeprefix(sim.base_url)]
    assert stored.uploaded
    return stored.data


def never_sent_a_discord_link(sim: RunningFalSimulator) -> None:
    for recorded in sim.sim.recorded:
        assert "discordapp" not in json.dumps(recorded.body) and "discordapp" not in json.dumps(
            recorded.query
        )


# -- each command on its model --------------------------------------------------------------------


async def test_text_to_video_sends_the_typed_options_as_the_models_input(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """/pika create without an image: text-to-video with every option, duration as an int, our webhook."""
    sim.sim.faults.drop_webhooks = True
    params = VideoParams(aspect_ratio="9:16", resolution="1080p", duration=10, negative="blurry", seed=42)
    upstream_id, done = await run(fal, request(params=params), reply_url="http://127.0.0.1:9/callbacks/fal/t")
    queued = sim.sim.requests[upstream_id]
    assert queued.model_id == TEXT_TO_VIDEO
    assert queued.input == {
        "prompt": "a red fox",
        "aspect_ratio": "9:16",
        "resolution": "1080p",
        "duration": 10,
        "negative_prompt": "blurry",
        "seed": 42,
    }
    assert queued.webhook_url == "http://127.0.0.1:9/callbacks/fal/t"
    assert done.status is UpstreamStatus.COMPLETED and done.video is not None
    assert done.video.url == f"{sim.base_url}/files/b/{upstream_id}_output.mp4"
    assert done.video.filename == "output.mp4" and done.video.content_type == "video/mp4"
    assert done.video.size == len(sim.sim.video)
    async with aiohttp.ClientSession() as session, session.get(done.video.url) as media:
        assert await media.read() == sim.sim.video
    assert fal.health.last_ok_at is not None and fal.health.last_error is None


@pytest.mark.parametrize("kind", [JobKind.CREATE, JobKind.ANIMATE])
async def test_image_to_video_uploads_the_image_to_fal_storage(
    fal: FalPikaProvider, sim: RunningFalSimulator, kind: JobKind
) -> None:
    """/pika create with an image and /pika animate: the bytes go to fal storage; image_url is that URL."""
    upstream_id, done = await run(fal, request(kind, inputs=(image(),), params=VideoParams(duration=5)))
    queued = sim.sim.requests[upstream_id]
    assert queued.model_id == IMAGE_TO_VIDEO
    assert set(queued.input) == {"prompt", "image_url", "duration"}
    assert uploaded(sim, str(queued.input["image_url"])) == png(0)
    assert [fetch.http_status for fetch in queued.image_fetches] == [200]
    never_sent_a_discord_link(sim)
    assert done.status is UpstreamStatus.COMPLETED


async def test_scenes_upload_three_images_in_the_members_order(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """/pika scenes with three images: pikascenes gets three storage URLs, image_1 first."""
    req = request(
        JobKind.SCENES,
        prompt="the fox wears the hat",
        inputs=(image(3), image(1), image(2)),
        params=VideoParams(aspect_ratio="1:1"),
    )
    upstream_id, done = await run(fal, req)
    queued = sim.sim.requests[upstream_id]
    assert queued.model_id == PIKASCENES and queued.input["aspect_ratio"] == "1:1"
    urls = queued.input["image_urls"]
    assert isinstance(urls, list)
    assert [uploaded(sim, url) for url in urls] == [png(1), png(2), png(3)]
    never_sent_a_discord_link(sim)
    assert done.status is UpstreamStatus.COMPLETED


async def test_frames_need_no_prompt_and_send_no_duration_or_aspect_ratio(
    fal: FalPikaProvider, sim: RunningFalSimulator
) -> None:
    """/pika frames: pikaframes gets the keyframes, the resolution and nothing it has no field for."""
    req = request(
        JobKind.FRAMES, prompt="", inputs=(image(1), image(2)), params=VideoParams(resolution="1080p")
    )
    upstream_id, done = await run(fal, req)
    queued = sim.sim.requests[upstream_id]
    assert queued.model_id == PIKAFRAMES
    assert set(queued.input) == {"image_urls", "resolution"}
    assert done.status is UpstreamStatus.COMPLETED
