"""validate_message and parse_font: the encrypt message and its font."""

from __future__ import annotations

import pytest

from bot.domain.prompt import Font, PromptError, parse_font, validate_message


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
