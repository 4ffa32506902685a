"""Pika prompt parameters: typed options ⇄ the inline flags Pika reads from the prompt text.

Pika's Discord bot reads parameters appended to the prompt, space-separated
(``a cat surfing -gs 12 -neg blurry, dark -ar 16:9 -camera pan up left``). An unknown or malformed
parameter makes Pika reject the job *after* it has been queued, so everything here is checked
locally first and every :class:`PromptError` says exactly what to change.

Flow used by the slash commands::

    text, parsed = parse_prompt(raw, kind)          # raw flags typed by the member
    options = merge_options(typed, parsed)           # + the slash-command options
    prompt = build_prompt(text, options, kind)       # validated, <= 1500 characters

Sources: docs/useapi-pika.md §1.3 (field limits) and §2.2 (inline parameters). This module is pure:
no I/O, no Discord, no HTTP.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "MAX_MESSAGE_LENGTH",
    "MAX_PROMPT_LENGTH",
    "AspectRatio",
    "Camera",
    "Font",
    "PikaOptions",
    "PromptError",
    "PromptKind",
    "build_prompt",
    "merge_options",
    "parse_font",
    "parse_prompt",
    "prompt_length",
    "seed_from_filename",
    "validate_message",
    "validate_options",
]


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

_ENCRYPT_KINDS: Final = frozenset({PromptKind.ENCRYPT_TEXT, PromptKind.ENCRYPT_IMAGE})


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


def _clean_text(text: str) -> str:
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


def _shown(value: object) -> str:
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
_FLAG_TOKEN: Final = re.compile(r"--?[A-Za-z]\S*")
_WHOLE_NUMBER: Final = re.compile(r"[0-9]+")


def _whole_number(flag: str, value: object, low: int, high: int, field: str) -> int:
    """Check an int option (typed) or its raw text (parsed) against an inclusive range."""
    problem = PromptError(
        f"{flag} must be a whole number from {low} to {high} (got {_shown(value)})", field=field
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
        raise PromptError(f"-camera must be one of {_CAMERA_HELP} (got {_shown(value)})", field="camera")
    words = _clean_text(value).lower().split()
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
    raise PromptError(f"-camera must be one of {_CAMERA_HELP} (got {_shown(value)})", field="camera")


def _aspect_ratio(value: object) -> AspectRatio:
    if isinstance(value, str):
        try:
            return AspectRatio(value.strip())
        except ValueError:
            pass
    allowed = ", ".join(ar.value for ar in AspectRatio)
    raise PromptError(f"-ar must be one of {allowed} (got {_shown(value)})", field="aspect_ratio")


def _negative(value: object) -> str | None:
    """Clean the negative prompt; empty means "no negative prompt"."""
    if not isinstance(value, str):
        raise PromptError(f"-neg must be text (got {_shown(value)})", field="negative")
    text = _clean_text(value)
    _reject_flag_words(text, "the -neg text", field="negative")
    return text or None


def _reject_flag_words(text: str, where: str, *, field: str) -> None:
    """Pika would read any "-word" as a parameter, so free text must not contain one."""
    for token in text.split():
        if _FLAG_TOKEN.fullmatch(token):
            raise PromptError(
                f"{where} contains {token}, which Pika would read as a parameter: "
                f"remove the dash or add a space after it",
                field=field,
            )


@dataclass(frozen=True, slots=True)
class _Flag:
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
_FLAGS: Final[tuple[_Flag, ...]] = (
    _Flag("-gs", "guidance", _range("-gs", "guidance", MIN_GUIDANCE, MAX_GUIDANCE), "-gs 12"),
    _Flag("-neg", "negative", _negative, "-neg blurry, distorted"),
    _Flag("-ar", "aspect_ratio", _aspect_ratio, "-ar 16:9"),
    _Flag("-seed", "seed", _range("-seed", "seed", 0, MAX_SEED), "-seed 12345"),
    _Flag("-motion", "motion", _range("-motion", "motion", MIN_MOTION, MAX_MOTION), "-motion 2"),
    _Flag("-fps", "fps", _range("-fps", "fps", MIN_FPS, MAX_FPS), "-fps 24"),
    _Flag("-camera", "camera", _camera, "-camera zoom in"),
    _Flag(
        "-w",
        "watermark",
        _range("-w", "watermark", MIN_ENCRYPT_VALUE, MAX_ENCRYPT_VALUE),
        "-w 2",
        encrypt_only=True,
    ),
    _Flag(
        "-size",
        "size",
        _range("-size", "size", MIN_ENCRYPT_VALUE, MAX_ENCRYPT_VALUE),
        "-size 100",
        encrypt_only=True,
    ),
)
_BY_NAME: Final[Mapping[str, _Flag]] = {spec.flag[1:]: spec for spec in _FLAGS}


def _allowed(kind: PromptKind) -> tuple[_Flag, ...]:
    return tuple(spec for spec in _FLAGS if not spec.encrypt_only or kind in _ENCRYPT_KINDS)


def _encrypt_only_error(spec: _Flag, kind: PromptKind) -> PromptError:
    return PromptError(
        f"{spec.flag} works only with encrypt_text and encrypt_image, not {kind.value}: remove it",
        field=spec.field,
    )


# --------------------------------------------------------------------------------------------------
# Options


@dataclass(frozen=True)
class PikaOptions:
    """Pika's inline prompt parameters, typed. ``None`` means "not given" (Pika's default)."""

    guidance: int | None = None  # -gs 8..24
    negative: str | None = None  # -neg
    aspect_ratio: AspectRatio | None = None  # -ar
    seed: int | None = None  # -seed 0..2**63-1
    motion: int | None = None  # -motion 0..4
    fps: int | None = None  # -fps 8..24
    camera: str | None = None  # -camera, normalised: "zoom in", "pan up left", "rotate clockwise"
    watermark: int | None = None  # -w (encrypt kinds only)
    size: int | None = None  # -size (encrypt kinds only)

    def flags(self) -> list[tuple[str, str]]:
        """The set options as ``(flag, value)`` pairs, always in the same order (-gs first, -size last)."""
        pairs: list[tuple[str, str]] = []
        for spec in _FLAGS:
            value = getattr(self, spec.field)
            if value is not None:
                pairs.append((spec.flag, str(value)))
        return pairs

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict of the set options (for storage); :meth:`from_json` reverses it."""
        data: dict[str, object] = {}
        for spec in _FLAGS:
            value = getattr(self, spec.field)
            if value is not None:
                data[spec.field] = str(value) if spec.field == "aspect_ratio" else value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PikaOptions:
        """Rebuild options stored with :meth:`to_json`. Types are checked; ranges are not."""
        unknown = sorted(set(data) - {spec.field for spec in _FLAGS})
        if unknown:
            raise ValueError(f"unknown Pika option key(s) in stored JSON: {', '.join(unknown)}")
        values: dict[str, object] = {}
        for key, value in data.items():
            if value is None:
                continue
            if key in ("negative", "camera"):
                if not isinstance(value, str):
                    raise ValueError(f"stored Pika option {key} must be a string, not {type(value).__name__}")
                values[key] = value
            elif key == "aspect_ratio":
                if not isinstance(value, str):
                    raise ValueError(f"stored Pika option {key} must be a string, not {type(value).__name__}")
                values[key] = AspectRatio(value)
            else:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(
                        f"stored Pika option {key} must be an integer, not {type(value).__name__}"
                    )
                values[key] = value
        return cls(**values)  # type: ignore[arg-type]

    def with_seed(self, seed: int | None) -> PikaOptions:
        """A copy with ``seed`` replaced (``None`` lets Pika pick a random one)."""
        return dataclasses.replace(self, seed=seed)


