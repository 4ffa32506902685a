"""What members of no other bot have: Apps → Animate with Pika, and Remix under every result."""

from __future__ import annotations

import pytest

from bot.domain.jobs import Job, JobKind, JobState
from bot.domain.prompt import PikaOptions
from sandbox.demo import tiny_png
from sandbox.discord_emu import EmuInteraction, EmuMessage
from sandbox.fal_sim import TURBO_TEXT_TO_VIDEO
from sandbox.stack import LocalStack
from tests.e2e import test_apiglue_e2e, test_fal_e2e
from tests.e2e.test_fal_e2e import submitted
from tests.e2e.test_guild_settings_e2e import admin
from tests.helpers.bot_e2e import emu_ids, jobs, reply_of, result_in, settled

MENU = "Animate with Pika"
fal_stack = test_fal_e2e.fal_stack  # the fal.ai and API Glue stack fixtures, shared
glue_stack = test_apiglue_e2e.glue_stack


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
    assert job.kind is JobKind.ANIMATE and job.owner_id == 101 and job.prompt == "look at my cat"
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


async def test_context_menu_follows_the_servers_rules(stack: LocalStack) -> None:
    """Like /pika animate: not in a channel the admins left out, not with a banned word in the caption."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    community = emu.config.community_channel_id
    await reply_of(stack, await admin(stack, allow_channel=channel_id, ban_word="gore"), "Changed")
    there = emu.post_user_message(102, community, "", attachments=[("a.png", "image/png", tiny_png())])
    elsewhere = await emu.message_command(101, there.id, MENU)
    assert "isn't enabled in this channel" in await reply_of(stack, elsewhere, "❌")
    here = emu.post_user_message(102, channel_id, "gore", attachments=[("a.png", "image/png", tiny_png())])
    banned = await emu.message_command(101, here.id, MENU)
    assert "banned word “gore”" in await reply_of(stack, banned, "❌")
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


@pytest.mark.parametrize(
    "restart",
    ["none", "before-click", "before-submit"],
    ids=["same-process", "restart-before-click", "restart-before-submit"],
)
async def test_remix_starts_a_linked_job_in_the_same_thread(stack: LocalStack, restart: str) -> None:
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
    if restart == "before-click":
        await stack.restart_bot()
    click = await remix_form_of(stack, 102, first.id, parent.id)
    assert prefilled(click) == {"prompt": "a red fox", "negative": "blur", "seed": "7"}
    if restart == "before-submit":
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
    assert child.prompt == "a blue fox" and child.remix
    status = emu.messages[child.status_message_id or 0]
    assert f"remix of job {parent.id}" in status.embeds[0]["footer"]["text"]
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


async def my_defaults(stack: LocalStack, user_id: int, **options: object) -> str:
    """/pika defaults with these options; the private answer."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(user_id, channel_id, "pika", "defaults", options)
    return await reply_of(stack, interaction, "defaults")


