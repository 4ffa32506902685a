"""Tests for bot.domain.prompt: Pika's inline prompt parameters, built, parsed and validated."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError

import pytest

from bot.domain.prompt import (
    MAX_MESSAGE_LENGTH,
    MAX_PROMPT_LENGTH,
    AspectRatio,
    Camera,
    Font,
    PikaOptions,
    PromptError,
    PromptKind,
    build_prompt,
    merge_options,
    parse_font,
    parse_prompt,
    prompt_length,
    seed_from_filename,
    validate_message,
    validate_options,
)

CREATE = PromptKind.CREATE
ANIMATE = PromptKind.ANIMATE
ENCRYPT_TEXT = PromptKind.ENCRYPT_TEXT
ENCRYPT_IMAGE = PromptKind.ENCRYPT_IMAGE
ALL_KINDS = list(PromptKind)
ENCRYPT_KINDS = [ENCRYPT_TEXT, ENCRYPT_IMAGE]
PLAIN_KINDS = [CREATE, ANIMATE]
MAX_SEED = 2**63 - 1

# (flag, field, low, high, a kind that accepts the flag)
NUMERIC_FLAGS = [
    ("-gs", "guidance", 8, 24, CREATE),
    ("-seed", "seed", 0, MAX_SEED, CREATE),
    ("-motion", "motion", 0, 4, CREATE),
    ("-fps", "fps", 8, 24, CREATE),
    ("-w", "watermark", 1, 100, ENCRYPT_TEXT),
    ("-size", "size", 1, 100, ENCRYPT_IMAGE),
]
NUMERIC_IDS = [flag for flag, *_ in NUMERIC_FLAGS]


def options_with(field: str, value: object) -> PikaOptions:
    return PikaOptions(**{field: value})  # type: ignore[arg-type]


def parse_error(raw: str, kind: PromptKind = CREATE) -> PromptError:
    with pytest.raises(PromptError) as info:
        parse_prompt(raw, kind)
    return info.value


# --------------------------------------------------------------------------------------------------
# Enums and constants


def test_enum_values_match_the_contract() -> None:
    """The enums carry exactly the documented wire values."""
    assert [k.value for k in PromptKind] == ["create", "animate", "encrypt_text", "encrypt_image"]
    assert [a.value for a in AspectRatio] == ["16:9", "9:16", "1:1", "4:5", "5:2", "4:3"]
    assert [c.value for c in Camera] == [
        "zoom in",
        "zoom out",
        "pan up",
        "pan down",
        "pan left",
        "pan right",
        "rotate clockwise",
        "rotate counterclockwise",
    ]
    assert [f.value for f in Font] == ["MODERN", "COMICS", "SANS SERIF", "BAUHAUS", "RETRO"]
    assert Font.SANS_SERIF.value == "SANS SERIF"
    assert MAX_PROMPT_LENGTH == 1500
    assert MAX_MESSAGE_LENGTH == 20


def test_prompt_error_is_a_value_error_with_a_field() -> None:
    """PromptError subclasses ValueError, keeps its message and names the field."""
    error = PromptError("fix this", field="guidance")
    assert isinstance(error, ValueError)
    assert str(error) == "fix this"
    assert error.field == "guidance"
    assert PromptError("x").field == "prompt"


def test_options_are_frozen() -> None:
    """PikaOptions is immutable."""
    with pytest.raises(FrozenInstanceError):
        PikaOptions().guidance = 3  # type: ignore[misc]


# --------------------------------------------------------------------------------------------------
# Numeric flags: bounds, edges, non-integers


@pytest.mark.parametrize(("flag", "field", "low", "high", "kind"), NUMERIC_FLAGS, ids=NUMERIC_IDS)
@pytest.mark.parametrize("where", ["low", "high", "middle"])
def test_numeric_flag_inside_and_at_edges(
    flag: str, field: str, low: int, high: int, kind: PromptKind, where: str
) -> None:
    """Both edges and a middle value are accepted, by parsing and as typed options."""
    value = {"low": low, "high": high, "middle": (low + high) // 2}[where]
    text, parsed = parse_prompt(f"a lake {flag} {value}", kind)
    assert text == "a lake"
    assert getattr(parsed, field) == value
    assert validate_options(options_with(field, value), kind) == options_with(field, value)


@pytest.mark.parametrize(("flag", "field", "low", "high", "kind"), NUMERIC_FLAGS, ids=NUMERIC_IDS)
@pytest.mark.parametrize("side", ["below", "above"])
def test_numeric_flag_one_outside_is_rejected(
    flag: str, field: str, low: int, high: int, kind: PromptKind, side: str
) -> None:
    """One below the low edge or one above the high edge fails, saying the allowed range."""
    value = low - 1 if side == "below" else high + 1
    expected = f"{flag} must be a whole number from {low} to {high} (got {value})"
    with pytest.raises(PromptError) as info:
        validate_options(options_with(field, value), kind)
    assert str(info.value) == expected
    assert info.value.field == field
    if value >= 0:  # "-1" typed in a prompt is not a number token we can test the same way
        error = parse_error(f"a lake {flag} {value}", kind)
        assert str(error) == expected
        assert error.field == field


@pytest.mark.parametrize(("flag", "field", "low", "high", "kind"), NUMERIC_FLAGS, ids=NUMERIC_IDS)
@pytest.mark.parametrize(
    "bad",
    ["12.5", "12.0", "abc", "1e3", "+12", "-12", "1_2", "0x10", "١٢", "12 more words", "twelve"],
)
def test_numeric_flag_rejects_non_integers(
    flag: str, field: str, low: int, high: int, kind: PromptKind, bad: str
) -> None:
    """Anything but plain ASCII digits is refused with the range in the message."""
    error = parse_error(f"a lake {flag} {bad}", kind)
    assert str(error).startswith(f"{flag} must be a whole number from {low} to {high} (got ")
    assert bad.split()[0] in str(error)
    assert error.field == field


@pytest.mark.parametrize(("flag", "field", "low", "high", "kind"), NUMERIC_FLAGS, ids=NUMERIC_IDS)
@pytest.mark.parametrize("bad", [True, False, 12.0, "x", [12]])
def test_typed_numeric_option_rejects_wrong_types(
    flag: str, field: str, low: int, high: int, kind: PromptKind, bad: object
) -> None:
    """Booleans, floats and other junk in a typed numeric option are refused."""
    with pytest.raises(PromptError) as info:
        validate_options(options_with(field, bad), kind)
    assert f"{flag} must be a whole number from {low} to {high}" in str(info.value)
    assert info.value.field == field


def test_leading_zeros_are_read_as_the_number() -> None:
    """'-gs 08' is 8, and is written back as '8'."""
    _, options = parse_prompt("x -gs 08 -motion 00", CREATE)
    assert options == PikaOptions(guidance=8, motion=0)
    assert build_prompt("x", options, CREATE) == "x -gs 8 -motion 0"


def test_seed_bounds_in_detail() -> None:
    """Seed: 0 and 2**63-1 pass; 2**63 and absurdly long numbers fail without crashing."""
    assert parse_prompt("x -seed 0", CREATE)[1].seed == 0
    assert parse_prompt(f"x -seed {MAX_SEED}", CREATE)[1].seed == MAX_SEED
    assert "from 0 to 9223372036854775807" in str(parse_error(f"x -seed {2**63}"))
    huge = "9" * 5000  # longer than Python's int() string limit
    error = parse_error(f"x -seed {huge}")
    assert error.field == "seed"
    assert "…" in str(error)  # the echoed value is shortened
    assert len(str(error)) < 200
    assert parse_prompt(f"x -seed {'0' * 30}7", CREATE)[1].seed == 7


# --------------------------------------------------------------------------------------------------
# -ar


@pytest.mark.parametrize("ratio", list(AspectRatio))
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_aspect_ratio_is_accepted(ratio: AspectRatio, kind: PromptKind) -> None:
    """Every listed ratio parses to the enum, for every kind, and as a typed string."""
    _, options = parse_prompt(f"a lake -ar {ratio.value}", kind)
    assert options.aspect_ratio is ratio
    validated = validate_options(PikaOptions(aspect_ratio=ratio.value), kind)  # type: ignore[arg-type]
    assert validated.aspect_ratio is ratio
    assert isinstance(validated.aspect_ratio, AspectRatio)


@pytest.mark.parametrize("bad", ["3:2", "16x9", "16/9", "16:9:1", "1024:576", "wide", "16 : 9", "21:9"])
def test_invalid_aspect_ratio_lists_the_allowed_ones(bad: str) -> None:
    """A ratio outside the list fails, listing the allowed ratios."""
    error = parse_error(f"a lake -ar {bad}")
    assert str(error).startswith("-ar must be one of 16:9, 9:16, 1:1, 4:5, 5:2, 4:3 (got ")
    assert error.field == "aspect_ratio"
    with pytest.raises(PromptError, match="-ar must be one of"):
        validate_options(PikaOptions(aspect_ratio=bad), CREATE)  # type: ignore[arg-type]


def test_typed_aspect_ratio_of_wrong_type_is_rejected() -> None:
    with pytest.raises(PromptError, match=r"-ar must be one of .* \(got 16\)"):
        validate_options(PikaOptions(aspect_ratio=16), CREATE)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# -camera

CAMERA_CASES = [
    # (typed, normalised)
    ("zoom in", "zoom in"),
    ("zoom out", "zoom out"),
    ("pan up", "pan up"),
    ("pan down", "pan down"),
    ("pan left", "pan left"),
    ("pan right", "pan right"),
    ("rotate clockwise", "rotate clockwise"),
    ("rotate counterclockwise", "rotate counterclockwise"),
    # aliases
    ("rotate cw", "rotate clockwise"),
    ("rotate ccw", "rotate counterclockwise"),
    ("rotate anticlockwise", "rotate counterclockwise"),
    ("rotate acw", "rotate counterclockwise"),
    ("rotate counter-clockwise", "rotate counterclockwise"),
    ("rotate anti-clockwise", "rotate counterclockwise"),
    # two non-conflicting pans, either order, normalised vertical first
    ("pan up left", "pan up left"),
    ("pan up right", "pan up right"),
    ("pan down left", "pan down left"),
    ("pan down right", "pan down right"),
    ("pan left up", "pan up left"),
    ("pan right up", "pan up right"),
    ("pan left down", "pan down left"),
    ("pan right down", "pan down right"),
    # case and spacing
    ("Zoom In", "zoom in"),
    ("PAN   UP    LEFT", "pan up left"),
    ("Rotate CCW", "rotate counterclockwise"),
]


@pytest.mark.parametrize(("typed", "normalised"), CAMERA_CASES)
def test_camera_values_and_aliases(typed: str, normalised: str) -> None:
    """Every camera move and alias parses and validates to its normalised text."""
    text, options = parse_prompt(f"a lake -camera {typed} -gs 12", CREATE)
    assert text == "a lake"
    assert options == PikaOptions(camera=normalised, guidance=12)
    assert validate_options(PikaOptions(camera=typed), ANIMATE).camera == normalised


@pytest.mark.parametrize("camera", list(Camera))
def test_camera_enum_members_are_accepted_as_typed_options(camera: Camera) -> None:
    """The Camera enum (what the slash command offers) passes validation unchanged."""
    assert validate_options(PikaOptions(camera=camera), CREATE).camera == camera.value
    assert build_prompt("x", PikaOptions(camera=camera), CREATE) == f"x -camera {camera.value}"


@pytest.mark.parametrize(
    "bad", ["pan up down", "pan down up", "pan left right", "pan right left", "pan up up", "pan left left"]
)
def test_conflicting_pans_are_rejected(bad: str) -> None:
    """Opposite or repeated pan directions fail, explaining the rule."""
    error = parse_error(f"a lake -camera {bad}")
    assert str(error) == (
        f"-camera {bad} pans in conflicting directions: use at most one of up/down and one of "
        "left/right, e.g. pan up left"
    )
    assert error.field == "camera"


@pytest.mark.parametrize(
    "bad",
    [
        "zoom",
        "zoom sideways",
        "zoom in out",
        "zoom in pan up",
        "pan",
        "pan diagonal",
        "pan up left right",
        "pan up left down",
        "rotate",
        "rotate left",
        "rotate cw ccw",
        "spin",
        "tilt up",
        "orbit",
    ],
)
def test_invalid_camera_lists_the_choices(bad: str) -> None:
    """Anything else fails, listing what is allowed."""
    error = parse_error(f"a lake -camera {bad}")
    assert str(error).startswith("-camera ")
    assert "zoom in" in str(error)
    assert "pan up left" in str(error)
    assert "rotate counterclockwise" in str(error)
    assert error.field == "camera"


def test_typed_camera_of_wrong_type_is_rejected() -> None:
    with pytest.raises(PromptError, match=r"-camera must be one of .* \(got 3\)"):
        validate_options(PikaOptions(camera=3), CREATE)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# -neg


def test_negative_may_contain_spaces_commas_and_dashes() -> None:
    """-neg runs until the next flag; dashes that are not flags stay in it."""
    text, options = parse_prompt("a cat surfing -neg blurry, dark - low-res -5 -gs 12", CREATE)
    assert text == "a cat surfing"
    assert options == PikaOptions(negative="blurry, dark - low-res -5", guidance=12)


def test_negative_is_cleaned_when_typed() -> None:
    """Typed negative text is stripped, control characters removed, blank means none."""
    assert validate_options(PikaOptions(negative="  blurry,\tdark\x00 \n"), CREATE).negative == "blurry, dark"
    assert validate_options(PikaOptions(negative="   "), CREATE).negative is None
    assert validate_options(PikaOptions(negative="\u200b"), CREATE).negative is None


def test_negative_with_a_flag_word_is_rejected() -> None:
    """A typed negative prompt containing '-word' would be misread by Pika."""
    with pytest.raises(PromptError) as info:
        validate_options(PikaOptions(negative="blurry -gs 30"), CREATE)
    assert str(info.value) == (
        "the -neg text contains -gs, which Pika would read as a parameter: "
        "remove the dash or add a space after it"
    )
    assert info.value.field == "negative"


def test_typed_negative_of_wrong_type_is_rejected() -> None:
    with pytest.raises(PromptError, match="-neg must be text"):
        validate_options(PikaOptions(negative=5), CREATE)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Encrypt-only flags


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


# --------------------------------------------------------------------------------------------------
# Unknown, duplicate and valueless flags


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


# --------------------------------------------------------------------------------------------------
# What is (not) a flag, case, cleaning


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


# --------------------------------------------------------------------------------------------------
# build_prompt


def test_build_orders_flags_stably() -> None:
    """Flags come out in one fixed order whatever order they were typed in."""
    options = PikaOptions(
        size=100,
        watermark=2,
        camera="rotate cw",
        fps=8,
        motion=4,
        seed=7,
        aspect_ratio=AspectRatio.CINEMA,
        negative="blurry",
        guidance=24,
    )
    expected = "x -gs 24 -neg blurry -ar 5:2 -seed 7 -motion 4 -fps 8 -camera rotate clockwise -w 2 -size 100"
    assert build_prompt("x", options, ENCRYPT_TEXT) == expected
    _, parsed = parse_prompt(
        "x -size 100 -w 2 -camera rotate cw -fps 8 -motion 4 -seed 7 -ar 5:2 -neg blurry -gs 24", ENCRYPT_TEXT
    )
    assert build_prompt("x", parsed, ENCRYPT_TEXT) == expected


def test_flags_pairs_in_order() -> None:
    """flags() returns (flag, value) pairs for set options only, in the fixed order."""
    options = PikaOptions(camera="pan up", guidance=12, aspect_ratio=AspectRatio.WIDE, seed=0)
    assert options.flags() == [("-gs", "12"), ("-ar", "16:9"), ("-seed", "0"), ("-camera", "pan up")]
    assert PikaOptions().flags() == []


def test_build_without_options_is_just_the_text() -> None:
    assert build_prompt("  a cat  ", PikaOptions(), CREATE) == "a cat"


@pytest.mark.parametrize("kind", [CREATE, ENCRYPT_TEXT, ENCRYPT_IMAGE])
@pytest.mark.parametrize("text", ["", "   ", "\x00\n\t"])
def test_text_is_required_except_for_animate(kind: PromptKind, text: str) -> None:
    """create and encrypt_* need prompt text; parameters alone are not enough."""
    with pytest.raises(PromptError) as info:
        build_prompt(text, PikaOptions(guidance=12), kind)
    assert str(info.value) == (
        f"the prompt is empty: describe the video you want ({kind.value} needs a prompt; "
        "parameters alone are not enough)"
    )
    assert info.value.field == "prompt"


def test_animate_may_have_empty_text() -> None:
    """animate works with flags only, or with nothing at all."""
    assert build_prompt("", PikaOptions(motion=2), ANIMATE) == "-motion 2"
    assert build_prompt("  ", PikaOptions(), ANIMATE) == ""


def test_build_rejects_flag_words_in_the_text() -> None:
    """Text with '-word' in it must go through parse_prompt first."""
    with pytest.raises(PromptError) as info:
        build_prompt("a cat -gs 12", PikaOptions(), CREATE)
    assert str(info.value) == (
        "the prompt text contains -gs, which Pika would read as a parameter: "
        "remove the dash or add a space after it"
    )
    assert info.value.field == "prompt"


def test_build_validates_options() -> None:
    with pytest.raises(PromptError, match=r"-gs must be a whole number from 8 to 24 \(got 30\)"):
        build_prompt("a cat", PikaOptions(guidance=30), CREATE)


def test_build_accepts_plain_string_kinds() -> None:
    assert build_prompt("a", PikaOptions(size=5), "encrypt_image") == "a -size 5"  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Length limit


def test_prompt_of_exactly_1500_characters_is_accepted() -> None:
    text = "a" * 1500
    assert build_prompt(text, PikaOptions(), CREATE) == text


def test_prompt_of_1501_characters_is_rejected() -> None:
    with pytest.raises(PromptError) as info:
        build_prompt("a" * 1501, PikaOptions(), CREATE)
    assert str(info.value) == "the prompt is 1,501 characters; Pika allows 1,500 — shorten it by 1"
    assert info.value.field == "prompt"


def test_length_counts_the_parameters() -> None:
    """The limit applies to text plus flags: exactly 1500 passes, 1501 fails."""
    suffix = " -gs 12 -ar 16:9"  # 16 characters
    assert build_prompt(
        "a" * (1500 - len(suffix)), PikaOptions(guidance=12, aspect_ratio=AspectRatio.WIDE), CREATE
    )
    with pytest.raises(PromptError) as info:
        build_prompt(
            "a" * (1501 - len(suffix)), PikaOptions(guidance=12, aspect_ratio=AspectRatio.WIDE), CREATE
        )
    assert str(info.value) == (
        "the prompt with its parameters is 1,501 characters; Pika allows 1,500 — shorten it by 1"
    )


def test_length_message_matches_the_issue_example() -> None:
    suffix = " -neg blurry"  # 12 characters
    with pytest.raises(PromptError) as info:
        build_prompt("b" * (1612 - len(suffix)), PikaOptions(negative="blurry"), CREATE)
    assert str(info.value) == (
        "the prompt with its parameters is 1,612 characters; Pika allows 1,500 — shorten it by 112"
    )


def test_length_counts_utf16_units_like_useapi() -> None:
    """An astral emoji counts as 2, as JavaScript's string.length does."""
    assert prompt_length("a\U0001f600") == 3
    assert prompt_length("é") == 1
    assert build_prompt("\U0001f600" * 750, PikaOptions(), CREATE)
    with pytest.raises(PromptError, match="is 1,502 characters"):
        build_prompt("\U0001f600" * 751, PikaOptions(), CREATE)


