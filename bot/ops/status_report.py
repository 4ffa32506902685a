"""What /pika-admin status shows: upstream reachability, accounts, slots, queue and today's outcomes."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bot.domain.limits import day_start
from bot.engine.service import JobService
from bot.providers.base import Account, ProviderHealth, UpstreamError
from bot.providers.useapi import ListsAccounts
from bot.store.job_rows import StateCount


@dataclass(frozen=True)
class AccountStatus:
    """One upstream account as the scheduler sees it."""

    name: str
    provider: str
    max_jobs: int
    in_use: int
    healthy: bool
    last_ok_at: float | None
    last_error: str | None
    last_error_at: float | None
    recheck_at: float


@dataclass(frozen=True)
class ProviderStatus:
    """One configured provider and the health of its last calls."""

    name: str
    display_name: str
    health: ProviderHealth


@dataclass(frozen=True)
class StatusReport:
    """Everything /pika-admin status reports, gathered at one moment."""

    providers: tuple[ProviderStatus, ...]
    accounts: tuple[AccountStatus, ...]
    queue_length: int
    oldest_wait: float | None  # seconds the longest-waiting queued job has waited
    today: tuple[StateCount, ...]
    median_video_seconds: float | None  # request to video, jobs delivered today
    spend_today: float  # USD sent upstream today by priced providers (fal.ai)


async def build_report(service: JobService, now: float) -> StatusReport:
    """Read the figures from the scheduler and SQLite (no upstream call)."""
    active = await service.store.active_by_account()
    accounts = tuple(
        AccountStatus(
            name=account.name,
            provider=account.provider,
            max_jobs=account.max_jobs,
            in_use=active.get(account.name, 0),
            healthy=health.healthy,
            last_ok_at=health.last_ok_at,
            last_error=health.last_error,
            last_error_at=health.last_error_at,
            recheck_at=health.recheck_at,
        )
        for account in service.scheduler.accounts.values()
        for health in (service.scheduler.health[account.name],)
    )
    providers = tuple(
        ProviderStatus(name, provider.display_name, provider.health)
        for name, provider in service.providers.items()
    )
    oldest = await service.store.oldest_queued()
    since = day_start(now)
    times = await service.store.video_times_since(since)
    return StatusReport(
        providers=providers,
        accounts=accounts,
        queue_length=await service.store.queue_depth(),
        oldest_wait=now - oldest.created_at if oldest else None,
        today=tuple(await service.store.outcomes_since(since)),
        median_video_seconds=statistics.median(times) if times else None,
        spend_today=await service.store.spend_since(since),
    )


@dataclass(frozen=True)
class AccountsComparison:
    """pikabot's useapi.net accounts next to those configured at useapi.net (GET pika/account)."""

    ours: tuple[Account, ...]
    theirs: tuple[Account, ...]
    problem: str | None  # why useapi.net's list could not be read; None when it was

    @property
    def missing_upstream(self) -> tuple[str, ...]:
        """Our accounts useapi.net does not know."""
        known = {account.channel for account in self.theirs}
        return tuple(a.name for a in self.ours if a.channel and a.channel not in known)


async def compare_accounts(service: JobService) -> AccountsComparison:
    """Ask useapi.net which accounts it has configured and set them beside ours."""
    ours = tuple(a for a in service.scheduler.accounts.values() if a.provider == "useapi")
    lister = service.providers.get("useapi")
    try:
        theirs = await lister.configured_accounts() if isinstance(lister, ListsAccounts) else ()
    except UpstreamError as error:
        return AccountsComparison(ours, (), str(error))
    return AccountsComparison(ours, theirs, None)
