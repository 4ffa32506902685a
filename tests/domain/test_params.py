"""VideoParams: the typed options stored with a job, round-tripped through JSON."""

from __future__ import annotations

import json

import pytest

from bot.domain.params import ParamName, Transition, VideoParams


def test_model_and_transitions_round_trip_through_stored_json() -> None:
    """The chosen model and per-transition prompts and lengths survive the params_json column."""
    params = VideoParams(
        resolution="1080p",
        model="v2.1",
        transitions=(Transition("the fox jumps", 3), Transition(seconds=7), Transition()),
    )
    stored = json.loads(json.dumps(params.to_json(), sort_keys=True))
    assert stored["model"] == "v2.1"
    assert stored["transitions"] == [{"prompt": "the fox jumps", "seconds": 3}, {"seconds": 7}, {}]
    assert VideoParams.from_json(stored) == params
    assert params.given() == {ParamName.RESOLUTION, ParamName.MODEL, ParamName.TRANSITIONS}


def test_texts_are_what_the_member_wrote() -> None:
    """Banned words are checked in the negative prompt and every transition prompt."""
    params = VideoParams(negative="blur", transitions=(Transition("a dog"), Transition(seconds=4)))
    assert params.texts() == ("blur", "a dog")
    assert VideoParams().texts() == ()


@pytest.mark.parametrize(
    "data",
    [
        {"transitions": {"prompt": "x"}},
        {"transitions": [{"prompt": 3}]},
        {"transitions": [{"seconds": "5"}]},
        {"transitions": [{"seconds": True}]},
        {"transitions": [{"length": 5}]},
        {"transitions": ["x"]},
        {"model": 2},
    ],
)
def test_malformed_stored_options_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        VideoParams.from_json(data)