def test_length_is_measured_after_cleaning() -> None:
    """Whitespace runs and control characters removed first do not count."""
    assert build_prompt("a" * 1500 + "   \x00\n", PikaOptions(), CREATE) == "a" * 1500


# --------------------------------------------------------------------------------------------------
# Round trip: parse(build(x)) == x

ROUND_TRIP_CASES = (
    [
        ("a cat surfing", PikaOptions(), CREATE),
        ("a cat surfing", PikaOptions(guidance=12), CREATE),
        ("a cat surfing", PikaOptions(negative="blurry, dark, low-res"), CREATE),
        ("city at night, sci-fi", PikaOptions(aspect_ratio=AspectRatio.TALL, seed=MAX_SEED), CREATE),
        ("x", PikaOptions(seed=0, motion=0, fps=8), CREATE),
        ("x", PikaOptions(motion=4, fps=24, guidance=8), ANIMATE),
        ("", PikaOptions(motion=2, camera="pan down right"), ANIMATE),
        ("", PikaOptions(), ANIMATE),
        ("a face", PikaOptions(camera="rotate counterclockwise", negative="- not a flag -5"), ANIMATE),
        ("a face", PikaOptions(camera="zoom out", aspect_ratio=AspectRatio.CLASSIC), CREATE),
        ("Hello there", PikaOptions(watermark=1, size=100, guidance=24), ENCRYPT_TEXT),
        ("waves, overhead shot", PikaOptions(watermark=2, size=100), ENCRYPT_IMAGE),
        (
            "everything at once",
            PikaOptions(
                guidance=16,
                negative="ugly, text",
                aspect_ratio=AspectRatio.PORTRAIT,
                seed=3557373337891796966,
                motion=3,
                fps=12,
                camera="pan up left",
                watermark=10,
                size=50,
            ),
            ENCRYPT_IMAGE,
        ),
        ("ünïcödé \U0001f431 prompt", PikaOptions(negative="日本語"), CREATE),
    ]
    + [("a lake", PikaOptions(aspect_ratio=ratio), CREATE) for ratio in AspectRatio]
    + [("a lake", PikaOptions(camera=camera.value), CREATE) for camera in Camera]
)


