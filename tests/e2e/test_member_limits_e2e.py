"""The real bot, end to end: member limits are answered privately, and admins change them per server."""

from __future__ import annotations

from sandbox.stack import LocalStack
from tests.helpers.bot_e2e import emu_ids, jobs, reply_of


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
