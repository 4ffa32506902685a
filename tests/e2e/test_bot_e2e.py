"""The real pikabot bot, end to end: slash commands in the Discord emulator, jobs in the useapi simulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.domain.jobs import Job, JobState
from sandbox.demo import tiny_png
from sandbox.discord_emu import EmuChannel, EmuInteraction, EmuMessage
from sandbox.stack import LocalStack


def emu_ids(stack: LocalStack) -> tuple[int, int]:
    config = stack.emulator.emu.config
    return config.text_channel_id, config.guild_id


async def result_in(stack: LocalStack, thread_id: int, *, timeout: float = 15) -> EmuMessage:
    """Wait for the video post (a message with an attachment) in a thread."""
    return await stack.emulator.emu.wait_for_message(
        lambda m: m.channel_id == thread_id and bool(m.attachments), timeout=timeout
    )


async def reply_of(stack: LocalStack, interaction: EmuInteraction, needle: str, timeout: float = 10) -> str:
    """Wait for an ephemeral reply containing `needle`; return all replies joined."""
    emu = stack.emulator.emu
    await emu.wait_for(
        lambda: any(needle in text for text in emu.ephemeral_replies(interaction)),
        timeout,
        f"reply {needle!r}",
    )
    return "\n".join(emu.ephemeral_replies(interaction))


async def held_job_in_thread(stack: LocalStack, prompt: str) -> EmuChannel:
    """Alice's /pika create, held upstream once it runs there; returns the job's new thread."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    stack.simulator.sim.faults.hold_jobs = True
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": prompt})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = [t for t in emu.threads(channel_id) if t.name == prompt]
    await emu.wait_for(lambda: bool(stack.simulator.sim.executing_jobids()), 10, "the job to start upstream")
    # Upstream runs it before the bot has read the submit answer: wait until its id is saved too.
    for _ in range(200):
        if any(j.prompt == prompt and j.state is JobState.RUNNING for j in await jobs(stack)):
            break
        await asyncio.sleep(0.02)
    return thread


async def jobs(stack: LocalStack) -> list[Job]:
    return await stack.bot.runtime.store.all_jobs()


async def settled(stack: LocalStack, timeout: float = 10) -> list[Job]:
    """Wait until every job has ended and its member was told (SQLite is the truth)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await jobs(stack)
        if found and all(j.terminal and j.notified for j in found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"jobs did not settle: {[(j.id, j.state.value) for j in found]}")
        await asyncio.sleep(0.02)


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
    assert video.attachments[0].filename.endswith(".mp4")
    assert video.content.startswith("<@101>")
    assert video.allowed_mentions is not None and [
        int(u) for u in video.allowed_mentions.get("users", [])
    ] == [101]
    (job,) = await jobs(stack)
    assert video.custom_ids() == [f"pika:retry:{job.id}", f"pika:remix:{job.id}", f"pika:delete:{job.id}"]
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


async def test_retry_by_owner_and_by_stranger(stack: LocalStack) -> None:
    """The owner's Retry makes a new job in the same thread; a stranger is refused with no upstream call."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "waves at sunset"})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    first = await result_in(stack, thread.id)
    (job,) = await jobs(stack)
    stranger = await emu.click(103, first.id, f"pika:retry:{job.id}")
    refusal = await reply_of(stack, stranger, "Only <@101>")
    assert "moderator" in refusal
    assert not [r for r in stack.simulator.sim.requests if r.path == "/v1/pika/button"]
    owner = await emu.click(101, first.id, f"pika:retry:{job.id}")
    await reply_of(stack, owner, "Follow it in")
    second = await emu.wait_for_message(
        lambda m: m.channel_id == thread.id and bool(m.attachments) and m.id != first.id, timeout=15
    )
    all_jobs = await jobs(stack)
    assert len(all_jobs) == 2 and all_jobs[1].parent_id == job.id
    assert second.custom_ids() == [
        f"pika:retry:{all_jobs[1].id}",
        f"pika:remix:{all_jobs[1].id}",
        f"pika:delete:{all_jobs[1].id}",
    ]
    button = [r for r in stack.simulator.sim.requests if r.path == "/v1/pika/button"]
    assert len(button) == 1 and button[0].fields["jobid"] == all_jobs[0].upstream_id
    assert emu.threads(channel_id) == [thread]  # no new thread: the retry lives in the same one