@pytest.mark.parametrize(("text", "options", "kind"), ROUND_TRIP_CASES)
def test_parse_of_build_round_trips(text: str, options: PikaOptions, kind: PromptKind) -> None:
    """Building then parsing gives back the same text and options, and rebuilds identically."""
    prompt = build_prompt(text, options, kind)
    assert parse_prompt(prompt, kind) == (text, options)
    assert build_prompt(*parse_prompt(prompt, kind), kind) == prompt


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("a cat  -GS 12   -camera Pan Left  Up", "a cat -gs 12 -camera pan up left"),
        ("a cat --ar 4:5 -neg  blurry ,  dark", "a cat -neg blurry , dark -ar 4:5"),
        ("a cat -camera rotate acw -seed 007", "a cat -seed 7 -camera rotate counterclockwise"),
    ],
)
def test_build_of_parse_normalises(raw: str, normalised: str) -> None:
    """Building from a parsed raw prompt normalises it; doing it again changes nothing."""
    built = build_prompt(*parse_prompt(raw, CREATE), CREATE)
    assert built == normalised
    assert build_prompt(*parse_prompt(built, CREATE), CREATE) == built


# --------------------------------------------------------------------------------------------------
# merge_options


def test_merge_is_a_union() -> None:
    typed = PikaOptions(guidance=12, camera=Camera.ZOOM_IN)
    parsed = PikaOptions(negative="blurry", seed=5)
    assert merge_options(typed, parsed) == PikaOptions(
        guidance=12, camera="zoom in", negative="blurry", seed=5
    )
    assert merge_options(PikaOptions(), PikaOptions()) == PikaOptions()
    assert merge_options(typed, PikaOptions()) == PikaOptions(guidance=12, camera="zoom in")
    assert merge_options(PikaOptions(), parsed) == parsed


