"""The numeric prompt flags (-gs, -seed, -motion, -fps, -w, -size): bounds, edges, non-integers."""

from __future__ import annotations

import pytest

from bot.domain.prompt import (
    PikaOptions,
    PromptError,
    PromptKind,
    build_prompt,
    parse_prompt,
    validate_options,
)
from tests.domain.prompt.helpers import (
    CREATE,
    ENCRYPT_IMAGE,
    ENCRYPT_TEXT,
    MAX_SEED,
    options_with,
    parse_error,
)

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
