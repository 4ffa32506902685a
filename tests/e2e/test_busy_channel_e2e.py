"""A busy channel under Discord's real limits (5 posts / 5 s per channel): status messages are the
members' own interaction follow-ups, so nothing waits for the channel's budget and no 429 is hit."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.config import LimitSettings
from bot.domain.jobs import JobState
from sandbox.discord_emu import EmuConfig
from sandbox.stack import LocalStack
from tests.e2e.conftest import FAST_SIM, settle_all
from tests.helpers.bot_e2e import jobs
from tests.helpers.engine import FAST_POLICY
from tests.helpers.invariants import assert_invariants

MEMBERS = {101 + n: f"member{n}" for n in range(12)}


async def test_twenty_four_commands_in_one_channel_all_show_and_finish(tmp_path: Path) -> None:
    """24 commands at once in one channel: 24 status messages and threads, no status posted with the
    bot token in the channel, no 429, every video in its thread once."""
    stack = await LocalStack.start(
        tmp_path,
        sim_config=FAST_SIM,
        emu_config=EmuConfig(members=MEMBERS),
        policy=FAST_POLICY,
        status_interval=0.5,
        max_jobs=10,
        limits=LimitSettings(in_flight=5, per_day=0, cooldown=0),
        apiglue=False,
    )
    try:
        emu = stack.emulator.emu
        channel = emu.config.text_channel_id
        sent = await asyncio.gather(
            *(
                emu.slash(101 + n % 12, channel, "pika", "create", {"prompt": f"busy scene {n}"})
                for n in range(24)
            )
        )
        await emu.wait_for(lambda: len(emu.threads(channel)) == 24, 20, "24 threads")
        answered = lambda: all(  # noqa: E731
            any("Follow it in" in t for t in emu.ephemeral_replies(i)) for i in sent
        )
        await emu.wait_for(answered, 10, "every member's answer to point at the thread")
        await settle_all(stack, timeout=60)
        found = await jobs(stack)
        assert len(found) == 24 and all(j.state is JobState.DELIVERED for j in found)
        statuses = {j.status_message_id for j in found}
        assert all(emu.messages[s].interaction_id is not None for s in statuses if s is not None)
        in_channel = [c for c in emu.calls_to("create_message") if f"/channels/{channel}/" in c.path]
        assert in_channel == []  # the channel's own post budget was never spent
        assert emu.rate_limit_hits == [] and emu.violations == []
    finally:
        await stack.stop()
    assert_invariants(Path(stack.settings.database.path), stack.emulator.emu, stack.simulator.sim)


async def test_after_a_restart_an_unplaced_job_is_placed_with_the_bot_token(tmp_path: Path) -> None:
    """The bot stops while its follow-ups hang: after the restart the status message is posted with
    the bot token (nonce from the job id), a thread is started from it and the video lands there."""
    stack = await LocalStack.start(
        tmp_path, sim_config=FAST_SIM, policy=FAST_POLICY, status_interval=0.2, apiglue=False
    )
    try:
        emu = stack.emulator.emu
        channel = emu.config.text_channel_id
        emu.faults.followup_delay = 30.0
        await emu.slash(101, channel, "pika", "create", {"prompt": "a patient heron"})
        await emu.wait_for(lambda: bool(stack.simulator.sim.requests), 10, "the job sent upstream")
        await stack.stop_bot()
        emu.faults.followup_delay = 0.0
        with sqlite3.connect(stack.settings.database.path) as conn:
            assert conn.execute("SELECT placed FROM jobs").fetchall() == [(0,)]
        await stack._start_bot()
        await settle_all(stack, timeout=30)
        (done,) = await jobs(stack)
        assert done.state is JobState.DELIVERED and done.placed and done.origin.thread_id is not None
        status = emu.messages[done.status_message_id or 0]
        assert status.channel_id == channel and status.nonce == f"pks{done.id}"
        assert any(m.attachments for m in emu.messages.values() if m.channel_id == done.origin.thread_id)
    finally:
        await stack.stop()
    assert_invariants(Path(stack.settings.database.path), stack.emulator.emu, stack.simulator.sim)