async def created(stack: LocalStack, user_id: int, prompt: str, **options: object) -> tuple[Job, EmuMessage]:
    """/pika create until its video is posted; the job and its result."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(user_id, channel_id, "pika", "create", {"prompt": prompt, **options})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = [t for t in emu.threads(channel_id) if t.name == prompt]
    video = await result_in(stack, thread.id)
    (job,) = [j for j in await jobs(stack) if j.prompt == prompt]
    return job, video


def parameters_of(stack: LocalStack, job: Job) -> str:
    status = stack.emulator.emu.messages[job.status_message_id or 0]
    return str({f["name"]: f["value"] for f in status.embeds[0]["fields"]}["Parameters"])


async def test_my_defaults_fill_omitted_options_survive_a_restart_and_clear(stack: LocalStack) -> None:
    """/pika defaults stores aspect ratio, negative prompt and no ping; a create that leaves them out
    gets them (marked "(your default)" on its status message) and its result does not ping; a typed
    option wins; after a restart they still apply; clear resets them."""
    shown = await my_defaults(stack, 101)
    assert "ping me when a video is ready**: yes" in shown
    saved = await my_defaults(stack, 101, aspect_ratio="9:16", negative="blurry", ping=False)
    assert "`9:16`" in saved and "`blurry`" in saved and "ready**: no" in saved
    job, video = await created(stack, 101, "a quiet harbour")
    assert job.options.aspect_ratio == "9:16" and job.options.negative == "blurry"
    assert job.defaulted == {"aspect_ratio", "negative"} and job.ping is False
    assert "aspect ratio 9:16 (your default)" in parameters_of(stack, job)
    assert "negative blurry (your default)" in parameters_of(stack, job)
    assert video.content.startswith("<@101>") and video.mention_ids == []
    typed, _ = await created(stack, 101, "a loud harbour", aspect_ratio="1:1")
    assert typed.options.aspect_ratio == "1:1" and typed.defaulted == {"negative"}
    others, other_video = await created(stack, 102, "bob's harbour")
    assert others.defaulted == frozenset() and other_video.mention_ids == [102]
    await stack.restart_bot()
    assert "`9:16`" in await my_defaults(stack, 101)
    again, _ = await created(stack, 101, "a harbour at night")
    assert again.options.aspect_ratio == "9:16" and again.ping is False
    assert "cleared" in await my_defaults(stack, 101, clear=True)
    plain, plain_video = await created(stack, 101, "a harbour at dawn")
    assert plain.defaulted == frozenset() and plain.options.negative is None
    assert plain_video.mention_ids == [101]


async def test_on_fal_defaults_pick_model_and_resolution_and_remix_keeps_them(fal_stack: LocalStack) -> None:
    """On fal.ai the model and resolution defaults apply too (shown as "(your default)"); a Remix of
    that job runs on the same model with the new prompt and the form's negative prompt as typed options."""
    stack = fal_stack
    emu = stack.emulator.emu
    await my_defaults(stack, 101, model="v2-turbo", resolution="1080p", negative="text")
    job, video = await created(stack, 101, "a paper boat")
    assert (
        job.params.model == "v2-turbo" and job.params.resolution == "1080p" and job.params.negative == "text"
    )
    assert job.defaulted == {"model", "resolution", "negative"}
    status = emu.messages[job.status_message_id or 0]
    assert {f["name"]: f["value"] for f in status.embeds[0]["fields"]}["Model"] == "`v2-turbo` (your default)"
    (arguments,) = submitted(stack, TURBO_TEXT_TO_VIDEO)
    assert arguments["resolution"] == "1080p"
    click = await remix_form_of(stack, 101, video.id, job.id)
    assert prefilled(click) == {"prompt": "a paper boat", "negative": "text", "seed": ""}
    submit = await emu.submit_modal(101, click, {"prompt": "a paper plane", "negative": "fog"})
    await reply_of(stack, submit, "Follow it in")
    await emu.wait_for(lambda: len(submitted(stack, TURBO_TEXT_TO_VIDEO)) == 2, 20, "the remix at fal")
    child = next(j for j in await jobs(stack) if j.parent_id == job.id)
    assert child.prompt == "a paper plane" and child.params.negative == "fog"
    assert child.params.model == "v2-turbo" and child.options == PikaOptions()
    flagged = await remix_form_of(stack, 101, video.id, job.id)
    refused = await emu.submit_modal(101, flagged, {"prompt": "a boat -motion 3"})
    await reply_of(stack, refused, "flags")


async def test_context_menu_on_fal_runs_image_to_video(fal_stack: LocalStack) -> None:
    """Apps → Animate with Pika goes where /pika animate goes (fal's image-to-video), the message's text
    as the prompt; an image without text gets a private answer pointing to /pika animate (fal needs a prompt)."""
    stack = fal_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    bare = emu.post_user_message(102, channel_id, "", attachments=[("sky.png", "image/png", tiny_png())])
    refused = await emu.message_command(102, bare.id, MENU)
    assert "/pika animate" in await reply_of(stack, refused, "prompt")
    posted = emu.post_user_message(
        102, channel_id, "clouds drift by", attachments=[("sky.png", "image/png", tiny_png())]
    )
    interaction = await emu.message_command(102, posted.id, MENU)
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    await result_in(stack, thread.id, timeout=20)
    (job,) = await jobs(stack)
    assert job.kind is JobKind.ANIMATE and job.provider == "fal" and job.prompt == "clouds drift by"


async def test_on_api_glue_defaults_fill_typed_options_it_takes(glue_stack: LocalStack) -> None:
    """/pika generate (API Glue's typed options): the aspect ratio and negative prompt defaults apply;
    a fal.ai-only shape (3:2) and the resolution are left out, since API Glue does not take them."""
    stack = glue_stack
    await my_defaults(stack, 101, aspect_ratio="9:16", negative="blurry", resolution="1080p")
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(101, channel_id, "pika", "generate", {"prompt": "a clock tower"})
    await reply_of(stack, interaction, "Follow it in")
    (job,) = await jobs(stack)
    assert job.params.aspect_ratio == "9:16" and job.params.negative == "blurry"
    assert job.params.resolution is None and job.defaulted == {"aspect_ratio", "negative"}
    await my_defaults(stack, 101, aspect_ratio="3:2")
    second = await emu.slash(101, channel_id, "pika", "generate", {"prompt": "a bell tower"})
    await reply_of(stack, second, "Follow it in")
    (other,) = [j for j in await jobs(stack) if j.prompt == "a bell tower"]
    assert other.params.aspect_ratio is None and other.defaulted == {"negative"}
