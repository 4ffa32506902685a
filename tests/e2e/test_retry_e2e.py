"""The real bot, end to end: who may press Retry, and that it works after a restart or a lost job."""

from __future__ import annotations

import asyncio

from sandbox.stack import LocalStack
from tests.helpers.bot_e2e import emu_ids, jobs, reply_of, result_in, settled


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
