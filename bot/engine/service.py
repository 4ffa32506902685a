"""JobService: submit, retry, cancel, follow and finish jobs; recover them after a restart.

The engine's one front door. Its work is done by small parts sharing one `EngineContext`:
`intake` (new jobs, limits, cancel), `loop` (recovery and the background pass), `submitting`
(sending upstream, refusals), `tracking` (polls, callbacks, the executing list, reconciliation),
`finishing` (download, delivery, notices, expiry) and `presentation` (status messages and threads).
Every state change is a compare-and-set in SQLite, so a callback, a poll and a restart racing on
the same job converge on one outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.domain.jobs import Job, JobKind, JobRequest
from bot.domain.limits import MemberLimits
from bot.engine.context import EngineContext, EngineSettings, callback_token_hash, reply_ref
from bot.engine.delivery import Delivery
from bot.engine.downloads import VideoDownloader
from bot.engine.finishing import Finishing
from bot.engine.intake import CancelOutcome, Intake, JobNotFound, NotRetryable, Remix, check_declared
from bot.engine.loop import EngineLoop, RecoveryReport
from bot.engine.lost_callbacks import ExecutingSweep
from bot.engine.presentation import Presentation, QueuePlace
from bot.engine.scheduler import Scheduler
from bot.engine.submitting import Submitter
from bot.engine.tracking import Tracking
from bot.observability.metrics import JobGauges, Metrics
from bot.providers.base import Capabilities, Provider
from bot.providers.registry import BY_NAME, DISPLAY_NAMES
from bot.store import JobStore

__all__ = [
    "CancelOutcome",
    "EngineSettings",
    "JobNotFound",
    "JobService",
    "NotRetryable",
    "ProviderInfo",
    "RecoveryReport",
    "Remix",
    "callback_token_hash",
    "check_declared",
    "reply_ref",
]


@dataclass(frozen=True)
class ProviderInfo:
    """A configured provider as the Discord layer may know it: its name and its declaration."""

    display_name: str
    capabilities: Capabilities


class JobService:
    """The engine's front door and its background loop."""

    def __init__(
        self,
        store: JobStore,
        providers: Mapping[str, Provider],
        scheduler: Scheduler,
        delivery: Delivery,
        downloader: VideoDownloader,
        settings: EngineSettings,
        *,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        metrics = metrics or Metrics()
        ctx = EngineContext(store, providers, scheduler, delivery, downloader, settings, metrics, clock)
        self._ctx = ctx
        sweep = ExecutingSweep(providers, store, metrics, settings.poll_interval, clock)
        self._presentation = Presentation(ctx)
        self._finishing = Finishing(ctx)
        self._tracking = Tracking(ctx, self._finishing, self._presentation, sweep)
        submitter = Submitter(ctx, self._tracking, self._finishing, self._presentation)
        self._intake = Intake(ctx, self._finishing)
        self._loop = EngineLoop(ctx, submitter, self._tracking, self._finishing, self._presentation)

    # -- the collaborators, shared with every part through the context -------------------------

    @property
    def store(self) -> JobStore:
        return self._ctx.store

    @store.setter
    def store(self, value: JobStore) -> None:
        self._ctx.store = value

    @property
    def providers(self) -> Mapping[str, Provider]:
        return self._ctx.providers

    @providers.setter
    def providers(self, value: Mapping[str, Provider]) -> None:
        self._ctx.providers = value

    @property
    def scheduler(self) -> Scheduler:
        return self._ctx.scheduler

    @scheduler.setter
    def scheduler(self, value: Scheduler) -> None:
        self._ctx.scheduler = value

    @property
    def delivery(self) -> Delivery:
        return self._ctx.delivery

    @delivery.setter
    def delivery(self, value: Delivery) -> None:
        self._ctx.delivery = value

    @property
    def downloader(self) -> VideoDownloader:
        return self._ctx.downloader

    @downloader.setter
    def downloader(self, value: VideoDownloader) -> None:
        self._ctx.downloader = value

    @property
    def settings(self) -> EngineSettings:
        return self._ctx.settings

    @settings.setter
    def settings(self, value: EngineSettings) -> None:
        self._ctx.settings = value

    @property
    def metrics(self) -> Metrics:
        return self._ctx.metrics

    @metrics.setter
    def metrics(self, value: Metrics) -> None:
        self._ctx.metrics = value

    # -- new jobs ------------------------------------------------------------------------------

    async def submit(
        self, request: JobRequest, *, announce: bool = False, limits: MemberLimits | None = None
    ) -> Job:
        """Validate, store as queued and wake the scheduler. Raises PromptError on bad input.

        With `announce`, the presentation pipeline posts its status message and thread beside the
        work (never before it); a result that is ready first waits for them.
        """
        return await self._intake.submit(request, announce=announce, limits=limits)

    def present(self, job_id: int, shown: QueuePlace | None = None) -> None:
        """Post a new job's status message and thread now (the Discord layer has the member's
        interaction at hand; `shown` is the queue place it just told them); the loop's sweep covers
        any job this misses."""
        self._presentation.present(job_id, shown)

    async def retry(
        self, job_id: int, requester_id: int, *, announce: bool = False, limits: MemberLimits | None = None
    ) -> Job:
        """A new job with the same request; never changes the old one.

        A finished upstream job is re-run through Pika's own Retry button; anything else (a failed
        or moderated job) is sent again as a fresh job with the same prompt and images.
        """
        return await self._intake.retry(job_id, requester_id, announce=announce, limits=limits)

    async def remix(
        self, job_id: int, change: Remix, *, announce: bool = False, limits: MemberLimits | None = None
    ) -> Job:
        """A new job from job `job_id`'s request (kind, images, thread) with a new prompt and options,
        linked to it as its parent. Raises PromptError, NotRetryable or LimitExceeded."""
        return await self._intake.remix(job_id, change, announce=announce, limits=limits)

    async def follow_up(
        self,
        job_id: int,
        kind: JobKind,
        requester_id: int,
        *,
        announce: bool = False,
        limits: MemberLimits | None = None,
    ) -> Job:
        """A new job made from job `job_id`'s finished video (extend, upscale), same prompt and options."""
        return await self._intake.follow_up(job_id, kind, requester_id, announce=announce, limits=limits)

    async def cancel(self, job_id: int) -> CancelOutcome:
        """Cancel a queued job locally, or a running one upstream."""
        return await self._intake.cancel(job_id)

    async def handle_callback(self, job_id: int, hinted_upstream_id: str | None) -> None:
        """A callback arrived for a job: confirm with upstream in the background (never trust the body)."""
        self._tracking.on_callback(job_id, hinted_upstream_id)

    # -- what the Discord layer and /metrics may ask -------------------------------------------

    def display_name(self, provider: str) -> str:
        """How members see a provider's name, configured here or not ("fal.ai")."""
        return DISPLAY_NAMES.get(provider, provider)

    def key_variable(self, provider: str) -> str | None:
        """The environment variable that turns a provider on ("FAL_KEY"); None for an unknown name."""
        entry = BY_NAME.get(provider)
        return entry.env_var if entry is not None else None

    def provider_info(self, name: str) -> ProviderInfo | None:
        """How a configured provider is named and what it can do; None when it is not configured."""
        provider = self.providers.get(name)
        return ProviderInfo(provider.display_name, provider.capabilities) if provider is not None else None

    async def job_gauges(self) -> JobGauges:
        """Jobs per state and the queue's depth, for /metrics (the store is the truth at every scrape)."""
        counts = {count.state: count.count for count in await self.store.count_by_state()}
        return JobGauges(counts, await self.store.queue_depth())

    async def queue_position(self, job_id: int) -> int | None:
        """Place in the fair queue, for display."""
        return await self.store.queue_position(job_id)

    async def queue_eta(self, job: Job, position: int) -> float | None:
        """Seconds until a job at `position` has its video, from recent run times; None without history."""
        return await self._presentation.queue_eta(job, position)

    # -- the background loop -------------------------------------------------------------------

    async def recover(self) -> RecoveryReport:
        """Pick every unfinished job up again after a start; nothing is resent blindly."""
        return await self._loop.recover()

    async def start(self) -> RecoveryReport:
        """Recover, then run the background loop."""
        report = await self.recover()
        self._loop.start()
        return report

    async def stop(self) -> None:
        """Stop the loop and wait for in-flight work (state is in SQLite; nothing is lost)."""
        await self._loop.stop()

    def wake(self) -> None:
        """Look for due work now rather than at the next tick."""
        self._ctx.wake.set()

    async def run_once(self) -> None:
        """One pass over everything that is due."""
        await self._loop.run_once()
