"""What a Pika request costs on fal.ai, from the routed model's configured prices. Pure: no I/O.

Each ``[[fal.models]]`` entry carries its prices (docs/fal-pika.md section 3.1; defaults are fal's
list prices):

* Clips (text/image-to-video, pikascenes) cost ``clip_720p`` / ``clip_1080p`` either per 5 s of
  video (``clip_price_per = "5s"``: v2.2, where a 10 s clip is assumed to cost twice a 5 s one,
  UNCONFIRMED) or per video whatever its length (``"video"``: v2.1 and v2 turbo).
* pikaframes costs ``frames_*_per_second`` for every second of video, at least 5 billable seconds.
  The video is as long as its transitions added up: each the member's ``seconds`` or fal's 5 s.

A model's own defaults apply when the member gives no option (pikascenes renders 1080p by default,
the others 720p; every clip is 5 s long by default), so the price shown is the price charged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from bot.config import FalEndpoint
from bot.domain.params import Transition, VideoParams

if TYPE_CHECKING:
    from bot.providers.fal.models import FalRoute

__all__ = [
    "CLIP_SECONDS",
    "FRAMES_MIN_SECONDS",
    "FRAME_TRANSITION_SECONDS",
    "billable_seconds",
    "default_resolution",
    "price_text",
    "price_usd",
]

#: The length a per-5 s clip price is quoted for, and the clip length when none is given.
CLIP_SECONDS: Final = 5
#: pikaframes bills at least this many seconds.
FRAMES_MIN_SECONDS: Final = 5
#: The default length of one pikaframes transition (``transitions[].duration``).
FRAME_TRANSITION_SECONDS: Final = 5
_HD: Final = "1080p"


def default_resolution(endpoint: FalEndpoint) -> str:
    """The endpoint's own resolution when the member gives none (pikascenes: 1080p; the others: 720p)."""
    return _HD if endpoint is FalEndpoint.PIKASCENES else "720p"


def billable_seconds(endpoint: FalEndpoint, params: VideoParams, image_count: int) -> int:
    """Seconds of video: frames by their transitions (5 s minimum), other clips by ``duration``."""
    if endpoint is FalEndpoint.PIKAFRAMES:
        transitions = params.transitions or tuple(Transition() for _ in range(max(1, image_count - 1)))
        seconds = sum(t.seconds if t.seconds is not None else FRAME_TRANSITION_SECONDS for t in transitions)
        return max(FRAMES_MIN_SECONDS, seconds)
    return params.duration if params.duration is not None else CLIP_SECONDS


def price_usd(route: FalRoute, params: VideoParams, image_count: int) -> float:
    """The price of one request in USD, rounded to a hundredth of a cent."""
    model = route.model
    hd = (params.resolution or default_resolution(route.endpoint)) == _HD
    seconds = billable_seconds(route.endpoint, params, image_count)
    if route.endpoint is FalEndpoint.PIKAFRAMES:
        rate = model.frames_1080p_per_second if hd else model.frames_720p_per_second
        return round(seconds * (rate or 0.0), 4)
    clip = (model.clip_1080p if hd else model.clip_720p) or 0.0
    if model.clip_price_per == "video":
        return round(clip, 4)
    # UNCONFIRMED: a 10 s clip is priced as two 5 s clips.
    return round(clip * seconds / CLIP_SECONDS, 4)


def price_text(usd: float) -> str:
    """Dollars for people, to the cent: ``"$0.20"`` (a positive price under a cent: ``"<$0.01"``)."""
    if 0 < usd < 0.005:
        return "<$0.01"
    return f"${usd:,.2f}"