async def test_moderator_may_retry_anyones_job(stack: LocalStack) -> None:
    """Members with Manage Messages can retry a job that is not theirs."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a lighthouse"})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    first = await result_in(stack, thread.id)
    (job,) = await jobs(stack)
    moderator = next(iter(emu.config.moderator_ids))
    click = await emu.click(moderator, first.id, f"pika:retry:{job.id}")
    await reply_of(stack, click, "Follow it in")


async def test_old_retry_button_works_after_restart(stack: LocalStack) -> None:
    """Restart the bot on the same database, then click a Retry posted before: it works."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "northern lights"})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    first = await result_in(stack, thread.id)
    (job,) = await jobs(stack)
    await stack.restart_bot()
    click = await emu.click(101, first.id, f"pika:retry:{job.id}")
    await reply_of(stack, click, "Follow it in")
    await emu.wait_for_message(
        lambda m: m.channel_id == thread.id and bool(m.attachments) and m.id != first.id, timeout=15
    )


async def test_result_after_the_interaction_token_expired(stack: LocalStack) -> None:
    """A job that ends 16 minutes after the command still posts (bot token), with no 401s."""
    emu = stack.emulator.emu
    thread = await held_job_in_thread(stack, "slow sunrise")
    emu.clock_offset += 16 * 60
    stack.simulator.sim.release_all()
    video = await result_in(stack, thread.id)
    assert video.attachments
    assert not [c for c in emu.calls if c.status == 401]


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


async def test_missing_thread_permission_falls_back_to_the_channel(stack: LocalStack) -> None:
    """Without Create Public Threads the result goes to the channel and the member is told why."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    emu.deny(channel_id, "CREATE_PUBLIC_THREADS")
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "no threads here"})
    text = await reply_of(stack, interaction, "Follow it in")
    assert "Create Public Threads" in text
    await emu.wait_for_message(lambda m: m.channel_id == channel_id and bool(m.attachments), timeout=15)
    assert emu.threads(channel_id) == []


async def test_missing_send_permission_is_explained(stack: LocalStack) -> None:
    """Without Send Messages the member is told which permission is missing; no job is made."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    emu.deny(channel_id, "SEND_MESSAGES")
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "silent"})
    text = await reply_of(stack, interaction, "❌")
    assert "Send Messages" in text
    assert await jobs(stack) == []


async def test_command_in_a_thread_uses_that_thread(stack: LocalStack) -> None:
    """A command typed inside a thread posts its status and video in that thread, no new thread."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    first = await emu.slash(101, channel_id, "pika", "create", {"prompt": "first"})
    await reply_of(stack, first, "Follow it in")
    (thread,) = emu.threads(channel_id)
    await result_in(stack, thread.id)
    second = await emu.slash(101, thread.id, "pika", "create", {"prompt": "second, in the thread"})
    await reply_of(stack, second, "Follow it in")
    await emu.wait_for_message(
        lambda m: m.channel_id == thread.id and bool(m.attachments) and "second" in str(m.embeds), timeout=15
    )
    assert emu.threads(channel_id) == [thread]


async def test_missing_attach_files_posts_a_link(stack: LocalStack) -> None:
    """Without Attach Files the member is told up front and the result is a link, not a failed upload."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    emu.deny(channel_id, "ATTACH_FILES")
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "no files allowed"})
    assert "Attach Files" in await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    post = await emu.wait_for_message(lambda m: m.channel_id == thread.id and "link" in m.content)
    assert post.attachments == [] and "may not attach files" in post.content
    (job,) = await settled(stack)
    assert job.state is JobState.DELIVERED


