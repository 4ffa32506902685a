"""The posted video's file name: the job and the prompt's words, whatever the provider called it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.discord.result_post import upload_name
from tests.discord.test_render import job


@pytest.mark.parametrize(
    ("prompt", "name"),
    [
        ("a red fox", "pika_42_a_red_fox.mp4"),
        ("A Red Fox, running through fresh snow!", "pika_42_a_red_fox_running_through_fresh_snow.mp4"),
        ("a red fox -ar 16:9 -motion 2", "pika_42_a_red_fox.mp4"),  # flags are not the subject
        ("a well-lit room --neg blur", "pika_42_a_well_lit_room.mp4"),  # a hyphen inside a word is no flag
        ("-ar 16:9", "pika_42.mp4"),
        ("", "pika_42.mp4"),
        ("夕暮れの狐", "pika_42.mp4"),  # no ASCII word: the job alone
        ("../../etc/passwd", "pika_42_etc_passwd.mp4"),
    ],
)
def test_the_name_is_the_job_and_the_prompts_words(prompt: str, name: str) -> None:
    assert upload_name(replace(job(), prompt=prompt)) == name


def test_a_long_prompt_is_cut_at_a_word_within_sixty_characters() -> None:
    prompt = "a slow cinematic dolly shot over a misty pine forest at dawn with birds rising from the trees"
    name = upload_name(replace(job(), prompt=prompt))
    slug = name.removeprefix("pika_42_").removesuffix(".mp4")
    assert len(slug) <= 60 and prompt.startswith(slug.replace("_", " "))
    assert name == "pika_42_a_slow_cinematic_dolly_shot_over_a_misty_pine_forest_at_dawn.mp4"