def test_merge_accepts_the_same_value_given_twice() -> None:
    """Equal after normalisation is not a conflict."""
    typed = PikaOptions(guidance=12, camera="Pan Left Up", aspect_ratio="16:9", negative=" blurry ")  # type: ignore[arg-type]
    parsed = PikaOptions(guidance=12, camera="pan up left", aspect_ratio=AspectRatio.WIDE, negative="blurry")
    assert merge_options(typed, parsed) == parsed


@pytest.mark.parametrize(
    ("field", "flag", "mine", "theirs"),
    [
        ("guidance", "-gs", 12, 14),
        ("negative", "-neg", "blurry", "dark"),
        ("aspect_ratio", "-ar", AspectRatio.WIDE, AspectRatio.TALL),
        ("seed", "-seed", 1, 2),
        ("motion", "-motion", 0, 4),
        ("fps", "-fps", 8, 24),
        ("camera", "-camera", "zoom in", "zoom out"),
        ("watermark", "-w", 1, 2),
        ("size", "-size", 50, 100),
    ],
)
def test_merge_conflict_names_both_places(field: str, flag: str, mine: object, theirs: object) -> None:
    """Different values for one option fail, naming the option and the flag."""
    with pytest.raises(PromptError) as info:
        merge_options(options_with(field, mine), options_with(field, theirs))

    def shown(value: object) -> str:
        return f'"{value}"' if " " in str(value) else str(value)

    assert str(info.value) == (
        f"{field} is given twice with different values: the {field} option says {shown(mine)} "
        f"and the prompt says {flag} {shown(theirs)}; remove one of them"
    )
    assert info.value.field == field


