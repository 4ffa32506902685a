"""The real bot, end to end: a /pika command becomes a job, and its video or notice is posted once."""

from __future__ import annotations

import asyncio

from bot.domain.jobs import JobState
from sandbox.demo import tiny_png
from sandbox.stack import LocalStack
from tests.helpers.bot_e2e import emu_ids, jobs, reply_of, result_in, settled


async def test_create_posts_video_in_a_new_thread_with_retry(stack: LocalStack) -> None:
    """/pika create: deferred at once, status message, thread from it, MP4 with embed, Retry and mention."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(
        101,
        channel_id,
        "pika",
        "create",
        {"prompt": "a red fox in fresh snow", "motion": 2, "aspect_ratio": "16:9"},
    )
    acked = await emu.wait_acked(interaction)
    assert acked.ack_latency is not None and acked.ack_latency < 3.0
    reply = await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    assert f"<#{thread.id}>" in reply
    assert thread.name == "a red fox in fresh snow" and thread.auto_archive_duration == 1440
    status = emu.messages[thread.id]  # the thread was started from the status message
    assert status.channel_id == channel_id and status.embeds[0]["fields"][0]["value"] == "<@101>"
    video = await result_in(stack, thread.id)
    assert video.attachments[0].data[4:8] == b"ftyp"
    assert video.content.startswith("<@101>")
    assert video.allowed_mentions is not None and [
        int(u) for u in video.allowed_mentions.get("users", [])
    ] == [101]
    (job,) = await jobs(stack)
    assert video.custom_ids() == [f"pika:retry:{job.id}", f"pika:remix:{job.id}", f"pika:delete:{job.id}"]
    assert video.attachments[0].filename == f"pika_{job.id}_a_red_fox_in_fresh_snow.mp4"
    assert video.nonce == f"pkr{job.id}"
    fields = {f["name"]: f["value"] for f in video.embeds[0]["fields"]}
    assert fields["Parameters"] == "`-ar 16:9 -motion 2`" and "Seed" in fields and "Time taken" in fields
    assert video.embeds[0]["footer"]["text"] == f"job {job.id} · useapi.net"
    await stack.bot.runtime.store.get(job.id)
    await emu.wait_for(lambda: "done" in str(emu.messages[thread.id].embeds), 5, "status edited to done")
    stored = await stack.bot.runtime.store.get(job.id)
    assert (
        stored is not None and stored.state is JobState.DELIVERED and stored.delivered_message_id == video.id
    )
    # Posted with the bot token into the thread, not through the interaction's webhook.
    assert video.source.value == "bot"


async def test_animate_attachment_bytes_reach_upstream(stack: LocalStack) -> None:
    """The member's image is downloaded from Discord's CDN and sent to useapi as a multipart file."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    png = tiny_png(16, 16)
    interaction = await emu.slash(
        102,
        channel_id,
        "pika",
        "animate",
        {"prompt": "the cat blinks"},
        attachments={"image": ("cat.png", "image/png", png)},
    )
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    await result_in(stack, thread.id)
    post = next(r for r in stack.simulator.sim.requests if r.path == "/v1/pika/animate")
    assert post.files["image"].filename == "cat.png"
    assert post.files["image"].content_type == "image/png"
    assert post.files["image"].size == len(png)


