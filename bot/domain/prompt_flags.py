"""Pika's prompt vocabulary: the commands' kinds, the option enums and limits, text hygiene, and the
table of inline flags (``-gs 12``, ``-camera pan up``) with the parser of each flag's value.

bot/domain/prompt.py builds on this: typed options, merging, building and parsing whole prompts.
Sources: docs/useapi-pika.md §1.3 (field limits) and §2.2 (inline parameters). Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class PromptKind(StrEnum):
    """The Pika command a prompt is written for (the flags allowed differ)."""

    CREATE = "create"
    ANIMATE = "animate"
    ENCRYPT_TEXT = "encrypt_text"
    ENCRYPT_IMAGE = "encrypt_image"


class AspectRatio(StrEnum):
    """``-ar`` values. Pika's full list is unconfirmed; these are the ones API Glue's web route allows."""

    WIDE = "16:9"
    TALL = "9:16"
    SQUARE = "1:1"
    PORTRAIT = "4:5"
    CINEMA = "5:2"
    CLASSIC = "4:3"


class Camera(StrEnum):
    """The canonical single-direction ``-camera`` values (raw flags may also combine two pans)."""

    ZOOM_IN = "zoom in"
    ZOOM_OUT = "zoom out"
    PAN_UP = "pan up"
    PAN_DOWN = "pan down"
    PAN_LEFT = "pan left"
    PAN_RIGHT = "pan right"
    ROTATE_CW = "rotate clockwise"
    ROTATE_CCW = "rotate counterclockwise"


class Font(StrEnum):
    """``font`` values accepted by useapi.net's ``encrypt_text``."""

    MODERN = "MODERN"
    COMICS = "COMICS"
    SANS_SERIF = "SANS SERIF"
    BAUHAUS = "BAUHAUS"
    RETRO = "RETRO"


MAX_PROMPT_LENGTH: Final = 1500
MAX_MESSAGE_LENGTH: Final = 20

MIN_GUIDANCE: Final = 8
MAX_GUIDANCE: Final = 24
MIN_MOTION: Final = 0
MAX_MOTION: Final = 4
MIN_FPS: Final = 8
MAX_FPS: Final = 24
MAX_SEED: Final = 2**63 - 1
# -w and -size: the only evidence is the doc example "-w 2 -size 100"; their real ranges are
# UNCONFIRMED (docs/useapi-pika.md §2.2). We accept 1..100 for both: wide enough for the example, and
# still catching typos such as "-size 1000" or "-w 0" before a credit is spent.
MIN_ENCRYPT_VALUE: Final = 1
MAX_ENCRYPT_VALUE: Final = 100

ENCRYPT_KINDS: Final = frozenset({PromptKind.ENCRYPT_TEXT, PromptKind.ENCRYPT_IMAGE})


class PromptError(ValueError):
    """A user-facing problem with a prompt or its options.

    ``str(error)`` tells the member exactly what to change; ``field`` names the offending option
    (``"guidance"``, ``"camera"``, …, or ``"prompt"``, ``"message"``, ``"font"``).
    """

    def __init__(self, message: str, *, field: str = "prompt") -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------------------------------
# Text hygiene


# Invisible format characters that can hide or reorder text (zero-width space, word joiner, BOM,
# bidi embeddings/overrides/isolates, LRM/RLM). ZWJ/ZWNJ and variation selectors are kept: emoji
# and some scripts need them.
_INVISIBLE: Final = frozenset(
    "\u200b\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def clean_text(text: str) -> str:
    """Drop control and invisible characters, turn any whitespace run into one space, strip."""
    kept: list[str] = []
    for ch in text:
        if ch.isspace() or unicodedata.category(ch) in ("Zl", "Zp"):
            kept.append(" ")
        elif ch in _INVISIBLE or unicodedata.category(ch) == "Cc":
            continue
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())


def prompt_length(text: str) -> int:
    """Length as useapi.net counts it: UTF-16 code units (JavaScript ``string.length``).

    An emoji outside the BMP counts as 2, so this is never below ``len(text)``.
    """
    return len(text.encode("utf-16-le")) // 2


def shown(value: object) -> str:
    """A value quoted back to the member in an error message: short, and quoted if it has spaces."""
    text = str(value)
    if len(text) > 40:
        text = text[:39] + "…"
    if not text or any(ch.isspace() for ch in text):
        return f'"{text}"'
    return text


# --------------------------------------------------------------------------------------------------
# Flags and their validators


# A flag is a whitespace-delimited token: one dash (two are tolerated and normalised, since Pika
# echoes "--size" in its own messages) then a letter. "sci-fi", "a - b" and "-5" are not flags.
FLAG_TOKEN: Final = re.compile(r"--?[A-Za-z]\S*")
_WHOLE_NUMBER: Final = re.compile(r"[0-9]+")


def _whole_number(flag: str, value: object, low: int, high: int, field: str) -> int:
    """Check an int option (typed) or its raw text (parsed) against an inclusive range."""
    problem = PromptError(
        f"{flag} must be a whole number from {low} to {high} (got {shown(value)})", field=field
    )
    if isinstance(value, bool):
        raise problem
    if isinstance(value, str):
        digits = value.strip()
        # Refuse absurd lengths before int(): Python limits int() of huge strings anyway.
        if not _WHOLE_NUMBER.fullmatch(digits) or len(digits.lstrip("0")) > 20:
            raise problem
        value = int(digits)
    if not isinstance(value, int) or not low <= value <= high:
        raise problem
    return value