def test_merge_conflict_quotes_values_with_spaces() -> None:
    with pytest.raises(PromptError) as info:
        merge_options(PikaOptions(camera="pan up"), PikaOptions(camera="pan up left"))
    assert 'says "pan up" and the prompt says -camera "pan up left"' in str(info.value)


def test_merge_validates_values() -> None:
    with pytest.raises(PromptError, match=r"-gs must be a whole number from 8 to 24 \(got 99\)"):
        merge_options(PikaOptions(guidance=99), PikaOptions())


def test_typical_command_flow() -> None:
    """Raw flags + typed options → one validated prompt."""
    text, parsed = parse_prompt("a cat surfing -gs 12 -neg blurry, dark -camera pan up left", CREATE)
    merged = merge_options(PikaOptions(aspect_ratio=AspectRatio.WIDE, guidance=12), parsed)
    assert build_prompt(text, merged, CREATE) == (
        "a cat surfing -gs 12 -neg blurry, dark -ar 16:9 -camera pan up left"
    )


# --------------------------------------------------------------------------------------------------
# validate_options


def test_validate_options_returns_normalised_copy() -> None:
    options = PikaOptions(
        guidance=10,
        negative="  a\tb ",
        aspect_ratio="1:1",  # type: ignore[arg-type]
        camera="ROTATE CW",
    )
    assert validate_options(options, CREATE) == PikaOptions(
        guidance=10, negative="a b", aspect_ratio=AspectRatio.SQUARE, camera="rotate clockwise"
    )
    assert validate_options(PikaOptions(), ANIMATE) == PikaOptions()


