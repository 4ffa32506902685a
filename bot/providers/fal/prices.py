"""What a Pika request costs on fal.ai, from a price table. Pure: no I/O.

Defaults are fal's list prices (docs/fal-pika.md section 3.1):

* v2.2 text-to-video, image-to-video and pikascenes: $0.20 per 5 s clip at 720p, $0.45 at 1080p.
  A 10 s clip is assumed to cost twice a 5 s one: fal does not publish it (UNCONFIRMED).
* v2.2 pikaframes: $0.04 per second at 720p, $0.06 at 1080p, at least 5 billable seconds. The video
  is as long as its transitions added up; we never send ``transitions``, so each of the
  ``keyframes - 1`` transitions has fal's default length of 5 s.

A model's own defaults apply when the member gives no option (pikascenes renders 1080p by default,
the others 720p; every clip is 5 s long by default), so the price shown is the price charged.
The field names are the ``[fal]`` config keys' counterparts (``bot/runtime.py`` builds the table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bot.domain.jobs import JobKind
from bot.domain.params import VideoParams

__all__ = [
    "CLIP_SECONDS",
    "FRAMES_MIN_SECONDS",
    "FRAME_TRANSITION_SECONDS",
    "FalPrices",
    "billable_seconds",
    "default_resolution",
    "price_text",
    "price_usd",
]

#: The length a v2.2 clip price is quoted for, and the clip length when none is given.
CLIP_SECONDS: Final = 5
#: pikaframes bills at least this many seconds.
FRAMES_MIN_SECONDS: Final = 5
#: The default length of one pikaframes transition (``transitions[].duration``).
FRAME_TRANSITION_SECONDS: Final = 5
_HD: Final = "1080p"


@dataclass(frozen=True)
class FalPrices:
    """USD prices: v2.2 text/image-to-video and pikascenes per 5 s clip, pikaframes per second."""

    clip_720p_5s: float = 0.20
    clip_1080p_5s: float = 0.45
    frames_720p_per_second: float = 0.04
    frames_1080p_per_second: float = 0.06


def default_resolution(kind: JobKind) -> str:
    """The model's own resolution when the member gives none (pikascenes: 1080p; the others: 720p)."""
    return _HD if kind is JobKind.SCENES else "720p"


def billable_seconds(kind: JobKind, params: VideoParams, image_count: int) -> int:
    """Seconds fal bills: frames by their transitions (5 s minimum), other clips by ``duration``."""
    if kind is JobKind.FRAMES:
        transitions = max(1, image_count - 1)
        return max(FRAMES_MIN_SECONDS, transitions * FRAME_TRANSITION_SECONDS)
    return params.duration if params.duration is not None else CLIP_SECONDS


def price_usd(prices: FalPrices, kind: JobKind, params: VideoParams, image_count: int) -> float:
    """The price of one request in USD, rounded to a hundredth of a cent."""
    hd = (params.resolution or default_resolution(kind)) == _HD
    seconds = billable_seconds(kind, params, image_count)
    if kind is JobKind.FRAMES:
        rate = prices.frames_1080p_per_second if hd else prices.frames_720p_per_second
        return round(seconds * rate, 4)
    clip = prices.clip_1080p_5s if hd else prices.clip_720p_5s
    # UNCONFIRMED: a 10 s clip is priced as two 5 s clips.
    return round(clip * seconds / CLIP_SECONDS, 4)


def price_text(usd: float) -> str:
    """Dollars for people, to the cent: ``"$0.20"`` (a positive price under a cent: ``"<$0.01"``)."""
    if 0 < usd < 0.005:
        return "<$0.01"
    return f"${usd:,.2f}"
