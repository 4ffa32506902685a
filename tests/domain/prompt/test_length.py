"""The 1500-character prompt limit: text plus flags, in UTF-16 units, after cleaning."""

from __future__ import annotations

import pytest

from bot.domain.prompt import AspectRatio, PikaOptions, PromptError, build_prompt, prompt_length
from tests.domain.prompt.helpers import CREATE


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