# --------------------------------------------------------------------------------------------------
# validate_message / parse_font


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Hello", "Hello"),
        ("  Hello  ", "Hello"),
        ("a", "a"),
        ("x" * 20, "x" * 20),
        ("  " + "y" * 20 + "\n", "y" * 20),
        ("PIKA\x00 LABS", "PIKA LABS"),
        ("two   spaces", "two spaces"),
    ],
)
def test_valid_messages(message: str, expected: str) -> None:
    assert validate_message(message) == expected


def test_message_of_21_characters_is_rejected() -> None:
    with pytest.raises(PromptError) as info:
        validate_message("x" * 21)
    assert str(info.value) == "the message is 21 characters; Pika allows 20 — shorten it by 1"
    assert info.value.field == "message"


def test_message_counts_utf16_units() -> None:
    assert validate_message("\U0001f600" * 10) == "\U0001f600" * 10
    with pytest.raises(PromptError, match="the message is 22 characters"):
        validate_message("\U0001f600" * 11)


@pytest.mark.parametrize("message", ["", "   ", "\x00\t\n"])
def test_empty_message_is_rejected(message: str) -> None:
    with pytest.raises(PromptError) as info:
        validate_message(message)
    assert str(info.value) == "the message is empty: type 1 to 20 characters to hide in the video"
    assert info.value.field == "message"


