"""Per-member limits on paid generations: jobs in flight, jobs per day, and a short cooldown. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class MemberLimits:
    """The limits in force in one guild. per_day 0 means no daily limit; cooldown 0 means none.

    The budgets are USD per UTC day for the whole guild and for each member (0 = none); a role's
    override never changes them (see bot.domain.budget for the arithmetic).
    """

    in_flight: int = 2
    per_day: int = 0
    cooldown: float = 3.0
    guild_budget_usd: float = 0.0
    member_budget_usd: float = 0.0


@dataclass(frozen=True)
class MemberUsage:
    """What one member has going on in one guild right now."""

    in_flight: int
    today: int
    last_request_at: float | None


# Not frozen: Python sets an exception's __traceback__ as it passes through a context manager
# (the store's admission transaction raises these).
@dataclass
class LimitExceeded(Exception):
    """A member asked for more than the guild allows; `message` says when they can try again."""

    message: str
    retry_after: float

    def __str__(self) -> str:
        return self.message


def day_start(now: float) -> float:
    """The start of the current UTC day (daily limits reset at 00:00 UTC)."""
    moment = datetime.fromtimestamp(now, UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def check(limits: MemberLimits, usage: MemberUsage, now: float) -> None:
    """Raise LimitExceeded if a new job would break one of the limits."""
    if limits.cooldown and usage.last_request_at is not None:
        wait = usage.last_request_at + limits.cooldown - now
        if wait > 0:
            raise LimitExceeded(f"Please wait {math.ceil(wait)} s before asking again.", wait)
    if usage.in_flight >= limits.in_flight:
        plural = "job" if usage.in_flight == 1 else "jobs"  # the count's plural, not the limit's
        raise LimitExceeded(
            f"You already have {usage.in_flight} {plural} in progress, the most allowed here. "
            "Try again when one of them finishes.",
            30.0,
        )
    if limits.per_day and usage.today >= limits.per_day:
        reset = day_start(now) + timedelta(days=1).total_seconds()
        raise LimitExceeded(
            f"You've made {usage.today} of the {limits.per_day} videos allowed per day here. "
            f"The limit resets at 00:00 UTC, in {duration(reset - now)}.",
            reset - now,
        )


def day_end(now: float) -> float:
    """When the current UTC day's limits reset (the next 00:00 UTC)."""
    return day_start(now) + timedelta(days=1).total_seconds()


def duration(seconds: float) -> str:
    """A wait as a member reads it: "3 h 05 min", "12 min" (at least a minute)."""
    minutes = max(1, math.ceil(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
