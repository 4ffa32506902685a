"""The real bot, end to end: results reach Discord despite missing permissions, lost threads, Discord
errors, rate limits and gateway drops."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.domain.jobs import JobState
from sandbox.stack import LocalStack
from tests.helpers.bot_e2e import emu_ids, held_job_in_thread, jobs, reply_of, result_in, settled


async def test_result_after_the_interaction_token_expired(stack: LocalStack) -> None:
    """A job that ends 16 minutes after the command still posts (bot token), with no 401s."""
    emu = stack.emulator.emu
    thread = await held_job_in_thread(stack, "slow sunrise")
    emu.clock_offset += 16 * 60
    stack.simulator.sim.release_all()
    video = await result_in(stack, thread.id)
    assert video.attachments
    assert not [c for c in emu.calls if c.status == 401]


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