@pytest.mark.parametrize("font", list(Font))
def test_every_font_parses_case_insensitively(font: Font) -> None:
    assert parse_font(font.value) is font
    assert parse_font(font.value.lower()) is font
    assert parse_font(f"  {font.value.title()}  ") is font


@pytest.mark.parametrize("spelling", ["sans serif", "Sans-Serif", "SANS_SERIF", "sansserif", "sans  serif"])
def test_sans_serif_spellings(spelling: str) -> None:
    assert parse_font(spelling) is Font.SANS_SERIF


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_font_means_default(value: str | None) -> None:
    assert parse_font(value) is None


@pytest.mark.parametrize("bad", ["Arial", "serif", "comic", "MODERN2"])
def test_unknown_font_lists_the_fonts(bad: str) -> None:
    with pytest.raises(PromptError) as info:
        parse_font(bad)
    assert str(info.value) == f"font must be one of MODERN, COMICS, SANS SERIF, BAUHAUS, RETRO (got {bad})"
    assert info.value.field == "font"


# --------------------------------------------------------------------------------------------------
# seed_from_filename


@pytest.mark.parametrize(
    ("filename", "seed"),
    [
        ("smiling_and_blinking_seed3557373337891796966.mp4", 3557373337891796966),
        ("a_cat_seed0.mp4", 0),
        ("a_cat_seed42.MP4", 42),
        ("a_cat_SEED42.mp4", 42),
        ("seed42.mp4", 42),
        ("a_cat_seed42", 42),
        (f"x_seed{MAX_SEED}.mp4", MAX_SEED),
        (f"x_seed{2**64 - 1}.mp4", 2**64 - 1),  # Pika's seeds are unsigned 64-bit
        (
            "https://cdn.discordapp.com/attachments/1/2/waves_seed123.mp4?ex=65a&is=659&hm=abc&",
            123,
        ),
        ("/tmp/media/waves_seed9.mp4", 9),
        ("a-cat-seed77.webm", 77),
    ],
)
def test_seed_from_filename(filename: str, seed: int) -> None:
    assert seed_from_filename(filename) == seed


