"""fal.ai prices per model: per 5 s (v2.2 clips and scenes), per video (v2.1, v2 turbo), per second (frames)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.config import FalCatalogue, FalModelSettings
from bot.domain.jobs import InputFile, JobKind, JobRequest, Origin
from bot.domain.params import Transition, VideoParams
from bot.providers.fal.models import route_for
from bot.providers.fal.pika import FalPikaProvider
from bot.providers.fal.prices import billable_seconds, price_text, price_usd

BUILT_IN = FalCatalogue()


def usd(kind: JobKind, params: VideoParams, images: int, catalogue: FalCatalogue = BUILT_IN) -> float:
    return price_usd(route_for(catalogue, kind, params, images), params, images)


@pytest.mark.parametrize(
    ("kind", "params", "images", "expected"),
    [
        (JobKind.CREATE, VideoParams(), 0, 0.20),
        (JobKind.CREATE, VideoParams(resolution="1080p"), 0, 0.45),
        (JobKind.CREATE, VideoParams(duration=10), 0, 0.40),
        (JobKind.CREATE, VideoParams(resolution="1080p", duration=10), 0, 0.90),
        (JobKind.CREATE, VideoParams(), 1, 0.20),
        (JobKind.ANIMATE, VideoParams(resolution="720p"), 1, 0.20),
        (JobKind.SCENES, VideoParams(), 3, 0.45),
        (JobKind.SCENES, VideoParams(resolution="720p"), 3, 0.20),
        (JobKind.SCENES, VideoParams(duration=10), 5, 0.90),
        (JobKind.FRAMES, VideoParams(), 2, 0.20),
        (JobKind.FRAMES, VideoParams(), 3, 0.40),
        (JobKind.FRAMES, VideoParams(resolution="1080p"), 5, 1.20),
        (JobKind.FRAMES, VideoParams(resolution="1080p"), 2, 0.30),
    ],
)
def test_v22_list_prices(kind: JobKind, params: VideoParams, images: int, expected: float) -> None:
    """fal's v2.2 list prices, with each endpoint's own defaults when an option is not given."""
    assert usd(kind, params, images) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("model", "params", "images", "expected"),
    [
        ("v2.1", VideoParams(), 0, 0.40),
        ("v2.1", VideoParams(resolution="1080p", duration=10), 1, 0.40),
        ("v2-turbo", VideoParams(), 0, 0.20),
        ("v2-turbo", VideoParams(duration=10), 1, 0.20),
    ],
)
def test_v21_and_turbo_cost_one_price_per_video(
    model: str, params: VideoParams, images: int, expected: float
) -> None:
    chosen = replace(params, model=model)
    assert usd(JobKind.CREATE, chosen, images) == pytest.approx(expected)


def test_frames_are_priced_by_their_transitions_total_length() -> None:
    """Each transition its own seconds (5 s when left out), 5 s billed at least."""
    two = VideoParams(transitions=(Transition("jump", 3), Transition(seconds=12)))
    assert billable_seconds(route_for(BUILT_IN, JobKind.FRAMES, two, 3).endpoint, two, 3) == 15
    assert usd(JobKind.FRAMES, two, 3) == pytest.approx(0.60)
    mixed = VideoParams(resolution="1080p", transitions=(Transition(seconds=1), Transition()))
    assert usd(JobKind.FRAMES, mixed, 3) == pytest.approx(0.36)
    short = VideoParams(transitions=(Transition(seconds=2),))
    assert usd(JobKind.FRAMES, short, 2) == pytest.approx(0.20)  # the 5 s minimum


def test_an_operators_prices_are_used() -> None:
    """The configured [[fal.models]] prices replace fal's list prices."""
    model = FalModelSettings(
        name="mine",
        text_to_video="fal-ai/pika/v2.2/text-to-video",
        image_to_video="fal-ai/pika/v2.2/image-to-video",
        pikascenes="fal-ai/pika/v2.2/pikascenes",
        pikaframes="fal-ai/pika/v2.2/pikaframes",
        clip_720p=0.25,
        clip_1080p=0.5,
        frames_720p_per_second=0.05,
        frames_1080p_per_second=0.1,
    )
    catalogue = FalCatalogue((model,), "mine")
    assert usd(JobKind.CREATE, VideoParams(), 0, catalogue) == pytest.approx(0.25)
    assert usd(JobKind.SCENES, VideoParams(), 2, catalogue) == pytest.approx(0.5)
    assert usd(JobKind.FRAMES, VideoParams(), 4, catalogue) == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0.2, "$0.20"),
        (0.45, "$0.45"),
        (1.2, "$1.20"),
        (0.0, "$0.00"),
        (0.001, "<$0.01"),
        (1234.5, "$1,234.50"),
    ],
)
def test_price_text(amount: float, text: str) -> None:
    """Dollars to the cent."""
    assert price_text(amount) == text


def provider(catalogue: FalCatalogue | None = None) -> FalPikaProvider:
    return FalPikaProvider(
        "http://127.0.0.1:9",
        "id:secret",
        rest_base_url="http://127.0.0.1:9",
        jwks_url="http://127.0.0.1:9/jwks",
        catalogue=catalogue,
    )


def test_the_provider_prices_a_request_by_its_model_and_images() -> None:
    """FalPikaProvider.price_usd counts the request's images and reads its model's prices."""
    frames = tuple(InputFile(f"image_{n}", f"{n}.png", "image/png", b"x") for n in (1, 2, 3))
    req = JobRequest(kind=JobKind.FRAMES, owner_id=1, origin=Origin(1, 2), inputs=frames, provider="fal")
    assert provider().price_usd(req) == pytest.approx(0.40)
    turbo = JobRequest(
        kind=JobKind.CREATE,
        owner_id=1,
        origin=Origin(1, 2),
        provider="fal",
        params=VideoParams(model="v2-turbo"),
    )
    assert provider().price_usd(turbo) == pytest.approx(0.20)
    unknown = JobRequest(
        kind=JobKind.CREATE, owner_id=1, origin=Origin(1, 2), provider="fal", params=VideoParams(model="v9")
    )
    assert provider().price_usd(unknown) is None
