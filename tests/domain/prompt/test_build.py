"""build_prompt: flag order, required text, and the parse/build round trip."""

from __future__ import annotations

import pytest

from bot.domain.prompt import (
    AspectRatio,
    Camera,
    PikaOptions,
    PromptError,
    PromptKind,
    build_prompt,
    parse_prompt,
)
from tests.domain.prompt.helpers import ANIMATE, CREATE, ENCRYPT_IMAGE, ENCRYPT_TEXT, MAX_SEED


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