@pytest.mark.parametrize(
    "filename",
    [
        "smiling_and_blinking.mp4",
        "",
        "a_cat_seed.mp4",
        "a_cat_seed12x.mp4",
        "a_cat_seed12_final.mp4",
        "linseed12.mp4",
        f"x_seed{2**64}.mp4",
        "x_seed99999999999999999999.mp4",
        "a_cat_seed-5.mp4",
    ],
)
def test_seed_from_filename_without_a_seed(filename: str) -> None:
    assert seed_from_filename(filename) is None


# --------------------------------------------------------------------------------------------------
# to_json / from_json / with_seed


JSON_CASES = [
    PikaOptions(),
    PikaOptions(guidance=12),
    PikaOptions(aspect_ratio=AspectRatio.CINEMA, camera="pan up left", negative="blurry, dark"),
    PikaOptions(
        guidance=24,
        negative="x",
        aspect_ratio=AspectRatio.TALL,
        seed=MAX_SEED,
        motion=0,
        fps=8,
        camera="rotate clockwise",
        watermark=2,
        size=100,
    ),
]


@pytest.mark.parametrize("options", JSON_CASES)
def test_json_round_trip(options: PikaOptions) -> None:
    """to_json → JSON text → from_json gives equal options with an enum aspect ratio."""
    data = options.to_json()
    assert PikaOptions.from_json(data) == options
    restored = PikaOptions.from_json(json.loads(json.dumps(data)))
    assert restored == options
    if options.aspect_ratio is not None:
        assert isinstance(restored.aspect_ratio, AspectRatio)


def test_to_json_omits_unset_options() -> None:
    assert PikaOptions().to_json() == {}
    assert PikaOptions(guidance=12, aspect_ratio=AspectRatio.WIDE).to_json() == {
        "guidance": 12,
        "aspect_ratio": "16:9",
    }
    assert json.dumps(PikaOptions(aspect_ratio=AspectRatio.WIDE).to_json()) == '{"aspect_ratio": "16:9"}'


def test_from_json_tolerates_explicit_nulls() -> None:
    assert PikaOptions.from_json({"guidance": None, "seed": 3}) == PikaOptions(seed=3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"gs": 12}, "unknown Pika option key"),
        ({"guidance": "12"}, "guidance must be an integer"),
        ({"seed": True}, "seed must be an integer"),
        ({"fps": 8.0}, "fps must be an integer"),
        ({"negative": 3}, "negative must be a string"),
        ({"camera": ["zoom in"]}, "camera must be a string"),
        ({"aspect_ratio": 1.5}, "aspect_ratio must be a string"),
        ({"aspect_ratio": "3:2"}, "3:2"),
    ],
)
def test_from_json_rejects_bad_data(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PikaOptions.from_json(data)


def test_with_seed_replaces_only_the_seed() -> None:
    options = PikaOptions(guidance=12, seed=1)
    assert options.with_seed(99) == PikaOptions(guidance=12, seed=99)
    assert options.with_seed(None) == PikaOptions(guidance=12)
    assert options == PikaOptions(guidance=12, seed=1)


def test_a_dash_word_inside_quotes_is_still_a_flag() -> None:
    """Pika reads any word starting with '-' and a letter as a parameter, quotes or not."""
    assert str(parse_error("a 'quoted -word'")).startswith("unknown parameter -word':")
