"""How jobs look in Discord: limits Discord enforces, and the texts members read."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.discord.components import RETRY, job_view
from bot.discord.delivery import status_channel_id
from bot.discord.posting import nonce_for
from bot.discord.render import notice_text, result_embed, state_text, status_embed, thread_name
from bot.domain.jobs import Job, JobKind, JobState, Origin
from bot.domain.params import Transition, VideoParams
from bot.domain.prompt import PikaOptions


def job(**changes: object) -> Job:
    base = Job(
        id=42,
        provider="useapi",
        kind=JobKind.CREATE,
        state=JobState.QUEUED,
        owner_id=101,
        origin=Origin(guild_id=1, channel_id=2, thread_id=3),
        prompt="a red fox",
        options=PikaOptions(guidance=12, motion=2),
        message_text=None,
        font=None,
        parent_id=None,
        account=None,
        upstream_id=None,
        attempts=0,
        next_attempt_at=0.0,
        progress=None,
        error_code=None,
        error_message=None,
        video=None,
        delivered_message_id=None,
        delivery_attempts=0,
        notified=False,
        created_at=1000.0,
        updated_at=1000.0,
        submitted_at=None,
        finished_at=None,
        status_message_id=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_thread_names_fit_discord() -> None:
    """Thread names are one line of at most 100 characters, never empty."""
    assert thread_name("a\nfox   in\tsnow", 1) == "a fox in snow"
    assert len(thread_name("x" * 500, 1)) == 100
    assert thread_name("   ", 7) == "Pika job 7"


def test_custom_ids_and_nonces_fit_discord() -> None:
    """Retry custom_ids parse back and stay <= 100 chars; nonces stay <= 25 chars."""
    biggest = 10**19 - 1
    custom_id = RETRY.custom_id(biggest)
    assert len(custom_id) <= 100
    match = re.fullmatch(RETRY.template, custom_id)
    assert match is not None and int(match["job_id"]) == biggest
    assert len(nonce_for(biggest, "r")) <= 25
    assert nonce_for(5, "r") != nonce_for(5, "n")
    view = job_view(5)
    assert [getattr(item, "custom_id", None) for item in view.children] == ["pika:retry:5"]


@pytest.mark.parametrize(
    ("state", "progress", "position", "expected"),
    [
        (JobState.QUEUED, None, 3, "⏳ queued, position 3"),
        (JobState.RUNNING, "Pika: 71%", None, "🎨 generating — Pika: 71%"),
        (JobState.DELIVERED, None, None, "✅ done — the video is in this thread"),
    ],
)
def test_state_lines(state: JobState, progress: str | None, position: int | None, expected: str) -> None:
    """The status line says where the job is."""
    assert state_text(job(state=state, progress=progress), position) == expected


def test_status_embed_shows_who_what_and_state() -> None:
    """Requester, prompt, parameters and state are all in the status embed, within embed limits."""
    embed = status_embed(job(prompt="p" * 5000), 2).to_dict()
    assert len(embed["description"]) <= 4096
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Requested by"] == "<@101>"
    assert fields["Parameters"] == "`-gs 12 -motion 2`"
    assert fields["State"] == "⏳ queued, position 2"
    assert embed["footer"]["text"] == "job 42 · useapi.net"


def test_result_embed_has_seed_and_time() -> None:
    """The result embed carries the seed when known and the time taken."""
    embed = result_embed(job(parent_id=7), 1234, now=1125.0).to_dict()
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Seed"] == "`1234`" and fields["Time taken"] == "2 min 05 s"
    assert embed["footer"]["text"] == "job 42 · retry of job 7 · useapi.net"


def test_the_model_is_shown_on_the_status_and_the_result() -> None:
    """A fal job shows its model in a field of its own (not among the parameters), on both embeds."""
    fal_job = job(
        provider="fal",
        options=PikaOptions(),
        params=VideoParams(model="v2-turbo", resolution="1080p"),
        cost_usd=0.2,
    )
    for embed in (status_embed(fal_job, 1).to_dict(), result_embed(fal_job, None, now=1010.0).to_dict()):
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert fields["Model"] == "`v2-turbo`"
        assert fields["Parameters"] == "`resolution 1080p`"
        assert [f["name"] for f in embed["fields"]][:3] == ["Requested by", "Model", "Parameters"]
        assert embed["footer"]["text"] == "job 42 · fal.ai · $0.20"
    useapi = {f["name"] for f in status_embed(job(), 1).to_dict()["fields"]}
    assert "Model" not in useapi


def test_frames_transitions_are_listed_one_per_line() -> None:
    transitions = (Transition("the fox leaps", 3), Transition(), Transition(seconds=12))
    frames = job(
        provider="fal",
        kind=JobKind.FRAMES,
        options=PikaOptions(),
        params=VideoParams(model="v2.2", transitions=transitions),
    )
    fields = {f["name"]: f["value"] for f in status_embed(frames, 1).to_dict()["fields"]}
    assert fields["Transitions"] == "1→2 · 3 s · the fox leaps\n2→3 · 5 s\n3→4 · 12 s"
    assert fields["Parameters"] == "Pika's defaults"


def test_notices_say_what_happened_and_what_to_try() -> None:
    """Each ending without a video gets its reason and advice, mentioning only the owner."""
    text = notice_text(job(state=JobState.MODERATED, error_message="Sorry, your input may be inconsistent"))
    assert text.startswith("<@101> job 42 was refused by Pika's moderation.")
    assert "Rephrase" in text
    assert "Retry" in notice_text(job(state=JobState.EXPIRED))


def test_status_message_location() -> None:
    """A thread started from the status message shares its id; else the status is in the thread."""
    started_from = job(origin=Origin(1, 2, 50), status_message_id=50)
    assert status_channel_id(started_from) == 2
    inside = job(origin=Origin(1, 2, 60), status_message_id=61)
    assert status_channel_id(inside) == 60
    no_thread = job(origin=Origin(1, 2, None), status_message_id=70)
    assert status_channel_id(no_thread) == 2


def test_progress_bar_for_percentages() -> None:
    """A provider that reports percent gets a ten-cell bar; the value is clamped to 0-100."""
    from bot.discord.render import progress_bar

    assert progress_bar(0) == "▱▱▱▱▱▱▱▱▱▱ 0%"
    assert progress_bar(45) == "▰▰▰▰▱▱▱▱▱▱ 45%"
    assert progress_bar(100) == "▰▰▰▰▰▰▰▰▰▰ 100%"
    assert progress_bar(130) == "▰▰▰▰▰▰▰▰▰▰ 100%"
