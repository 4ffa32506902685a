"""Pika prompt parameters: typed options ⇄ the inline flags Pika reads from the prompt text.

Pika's Discord bot reads parameters appended to the prompt, space-separated
(``a cat surfing -gs 12 -neg blurry, dark -ar 16:9 -camera pan up left``). An unknown or malformed
parameter makes Pika reject the job *after* it has been queued, so everything here is checked
locally first and every :class:`PromptError` says exactly what to change.

Flow used by the slash commands::

    text, parsed = parse_prompt(raw, kind)          # raw flags typed by the member
    options = merge_options(typed, parsed)           # + the slash-command options
    prompt = build_prompt(text, options, kind)       # validated, <= 1500 characters

The vocabulary (kinds, enums, limits, PromptError) and the flag table live in prompt_flags.py and
are re-exported here. Sources: docs/useapi-pika.md §1.3 (field limits) and §2.2 (inline parameters).
This module is pure: no I/O, no Discord, no HTTP.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bot.domain.prompt_flags import (
    ENCRYPT_KINDS,
    FLAG_TOKEN,
    FLAGS,
    FLAGS_BY_NAME,
    MAX_MESSAGE_LENGTH,
    MAX_PROMPT_LENGTH,
    AspectRatio,
    Camera,
    Flag,
    Font,
    PromptError,
    PromptKind,
    allowed_flags,
    clean_text,
    encrypt_only_error,
    prompt_length,
    reject_flag_words,
    shown,
)

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
        for spec in FLAGS:
            value = getattr(self, spec.field)
            if value is not None:
                pairs.append((spec.flag, str(value)))
        return pairs

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict of the set options (for storage); :meth:`from_json` reverses it."""
        data: dict[str, object] = {}
        for spec in FLAGS:
            value = getattr(self, spec.field)
            if value is not None:
                data[spec.field] = str(value) if spec.field == "aspect_ratio" else value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PikaOptions:
        """Rebuild options stored with :meth:`to_json`. Types are checked; ranges are not."""
        unknown = sorted(set(data) - {spec.field for spec in FLAGS})
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
    for spec in FLAGS:
        value = getattr(options, spec.field)
        if value is None:
            continue
        if spec.encrypt_only and kind not in ENCRYPT_KINDS:
            raise encrypt_only_error(spec, kind)
        values[spec.field] = spec.check(value)
    return PikaOptions(**values)  # type: ignore[arg-type]


def merge_options(typed: PikaOptions, parsed: PikaOptions) -> PikaOptions:
    """Union of the slash-command options and the flags typed in the prompt.

    An option given both ways must agree (after normalisation, so ``Pan Up`` equals ``pan up``);
    otherwise :class:`PromptError` names both places. Ranges are checked; kind-specific rules
    are left to :func:`validate_options` / :func:`build_prompt`.
    """
    values: dict[str, object] = {}
    for spec in FLAGS:
        mine = getattr(typed, spec.field)
        theirs = getattr(parsed, spec.field)
        mine = None if mine is None else spec.check(mine)
        theirs = None if theirs is None else spec.check(theirs)
        if mine is not None and theirs is not None and mine != theirs:
            raise PromptError(
                f"{spec.field} is given twice with different values: the {spec.field} option says "
                f"{shown(mine)} and the prompt says {spec.flag} {shown(theirs)}; remove one of them",
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
    text = clean_text(text)
    if not text and _text_required(kind):
        raise PromptError(
            f"the prompt is empty: describe the video you want ({kind.value} needs a prompt; "
            "parameters alone are not enough)",
            field="prompt",
        )
    reject_flag_words(text, "the prompt text", field="prompt")
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
    allowed = allowed_flags(kind)
    message = f"unknown parameter {token}: Pika accepts {', '.join(spec.flag for spec in allowed)}"
    name = token.lstrip("-").lower()
    spec = FLAGS_BY_NAME.get(name)
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
    allowed = {spec.flag[1:]: spec for spec in allowed_flags(kind)}
    text_words: list[str] = []
    segments: list[tuple[str, Flag, list[str]]] = []
    for token in clean_text(raw).split():
        if FLAG_TOKEN.fullmatch(token):
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
    text = clean_text(message)
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
        raise PromptError(f"font must be one of {allowed} (got {shown(value.strip())})", field="font")
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
