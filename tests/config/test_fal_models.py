"""[fal] models: the built-in list, an operator's own [[fal.models]], and one clear problem per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import FalCatalogue, FalEndpoint, FalModelSettings, Settings, render_settings
from bot.domain.jobs import JobKind
from tests.helpers.config_files import load, problems, write

V25 = """
[[fal.models]]
name = "v2.5"
text_to_video = "fal-ai/pika/v2.5/text-to-video"
image_to_video = "fal-ai/pika/v2.5/image-to-video"
options = ["resolution", "duration", "negative", "seed"]
clip_price_per = "video"
clip_720p = 0.3
clip_1080p = 0.5
"""


def test_built_in_models_are_what_fal_serves_with_v22_the_default() -> None:
    """No config: v2.2 (all four endpoints), v2.1 and v2 turbo, at fal's list prices."""
    fal = Settings().fal
    assert fal.default_model == "v2.2"
    assert [m.name for m in fal.models] == ["v2.2", "v2.1", "v2-turbo"]
    v22, v21, turbo = fal.models
    assert v22.pikaframes == "fal-ai/pika/v2.2/pikaframes" and (v22.clip_720p, v22.clip_1080p) == (0.2, 0.45)
    assert v21.text_to_video == "fal-ai/pika/v2.1/text-to-video" and v21.clip_price_per == "video"
    assert turbo.image_to_video == "fal-ai/pika/v2/turbo/image-to-video" and turbo.clip_720p == 0.2
    assert not turbo.serves(FalEndpoint.PIKASCENES)


def test_an_operators_models_replace_the_built_in_list(tmp_path: Path) -> None:
    """[[fal.models]] in the file is the whole list; default_model picks one of it."""
    settings = load(write(tmp_path, f'[fal]\ndefault_model = "v2.5"\n{V25}'))
    (model,) = settings.fal.models
    assert model == FalModelSettings(
        name="v2.5",
        text_to_video="fal-ai/pika/v2.5/text-to-video",
        image_to_video="fal-ai/pika/v2.5/image-to-video",
        options=("resolution", "duration", "negative", "seed"),
        clip_price_per="video",
        clip_720p=0.3,
        clip_1080p=0.5,
    )
    assert settings.fal.catalogue == FalCatalogue((model,), "v2.5")


def test_the_default_model_may_come_from_the_environment() -> None:
    assert load(None, env={"PIKABOT_FAL_DEFAULT_MODEL": "v2-turbo"}).fal.default_model == "v2-turbo"
    with pytest.raises(Exception, match="PIKABOT_FAL_DEFAULT_MODEL"):
        load(None, env={"PIKABOT_FAL_DEFAULT_MODEL": "v9"})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[fal]\ndefault_model = "v3"',
            'fal.default_model: must name one of the [[fal.models]]: "v2.2", "v2.1", "v2-turbo" (got "v3")',
        ),
        (
            '[fal]\ndefault_model = "frames-only"\n[[fal.models]]\nname = "frames-only"\n'
            'pikaframes = "fal-ai/pika/v2.2/pikaframes"\n'
            "frames_720p_per_second = 0.04\nframes_1080p_per_second = 0.06",
            "fal.default_model: must name a model with text_to_video and image_to_video",
        ),
        ("[fal]\nmodels = []", "fal.models: must list at least one model"),
        (
            f'[fal]\ndefault_model = "v2.5"\n{V25}{V25}',
            'fal.models: each name may be listed once (entries [0] and [1] are both "v2.5")',
        ),
        (
            V25.replace('"v2.5"\n', '"Pika 2.5"\n', 1),
            'fal.models[0].name: must be 1-32 lower-case letters, digits, ".", "_" or "-"',
        ),
        (
            V25.replace("fal-ai/pika/v2.5/text-to-video", "https://queue.fal.run/x?y"),
            'fal.models[0].text_to_video: must be a fal endpoint id, e.g. "fal-ai/pika/v2.2/text-to-video"',
        ),
        (V25.replace("clip_1080p = 0.5\n", ""), 'fal.models[0]: model "v2.5" needs clip_720p and clip_1080p'),
        (
            V25 + 'pikaframes = "fal-ai/pika/v2.5/pikaframes"\n',
            'fal.models[0]: model "v2.5" needs frames_720p_per_second and frames_1080p_per_second',
        ),
        (V25.replace('"seed"]', '"motion"]'), "fal.models[0].options[3]: must be one of aspect_ratio, "),
        (V25.replace('"video"', '"second"'), 'fal.models[0].clip_price_per: must be "5s"'),
        (V25.replace("0.3", "-1"), "fal.models[0].clip_720p: must be USD from 0 to 100 (got -1)"),
        ('[[fal.models]]\nname = "empty"', 'fal.models[0]: model "empty" names no endpoint'),
        ("[fal]\nprice_720p_5s = 0.2", "fal.price_720p_5s: unknown key"),
    ],
)
def test_mistakes_are_named_by_their_key(tmp_path: Path, text: str, problem: str) -> None:
    found = problems(tmp_path, text)
    assert any(p.startswith(problem) for p in found), found


def test_more_models_than_discord_can_offer_are_refused(tmp_path: Path) -> None:
    many = "".join(V25.replace('"v2.5"\n', f'"m{i}"\n', 1) for i in range(26))
    (found,) = problems(tmp_path, f'[fal]\ndefault_model = "m0"\n{many}')
    assert found == "fal.models: may list at most 25 models, one per choice Discord shows (got 26)"


def test_which_model_runs_a_command_when_the_member_picks_none(tmp_path: Path) -> None:
    """create and animate: the default; scenes and frames: the default if it has them, else the first that does."""
    catalogue = Settings().fal.catalogue
    assert [
        catalogue.default_name(k) for k in JobKind if k.value in ("create", "animate", "scenes", "frames")
    ] == ["v2.2"] * 4
    turbo_first = load(None, env={"PIKABOT_FAL_DEFAULT_MODEL": "v2-turbo"}).fal.catalogue
    assert turbo_first.default_name(JobKind.CREATE) == "v2-turbo"
    assert turbo_first.default_name(JobKind.SCENES) == "v2.2"
    assert turbo_first.names_serving(FalEndpoint.PIKAFRAMES) == ("v2.2",)
    only_v25 = load(write(tmp_path, f'[fal]\ndefault_model = "v2.5"\n{V25}')).fal.catalogue
    assert only_v25.default_name(JobKind.FRAMES) is None and only_v25.named("v2.2") is None


def test_models_render_as_tables_and_load_back(tmp_path: Path) -> None:
    """check-config prints each model as a [[fal.models]] table (unset prices left out) that loads again."""
    settings = load(write(tmp_path, f'[fal]\ndefault_model = "v2.5"\n{V25}'))
    rendered = render_settings(settings)
    assert rendered.count("[[fal.models]]") == 1 and "frames_720p_per_second" not in rendered
    assert "no [[fal.models]]" not in rendered
    kept = "\n".join(line for line in rendered.splitlines() if not line.startswith(("token = ", "key = ")))
    assert load(write(tmp_path, kept)) == settings
    built_in = render_settings(Settings())
    assert built_in.count("[[fal.models]]") == 3
    kept = "\n".join(line for line in built_in.splitlines() if not line.startswith(("token = ", "key = ")))
    assert load(write(tmp_path, kept)).fal == Settings().fal
