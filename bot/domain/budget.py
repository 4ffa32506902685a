"""Daily spend limits in USD, per guild and per member: the arithmetic, done in whole cents. Pure.

Amounts are compared in cents, each sum rounded once (half a cent up). What counts as spent today (see JobStore.spend): the `cost_usd` of the jobs created since the UTC
day start that are still queued or under way or finished with a video, plus any that ended otherwise
after upstream took them (upstream has billed those). A job refused at intake is never stored; one
cancelled or failed before upstream took it costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.domain.limits import LimitExceeded, MemberLimits, day_end, duration

#: Percentages of a guild's daily budget at which its admins are alerted, once each per day.
ALERT_THRESHOLDS = (80, 100)


def cents(usd: float | None) -> int:
    """USD as whole cents, half a cent rounded up (prices like 0.225 are exact decimals to people)."""
    if not usd:
        return 0
    return int(Decimal(str(usd)).scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def money(usd_cents: int) -> str:
    """Cents as a member reads them: "$1.05"."""
    sign = "-" if usd_cents < 0 else ""
    whole, part = divmod(abs(usd_cents), 100)
    return f"{sign}${whole}.{part:02d}"


@dataclass(frozen=True)
class Spend:
    """What one guild, and one member in it, have spent since the UTC day start (USD)."""

    guild_usd: float
    member_usd: float


@dataclass(frozen=True)
class BudgetState:
    """One budget against its spend, in cents; budget 0 means there is none."""

    budget: int
    spent: int

    @property
    def limited(self) -> bool:
        """True when a budget is set."""
        return self.budget > 0

    @property
    def left(self) -> int:
        """Cents still to spend today (never below zero)."""
        return max(0, self.budget - self.spent)

    def allows(self, after: int) -> bool:
        """Would a spend of `after` cents (today's with the new job's) stay within the budget?"""
        return not self.limited or after <= self.budget

    def percent(self) -> float:
        """Spent as a percentage of the budget (0 without one)."""
        return 100.0 * self.spent / self.budget if self.limited else 0.0


def guild_state(limits: MemberLimits, spend: Spend) -> BudgetState:
    """The guild's budget against the guild's spend."""
    return BudgetState(cents(limits.guild_budget_usd), cents(spend.guild_usd))


def member_state(limits: MemberLimits, spend: Spend) -> BudgetState:
    """The member's budget against the member's spend."""
    return BudgetState(cents(limits.member_budget_usd), cents(spend.member_usd))


@dataclass
class BudgetExceeded(LimitExceeded):
    """A job would cost more than what is left of a daily budget; `guild_wide` for the guild's."""

    guild_wide: bool = False


def check_budget(limits: MemberLimits, spend: Spend, cost_usd: float | None, now: float) -> None:
    """Raise BudgetExceeded if a job costing `cost_usd` would go past the member's or guild's budget."""
    cost = cents(cost_usd)
    if cost <= 0:
        return
    wait = day_end(now) - now
    resets = f"It resets at 00:00 UTC, in {duration(wait)}."
    member = member_state(limits, spend)
    # The sum is rounded once, like the spend /pika quota shows: three 0.225 clips cost 0.68, not 0.69.
    if not member.allows(cents(spend.member_usd + (cost_usd or 0))):
        raise BudgetExceeded(
            f"This video costs {money(cost)}, but only {money(member.left)} of your "
            f"{money(member.budget)} daily budget here is left. {resets}",
            wait,
        )
    guild = guild_state(limits, spend)
    if not guild.allows(cents(spend.guild_usd + (cost_usd or 0))):
        raise BudgetExceeded(
            f"This video costs {money(cost)}, but only {money(guild.left)} of this server's "
            f"{money(guild.budget)} daily budget is left. {resets}",
            wait,
            guild_wide=True,
        )


def thresholds_reached(state: BudgetState, *, refused: bool = False) -> tuple[int, ...]:
    """The alert thresholds a guild's spend has reached. A video refused by the guild's budget
    counts as reaching 100 %: with refusals before submit the spend may never land on the budget."""
    if not state.limited:
        return ()
    reached = [t for t in ALERT_THRESHOLDS if state.percent() >= t]
    if refused and 100 not in reached:
        reached.append(100)
    return tuple(reached)
