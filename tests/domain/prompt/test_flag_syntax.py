"""How prompt flags are read: per-kind, unknown, repeated and valueless flags; case and cleaning."""

from __future__ import annotations

import pytest

from bot.domain.prompt import (
    AspectRatio,
    PikaOptions,
    PromptError,
    PromptKind,
    build_prompt,
    parse_prompt,
    validate_options,
)
from tests.domain.prompt.helpers import (
    ALL_KINDS,
    ANIMATE,
    CREATE,
    ENCRYPT_IMAGE,
    ENCRYPT_KINDS,
    ENCRYPT_TEXT,
    PLAIN_KINDS,
    options_with,
    parse_error,
)


@pytest.mark.parametrize("kind", PLAIN_KINDS)
@pytest.mark.parametrize(("flag", "field"), [("-w", "watermark"), ("-size", "size")])
def test_encrypt_flags_are_unknown_on_create_and_animate(kind: PromptKind, flag: str, field: str) -> None:
    """-w/-size in a create/animate prompt fail before Pika ever sees them."""
    error = parse_error(f"a lake {flag} 2", kind)
    assert str(error) == (
        f"unknown parameter {flag}: Pika accepts -gs, -neg, -ar, -seed, -motion, -fps, -camera "
        "(-w and -size work only with encrypt_text and encrypt_image)"
    )
    with pytest.raises(PromptError) as info:
        validate_options(options_with(field, 2), kind)
    assert str(info.value) == (
        f"{flag} works only with encrypt_text and encrypt_image, not {kind.value}: remove it"
    )
    assert info.value.field == field
    with pytest.raises(PromptError, match="works only with encrypt_text"):
        build_prompt("a lake", options_with(field, 2), kind)


@pytest.mark.parametrize("kind", ENCRYPT_KINDS)
def test_encrypt_flags_are_accepted_on_encrypt_kinds(kind: PromptKind) -> None:
    """The documented example prompt parses and rebuilds exactly."""
    raw = "waves crashing over the sandy beach, overhead shot -w 2 -size 100"
    text, options = parse_prompt(raw, kind)
    assert text == "waves crashing over the sandy beach, overhead shot"
    assert options == PikaOptions(watermark=2, size=100)
    assert build_prompt(text, options, kind) == raw


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("flag", ["-hide", "-foo", "--foo", "-neg2x", "-Quality", "-v", "-ar_wide"])
def test_unknown_flags_list_what_the_kind_accepts(kind: PromptKind, flag: str) -> None:
    """An unknown flag names itself and lists the kind's flags."""
    error = parse_error(f"a lake {flag} 5", kind)
    accepted = "-gs, -neg, -ar, -seed, -motion, -fps, -camera"
    if kind in ENCRYPT_KINDS:
        accepted += ", -w, -size"
    assert str(error).startswith(f"unknown parameter {flag}: Pika accepts {accepted}")
    assert error.field == "prompt"


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("x -gs12", "put a space between -gs and its value: -gs 12"),
        ("x -gs=12", "put a space between -gs and its value: -gs 12"),
        ("x -ar16:9", "put a space between -ar and its value: -ar 16:9"),
        ("x -seed42", "put a space between -seed and its value: -seed 42"),
        ("x -fps:8", "put a space between -fps and its value: -fps 8"),
    ],
)
def test_glued_values_get_a_hint(raw: str, hint: str) -> None:
    """'-gs12' is unknown, but the error shows how to write it."""
    assert str(parse_error(raw)).endswith(f"({hint})")


def test_glued_encrypt_value_gets_a_hint_on_encrypt_kinds() -> None:
    assert str(parse_error("x -size100", ENCRYPT_IMAGE)).endswith(
        "(put a space between -size and its value: -size 100)"
    )
    assert "put a space" not in str(parse_error("x -w2", CREATE))


@pytest.mark.parametrize(
    "raw",
    [
        "x -gs 12 -gs 12",
        "x -gs 12 -GS 14",
        "x -gs 12 --gs 12",
        "x -neg a -neg b",
        "x -camera zoom in -camera zoom in",
    ],
)
def test_duplicate_flags_are_rejected(raw: str) -> None:
    """A flag given twice fails, even with the same value."""
    error = parse_error(raw)
    assert "appears more than once: keep only one" in str(error)


