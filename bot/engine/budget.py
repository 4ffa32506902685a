"""The daily budgets at intake: refuse a job that would go past one, and alert a guild's admins
once per UTC day when its spend reaches 80 % and 100 % of its budget."""

from __future__ import annotations

from bot.domain.budget import (
    BudgetState,
    Spend,
    cents,
    guild_state,
    money,
    thresholds_reached,
)
from bot.domain.limits import MemberLimits, day_end, day_start, duration
from bot.engine.context import EngineContext, log


class BudgetGuard:
    """Tells Intake whether budgets apply to a job and sends the admins' alerts (after admission).

    A refusal is raised as BudgetExceeded inside the admission; Intake then calls `refused`."""

    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx

    @staticmethod
    def applies(guild_id: int | None, limits: MemberLimits, cost_usd: float | None) -> bool:
        """Whether a job costing `cost_usd` in `guild_id` is checked against a budget at all."""
        if guild_id is None or not cents(cost_usd):
            return False
        return bool(limits.guild_budget_usd or limits.member_budget_usd)

    async def refused(
        self, guild_id: int, owner_id: int, limits: MemberLimits, cost_usd: float | None
    ) -> None:
        """The guild's budget refused a job: its admins hear of 100 % (once today)."""
        now = self._ctx.clock()
        spend = await self._ctx.store.spend(guild_id, owner_id, day_start(now))
        await self.alert(guild_id, limits, spend, now, refused_usd=cost_usd)

    async def admitted(self, guild_id: int | None, owner_id: int, limits: MemberLimits, now: float) -> None:
        """A job was stored: alert the guild's admins if its spend crossed a threshold."""
        if guild_id is None or not limits.guild_budget_usd:
            return
        spend = await self._ctx.store.spend(guild_id, owner_id, day_start(now))
        await self.alert(guild_id, limits, spend, now)

    async def alert(
        self,
        guild_id: int,
        limits: MemberLimits,
        spend: Spend,
        now: float,
        *,
        refused_usd: float | None = None,
    ) -> None:
        """Send each threshold's alert not sent today (best effort: a failure never stops a job)."""
        state = guild_state(limits, spend)
        try:
            for threshold in thresholds_reached(state, refused=refused_usd is not None):
                if await self._ctx.store.claim_budget_alert(guild_id, day_start(now), threshold, now):
                    text = alert_text(threshold, state, now, refused_usd)
                    await self._ctx.delivery.alert_guild_admins(guild_id, text)
        except Exception:
            log.exception("guild %s: the budget alert failed", guild_id)


def alert_text(threshold: int, state: BudgetState, now: float, refused_usd: float | None) -> str:
    """What the admins read at a threshold."""
    resets = f"00:00 UTC, in {duration(day_end(now) - now)}"
    spent = f"{money(state.spent)} of its {money(state.budget)} daily budget"
    if threshold < 100:
        return (
            f"💸 This server has spent {spent} on videos today ({state.percent():.0f} %); "
            f"{money(state.left)} is left. The budget resets at {resets} (`/pika-admin limits`)."
        )
    refused = f" A {money(cents(refused_usd))} video was refused." if refused_usd is not None else ""
    return (
        f"🛑 This server has spent {spent} on videos today: new videos that cost more than the "
        f"{money(state.left)} left are refused until {resets}.{refused} Raise it with `/pika-admin limits`."
    )
