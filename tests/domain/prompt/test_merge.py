"""merge_options: raw flags and typed options combined, with conflicts named."""

from __future__ import annotations

import pytest

from bot.domain.prompt import (
    AspectRatio,
    Camera,
    PikaOptions,
    PromptError,
    build_prompt,
    merge_options,
    parse_prompt,
)
from tests.domain.prompt.helpers import CREATE, options_with


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
