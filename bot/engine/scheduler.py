"""Upstream slots per account, which account a job goes to, and how long to wait after each refusal."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.domain.jobs import Job, JobKind
from bot.domain.retry import RetryPolicy
from bot.providers.base import Account


@dataclass
class AccountHealth:
    """What admins see about one account: is it usable, its last success and its last error."""

    healthy: bool = True
    last_ok_at: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    recheck_at: float = 0.0  # when an unhealthy account gets its next chance


class Scheduler:
    """Per-account slot accounting and back-off arithmetic; the job queue itself lives in SQLite."""

    def __init__(
        self, accounts: Sequence[Account], policy: RetryPolicy | None = None, rng: random.Random | None = None
    ) -> None:
        # No accounts is allowed: the operator CLI edits jobs without any provider key set.
        self.accounts: dict[str, Account] = {a.name: a for a in accounts}
        self.policy = policy or RetryPolicy()
        self._rng = rng or random.Random()  # jitter, not security
        self._paused_until: dict[str, float] = {}
        self.health: dict[str, AccountHealth] = {name: AccountHealth() for name in self.accounts}

    def free_slots(self, active: Mapping[str, int], now: float) -> dict[str, int]:
        """Free upstream slots per account, zero for an account that is backing off."""
        free: dict[str, int] = {}
        for name, account in self.accounts.items():
            if self._paused_until.get(name, 0.0) > now or not self.usable(name, now):
                free[name] = 0
            else:
                free[name] = max(0, account.max_jobs - active.get(name, 0))
        return free

    def usable(self, account_name: str, now: float) -> bool:
        """Healthy, or unhealthy but due for its recheck (the next submit tests it)."""
        health = self.health.get(account_name)
        return health is None or health.healthy or health.recheck_at <= now

    def mark_ok(self, account_name: str, now: float) -> None:
        """The account took a job: it is healthy (again)."""
        if (health := self.health.get(account_name)) is not None:
            health.healthy = True
            health.last_ok_at = now

    def mark_unhealthy(self, account_name: str, now: float, reason: str) -> bool:
        """The account refused us (401/402): route jobs elsewhere until its recheck. True if it was healthy."""
        health = self.health.get(account_name)
        if health is None:
            return False
        was_healthy = health.healthy
        health.healthy = False
        health.last_error, health.last_error_at = reason, now
        health.recheck_at = now + self.policy.unhealthy_recheck
        return was_healthy

    def note_error(self, account_name: str, now: float, reason: str) -> None:
        """Remember an error that does not make the account unusable (busy, rate limited, 5xx)."""
        if (health := self.health.get(account_name)) is not None:
            health.last_error, health.last_error_at = reason, now

    def any_usable(self, provider: str, now: float) -> bool:
        """Whether some account of `provider` can take jobs now or at its recheck."""
        return any(a.provider == provider and self.usable(a.name, now) for a in self.accounts.values())

    def pause(self, account_name: str, until: float) -> None:
        """Send nothing to this account before `until` (it said it is full or overloaded)."""
        if account_name in self.accounts:
            self._paused_until[account_name] = max(until, self._paused_until.get(account_name, 0.0))

    def paused_until(self, account_name: str) -> float:
        """When the account may be tried again (0 when it is not paused)."""
        return self._paused_until.get(account_name, 0.0)

    def choose(self, job: Job, free: Mapping[str, int]) -> Account | None:
        """The account to send `job` to, or None if it must keep waiting.

        A retry goes back to the account that made the original video (useapi takes the Discord
        channel from the parent job); anything else goes where the most slots are free.
        """
        if job.kind is JobKind.RETRY and job.account in self.accounts:
            return self.accounts[job.account] if free.get(job.account, 0) > 0 else None
        candidates = [a for a in self.accounts.values() if a.provider == job.provider]
        if not candidates:
            return None
        best = max(candidates, key=lambda a: (free.get(a.name, 0), -_order(self.accounts, a)))
        return best if free.get(best.name, 0) > 0 else None

    def busy_delay(self) -> float:
        """Wait after "account full" or a Discord rate limit: 10-30 s with jitter."""
        return self._rng.uniform(self.policy.busy_min, self.policy.busy_max)

    def rate_limited_delay(self, retry_after: float | None) -> float:
        """Discord's retry_after, kept inside useapi's advised 10-30 s window, plus jitter."""
        low, high = self.policy.busy_min, self.policy.busy_max
        if retry_after is None:
            return self.busy_delay()
        base = min(max(retry_after, low), high)
        return base + self._rng.uniform(0.0, (high - low) / 4)

    def transient_delay(self, attempts: int) -> float:
        """Capped exponential back-off, jittered upwards only: never sooner than transient_base
        (useapi asks for at least 10 s between tries), never later than the cap."""
        base = self.policy.transient_base * (2.0 ** max(0, attempts - 1))
        return min(base * self._rng.uniform(1.0, 1.25), self.policy.transient_cap)

    def delivery_delay(self, attempts: int) -> float:
        """Back-off between attempts to post a result or a notice."""
        return min(self.policy.delivery_base * (2.0 ** max(0, attempts - 1)), self.policy.delivery_cap)

    def jittered(self, interval: float) -> float:
        """`interval` ± the poll jitter."""
        spread = interval * self.policy.poll_jitter
        return interval + self._rng.uniform(-spread, spread)


def _order(accounts: Mapping[str, Account], account: Account) -> int:
    """Configured position, so ties go to the first-listed account."""
    return list(accounts).index(account.name)
