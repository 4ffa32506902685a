"""The fal.ai price table: per-clip prices for v2.2 clips and scenes, per-second prices for frames."""

from __future__ import annotations

import pytest

from bot.domain.jobs import InputFile, JobKind, JobRequest, Origin
from bot.domain.params import VideoParams
from bot.providers.fal.pika import FalPikaProvider
from bot.providers.fal.prices import FalPrices, billable_seconds, price_text, price_usd

DEFAULTS = FalPrices()


@pytest.mark.parametrize(
    ("kind", "params", "images", "usd"),
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
def test_default_prices(kind: JobKind, params: VideoParams, images: int, usd: float) -> None:
    """fal's list prices, with each model's own defaults when an option is not given."""
    assert price_usd(DEFAULTS, kind, params, images) == pytest.approx(usd)


def test_frames_bill_at_least_five_seconds() -> None:
    """One transition is 5 s; fewer keyframes than two still bills the 5 s minimum."""
    assert billable_seconds(JobKind.FRAMES, VideoParams(), 2) == 5
    assert billable_seconds(JobKind.FRAMES, VideoParams(), 1) == 5
    assert billable_seconds(JobKind.FRAMES, VideoParams(), 5) == 20
    assert billable_seconds(JobKind.CREATE, VideoParams(), 0) == 5
    assert billable_seconds(JobKind.CREATE, VideoParams(duration=10), 0) == 10


def test_a_configured_table_is_used() -> None:
    """The operator's [fal] prices replace the defaults."""
    prices = FalPrices(
        clip_720p_5s=0.25, clip_1080p_5s=0.5, frames_720p_per_second=0.05, frames_1080p_per_second=0.1
    )
    assert price_usd(prices, JobKind.CREATE, VideoParams(), 0) == pytest.approx(0.25)
    assert price_usd(prices, JobKind.SCENES, VideoParams(), 2) == pytest.approx(0.5)
    assert price_usd(prices, JobKind.FRAMES, VideoParams(), 4) == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("usd", "text"),
    [
        (0.2, "$0.20"),
        (0.45, "$0.45"),
        (1.2, "$1.20"),
        (0.0, "$0.00"),
        (0.001, "<$0.01"),
        (1234.5, "$1,234.50"),
    ],
)
def test_price_text(usd: float, text: str) -> None:
    """Dollars to the cent."""
    assert price_text(usd) == text


def test_the_provider_prices_a_request_by_its_images() -> None:
    """FalPikaProvider.price_usd counts the request's images (frames: one transition per pair)."""
    provider = FalPikaProvider(
        "http://127.0.0.1:9",
        "id:secret",
        rest_base_url="http://127.0.0.1:9",
        jwks_url="http://127.0.0.1:9/jwks",
    )
    frames = tuple(InputFile(f"image_{n}", f"{n}.png", "image/png", b"x") for n in (1, 2, 3))
    req = JobRequest(kind=JobKind.FRAMES, owner_id=1, origin=Origin(1, 2), inputs=frames, provider="fal")
    assert provider.price_usd(req) == pytest.approx(0.40)
    custom = FalPikaProvider(
        "http://127.0.0.1:9",
        "id:secret",
        rest_base_url="http://127.0.0.1:9",
        jwks_url="http://127.0.0.1:9/jwks",
        prices=FalPrices(frames_720p_per_second=0.1),
    )
    assert custom.price_usd(req) == pytest.approx(1.0)
