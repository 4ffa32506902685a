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
    MODEL = "model"  # which of the provider's models runs the job (fal.ai: "v2.2", "v2-turbo", …)
    TRANSITIONS = "transitions"  # /pika frames: a prompt and a length per keyframe-to-keyframe move


@dataclass(frozen=True)
class Transition:
    """One move from a keyframe to the next: its own prompt and length. ``None`` = the defaults
    (the command's prompt; the provider's default length)."""

    prompt: str | None = None
    seconds: int | None = None

    def to_json(self) -> dict[str, object]:
        """The set fields, JSON-ready."""
        return {k: v for k, v in (("prompt", self.prompt), ("seconds", self.seconds)) if v is not None}

    @classmethod
    def from_json(cls, data: object) -> Transition:
        """Rebuild one stored with :meth:`to_json`; unknown keys and wrong types are refused."""
        if not isinstance(data, Mapping) or set(data) - {"prompt", "seconds"}:
            raise ValueError("a stored transition must be an object with only prompt and seconds")
        prompt, seconds = data.get("prompt"), data.get("seconds")
        if prompt is not None and not isinstance(prompt, str):
            raise ValueError("a stored transition's prompt has the wrong type")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
            raise ValueError("a stored transition's seconds has the wrong type")
        return cls(prompt, seconds)


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
    model: str | None = None  # the provider's model name, stored so a Retry runs on the same model
    transitions: tuple[Transition, ...] | None = None  # one per pair of consecutive keyframes

    def given(self) -> frozenset[ParamName]:
        """The names of the options that are set."""
        return frozenset(ParamName(f.name) for f in fields(self) if getattr(self, f.name) is not None)

    def texts(self) -> tuple[str, ...]:
        """Everything in the options a member wrote in words (negative, transition prompts): the
        server's banned words apply to these as to the prompt."""
        prompts = tuple(t.prompt for t in self.transitions or () if t.prompt)
        return (self.negative, *prompts) if self.negative else prompts

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict of the set options (for storage); :meth:`from_json` reverses it."""
        data: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                data[f.name] = [t.to_json() for t in value] if f.name == "transitions" else value
        return data

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
            if name == "transitions":
                if not isinstance(value, list):
                    raise ValueError("stored video option 'transitions' has the wrong type")
                values[name] = tuple(Transition.from_json(item) for item in value)
                continue
            wanted = int if name in _INT_FIELDS else str
            if isinstance(value, bool) or not isinstance(value, wanted):
                raise ValueError(f"stored video option {name!r} has the wrong type")
            values[name] = value
        return cls(**values)  # type: ignore[arg-type]


_FIELDS: Final = frozenset(f.name for f in fields(VideoParams))
_INT_FIELDS: Final = frozenset({"fps", "motion", "guidance", "seed", "duration"})
