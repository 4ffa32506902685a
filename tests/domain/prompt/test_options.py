"""PikaOptions in bot.domain.prompt: the enums, immutability, validate_options and the JSON form."""

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
    validate_options,
)
from tests.domain.prompt.helpers import ANIMATE, CREATE, MAX_SEED


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
