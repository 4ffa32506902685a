"""Finding lost callbacks: how often a running job is polled, and the executing-list sweep.

Callbacks are an optimisation, not a promise. With callbacks on, a provider that can list what it
still runs (`Capabilities.lists_executing`) is asked once per poll interval; a running job of ours
missing from that list has ended upstream and is confirmed at once, as a callback would be. A
provider without such a list is polled per job, slowly (every SLOW_POLL_FACTOR intervals). Either
way a lost callback costs about two poll intervals, not `callback_grace`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.domain.jobs import Job
from bot.observability.logsetup import job_extra
from bot.observability.metrics import Metrics
from bot.providers.base import Provider, UpstreamError, executing_lister
from bot.store import JobStore

log = logging.getLogger(__name__)

# With callbacks on and no executing list, a running job is polled every this many poll intervals:
# a lost callback is found within about two intervals at half the requests of plain polling.
SLOW_POLL_FACTOR = 2.0


@dataclass(frozen=True)
class PollCadence:
    """How long a running job waits for its next per-job poll, by mode and provider capability."""

    poll_interval: float
    callback_grace: float
    callbacks_enabled: bool

    def base_delay(self, provider: Provider) -> float:
        """The un-jittered wait before the next per-job poll of a running job of `provider`."""
        if not self.callbacks_enabled:
            return self.poll_interval
        if executing_lister(provider) is not None:
            # The list finds ended jobs each interval; this poll is only a backstop should the
            # list keep failing, and never runs more often than plain polling would.
            return max(self.callback_grace, self.poll_interval)
        return self.poll_interval * SLOW_POLL_FACTOR


class ExecutingSweep:
    """At most one executing-list request per listing provider per poll interval (callbacks on only)."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        store: JobStore,
        metrics: Metrics,
        interval: float,
        clock: Callable[[], float],
    ) -> None:
        self._providers = {name: p for name, p in providers.items() if executing_lister(p) is not None}
        self._store = store
        self._metrics = metrics
        self._interval = interval
        self._clock = clock
        self._next_at: dict[str, float] = dict.fromkeys(self._providers, 0.0)
        for name in self._providers:
            # Known series start at 0, so the cost is visible (and rate() works) from the first scrape.
            metrics.upstream_listings.labels(provider=name, status="ok")
            metrics.listing_confirms.labels(provider=name)

    def due(self, now: float) -> list[str]:
        """Providers whose listing is due now; each is marked as listed until the next interval."""
        names = [name for name, at in self._next_at.items() if at <= now]
        for name in names:
            # Spaced from when it was due, not from when the request ends, so a slow answer
            # never pushes two listings into one interval.
            self._next_at[name] = now + self._interval
        return names

    async def ended(self, name: str) -> list[Job]:
        """Running jobs of provider `name` that upstream no longer lists as executing.

        Our running jobs are read before the request: upstream lists a job from its creation, so
        one running here before the list was asked for and absent from it has truly ended.
        """
        running = [job for job in await self._store.running_of(name) if job.upstream_id]
        lister = executing_lister(self._providers[name])
        if not running or lister is None:
            return []  # nothing to look for: no request spent
        now = self._clock()
        if not await self._store.leases.take_turn(f"listing:{name}", now, now + self._interval * 0.9):
            return []  # another process sharing the database asked this interval
        try:
            executing = set(await lister.executing())
        except UpstreamError as error:
            self._metrics.upstream_listing(name, ok=False)
            log.info("listing the jobs %s runs failed: %s", name, error)
            return []  # the next interval tries again; the backstop poll covers a long outage
        self._metrics.upstream_listing(name, ok=True)
        ended = [job for job in running if job.upstream_id not in executing]
        for job in ended:
            self._metrics.listing_confirm(name)
            log.info(
                "job %s is no longer executing upstream; confirming it",
                job.id,
                extra=job_extra(job.id, job.origin.guild_id),
            )
        return ended
