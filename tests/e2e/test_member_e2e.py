"""Members' own view, end to end: /pika jobs (paged), /pika cancel (queued and running), /pika quota, Delete."""

from __future__ import annotations

from pathlib import Path

from bot.config import LimitSettings
from bot.domain.jobs import JobState
from sandbox.discord_emu import EmuInteraction
from sandbox.stack import LocalStack
from tests.e2e.conftest import FAST_SIM, settle_all
from tests.helpers.bot_e2e import emu_ids, held_job_in_thread, jobs, reply_of, result_in
from tests.helpers.engine import FAST_POLICY
from tests.helpers.invariants import assert_invariants


def ephemeral_embeds(stack: LocalStack, interaction: EmuInteraction) -> str:
    emu = stack.emulator.emu
    return str([m.embeds for m in emu.interaction_messages(interaction) if m.ephemeral])


async def test_jobs_lists_my_jobs_with_pages(tmp_path: Path) -> None:
    """Ten jobs: the first page shows the newest eight with links; Next shows the rest; others' jobs never."""
    stack = await LocalStack.start(
        tmp_path,
        sim_config=FAST_SIM,
        policy=FAST_POLICY,
        status_interval=0.2,
        limits=LimitSettings(in_flight=20, per_day=0, cooldown=0),
        apiglue=False,
    )
    try:
        emu = stack.emulator.emu
        channel_id, guild_id = emu_ids(stack)
        for n in range(10):
            await reply_of(
                stack,
                await emu.slash(101, channel_id, "pika", "create", {"prompt": f"dune {n}"}),
                "Follow it in",
            )
        await reply_of(
            stack, await emu.slash(102, channel_id, "pika", "create", {"prompt": "bob's own"}), "Follow it in"
        )
        await settle_all(stack, timeout=30)
        listing = await emu.slash(101, channel_id, "pika", "jobs")
        await emu.wait_for(lambda: "page 1 of 2" in ephemeral_embeds(stack, listing), 10, "page 1")
        first = ephemeral_embeds(stack, listing)
        assert "dune 9" in first and "dune 2" in first and "dune 1" not in first and "bob's own" not in first
        assert f"https://discord.com/channels/{guild_id}/" in first
        (page,) = [m for m in emu.interaction_messages(listing) if m.ephemeral]
        _previous, following = page.custom_ids()
        await emu.click(101, page.id, following)
        await emu.wait_for(lambda: "page 2 of 2" in ephemeral_embeds(stack, listing), 10, "page 2")
        second = ephemeral_embeds(stack, listing)
        assert "dune 1" in second and "dune 0" in second and "dune 9" not in second
    finally:
        await stack.stop()
    assert_invariants(Path(stack.settings.database.path), stack.emulator.emu, stack.simulator.sim)


async def test_cancel_a_running_job_upstream_and_refuse_strangers(stack: LocalStack) -> None:
    """/pika cancel: a stranger is refused; the owner's cancel reaches useapi and the thread says so."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    thread = await held_job_in_thread(stack, "a slow glacier")
    (job,) = await jobs(stack)
    stranger = await emu.slash(103, channel_id, "pika", "cancel", {"job": job.id})
    await reply_of(stack, stranger, f"You have no job {job.id}")
    owner = await emu.slash(101, channel_id, "pika", "cancel", {"job": job.id})
    await reply_of(stack, owner, "is cancelled")
    cancels = [r for r in stack.simulator.sim.requests if r.path == "/v1/pika/jobs/cancel/"]
    assert len(cancels) == 1 and cancels[0].query["jobid"] == job.upstream_id
    await emu.wait_for_message(
        lambda m: m.channel_id == thread.id and "was cancelled" in m.content, timeout=10
    )
    stored = await stack.bot.runtime.store.get(job.id)
    assert stored is not None and stored.state is JobState.CANCELLED


async def test_cancel_a_queued_job_makes_no_upstream_call(tmp_path: Path) -> None:
    """A job still waiting in pikabot's queue is removed locally."""
    stack = await LocalStack.start(
        tmp_path,
        sim_config=FAST_SIM,
        policy=FAST_POLICY,
        status_interval=0.2,
        max_jobs=1,
        limits=LimitSettings(in_flight=5, per_day=0, cooldown=0),
        apiglue=False,
    )
    try:
        emu = stack.emulator.emu
        channel_id, _ = emu_ids(stack)
        stack.simulator.sim.faults.hold_jobs = True
        for prompt in ("first in line", "second in line"):
            await reply_of(
                stack, await emu.slash(101, channel_id, "pika", "create", {"prompt": prompt}), "Follow it in"
            )
        waiting = next(j for j in await jobs(stack) if j.prompt == "second in line")
        assert waiting.state is JobState.QUEUED
        answer = await emu.slash(101, channel_id, "pika", "cancel", {"job": waiting.id})
        await reply_of(stack, answer, "is cancelled")
        assert not [r for r in stack.simulator.sim.requests if r.path == "/v1/pika/jobs/cancel/"]
        assert len([r for r in stack.simulator.sim.requests if r.path == "/v1/pika/create"]) == 1
        await settle_all(stack)
    finally:
        await stack.stop()
    assert_invariants(Path(stack.settings.database.path), stack.emulator.emu, stack.simulator.sim)


async def test_quota_says_what_is_left_and_survives_a_restart(tmp_path: Path) -> None:
    """per_day 3: after two videos, /pika quota says 1 of 3 left, before and after a restart."""
    stack = await LocalStack.start(
        tmp_path,
        sim_config=FAST_SIM,
        policy=FAST_POLICY,
        status_interval=0.2,
        limits=LimitSettings(in_flight=5, per_day=3, cooldown=0),
        apiglue=False,
    )
    try:
        emu = stack.emulator.emu
        channel_id, _ = emu_ids(stack)
        for prompt in ("a kite", "a lantern"):
            await reply_of(
                stack, await emu.slash(101, channel_id, "pika", "create", {"prompt": prompt}), "Follow it in"
            )
        await settle_all(stack)
        text = await reply_of(stack, await emu.slash(101, channel_id, "pika", "quota"), "left today")
        assert "**1** of 3 videos left today" in text and "00:00 UTC" in text
        await stack.restart_bot()
        text = await reply_of(stack, await emu.slash(101, channel_id, "pika", "quota"), "left today")
        assert "**1** of 3 videos left today" in text
    finally:
        await stack.stop()


async def test_delete_button_removes_the_post_for_owner_only(stack: LocalStack) -> None:
    """Delete under a result: a stranger is refused; the owner's click removes the bot's post."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    await reply_of(
        stack, await emu.slash(101, channel_id, "pika", "create", {"prompt": "a comet"}), "Follow it in"
    )
    (thread,) = emu.threads(channel_id)
    video = await result_in(stack, thread.id)
    (job,) = await jobs(stack)
    assert f"pika:delete:{job.id}" in video.custom_ids()
    stranger = await emu.click(103, video.id, f"pika:delete:{job.id}")
    await reply_of(stack, stranger, "Only <@101>")
    assert not emu.messages[video.id].deleted
    owner = await emu.click(101, video.id, f"pika:delete:{job.id}")
    await reply_of(stack, owner, "Deleted")
    assert emu.messages[video.id].deleted