async def test_archived_thread_is_reopened_by_the_result(stack: LocalStack) -> None:
    """A thread archived while the job runs is unarchived by the result post."""
    emu = stack.emulator.emu
    thread = await held_job_in_thread(stack, "patience")
    emu.archive_thread(thread.id)
    stack.simulator.sim.release_all()
    await result_in(stack, thread.id)
    assert not emu.channels[thread.id].archived


async def test_discord_error_after_storing_the_post_gives_one_message(stack: LocalStack) -> None:
    """Discord stores the upload, then answers 500: the retry is deduplicated by the job's nonce."""
    emu = stack.emulator.emu
    thread = await held_job_in_thread(stack, "exactly once")
    emu.faults.server_error_after_store_next = 1
    stack.simulator.sim.release_all()
    await result_in(stack, thread.id)
    (job,) = await settled(stack)
    posts = [m for m in emu.thread_messages(thread.id) if m.attachments]
    assert len(posts) == 1
    assert job.state is JobState.DELIVERED and job.delivered_message_id == posts[0].id


async def test_discord_rate_limits_on_posts_end_in_one_message(stack: LocalStack) -> None:
    """Route and global 429s on the result post: discord.py waits retry_after; one message in the end."""
    emu = stack.emulator.emu
    thread = await held_job_in_thread(stack, "rate limited")
    emu.faults.rate_limit_next = 2
    emu.faults.global_429_next = 1
    stack.simulator.sim.release_all()
    (job,) = await settled(stack, timeout=20)
    posts = [m for m in emu.thread_messages(thread.id) if m.attachments]
    assert job.state is JobState.DELIVERED and len(posts) == 1
    assert len(emu.rate_limit_hits) >= 2


async def test_gateway_drop_mid_job_resumes_and_delivers(stack: LocalStack) -> None:
    """The gateway connection drops while a job runs: the bot resumes, the result still lands once."""
    emu = stack.emulator.emu
    thread = await held_job_in_thread(stack, "through a reconnect")
    emu.faults.drop_gateway()
    await emu.wait_resumed(timeout=15)
    stack.simulator.sim.release_all()
    (job,) = await settled(stack, timeout=20)
    assert job.state is JobState.DELIVERED
    assert len([m for m in emu.thread_messages(thread.id) if m.attachments]) == 1


async def test_locked_or_deleted_thread_falls_back_to_the_channel(stack: LocalStack) -> None:
    """A thread locked or deleted while the job runs: the result goes to the channel, once."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    stack.simulator.sim.faults.hold_jobs = True
    for prompt in ("locked away", "deleted thread"):
        interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": prompt})
        await reply_of(stack, interaction, "Follow it in")
    await emu.wait_for(lambda: len(stack.simulator.sim.executing_jobids()) == 2, 10, "both jobs upstream")
    threads = {t.name: t for t in emu.threads(channel_id)}
    emu.archive_thread(threads["locked away"].id, locked=True)
    emu.delete_channel(threads["deleted thread"].id)
    stack.simulator.sim.release_all()
    found = await settled(stack, timeout=20)
    assert {j.state for j in found} == {JobState.DELIVERED}
    in_channel = [m for m in emu.thread_messages(channel_id) if m.attachments]
    assert len(in_channel) == 2


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


async def test_member_limits_are_answered_privately(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Over the in-flight limit or inside the cooldown: an ephemeral answer saying when to try again."""
    from bot.config import LimitSettings
    from tests.e2e.conftest import FAST_SIM
    from tests.helpers.engine import FAST_POLICY

    stack = await LocalStack.start(
        tmp_path, sim_config=FAST_SIM, policy=FAST_POLICY, limits=LimitSettings(in_flight=1, cooldown=30)
    )
    try:
        emu = stack.emulator.emu
        channel_id, _ = emu_ids(stack)
        stack.simulator.sim.faults.hold_jobs = True
        first = await emu.slash(101, channel_id, "pika", "create", {"prompt": "one at a time"})
        await reply_of(stack, first, "Follow it in")
        again = await emu.slash(101, channel_id, "pika", "create", {"prompt": "too soon"})
        assert "Please wait" in await reply_of(stack, again, "❌")
        other = await emu.slash(102, channel_id, "pika", "create", {"prompt": "someone else"})
        await reply_of(stack, other, "Follow it in")
        assert len(await jobs(stack)) == 2
    finally:
        await stack.stop()