_PAN_VERTICAL: Final = ("up", "down")
_PAN_HORIZONTAL: Final = ("left", "right")
_ROTATE_ALIASES: Final[Mapping[str, str]] = {
    "clockwise": "clockwise",
    "cw": "clockwise",
    "counterclockwise": "counterclockwise",
    "counter-clockwise": "counterclockwise",
    "ccw": "counterclockwise",
    "anticlockwise": "counterclockwise",
    "anti-clockwise": "counterclockwise",
    "acw": "counterclockwise",
}
_CAMERA_HELP: Final = (
    "zoom in, zoom out, pan up, pan down, pan left, pan right (or two directions that don't "
    "conflict, e.g. pan up left), rotate clockwise (cw), rotate counterclockwise (ccw)"
)


def _camera(value: object) -> str:
    """Normalise a camera move: lowercase, single spaces, aliases resolved, vertical pan first."""
    if not isinstance(value, str):
        raise PromptError(f"-camera must be one of {_CAMERA_HELP} (got {shown(value)})", field="camera")
    words = clean_text(value).lower().split()
    if len(words) == 2 and words[0] == "zoom" and words[1] in ("in", "out"):
        return " ".join(words)
    if len(words) == 2 and words[0] == "rotate" and words[1] in _ROTATE_ALIASES:
        return f"rotate {_ROTATE_ALIASES[words[1]]}"
    if words and words[0] == "pan" and 2 <= len(words) <= 3:
        directions = words[1:]
        if all(d in _PAN_VERTICAL + _PAN_HORIZONTAL for d in directions):
            vertical = [d for d in directions if d in _PAN_VERTICAL]
            horizontal = [d for d in directions if d in _PAN_HORIZONTAL]
            if len(vertical) > 1 or len(horizontal) > 1:
                raise PromptError(
                    f"-camera {' '.join(words)} pans in conflicting directions: use at most one of "
                    "up/down and one of left/right, e.g. pan up left",
                    field="camera",
                )
            return " ".join(["pan", *vertical, *horizontal])
    raise PromptError(f"-camera must be one of {_CAMERA_HELP} (got {shown(value)})", field="camera")


def _aspect_ratio(value: object) -> AspectRatio:
    if isinstance(value, str):
        try:
            return AspectRatio(value.strip())
        except ValueError:
            pass
    allowed = ", ".join(ar.value for ar in AspectRatio)
    raise PromptError(f"-ar must be one of {allowed} (got {shown(value)})", field="aspect_ratio")


def _negative(value: object) -> str | None:
    """Clean the negative prompt; empty means "no negative prompt"."""
    if not isinstance(value, str):
        raise PromptError(f"-neg must be text (got {shown(value)})", field="negative")
    text = clean_text(value)
    reject_flag_words(text, "the -neg text", field="negative")
    return text or None


def reject_flag_words(text: str, where: str, *, field: str) -> None:
    """Pika would read any "-word" as a parameter, so free text must not contain one."""
    for token in text.split():
        if FLAG_TOKEN.fullmatch(token):
            raise PromptError(
                f"{where} contains {token}, which Pika would read as a parameter: "
                f"remove the dash or add a space after it",
                field=field,
            )


@dataclass(frozen=True, slots=True)
class Flag:
    flag: str  # as written in the prompt, e.g. "-gs"
    field: str  # the PikaOptions attribute
    check: Callable[[object], object]  # raises PromptError, returns the normalised value
    example: str  # shown when the value is missing
    encrypt_only: bool = False


def _range(flag: str, field: str, low: int, high: int) -> Callable[[object], object]:
    def check(value: object) -> object:
        return _whole_number(flag, value, low, high, field)

    return check


# The order here is the order flags() emits them in.
FLAGS: Final[tuple[Flag, ...]] = (
    Flag("-gs", "guidance", _range("-gs", "guidance", MIN_GUIDANCE, MAX_GUIDANCE), "-gs 12"),
    Flag("-neg", "negative", _negative, "-neg blurry, distorted"),
    Flag("-ar", "aspect_ratio", _aspect_ratio, "-ar 16:9"),
    Flag("-seed", "seed", _range("-seed", "seed", 0, MAX_SEED), "-seed 12345"),
    Flag("-motion", "motion", _range("-motion", "motion", MIN_MOTION, MAX_MOTION), "-motion 2"),
    Flag("-fps", "fps", _range("-fps", "fps", MIN_FPS, MAX_FPS), "-fps 24"),
    Flag("-camera", "camera", _camera, "-camera zoom in"),
    Flag(
        "-w",
        "watermark",
        _range("-w", "watermark", MIN_ENCRYPT_VALUE, MAX_ENCRYPT_VALUE),
        "-w 2",
        encrypt_only=True,
    ),
    Flag(
        "-size",
        "size",
        _range("-size", "size", MIN_ENCRYPT_VALUE, MAX_ENCRYPT_VALUE),
        "-size 100",
        encrypt_only=True,
    ),
)
FLAGS_BY_NAME: Final[Mapping[str, Flag]] = {spec.flag[1:]: spec for spec in FLAGS}


def allowed_flags(kind: PromptKind) -> tuple[Flag, ...]:
    return tuple(spec for spec in FLAGS if not spec.encrypt_only or kind in ENCRYPT_KINDS)


def encrypt_only_error(spec: Flag, kind: PromptKind) -> PromptError:
    return PromptError(
        f"{spec.flag} works only with encrypt_text and encrypt_image, not {kind.value}: remove it",
        field=spec.field,
    )
