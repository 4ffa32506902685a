"""seed_from_filename: the seed read back from a result file's name."""

from __future__ import annotations

import pytest

from bot.domain.prompt import seed_from_filename
from tests.domain.prompt.helpers import MAX_SEED


@pytest.mark.parametrize(
    ("filename", "seed"),
    [
        ("smiling_and_blinking_seed3557373337891796966.mp4", 3557373337891796966),
        ("a_cat_seed0.mp4", 0),
        ("a_cat_seed42.MP4", 42),
        ("a_cat_SEED42.mp4", 42),
        ("seed42.mp4", 42),
        ("a_cat_seed42", 42),
        (f"x_seed{MAX_SEED}.mp4", MAX_SEED),
        (f"x_seed{2**64 - 1}.mp4", 2**64 - 1),  # Pika's seeds are unsigned 64-bit
        (
            "https://cdn.discordapp.com/attachments/1/2/waves_seed123.mp4?ex=65a&is=659&hm=abc&",
            123,
        ),
        ("/tmp/media/waves_seed9.mp4", 9),
        ("a-cat-seed77.webm", 77),
    ],
)
def test_seed_from_filename(filename: str, seed: int) -> None:
    assert seed_from_filename(filename) == seed


@pytest.mark.parametrize(
    "filename",
    [
        "smiling_and_blinking.mp4",
        "",
        "a_cat_seed.mp4",
        "a_cat_seed12x.mp4",
        "a_cat_seed12_final.mp4",
        "linseed12.mp4",
        f"x_seed{2**64}.mp4",
        "x_seed99999999999999999999.mp4",
        "a_cat_seed-5.mp4",
    ],
)
def test_seed_from_filename_without_a_seed(filename: str) -> None:
    assert seed_from_filename(filename) is None