async def test_bad_input_is_answered_privately_and_stores_nothing(stack: LocalStack) -> None:
    """Each bad input gets an ephemeral reply saying what to change; no job row, no upstream call."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    cases: list[tuple[str, dict[str, object], dict[str, tuple[str, str, bytes]] | None, str]] = [
        ("create", {"prompt": "a cat -size 100"}, None, "unknown parameter -size"),
        ("create", {"prompt": "a cat", "guidance": 30}, None, "-gs must be a whole number from 8 to 24"),
        ("create", {"prompt": "   "}, None, "prompt"),
        ("create", {"prompt": "x" * 1501}, None, "1,500"),
        ("create", {"prompt": "a cat -gs 12", "guidance": 14}, None, "twice"),
        (
            "animate",
            {},
            {"image": ("clip.mp4", "video/mp4", b"\x00\x00\x00\x18ftypisom")},
            "must be a PNG, JPEG, WebP or GIF",
        ),
        (
            "animate",
            {},
            {"image": ("huge.png", "image/png", b"\x89PNG" + b"\x00" * (11 * 1024 * 1024))},
            "the limit is",
        ),
        ("encrypt_text", {"message": "x" * 21, "prompt": "neon"}, None, "20"),
    ]
    for sub, options, attachments, needle in cases:
        interaction = await emu.slash(103, channel_id, "pika", sub, options, attachments=attachments)
        text = await reply_of(stack, interaction, "❌")
        assert needle in text, (sub, options, text)
    assert await jobs(stack) == []
    assert not [r for r in stack.simulator.sim.requests if r.method == "POST"]
    assert emu.threads(channel_id) == []


async def test_moderated_and_failed_jobs_get_one_notice(stack: LocalStack) -> None:
    """A moderated prompt: one notice, no Retry. A failed job: one notice with Retry."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    moderated = await emu.slash(101, channel_id, "pika", "create", {"prompt": "something forbidden"})
    await reply_of(stack, moderated, "Follow it in")
    failed = await emu.slash(102, channel_id, "pika", "create", {"prompt": "make it explode"})
    await reply_of(stack, failed, "Follow it in")
    threads = {t.name: t for t in emu.threads(channel_id)}
    notice_m = await emu.wait_for_message(
        lambda m: m.channel_id == threads["something forbidden"].id and "moderation" in m.content
    )
    notice_f = await emu.wait_for_message(
        lambda m: m.channel_id == threads["make it explode"].id and "failed" in m.content
    )
    assert notice_m.custom_ids() == [] and notice_m.content.startswith("<@101>")
    assert len(notice_f.custom_ids()) == 1 and notice_f.content.startswith("<@102>")
    await asyncio.sleep(0.3)
    for thread in threads.values():
        posts = [m for m in emu.thread_messages(thread.id) if m.content.startswith("<@")]
        assert len(posts) == 1


async def test_video_over_the_upload_limit_becomes_a_link(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With a 1 KB upload limit the 2.7 KB sample is posted as a link with a note, not uploaded."""
    from sandbox.discord_emu import EmuConfig
    from tests.e2e.conftest import FAST_SIM
    from tests.helpers.engine import FAST_POLICY

    stack = await LocalStack.start(
        tmp_path, sim_config=FAST_SIM, emu_config=EmuConfig(attachment_size_limit=1000), policy=FAST_POLICY
    )
    try:
        emu = stack.emulator.emu
        channel_id, _ = emu_ids(stack)
        interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "too big to upload"})
        await reply_of(stack, interaction, "Follow it in")
        (thread,) = emu.threads(channel_id)
        post = await emu.wait_for_message(lambda m: m.channel_id == thread.id and "upload limit" in m.content)
        assert post.attachments == []
        links = [c for row in post.components for c in row.get("components", []) if c.get("style") == 5]
        assert links and links[0]["url"].startswith(stack.simulator.root_url)
        assert emu.violations == []
    finally:
        await stack.stop()


async def test_job_command_shows_state_to_owner_only(stack: LocalStack) -> None:
    """/pika job: the owner sees the state and a thread link; another member learns nothing."""
    emu = stack.emulator.emu
    channel_id, guild_id = emu_ids(stack)
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a quiet forest"})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    await result_in(stack, thread.id)
    (job,) = await jobs(stack)
    mine = await emu.slash(101, channel_id, "pika", "job", {"id": job.id})
    text = await reply_of(stack, mine, f"Job **{job.id}**")
    assert f"https://discord.com/channels/{guild_id}/{thread.id}" in text
    other = await emu.slash(103, channel_id, "pika", "job", {"id": job.id})
    assert "You have no job" in await reply_of(stack, other, "❌")


async def test_echoed_prompts_ping_nobody(stack: LocalStack) -> None:
    """A prompt with @everyone and a role mention is echoed in embeds only; the posts ping the owner alone."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(
        101, channel_id, "pika", "create", {"prompt": "hello @everyone <@&42> <@103>"}
    )
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    await result_in(stack, thread.id)
    await settled(stack)
    for message in emu.messages.values():
        if message.author_id == emu.config.bot_user_id:
            assert not message.mention_everyone and message.mention_role_ids == []
            assert set(message.mention_ids) <= {101}


async def test_a_lost_callback_still_brings_one_video(stack: LocalStack) -> None:
    """useapi.net never calls back: the executing list finds the ended job and the video lands once."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    stack.simulator.sim.faults.drop_callbacks = True
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a kite over dunes"})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    video = await result_in(stack, thread.id)
    assert video.attachments[0].data[4:8] == b"ftyp"
    (job,) = await settled(stack)
    assert job.state is JobState.DELIVERED
    assert not stack.simulator.sim.callbacks_sent
    registry = stack.bot.runtime.metrics.registry
    # Found by the list (once a second here), long before the 5 s backstop poll.
    assert registry.get_sample_value("pikabot_listing_confirms_total", {"provider": "useapi"}) == 1
    assert (
        registry.get_sample_value("pikabot_upstream_listings_total", {"provider": "useapi", "status": "ok"})
        or 0
    ) >= 1
