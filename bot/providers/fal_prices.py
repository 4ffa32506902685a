"""What a Pika request costs on fal.ai, from a price table (defaults: fal's list prices, 2026). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from bot.jobs import JobKind
from bot.params import VideoParams

FRAMES_MIN_SECONDS = 5  # pikaframes bills at least 5 s
FRAME_TRANSITION_SECONDS = 5  # each transition's default length


@dataclass(frozen=True)
class FalPrices:
    """USD prices: v2.2 text/image-to-video and scenes per 5 s clip, pikaframes per second.

    A 10 s clip is assumed to cost double a 5 s one: fal does not publish it (UNCONFIRMED).
    """

    clip_720p_5s: float = 0.20
    clip_1080p_5s: float = 0.45
    frames_720p_per_second: float = 0.04
    frames_1080p_per_second: float = 0.06


def default_resolution(kind: JobKind) -> str:
    """The model's own default when the member gives none (pikascenes renders 1080p by default)."""
    return "1080p" if kind is JobKind.SCENES else "720p"


def price_usd(prices: FalPrices, kind: JobKind, params: VideoParams, image_count: int) -> float:
    """The price of one request; frames are billed by length (one transition per pair of keyframes)."""
    resolution = params.resolution or default_resolution(kind)
    if kind is JobKind.FRAMES:
        seconds = max(FRAMES_MIN_SECONDS, max(1, image_count - 1) * FRAME_TRANSITION_SECONDS)
        rate = prices.frames_1080p_per_second if resolution == "1080p" else prices.frames_720p_per_second
        return round(seconds * rate, 4)
    clip = prices.clip_1080p_5s if resolution == "1080p" else prices.clip_720p_5s
    return round(clip * (params.duration or 5) / 5, 4)


def price_text(usd: float) -> str:
    """Dollars for people: "$0.20"."""
    return f"${usd:.2f}"
