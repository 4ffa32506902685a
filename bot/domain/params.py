"""Typed video options for providers that take JSON options instead of prompt flags (API Glue, fal.ai).

useapi.net reads Pika's inline flags from the prompt (`bot.domain.prompt.PikaOptions`); API Glue and fal.ai
take the same ideas as typed fields. One dataclass holds every such option; each provider declares
which of them it honours (`Capabilities.options`) and checks ranges itself, because the ranges
differ (API Glue: motion 1-4, guidance 5-25, fps 1-24). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Final


class ParamName(StrEnum):
    """The option names members see as slash-command options; providers declare a subset."""

    ASPECT_RATIO = "aspect_ratio"
    FPS = "fps"
    MOTION = "motion"
    GUIDANCE = "guidance"
    NEGATIVE = "negative"
    SEED = "seed"
    PAN = "pan"
    TILT = "tilt"
    ROTATE = "rotate"
    ZOOM = "zoom"
    RESOLUTION = "resolution"
    DURATION = "duration"


@dataclass(frozen=True)
class VideoParams:
    """Options given as typed values. ``None`` means "not given" (the provider's default)."""

    aspect_ratio: str | None = None
    fps: int | None = None
    motion: int | None = None
    guidance: int | None = None
    negative: str | None = None
    seed: int | None = None
    pan: str | None = None  # "left" | "right"
    tilt: str | None = None  # "up" | "down"
    rotate: str | None = None  # "cw" | "ccw"
    zoom: str | None = None  # "in" | "out"
    resolution: str | None = None  # "720p" | "1080p"
    duration: int | None = None  # seconds

    def given(self) -> frozenset[ParamName]:
        """The names of the options that are set."""
        return frozenset(ParamName(f.name) for f in fields(self) if getattr(self, f.name) is not None)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict of the set options (for storage); :meth:`from_json` reverses it."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> VideoParams:
        """Rebuild params stored with :meth:`to_json`; unknown keys are refused, types checked."""
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise ValueError(f"unknown video option key(s) in stored JSON: {', '.join(unknown)}")
        values: dict[str, object] = {}
        for name, value in data.items():
            if value is None:
                continue
            wanted = int if name in _INT_FIELDS else str
            if isinstance(value, bool) or not isinstance(value, wanted):
                raise ValueError(f"stored video option {name!r} has the wrong type")
            values[name] = value
        return cls(**values)  # type: ignore[arg-type]


_FIELDS: Final = frozenset(f.name for f in fields(VideoParams))
_INT_FIELDS: Final = frozenset({"fps", "motion", "guidance", "seed", "duration"})
