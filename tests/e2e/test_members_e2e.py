"""What members of no other bot have: Apps → Animate with Pika, and Remix under every result."""

from __future__ import annotations

import pytest

from bot.domain.jobs import JobKind, JobState
from sandbox.demo import tiny_png
from sandbox.discord_emu import EmuInteraction
from sandbox.stack import LocalStack
from tests.e2e.test_bot_e2e import emu_ids, jobs, reply_of, result_in, settled
from tests.e2e.test_guild_settings_e2e import admin

MENU = "Animate with Pika"


async def test_animate_from_a_members_image_by_context_menu(stack: LocalStack) -> None:
    """Apps → Animate with Pika on a message with an image: an animate job with that image, answered
    privately, its video in a new thread."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    png = tiny_png(16, 16)
    posted = emu.post_user_message(
        102,
        channel_id,
        "look at my cat",
        attachments=[("notes.txt", "text/plain", b"hi"), ("cat.png", "image/png", png)],
    )
    interaction = await emu.message_command(101, posted.id, MENU)
    await reply_of(stack, interaction, "Follow it in")
    assert interaction.original_message_id is not None
    assert emu.messages[interaction.original_message_id].ephemeral
    (thread,) = emu.threads(channel_id)
    await result_in(stack, thread.id)
    (job,) = await settled(stack)
    assert job.kind is JobKind.ANIMATE and job.owner_id == 101
    post = next(r for r in stack.simulator.sim.requests if r.path == "/v1/pika/animate")
    assert post.files["image"].filename == "cat.png" and post.files["image"].size == len(png)


async def test_context_menu_on_a_message_without_an_image_says_what_to_do(stack: LocalStack) -> None:
    """No image attached: one private answer naming the way to do it; no job, no upstream call."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    posted = emu.post_user_message(102, channel_id, "just words")
    interaction = await emu.message_command(101, posted.id, MENU)
    text = await reply_of(stack, interaction, "no image")
    assert "/pika animate" in text
    assert await jobs(stack) == []


async def test_context_menu_respects_the_image_checks(stack: LocalStack) -> None:
    """An image over the size limit is refused as /pika animate refuses it."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    big = b"\x89PNG" + b"0" * (stack.bot.settings.discord.max_image_bytes + 1)
    posted = emu.post_user_message(102, channel_id, "huge", attachments=[("huge.png", "image/png", big)])
    interaction = await emu.message_command(101, posted.id, MENU)
    await reply_of(stack, interaction, "the limit is")
    assert await jobs(stack) == []


async def remix_form_of(stack: LocalStack, user_id: int, message_id: int, job_id: int) -> EmuInteraction:
    """Click Remix under a result and wait for the form."""
    emu = stack.emulator.emu
    click = await emu.click(user_id, message_id, f"pika:remix:{job_id}")
    await emu.wait_for(lambda: click.modal is not None, 5, "the Remix form")
    return click


def prefilled(click: EmuInteraction) -> dict[str, str]:
    """The form's text inputs and the values the bot filled in."""
    assert click.modal is not None
    found: dict[str, str] = {}
    for top in click.modal["components"]:
        inner = top.get("component") or top["components"][0]
        found[inner["custom_id"]] = inner.get("value") or ""
    return found


@pytest.mark.parametrize("restart", [False, True], ids=["same-process", "restart-before-submit"])
async def test_remix_starts_a_linked_job_in_the_same_thread(stack: LocalStack, restart: bool) -> None:
    """Remix under a result opens a form with the prompt, negative prompt and seed filled in; its submit,
    even after a restart, starts a job with the new prompt in the same thread, linked to its parent."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(
        101, channel_id, "pika", "create", {"prompt": "a red fox", "negative": "blur", "seed": 7}
    )
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    first = await result_in(stack, thread.id)
    (parent,) = await settled(stack)
    assert f"pika:remix:{parent.id}" in first.custom_ids()
    click = await remix_form_of(stack, 102, first.id, parent.id)
    assert prefilled(click) == {"prompt": "a red fox", "negative": "blur", "seed": "7"}
    if restart:
        await stack.restart_bot()
    submit = await emu.submit_modal(102, click, {"prompt": "a blue fox", "seed": ""})
    await reply_of(stack, submit, "Follow it in")
    second = await emu.wait_for_message(
        lambda m: m.channel_id == thread.id and bool(m.attachments) and m.id != first.id, timeout=15
    )
    assert emu.threads(channel_id) == [thread]
    child = next(j for j in await settled(stack) if j.id != parent.id)
    assert child.parent_id == parent.id and child.owner_id == 102
    assert child.kind is JobKind.CREATE and child.state is JobState.DELIVERED
    assert child.prompt == "a blue fox"
    assert child.options.negative == "blur" and child.options.seed is None
    assert second.source.value == "bot"


async def test_remix_refuses_banned_words_and_a_bad_seed(stack: LocalStack) -> None:
    """The form's words pass the server's banned words; a seed that is not a number is refused."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a calm lake"})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    first = await result_in(stack, thread.id)
    (parent,) = await settled(stack)
    await reply_of(stack, await admin(stack, ban_word="volcano"), "banned word")
    click = await remix_form_of(stack, 101, first.id, parent.id)
    submit = await emu.submit_modal(101, click, {"prompt": "a volcano"})
    await reply_of(stack, submit, "volcano")
    click = await remix_form_of(stack, 101, first.id, parent.id)
    submit = await emu.submit_modal(101, click, {"seed": "seven"})
    await reply_of(stack, submit, "whole number")
    assert [j.id for j in await jobs(stack)] == [parent.id]
