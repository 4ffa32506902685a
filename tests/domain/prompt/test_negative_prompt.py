"""The -neg prompt flag: free text up to the next flag, cleaned when typed."""

from __future__ import annotations

import pytest

from bot.domain.prompt import PikaOptions, PromptError, parse_prompt, validate_options
from tests.domain.prompt.helpers import CREATE


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