@pytest.mark.parametrize(
    ("flag", "field", "example"),
    [
        ("-gs", "guidance", "-gs 12"),
        ("-neg", "negative", "-neg blurry, distorted"),
        ("-ar", "aspect_ratio", "-ar 16:9"),
        ("-seed", "seed", "-seed 12345"),
        ("-motion", "motion", "-motion 2"),
        ("-fps", "fps", "-fps 24"),
        ("-camera", "camera", "-camera zoom in"),
        ("-w", "watermark", "-w 2"),
        ("-size", "size", "-size 100"),
    ],
)
@pytest.mark.parametrize("position", ["last", "before another flag"])
def test_flags_without_a_value_are_rejected(flag: str, field: str, example: str, position: str) -> None:
    """A flag at the end, or directly followed by another flag, needs a value."""
    raw = f"a lake {flag}" if position == "last" else f"a lake {flag} -motion 1"
    if flag == "-motion":
        raw = f"a lake {flag}" if position == "last" else f"a lake {flag} -gs 12"
    error = parse_error(raw, ENCRYPT_TEXT)
    assert str(error) == f"{flag} needs a value after it, e.g. {example}"
    assert error.field == field


def test_value_runs_until_the_next_flag() -> None:
    """Words after a numeric flag belong to it, so text after the flags is an error."""
    error = parse_error("a cat -gs 12 on a beach")
    assert str(error) == '-gs must be a whole number from 8 to 24 (got "12 on a beach")'


@pytest.mark.parametrize(
    "text",
    [
        "a sci-fi city",
        "a - b",
        "it is -5°C outside",
        "x-ray vision",
        "a cat -- running",
        "an em dash —gs 12 stays text",
        "a '-quoted' word",
        "-5 degrees",
        "co-op",
        "a -",
        "-",
    ],
)
def test_dashes_that_are_not_flags_stay_in_the_text(text: str) -> None:
    """Only whitespace-delimited '-letter…' words are flags."""
    assert parse_prompt(text, CREATE) == (text, PikaOptions())
    assert parse_prompt(f"{text} -gs 9", CREATE) == (text, PikaOptions(guidance=9))


def test_flags_are_case_insensitive_and_written_lowercase() -> None:
    """'-GS 12 -Neg Blurry -AR 1:1' parses, and is rebuilt with lowercase flags."""
    text, options = parse_prompt("A Cat -GS 12 -Neg Blurry -AR 1:1 -CAMERA Zoom Out", CREATE)
    assert text == "A Cat"
    assert options == PikaOptions(
        guidance=12, negative="Blurry", aspect_ratio=AspectRatio.SQUARE, camera="zoom out"
    )
    assert build_prompt(text, options, CREATE) == "A Cat -gs 12 -neg Blurry -ar 1:1 -camera zoom out"


def test_double_dash_flags_are_read_as_single_dash() -> None:
    """'--gs 12' (Midjourney habit, also Pika's own echo style) is read as -gs."""
    text, options = parse_prompt("a cat --gs 12 --ar 9:16", CREATE)
    assert (text, options) == ("a cat", PikaOptions(guidance=12, aspect_ratio=AspectRatio.TALL))
    assert build_prompt(text, options, CREATE) == "a cat -gs 12 -ar 9:16"


def test_flags_may_start_the_prompt() -> None:
    """A prompt of flags only has empty text (fine for animate)."""
    assert parse_prompt("-motion 3 -camera pan left", ANIMATE) == (
        "",
        PikaOptions(motion=3, camera="pan left"),
    )
    assert parse_prompt("", ANIMATE) == ("", PikaOptions())
    assert parse_prompt("   \n\t ", CREATE) == ("", PikaOptions())


def test_control_characters_are_removed_and_whitespace_collapsed() -> None:
    """Control and invisible characters go; newlines and tabs become single spaces."""
    raw = "\x07 a\x00 cat\u200b \u202eon\ta\r\nboard\u2028-gs\x1b 12\n-neg\tdark\x7f "
    assert parse_prompt(raw, CREATE) == ("a cat on a board", PikaOptions(guidance=12, negative="dark"))


def test_control_characters_cannot_smuggle_a_flag_into_the_text() -> None:
    """'a\\x00-size 3' is 'a -size 3' once cleaned, so the flag is caught."""
    error = parse_error("a cat\x0b-size 3")
    assert str(error).startswith("unknown parameter -size")


def test_emoji_and_joiners_are_kept() -> None:
    """ZWJ sequences and variation selectors survive cleaning."""
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert (
        parse_prompt(f"a {family} on a \u2764\ufe0f boat -gs 10", CREATE)[0]
        == f"a {family} on a \u2764\ufe0f boat"
    )


def test_a_dash_word_inside_quotes_is_still_a_flag() -> None:
    """Pika reads any word starting with '-' and a letter as a parameter, quotes or not."""
    assert str(parse_error("a 'quoted -word'")).startswith("unknown parameter -word':")
