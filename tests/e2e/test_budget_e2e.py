"""Daily budgets in USD end to end, on fal.ai ($0.20 a clip): /pika-admin limits sets them, a
/pika create past one is refused privately before anything reaches fal, the server's alerts channel
hears of 80 % and 100 % once (also across a restart), and /pika quota shows the money."""

from __future__ import annotations

from pathlib import Path

from bot.config import LimitSettings
from sandbox.stack import LocalStack
from tests.e2e.conftest import FAST_SIM, settle_all
from tests.e2e.test_fal_e2e import FAST_FAL, TO_FAL, fal
from tests.e2e.test_guild_settings_e2e import ALICE, BOB, CAROL, admin
from tests.helpers.bot_e2e import emu_ids, jobs, reply_of
from tests.helpers.engine import FAST_POLICY
from tests.helpers.invariants import assert_invariants


def alerts(stack: LocalStack) -> list[str]:
    """What the bot posted in the alerts channel (the community channel here, announcements off)."""
    emu = stack.emulator.emu
    return [m.content for m in emu.thread_messages(emu.config.community_channel_id)]


async def create(stack: LocalStack, user: int, prompt: str, needle: str) -> str:
    channel_id, _ = emu_ids(stack)
    interaction = await stack.emulator.emu.slash(user, channel_id, "pika", "create", {"prompt": prompt})
    return await reply_of(stack, interaction, needle)


async def quota(stack: LocalStack, user: int) -> str:
    channel_id, _ = emu_ids(stack)
    return await reply_of(stack, await stack.emulator.emu.slash(user, channel_id, "pika", "quota"), "resets")


async def test_budgets_refuse_alert_once_and_show_in_quota(tmp_path: Path) -> None:
    """Server $0.50, member $0.30: Alice's second clip and Carol's clip are refused with what is left;
    💸 at $0.40 (80 %) and 🛑 at Carol's refusal, each once, even after a restart."""
    stack = await LocalStack.start(
        tmp_path,
        sim_config=FAST_SIM,
        fal=True,
        fal_config=FAST_FAL,
        apiglue=False,
        routing=TO_FAL,
        policy=FAST_POLICY,
        status_interval=0.2,
        limits=LimitSettings(in_flight=5, per_day=0, cooldown=0),
    )
    try:
        emu = stack.emulator.emu
        channel_id, _ = emu_ids(stack)
        community = emu.config.community_channel_id
        member = await emu.slash(ALICE, channel_id, "pika-admin", "limits", {"guild_budget": 1})
        assert "Manage Server" in await reply_of(stack, member, "❌")
        budgets = {"guild_budget": 0.5, "member_budget": 0.3}
        set_limits = await emu.slash(emu.config.owner_id, channel_id, "pika-admin", "limits", budgets)
        text = await reply_of(stack, set_limits, "Now:")
        assert "daily budget **$0.50 (USD)** for the server, **$0.30 (USD)** per member" in text
        await reply_of(stack, await admin(stack, alerts_channel=community), "Changed")

        await create(stack, ALICE, "a kite", "Follow it in")
        refused = await create(stack, ALICE, "a second kite", "❌")
        assert "This video costs $0.20, but only $0.10 of your $0.30 daily budget here is left." in refused
        assert "It resets at 00:00 UTC, in" in refused
        assert alerts(stack) == []

        await create(stack, BOB, "a lantern", "Follow it in")  # $0.40 of $0.50
        await emu.wait_for(lambda: len(alerts(stack)) == 1, 10, "the 80 % alert")
        assert alerts(stack)[0].startswith("💸 This server has spent $0.40 of its $0.50 daily budget")

        refused = await create(stack, CAROL, "a comet", "❌")
        assert "only $0.10 of this server's $0.50 daily budget is left" in refused
        await emu.wait_for(lambda: len(alerts(stack)) == 2, 10, "the 100 % alert")
        assert alerts(stack)[1].startswith("🛑 This server has spent $0.40 of its $0.50 daily budget")
        await create(stack, CAROL, "a comet again", "❌")

        text = await quota(stack, ALICE)
        assert "You: **$0.20** spent today of a $0.30 budget, **$0.10** left." in text
        assert "This server: **$0.40** spent today of a $0.50 budget, **$0.10** left." in text

        await settle_all(stack, timeout=30)
        await stack.restart_bot()
        await create(stack, CAROL, "a comet after the restart", "❌")
        text = await quota(stack, BOB)
        assert "You: **$0.20** spent today of a $0.30 budget, **$0.10** left." in text
        assert len(alerts(stack)) == 2  # once per threshold and day, restart or not
        assert len(await jobs(stack)) == 2 and len(fal(stack).sim.requests) == 2  # refusals cost nothing
    finally:
        await stack.stop()
    assert_invariants(Path(stack.settings.database.path), stack.emulator.emu, stack.simulator.sim)