async def test_admins_change_member_limits_per_server(stack: LocalStack) -> None:
    """/pika-admin limits: a moderator without Manage Server is refused; the owner's change takes effect."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    moderator = next(iter(emu.config.moderator_ids))
    refused = await emu.slash(moderator, channel_id, "pika-admin", "limits", {"in_flight": 1})
    assert "Manage Server" in await reply_of(stack, refused, "❌")
    owner = emu.config.owner_id
    changed = await emu.slash(owner, channel_id, "pika-admin", "limits", {"in_flight": 1, "cooldown": 0})
    text = await reply_of(stack, changed, "Now:")
    assert "**1** unfinished jobs per member" in text
    stack.simulator.sim.faults.hold_jobs = True
    first = await emu.slash(101, channel_id, "pika", "create", {"prompt": "only one"})
    await reply_of(stack, first, "Follow it in")
    second = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a second one"})
    assert "1 job in progress" in await reply_of(stack, second, "❌")
    shown = await emu.slash(owner, channel_id, "pika-admin", "limits", {"reset": True})
    assert "**5** unfinished jobs" in await reply_of(stack, shown, "Now:")  # the stack's configured default


async def test_retry_of_a_job_that_no_longer_exists(stack: LocalStack) -> None:
    """A Retry whose job row is gone (a wiped or restored database) gets a clear private answer."""
    import sqlite3

    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "soon forgotten"})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    video = await result_in(stack, thread.id)
    (job,) = await settled(stack)

    def forget() -> None:
        # In a thread: the bot shares this event loop and may be mid-transaction (forgetting inputs).
        with sqlite3.connect(stack.settings.database.path, timeout=30) as conn:
            conn.execute("DELETE FROM jobs WHERE id = ?", (job.id,))

    await asyncio.to_thread(forget)
    click = await emu.click(101, video.id, f"pika:retry:{job.id}")
    assert "no longer exists" in await reply_of(stack, click, "❌")
    assert await jobs(stack) == []


async def test_nowhere_to_post_ends_without_a_retry_loop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The bot loses every permission while the job runs: one fallback, then a private notice, no retry loop.

    With nowhere to post, the member is told through an ephemeral follow-up to their command while its
    token lives (15 minutes); the failure is also logged for admins.
    """
    from tests.e2e.conftest import FAST_SIM
    from tests.helpers.engine import FAST_POLICY
    from tests.helpers.invariants import find_violations

    stack = await LocalStack.start(tmp_path, sim_config=FAST_SIM, policy=FAST_POLICY)
    try:
        emu = stack.emulator.emu
        channel_id, _ = emu_ids(stack)
        stack.simulator.sim.faults.hold_jobs = True
        interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": "locked out"})
        await reply_of(stack, interaction, "Follow it in")
        await emu.wait_for(
            lambda: bool(stack.simulator.sim.executing_jobids()), 10, "the job to start upstream"
        )
        emu.deny(channel_id, "SEND_MESSAGES", "SEND_MESSAGES_IN_THREADS")
        stack.simulator.sim.release_all()
        (job,) = await settled(stack, timeout=20)
        assert job.state is JobState.FAILED and job.error_code == "delivery_failed"
        await asyncio.sleep(0.5)
        refused = [c for c in emu.calls if c.status == 403 and c.method == "POST"]
        assert 1 <= len(refused) <= 4  # result: thread + channel; notice: thread + channel; then nothing
        private = "\n".join(emu.ephemeral_replies(interaction))
        assert f"job {job.id} failed" in private and "I couldn't post this" in private
        assert find_violations(Path(stack.settings.database.path), emu, stack.simulator.sim) == []
    finally:
        await stack.stop()


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
