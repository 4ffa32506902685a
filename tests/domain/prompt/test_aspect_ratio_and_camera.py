"""The -ar and -camera prompt flags: the allowed ratios, camera moves and their aliases."""

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
    validate_options,
)
from tests.domain.prompt.helpers import ALL_KINDS, ANIMATE, CREATE, parse_error


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