def validate_options(options: PikaOptions, kind: PromptKind) -> PikaOptions:
    """Check every set option for ``kind`` and return the normalised copy.

    Ranges are enforced, the aspect ratio becomes an :class:`AspectRatio`, the camera move is
    normalised (aliases resolved), and the negative prompt is cleaned (an empty one is dropped).
    Raises :class:`PromptError` naming the first bad option.
    """
    kind = PromptKind(kind)
    values: dict[str, object] = {}
    for spec in _FLAGS:
        value = getattr(options, spec.field)
        if value is None:
            continue
        if spec.encrypt_only and kind not in _ENCRYPT_KINDS:
            raise _encrypt_only_error(spec, kind)
        values[spec.field] = spec.check(value)
    return PikaOptions(**values)  # type: ignore[arg-type]


def merge_options(typed: PikaOptions, parsed: PikaOptions) -> PikaOptions:
    """Union of the slash-command options and the flags typed in the prompt.

    An option given both ways must agree (after normalisation, so ``Pan Up`` equals ``pan up``);
    otherwise :class:`PromptError` names both places. Ranges are checked; kind-specific rules
    are left to :func:`validate_options` / :func:`build_prompt`.
    """
    values: dict[str, object] = {}
    for spec in _FLAGS:
        mine = getattr(typed, spec.field)
        theirs = getattr(parsed, spec.field)
        mine = None if mine is None else spec.check(mine)
        theirs = None if theirs is None else spec.check(theirs)
        if mine is not None and theirs is not None and mine != theirs:
            raise PromptError(
                f"{spec.field} is given twice with different values: the {spec.field} option says "
                f"{_shown(mine)} and the prompt says {spec.flag} {_shown(theirs)}; remove one of them",
                field=spec.field,
            )
        merged = mine if mine is not None else theirs
        if merged is not None:
            values[spec.field] = merged
    return PikaOptions(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Prompts


def _text_required(kind: PromptKind) -> bool:
    return kind is not PromptKind.ANIMATE


def build_prompt(text: str, options: PikaOptions, kind: PromptKind) -> str:
    """The prompt sent to Pika: the cleaned text followed by the flags, e.g. ``a cat -gs 12 -ar 16:9``.

    Validates the options for ``kind``; the text is required except for ``animate``, must not
    contain parameter-like words (use :func:`parse_prompt` on raw input first), and the whole
    prompt must fit in 1,500 characters.
    """
    kind = PromptKind(kind)
    options = validate_options(options, kind)
    text = _clean_text(text)
    if not text and _text_required(kind):
        raise PromptError(
            f"the prompt is empty: describe the video you want ({kind.value} needs a prompt; "
            "parameters alone are not enough)",
            field="prompt",
        )
    _reject_flag_words(text, "the prompt text", field="prompt")
    parts = [text] if text else []
    parts.extend(f"{flag} {value}" for flag, value in options.flags())
    prompt = " ".join(parts)
    length = prompt_length(prompt)
    if length > MAX_PROMPT_LENGTH:
        what = "the prompt with its parameters" if options.flags() else "the prompt"
        raise PromptError(
            f"{what} is {length:,} characters; Pika allows {MAX_PROMPT_LENGTH:,} — "
            f"shorten it by {length - MAX_PROMPT_LENGTH:,}",
            field="prompt",
        )
    return prompt


def _unknown_flag(token: str, kind: PromptKind) -> PromptError:
    allowed = _allowed(kind)
    message = f"unknown parameter {token}: Pika accepts {', '.join(spec.flag for spec in allowed)}"
    name = token.lstrip("-").lower()
    spec = _BY_NAME.get(name)
    if spec is not None:  # known, but not for this kind
        message += " (-w and -size work only with encrypt_text and encrypt_image)"
    else:
        glued = [s for s in allowed if name.startswith(s.flag[1:]) and not name[len(s.flag) - 1].isalpha()]
        if glued:
            flag = glued[0].flag
            value = token.lstrip("-")[len(flag) - 1 :].lstrip("=:")
            message += f" (put a space between {flag} and its value: {flag} {value})"
    return PromptError(message, field="prompt")


def parse_prompt(raw: str, kind: PromptKind) -> tuple[str, PikaOptions]:
    """Split a member's raw prompt into its text and validated, normalised options.

    ``"a cat surfing -gs 12 -neg blurry, dark -camera pan up left"`` gives
    ``("a cat surfing", PikaOptions(guidance=12, negative="blurry, dark", camera="pan up left"))``.
    A flag is a whitespace-separated word starting with ``-`` and a letter (case-insensitive,
    ``--gs`` is read as ``-gs``); its value runs to the next flag. Unknown, repeated,
    valueless or out-of-range flags raise :class:`PromptError`.
    """
    kind = PromptKind(kind)
    allowed = {spec.flag[1:]: spec for spec in _allowed(kind)}
    text_words: list[str] = []
    segments: list[tuple[str, _Flag, list[str]]] = []
    for token in _clean_text(raw).split():
        if _FLAG_TOKEN.fullmatch(token):
            spec = allowed.get(token.lstrip("-").lower())
            if spec is None:
                raise _unknown_flag(token, kind)
            if any(seen is spec for _, seen, _ in segments):
                raise PromptError(f"{spec.flag} appears more than once: keep only one", field=spec.field)
            segments.append((token, spec, []))
        elif segments:
            segments[-1][2].append(token)
        else:
            text_words.append(token)

    values: dict[str, object] = {}
    for token, spec, words in segments:
        if not words:
            raise PromptError(
                f"{token} needs a value after it, e.g. {spec.example}",
                field=spec.field,
            )
        values[spec.field] = spec.check(" ".join(words))
    options = validate_options(PikaOptions(**values), kind)  # type: ignore[arg-type]
    return " ".join(text_words), options


# --------------------------------------------------------------------------------------------------
# encrypt_text fields, result filenames


def validate_message(message: str) -> str:
    """The ``encrypt_text`` message: cleaned and stripped, 1 to 20 characters."""
    text = _clean_text(message)
    if not text:
        raise PromptError(
            f"the message is empty: type 1 to {MAX_MESSAGE_LENGTH} characters to hide in the video",
            field="message",
        )
    length = prompt_length(text)
    if length > MAX_MESSAGE_LENGTH:
        raise PromptError(
            f"the message is {length} characters; Pika allows {MAX_MESSAGE_LENGTH} — "
            f"shorten it by {length - MAX_MESSAGE_LENGTH}",
            field="message",
        )
    return text


def _font_key(value: str) -> str:
    return re.sub(r"[\s_-]+", "", value.upper())


_FONTS_BY_KEY: Final[Mapping[str, Font]] = {_font_key(font.value): font for font in Font}


def parse_font(value: str | None) -> Font | None:
    """A font name, case-insensitive (``sans serif``, ``sans-serif`` and ``SANS_SERIF`` all work).

    ``None`` or blank means "Pika's default".
    """
    if value is None or not value.strip():
        return None
    font = _FONTS_BY_KEY.get(_font_key(value))
    if font is None:
        allowed = ", ".join(f.value for f in Font)
        raise PromptError(f"font must be one of {allowed} (got {_shown(value.strip())})", field="font")
    return font


_SEED_IN_NAME: Final = re.compile(r"(?:^|[_\-. ])seed(\d{1,20})(?:\.[A-Za-z0-9]+)?$", re.IGNORECASE)


def seed_from_filename(filename: str) -> int | None:
    """The seed Pika puts at the end of its output file name, or ``None``.

    ``"smiling_and_blinking_seed3557373337891796966.mp4"`` gives ``3557373337891796966``. A full
    URL works too (the query string and directories are ignored).
    """
    name = filename.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1].strip()
    match = _SEED_IN_NAME.search(name)
    if match is None:
        return None
    seed = int(match.group(1))
    # Pika's seeds are unsigned 64-bit (more than -seed accepts back); anything longer is not a seed.
    return seed if seed < 2**64 else None
