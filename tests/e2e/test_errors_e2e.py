"""The one error handler: every mapped error's private answer, through real interactions, and the code
an unexpected error shows found again in the log beside its traceback."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

import pytest
from discord import app_commands

from bot.discord.errors import ANSWERS, UserFacingError, answer_for
from bot.domain.guild_settings import SettingsError
from bot.domain.limits import LimitExceeded
from bot.domain.prompt import PromptError
from bot.engine.service import JobNotFound, NotRetryable
from sandbox.stack import LocalStack
from tests.helpers.bot_e2e import emu_ids, reply_of, result_in

# One instance of each type the table phrases.
SAMPLES: list[Exception] = [
    UserFacingError("Use it in #generate."),
    PromptError("unknown parameter -size"),
    LimitExceeded("You can start another job in 12 s.", 12.0),
    NotRetryable("job 3 is still running"),
    JobNotFound(77),
    SettingsError("Pick a channel or clear it, not both."),
    app_commands.NoPrivateMessage(),
    app_commands.CommandOnCooldown(app_commands.Cooldown(1, 10.0), 4.0),
]


def test_samples_cover_the_table() -> None:
    """Every entry of the table is exercised below."""
    assert {type(sample) for sample in SAMPLES} == set(ANSWERS)


def raising(error: Exception) -> Callable[..., Awaitable[None]]:
    async def fail(*args: object, **kwargs: object) -> None:
        raise error

    return fail


async def test_each_mapped_error_answers_a_command_privately(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/pika create (deferred "thinking…"): each mapped error replaces it with its own line, no code."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    service = stack.bot.runtime.service
    for error in SAMPLES:
        monkeypatch.setattr(service, "submit", raising(error))
        interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a fox"})
        expected = answer_for(error)
        assert expected.startswith("❌ ") and "error `" not in expected
        assert await reply_of(stack, interaction, expected) == expected
    assert await stack.bot.runtime.store.all_jobs() == []


async def test_mapped_errors_answer_buttons_and_undeferred_checks(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Retry click goes through the same table; a check that fails before any defer answers too."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    first = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a fox"})
    await reply_of(stack, first, "Follow it in")
    (thread,) = emu.threads(channel_id)
    video = await result_in(stack, thread.id)
    (job,) = await stack.bot.runtime.store.all_jobs()
    service = stack.bot.runtime.service
    for error in (NotRetryable("not now"), LimitExceeded("Wait 5 s.", 5.0), JobNotFound(job.id)):
        monkeypatch.setattr(service, "retry", raising(error))
        click = await emu.click(101, video.id, f"pika:retry:{job.id}")
        assert await reply_of(stack, click, answer_for(error)) == answer_for(error)
    # Not deferred yet: the admin cog's check refuses with a first (ephemeral) response.
    moderator = next(iter(emu.config.moderator_ids))
    refused = await emu.slash(moderator, channel_id, "pika-admin", "limits", {"in_flight": 1})
    expected = "❌ Only members with **Manage Server** can change pikabot's settings."
    assert await reply_of(stack, refused, expected) == expected
    # A stranger's Delete is refused before any defer too.
    stranger = await emu.click(103, video.id, f"pika:delete:{job.id}")
    assert (
        await reply_of(stack, stranger, "Only <@101>")
        == "❌ Only <@101> (or a moderator) can delete this video."
    )


async def test_unexpected_error_shows_a_code_found_in_the_log(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Anything unmapped: one "something went wrong" line whose code is logged with the traceback."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    monkeypatch.setattr(stack.bot.runtime.service, "submit", raising(RuntimeError("database on fire")))
    with caplog.at_level(logging.ERROR, logger="bot.discord.errors"):
        interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a fox"})
        reply = await reply_of(stack, interaction, "Something went wrong")
    match = re.search(r"error `([0-9a-f]{6})`", reply)
    assert match is not None and "database on fire" not in reply
    (record,) = [r for r in caplog.records if match[1] in r.getMessage()]
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
