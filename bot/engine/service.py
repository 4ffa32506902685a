"""JobService: submit, retry, cancel, follow and finish jobs; recover them after a restart.

One background loop drives everything that is due (submissions into free slots, polls,
reconciliations, deliveries, notices, expiry). Every state change is a compare-and-set in SQLite,
so a callback, a poll and a restart racing on the same job converge on one outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

from bot.domain.jobs import Job, JobKind, JobRequest, JobState, VideoResult
from bot.domain.limits import MemberLimits, day_start
from bot.domain.limits import check as check_limits
from bot.domain.prompt import PromptError
from bot.engine.crashpoints import crashpoint
from bot.engine.delivery import Delivery, DeliveryError, JobPlacement
from bot.engine.downloads import DownloadedVideo, DownloadError, VideoDownloader
from bot.engine.lost_callbacks import ExecutingSweep, PollCadence
from bot.engine.scheduler import Scheduler
from bot.observability.logsetup import job_extra
from bot.observability.metrics import JobGauges, Metrics
from bot.providers.base import (
    Account,
    Capabilities,
    ErrorKind,
    Provider,
    SubmitRequest,
    UpstreamError,
    UpstreamJob,
    UpstreamStatus,
)
from bot.providers.registry import DISPLAY_NAMES
from bot.store import JobStore, JobUpdate

log = logging.getLogger(__name__)

_FAILURE_STATE: Mapping[UpstreamStatus, JobState] = {
    UpstreamStatus.FAILED: JobState.FAILED,
    UpstreamStatus.MODERATED: JobState.MODERATED,
    UpstreamStatus.CANCELLED: JobState.CANCELLED,
}


@dataclass(frozen=True)
class EngineSettings:
    """The engine's knobs, taken from the validated config."""

    media_dir: Path
    poll_interval: float = 15.0
    timeout: float = 1800.0
    callback_grace: float = 300.0
    callback_base_url: str | None = None  # e.g. https://bot.example.com; None = polling only
    max_video_bytes: int = 100 * 1024 * 1024
    tick: float = 1.0  # how often the loop looks for due work when nothing wakes it
    max_parallel_polls: int = 16
    limits: MemberLimits = field(default_factory=MemberLimits)

    @property
    def callbacks_enabled(self) -> bool:
        """Whether upstream is asked to call us back."""
        return bool(self.callback_base_url)


class CancelOutcome(StrEnum):
    """What a cancel request achieved."""

    CANCELLED = "cancelled"
    ALREADY_FINISHED = "already_finished"
    NOT_FOUND = "not_found"
    UPSTREAM_REFUSED = "upstream_refused"


@dataclass(frozen=True)
class ProviderInfo:
    """A configured provider as the Discord layer may know it: its name and its declaration."""

    display_name: str
    capabilities: Capabilities


class JobNotFound(LookupError):
    """No job has that id."""


class NotRetryable(Exception):
    """The job cannot be retried (e.g. it is still running)."""


@dataclass(frozen=True)
class RecoveryReport:
    """What recover() found on start."""

    queued: int = 0
    reconciling: int = 0
    polling: int = 0
    delivering: int = 0


def callback_token_hash(token: str) -> str:
    """How a callback capability is stored: only its SHA-256, so a leaked database leaks no URL."""
    return hashlib.sha256(token.encode()).hexdigest()


def reply_ref(job_id: int) -> str:
    """Our reference sent upstream as replyRef (the job id)."""
    return str(job_id)


class _KeyedLocks:
    """One asyncio.Lock per job id, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    def locked(self, key: int) -> bool:
        lock = self._locks.get(key)
        return lock is not None and lock.locked()

    async def run(self, key: int, work: Callable[[], Awaitable[None]]) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await work()
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]


@dataclass
class _Tasks:
    """Background tasks with strong references (the loop keeps only weak ones) and per-key dedupe."""

    running: set[asyncio.Task[None]] = field(default_factory=set)
    keys: set[tuple[str, int]] = field(default_factory=set)

    def spawn(self, key: tuple[str, int], coro: Coroutine[Any, Any, None]) -> bool:
        if key in self.keys:
            coro.close()
            return False
        self.keys.add(key)
        task = asyncio.create_task(coro, name=f"pikabot-{key[0]}-{key[1]}")
        self.running.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.running.discard(t)
            self.keys.discard(key)
            if not t.cancelled() and t.exception() is not None:
                log.error("background %s for job %s crashed", key[0], key[1], exc_info=t.exception())

        task.add_done_callback(done)
        return True


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
        self.store = store
        self.metrics = metrics or Metrics()
        self.providers = providers
        self.scheduler = scheduler
        self.delivery = delivery
        self.downloader = downloader
        self.settings = settings
        self._clock = clock
        self._locks = _KeyedLocks()
        self._tasks = _Tasks()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._poll_slots = asyncio.Semaphore(settings.max_parallel_polls)
        self._member_locks: dict[int, asyncio.Lock] = {}
        self._run_times: list[float] = []
        self._run_times_at = float("-inf")
        self._shown_positions: dict[int, int] = {}
        self._started_at = float("inf")  # until recover(): every unplaced job counts as new
        self._cadence = PollCadence(
            settings.poll_interval, settings.callback_grace, settings.callbacks_enabled
        )
        self._sweep = ExecutingSweep(providers, store, self.metrics, settings.poll_interval, clock)

    # -- public API ---------------------------------------------------------------------------

    async def submit(
        self, request: JobRequest, *, announce: bool = False, limits: MemberLimits | None = None
    ) -> Job:
        """Validate, store as queued and wake the scheduler. Raises PromptError on bad input.

        With `announce`, the presentation pipeline posts its status message and thread beside the
        work (never before it); a result that is ready first waits for them.
        """
        provider = self._provider(request.provider)
        check_declared(provider, request)
        provider.check(request)
        job = await self._admit(request, limits=limits, announce=announce)
        crashpoint("job.stored")
        log.info("job %s queued (%s by %s)", job.id, job.kind.value, job.owner_id)
        self._wake.set()
        return job

    async def _admit(
        self,
        request: JobRequest,
        *,
        limits: MemberLimits | None,
        announce: bool,
        parent_id: int | None = None,
    ) -> Job:
        """Price the request, then check the member's limits and store it as queued."""
        request = replace(request, cost_usd=self._provider(request.provider).price_usd(request))
        async with self._member_lock(request.owner_id):
            # Checked and inserted under one lock, so two quick commands cannot both squeeze in.
            now = await self._check_limits(request.origin.guild_id, request.owner_id, limits)
            return await self.store.insert(request, now, parent_id=parent_id, placed=not announce)

    async def _check_limits(
        self, guild_id: int | None, owner_id: int, limits: MemberLimits | None = None
    ) -> float:
        """Raise LimitExceeded if the member may not start another job now; return the time checked.

        `limits` are the member's own (e.g. a role's override); by default the guild's are used.
        """
        now = self._clock()
        if limits is None:
            limits = self.settings.limits
            if guild_id is not None:
                limits = await self.store.guild_limits(guild_id, limits)
        usage = await self.store.member_usage(guild_id, owner_id, day_start(now))
        check_limits(limits, usage, now)
        return now

    def _member_lock(self, owner_id: int) -> asyncio.Lock:
        lock = self._member_locks.get(owner_id)
        if lock is None:
            if len(self._member_locks) > 10_000:  # unlocked ones are free to drop
                self._member_locks = {k: v for k, v in self._member_locks.items() if v.locked()}
            lock = self._member_locks[owner_id] = asyncio.Lock()
        return lock

    def present(self, job_id: int) -> None:
        """Post a new job's status message and thread now (the Discord layer has the member's
        interaction at hand); the loop's sweep covers any job this misses."""
        self._tasks.spawn(("place", job_id), self._place(job_id))

    async def retry(
        self, job_id: int, requester_id: int, *, announce: bool = False, limits: MemberLimits | None = None
    ) -> Job:
        """A new job with the same request; never changes the old one.

        A finished upstream job is re-run through Pika's own Retry button; anything else (a failed
        or moderated job) is sent again as a fresh job with the same prompt and images.
        """
        parent = await self.store.get(job_id)
        if parent is None:
            raise JobNotFound(job_id)
        if not parent.terminal and parent.state is not JobState.COMPLETED:
            raise NotRetryable(f"job {job_id} is still {parent.state.value}")
        use_button = (
            parent.upstream_id is not None
            and parent.state in (JobState.COMPLETED, JobState.DELIVERED)
            and self._provider(parent.provider).retries_upstream
        )
        inputs = () if use_button else await self.store.inputs(job_id)
        if not use_button and not inputs and parent.kind in (JobKind.ANIMATE, JobKind.ENCRYPT_IMAGE):
            raise NotRetryable(f"job {job_id}'s images are no longer stored; start a new job")
        kind = JobKind.RETRY if use_button else await self._root_kind(parent)
        # A follow-up (extend, upscale) is retried from the same source video, so it keeps that parent.
        parent_id = parent.parent_id if kind.follow_up else parent.id
        request = JobRequest(
            kind=kind,
            owner_id=requester_id,
            origin=parent.origin,
            prompt=parent.prompt,
            options=parent.options,
            message_text=parent.message_text,
            font=parent.font,
            inputs=inputs,
            provider=parent.provider,
            params=parent.params,
        )
        if not use_button:
            try:
                self._provider(parent.provider).check(request)
            except PromptError as error:
                raise NotRetryable(f"job {job_id} cannot be sent again: {error}") from None
        job = await self._admit(request, limits=limits, announce=announce, parent_id=parent_id)
        if use_button and parent.account:
            updated = await self.store.update(
                job.id, JobState.QUEUED, self._clock(), JobUpdate(account=parent.account)
            )
            job = updated or job
        self._wake.set()
        return job

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
        parent = await self.store.get(job_id)
        if parent is None:
            raise JobNotFound(job_id)
        if parent.state not in (JobState.COMPLETED, JobState.DELIVERED) or parent.video is None:
            raise NotRetryable(f"job {job_id} has no finished video to {kind.value}")
        provider = self._provider(parent.provider)
        if kind not in provider.capabilities.kinds:
            raise NotRetryable(f"{provider.display_name} cannot {kind.value} a video")
        request = JobRequest(
            kind=kind,
            owner_id=requester_id,
            origin=parent.origin,
            prompt=parent.prompt,
            options=parent.options,
            provider=parent.provider,
            params=parent.params,
        )
        job = await self._admit(request, limits=limits, announce=announce, parent_id=parent.id)
        self._wake.set()
        return job

    async def cancel(self, job_id: int) -> CancelOutcome:
        """Cancel a queued job locally, or a running one upstream."""
        outcome = CancelOutcome.NOT_FOUND

        async def work() -> None:
            nonlocal outcome
            outcome = await self._cancel_locked(job_id)

        await self._locks.run(job_id, work)
        return outcome

    async def handle_callback(self, job_id: int, hinted_upstream_id: str | None) -> None:
        """A callback arrived for a job: confirm with upstream in the background (never trust the body)."""
        self._tasks.spawn(
            ("confirm", job_id), self._locked(job_id, partial(self._confirm, job_id, hinted_upstream_id))
        )

    def display_name(self, provider: str) -> str:
        """How members see a provider's name, configured here or not ("fal.ai")."""
        return DISPLAY_NAMES.get(provider, provider)

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
        """Seconds until a job at `position` has its video, from recent run times; None without history.

        Jobs ahead leave in waves of the provider's slot count, each wave taking about the median run.
        """
        now = self._clock()
        if now - self._run_times_at > _RUN_TIMES_TTL:
            self._run_times = await self.store.recent_run_times(_RUN_TIMES_SAMPLE)
            self._run_times_at = now
        if not self._run_times:
            return None
        slots = sum(a.max_jobs for a in self.scheduler.accounts.values() if a.provider == job.provider) or 1
        waves = (position - 1) // slots + 1
        return (waves + 1) * statistics.median(self._run_times)

    async def _queue_moved(self) -> None:
        """Jobs left the queue: show the waiting ones their new place (the first few; edits are limited)."""
        ahead = await self.store.queued_in_order(_QUEUE_SHOWN)
        shown: dict[int, int] = {}
        for position, job in enumerate(ahead, start=1):
            shown[job.id] = position
            if self._shown_positions.get(job.id) != position:
                eta = await self.queue_eta(job, position)
                try:
                    await self.delivery.job_changed(job, position, eta)
                except Exception:
                    log.exception("queue update for job %s failed", job.id)
        self._shown_positions = shown

    async def recover(self) -> RecoveryReport:
        """Pick every unfinished job up again after a start; nothing is resent blindly."""
        now = self._clock()
        await asyncio.to_thread(_remove_partial_downloads, self.settings.media_dir)
        # Jobs not yet placed in Discord are picked up by the loop's placement sweep.
        self._started_at = now
        counts = dict.fromkeys(JobState, 0)
        for job in await self.store.unfinished():
            counts[job.state] += 1
            if job.state is JobState.SUBMITTING:
                # We may have crashed after sending: look for it upstream before anything else.
                await self.store.update(job.id, job.state, now, JobUpdate(next_attempt_at=now))
            elif job.state is JobState.RUNNING:
                # Callbacks may have been lost while we were down: ask upstream now.
                await self.store.update(job.id, job.state, now, JobUpdate(next_poll_at=now))
            elif job.state is JobState.COMPLETED:
                await self.store.update(job.id, job.state, now, JobUpdate(next_attempt_at=now))
        report = RecoveryReport(
            queued=counts[JobState.QUEUED],
            reconciling=counts[JobState.SUBMITTING],
            polling=counts[JobState.RUNNING],
            delivering=counts[JobState.COMPLETED],
        )
        log.info("recovered jobs: %s", report)
        self._wake.set()
        return report

    async def start(self) -> RecoveryReport:
        """Recover, then run the background loop."""
        report = await self.recover()
        self._loop_task = asyncio.create_task(self._run(), name="pikabot-engine")
        return report

    async def stop(self) -> None:
        """Stop the loop and wait for in-flight work (state is in SQLite; nothing is lost)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        tasks = list(self._tasks.running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def wake(self) -> None:
        """Look for due work now rather than at the next tick."""
        self._wake.set()

    # -- the loop -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("engine loop iteration failed; continuing")
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that races
            # with the wake-up, and stop() would then wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.tick):
                    await self._wake.wait()

    async def run_once(self) -> None:
        """One pass over everything that is due."""
        now = self._clock()
        await self._expire(now)
        await self._schedule(now)
        for job in await self.store.due_for_poll(now, 200):
            self._spawn_locked("poll", job.id, self._poll)
        if self.settings.callbacks_enabled:
            for name in self._sweep.due(now):
                self._tasks.spawn((f"list-{name}", 0), self._confirm_ended(name))
        for job in await self.store.due(JobState.SUBMITTING, now, 100):
            self._spawn_locked("reconcile", job.id, self._reconcile)
        for job in await self.store.due(JobState.COMPLETED, now, 100):
            self._spawn_locked("deliver", job.id, self._deliver)
        for job in await self.store.needing_notice(now, 100):
            self._spawn_locked("notify", job.id, self._notify)
        # The member's own interaction places a new job at once (present()); this sweep takes the
        # ones it missed: jobs from before a restart, or whose command handler failed midway.
        for job in await self.store.unplaced(max(now - _PLACE_GRACE, self._started_at), 50):
            self._tasks.spawn(("place", job.id), self._place(job.id))

    def _spawn_locked(self, what: str, job_id: int, work: Callable[[int], Awaitable[None]]) -> None:
        # A job whose lock is held is being worked on (e.g. its submit is in flight): skip it
        # this pass instead of queueing behind it.
        if self._locks.locked(job_id):
            return
        self._tasks.spawn((what, job_id), self._locked(job_id, partial(work, job_id)))

    async def _locked(self, job_id: int, work: Callable[[], Awaitable[None]]) -> None:
        await self._locks.run(job_id, work)

    async def _schedule(self, now: float) -> None:
        free = self.scheduler.free_slots(await self.store.active_by_account(), now)
        total = sum(free.values())
        if total == 0:
            return
        moved = False
        for job in await self.store.due_queued(now, max(total * 4, 20)):
            account = self.scheduler.choose(job, free)
            if account is None:
                continue
            # Claim the slot in SQLite before the POST, so the next pass counts it.
            claimed = await self.store.transition(
                job.id,
                JobState.SUBMITTING,
                now,
                JobUpdate(account=account.name, submitted_at=now),
                expected=(JobState.QUEUED,),
            )
            if claimed is None:
                continue
            free[account.name] -= 1
            moved = True
            self._tasks.spawn(("submit", job.id), self._locked(job.id, partial(self._send, claimed, account)))
            if sum(free.values()) == 0:
                break
        if moved:
            await self._queue_moved()

    # -- submitting ---------------------------------------------------------------------------

    async def _send(self, job: Job, account: Account) -> None:
        provider = self._provider(job.provider)
        token: str | None = None
        reply_url: str | None = None
        if self.settings.callbacks_enabled:
            token = secrets.token_urlsafe(32)
            reply_url = f"{self.settings.callback_base_url}/callbacks/{provider.name}/{token}"
        # The token's hash is committed before the request leaves, so even a callback that beats
        # the submit answer finds its job.
        stored = await self.store.update(
            job.id,
            JobState.SUBMITTING,
            self._clock(),
            JobUpdate(callback_token_hash=callback_token_hash(token) if token else None),
        )
        if stored is None:
            return
        parent_upstream_id = None
        parent_video_url = None
        if (job.kind is JobKind.RETRY or job.kind.follow_up) and job.parent_id is not None:
            parent = await self.store.get(job.parent_id)
            parent_upstream_id = parent.upstream_id if parent else None
            parent_video_url = parent.video.source_url if parent and parent.video else None
        request = SubmitRequest(
            job_id=job.id,
            kind=job.kind,
            prompt=job.prompt,
            options=job.options,
            account=account,
            reply_ref=reply_ref(job.id),
            reply_url=reply_url,
            message_text=job.message_text,
            font=job.font,
            inputs=await self.store.inputs(job.id),
            parent_upstream_id=parent_upstream_id,
            params=job.params,
            parent_video_url=parent_video_url,
        )
        crashpoint("submit.claimed")
        try:
            snapshot = await provider.submit(request)
        except UpstreamError as error:
            await self._submit_refused(stored, account, error)
            return
        except Exception as exc:
            # A bug or a prompt the provider refused late: fail the job visibly rather than loop.
            log.exception("submit of job %s raised", job.id)
            await self._finish_failed(
                stored, JobState.FAILED, "internal_error", f"could not send the job ({exc})"
            )
            return
        crashpoint("submit.sent")
        self.scheduler.mark_ok(account.name, self._clock())
        running = await self._adopt(job, snapshot)
        if running is None:
            return
        log.info("job %s running upstream as %s on %s", job.id, snapshot.upstream_id, account.name)
        await self._changed(running)
        if snapshot.status is not UpstreamStatus.RUNNING:
            await self._apply(running, snapshot)

    async def _resync(self, account: Account, executing: tuple[str, ...], now: float) -> None:
        """Upstream listed what it is running: any job of ours not in that list has ended there
        (its callback may be lost), so look at it now instead of at its next poll."""
        running_upstream = set(executing)
        for job in await self.store.running_on(account.name):
            if job.upstream_id and job.upstream_id not in running_upstream:
                await self.store.update(job.id, JobState.RUNNING, now, JobUpdate(next_poll_at=now))

    def _poll_delay(self, provider_name: str) -> float:
        """Until a running job's next per-job poll (see PollCadence), jittered so a batch spreads out."""
        return self.scheduler.jittered(self._cadence.base_delay(self._provider(provider_name)))

    async def _submit_refused(self, job: Job, account: Account, error: UpstreamError) -> None:
        now = self._clock()
        kind = error.kind
        self.scheduler.note_error(account.name, now, str(error))
        upstream = self._provider(job.provider).display_name
        if kind in (ErrorKind.ACCOUNT_FULL, ErrorKind.RATE_LIMITED, ErrorKind.OVERLOADED):
            if kind is ErrorKind.ACCOUNT_FULL:
                await self._resync(account, error.executing_jobs, now)
                delay = self.scheduler.busy_delay()
                note = f"waiting for a free Pika slot ({len(error.executing_jobs)} running)"
            elif kind is ErrorKind.RATE_LIMITED:
                delay = self.scheduler.rate_limited_delay(error.retry_after)
                note = f"{upstream} is being rate limited; waiting"
            else:
                delay = self.scheduler.policy.overloaded_delay
                note = f"{upstream} is overloaded; waiting a few minutes"
            self.scheduler.pause(account.name, now + delay)
            await self._requeue(job, now + delay, note, job.attempts)
        elif kind is ErrorKind.TRANSIENT:
            attempts = job.attempts + 1
            if attempts >= self.scheduler.policy.transient_max_attempts:
                await self._finish_failed(
                    job, JobState.FAILED, "upstream_unavailable", f"{upstream} kept failing: {error.message}"
                )
            else:
                delay = self.scheduler.transient_delay(attempts)
                await self._requeue(
                    job, now + delay, f"{upstream} had a problem; trying again ({attempts})", attempts
                )
        elif kind is ErrorKind.AMBIGUOUS:
            # It may have started upstream: look for it by replyRef; never send it again blindly.
            await self.store.update(
                job.id,
                JobState.SUBMITTING,
                now,
                JobUpdate(
                    attempts=0,
                    next_attempt_at=now + self.scheduler.policy.reconcile_delay,
                    error_code="ambiguous",
                    error_message=error.message,
                ),
            )
        elif kind in (ErrorKind.UNAUTHORIZED, ErrorKind.PAYMENT_REQUIRED):
            await self._account_refused(job, account, error, now)
        elif kind is ErrorKind.MODERATED:
            await self._finish_failed(
                job,
                JobState.MODERATED,
                "moderated",
                _join(error.message, error.details),
                upstream_id=error.upstream_id,
            )
        else:
            await self._finish_failed(job, JobState.FAILED, kind.value, _join(error.message, error.details))

    async def _account_refused(self, job: Job, account: Account, error: UpstreamError, now: float) -> None:
        """401/402: the account is unusable. Admins are told once; the job moves to another account
        of the same provider, or fails with a clear reason when there is none."""
        upstream = self._provider(job.provider).display_name
        what = (
            "its token was refused (401)"
            if error.kind is ErrorKind.UNAUTHORIZED
            else "payment required (402)"
        )
        if self.scheduler.mark_unhealthy(account.name, now, f"{what}: {error.message}"):
            log.warning("%s account %s is unhealthy: %s", upstream, account.name, error)
            recheck = self.scheduler.policy.unhealthy_recheck
            try:
                await self.delivery.alert_admins(
                    f"⚠️ {upstream} account `{account.name}` stopped taking jobs: {what}. Its jobs go to the "
                    f"other accounts; it is tried again in {recheck / 60:g} min. Check its token or "
                    "subscription."
                )
            except Exception:
                log.exception("alerting admins about account %s failed", account.name)
        if job.kind is not JobKind.RETRY and self.scheduler.any_usable(job.provider, now):
            await self._requeue(
                job, now, f"account {account.name} is unavailable; moving to another", job.attempts
            )
            return
        await self._finish_failed(
            job,
            JobState.FAILED,
            error.kind.value,
            f"{upstream} refused the bot's account ({what}); the bot's admins have been told. Try again later.",
        )

    async def _requeue(self, job: Job, when: float, note: str, attempts: int) -> None:
        requeued = await self.store.transition(
            job.id,
            JobState.QUEUED,
            self._clock(),
            JobUpdate(next_attempt_at=when, progress=note, attempts=attempts),
            expected=(JobState.SUBMITTING,),
        )
        if requeued is not None:
            await self._changed(requeued)

    # -- following ---------------------------------------------------------------------------

    async def _poll(self, job_id: int) -> None:
        job = await self.store.get(job_id)
        if job is None or job.state is not JobState.RUNNING or job.upstream_id is None:
            return
        async with self._poll_slots:
            try:
                snapshot = await self._provider(job.provider).fetch(job.upstream_id, job.upstream_handle)
            except UpstreamError as error:
                await self._poll_failed(job, error)
                return
        await self._apply(job, snapshot)

    async def _poll_failed(self, job: Job, error: UpstreamError) -> None:
        now = self._clock()
        upstream = self._provider(job.provider).display_name
        if error.kind is ErrorKind.NOT_FOUND:
            await self._finish_failed(
                job, JobState.FAILED, "lost_upstream", f"{upstream} no longer knows this job"
            )
            return
        failures = job.attempts + 1
        if failures >= self.scheduler.policy.poll_failures_max:
            await self._finish_failed(
                job, JobState.FAILED, "upstream_unavailable", f"{upstream} kept failing: {error.message}"
            )
            return
        delay = self.scheduler.jittered(self.settings.poll_interval) * 2
        await self.store.update(
            job.id, JobState.RUNNING, now, JobUpdate(next_poll_at=now + delay, attempts=failures)
        )

    async def _confirm_ended(self, provider_name: str) -> None:
        """One executing-list request; every running job missing from it is confirmed like a callback."""
        for job in await self._sweep.ended(provider_name):
            self._spawn_locked("confirm", job.id, partial(self._confirm, hinted_upstream_id=None))

    async def _confirm(self, job_id: int, hinted_upstream_id: str | None) -> None:
        job = await self.store.get(job_id)
        if job is None:
            return
        provider = self._provider(job.provider)
        upstream_id = job.upstream_id
        if job.state is JobState.SUBMITTING:
            # The callback beat (or replaced) the submit answer: adopt the upstream job only if
            # upstream itself says it carries our replyRef.
            upstream_id = hinted_upstream_id
        elif job.state is not JobState.RUNNING:
            return
        if not upstream_id:
            return
        try:
            snapshot = await provider.fetch(upstream_id, job.upstream_handle)
        except UpstreamError as error:
            if job.state is JobState.RUNNING:
                now = self._clock()
                await self.store.update(job.id, JobState.RUNNING, now, JobUpdate(next_poll_at=now))
            log.info("confirming callback for job %s failed: %s", job.id, error)
            return
        if job.state is JobState.SUBMITTING:
            if snapshot.reply_ref != reply_ref(job.id):
                log.warning("callback for job %s names upstream job %s of someone else", job.id, upstream_id)
                return
            adopted = await self._adopt(job, snapshot)
            if adopted is None:
                return
            job = adopted
        await self._apply(job, snapshot)

    async def _adopt(self, job: Job, snapshot: UpstreamJob) -> Job | None:
        """submitting -> running with the upstream job's id (from the submit answer, a callback or
        reconciliation; whichever comes first wins the compare-and-set)."""
        now = self._clock()
        return await self.store.transition(
            job.id,
            JobState.RUNNING,
            now,
            JobUpdate(
                upstream_id=snapshot.upstream_id,
                upstream_handle=snapshot.handle,
                next_poll_at=now + self._poll_delay(job.provider),
                attempts=0,
                progress=snapshot.progress,
            ),
            expected=(JobState.SUBMITTING,),
        )

    async def _reconcile(self, job_id: int) -> None:
        job = await self.store.get(job_id)
        if job is None or job.state is not JobState.SUBMITTING:
            return
        now = self._clock()
        try:
            found = await self._provider(job.provider).find_by_ref(reply_ref(job.id))
        except UpstreamError as error:
            log.info("reconciling job %s: %s", job.id, error)
            await self.store.update(
                job.id, JobState.SUBMITTING, now, JobUpdate(next_attempt_at=now + self.settings.poll_interval)
            )
            return
        if found is not None:
            adopted = await self._adopt(job, found)
            if adopted is not None:
                log.info("job %s reconciled: upstream %s", job.id, found.upstream_id)
                await self._apply(adopted, found)
            return
        checks = job.attempts + 1
        if checks >= self.scheduler.policy.reconcile_checks:
            upstream = self._provider(job.provider).display_name
            await self._finish_failed(
                job,
                JobState.FAILED,
                "outcome_unknown",
                f"pikabot lost the answer from {upstream} while sending this job and could not find it "
                "there; it was not sent again, so you are not charged twice. Press Retry to try again.",
            )
            return
        wait = max(self.settings.poll_interval, self.scheduler.policy.reconcile_delay)
        await self.store.update(
            job.id, JobState.SUBMITTING, now, JobUpdate(attempts=checks, next_attempt_at=now + wait)
        )

    async def _apply(self, job: Job, snapshot: UpstreamJob) -> None:
        """Act on a confirmed upstream snapshot of a running job."""
        now = self._clock()
        if snapshot.status is UpstreamStatus.RUNNING:
            updated = await self.store.update(
                job.id,
                JobState.RUNNING,
                now,
                JobUpdate(
                    progress=snapshot.progress,
                    next_poll_at=now + self._poll_delay(job.provider),
                    attempts=0,
                ),
            )
            if updated is not None and updated.progress != job.progress:
                await self._changed(updated)
            return
        if snapshot.status is UpstreamStatus.COMPLETED:
            await self._complete(job, snapshot)
            return
        state = _FAILURE_STATE[snapshot.status]
        reason = (
            _join(snapshot.error, snapshot.error_details) or f"Pika reported the job {snapshot.status.value}"
        )
        await self._finish_failed(job, state, snapshot.status.value, reason, expected=(JobState.RUNNING,))

    async def _complete(self, job: Job, snapshot: UpstreamJob) -> None:
        assert snapshot.video is not None
        self.settings.media_dir.mkdir(parents=True, exist_ok=True)
        error: DownloadError | None = None
        video: DownloadedVideo | None = None
        for attempt in range(self.scheduler.policy.download_attempts):
            try:
                video = await self.downloader.download(
                    snapshot.video.url,
                    self.settings.media_dir,
                    f"job-{job.id}.mp4",
                    max_bytes=self.settings.max_video_bytes,
                )
                break
            except DownloadError as exc:
                error = exc
                if not exc.transient:
                    break
                await asyncio.sleep(min(2.0**attempt, 5.0))
        if video is None:
            assert error is not None
            if error.transient:
                # The link may work again, or upstream may hand out a fresh one: poll again later.
                now = self._clock()
                await self.store.update(
                    job.id, JobState.RUNNING, now, JobUpdate(next_poll_at=now + self.settings.poll_interval)
                )
                log.warning("job %s: download failed for now: %s", job.id, error.message)
                return
            await self._finish_failed(
                job, JobState.FAILED, "download_failed", f"the video could not be fetched: {error.message}"
            )
            return
        crashpoint("download.done")
        result = VideoResult(
            path=str(video.path),
            size=video.size,
            filename=snapshot.video.filename or video.filename,
            content_type=video.content_type,
            source_url=snapshot.video.url,
            seed=snapshot.seed,
        )
        now = self._clock()
        completed = await self.store.transition(
            job.id,
            JobState.COMPLETED,
            now,
            JobUpdate(video=result, next_attempt_at=now, progress=snapshot.progress, delivery_attempts=0),
            expected=(JobState.RUNNING,),
        )
        if completed is None:
            return
        log.info("job %s completed (%d bytes)", job.id, result.size)
        self._wake.set()  # a slot is free
        if not completed.placed:
            # The result waits, durably, for its thread; placing the job wakes the loop to post it.
            crashpoint("complete.unplaced")
            return
        await self._deliver_job(completed)

    # -- presentation ------------------------------------------------------------------------

    async def _place(self, job_id: int) -> None:
        """Post the job's status message and thread, record them once, then show its current state."""
        job = await self.store.get(job_id)
        if job is None or job.placed:
            return
        position = await self.store.queue_position(job.id) if job.state is JobState.QUEUED else None
        eta = await self.queue_eta(job, position) if position else None
        try:
            where = await self.delivery.place_job(job, position, eta)
        except Exception:
            # Nowhere to show it: the result and notices go to the channel it was asked in.
            log.exception("placing job %s failed; its result goes to its channel", job.id)
            where = JobPlacement()
        crashpoint("place.posted")
        placed = await self.store.place(
            job.id, self._clock(), thread_id=where.thread_id, status_message_id=where.status_message_id
        )
        if placed is None:
            return
        self._wake.set()  # a result or notice may have been waiting for this
        try:
            await self.delivery.job_placed(placed)
        except Exception:
            log.exception("telling the member where job %s is failed", job.id)
        if placed.state is not job.state or placed.progress != job.progress:
            await self._changed(placed)

    # -- finishing ----------------------------------------------------------------------------

    async def _deliver(self, job_id: int) -> None:
        job = await self.store.get(job_id)
        if job is not None and job.state is JobState.COMPLETED:
            await self._deliver_job(job)

    async def _deliver_job(self, job: Job) -> None:
        assert job.video is not None
        now = self._clock()
        crashpoint("deliver.before")
        try:
            receipt = await self.delivery.deliver_result(job, job.video)
        except Exception as exc:
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            if not isinstance(exc, DeliveryError):
                log.exception("delivering job %s raised", job.id)
            attempts = job.delivery_attempts + 1
            if permanent or attempts >= self.scheduler.policy.delivery_max_attempts:
                await self._finish_failed(
                    job,
                    JobState.FAILED,
                    "delivery_failed",
                    f"the video was made but could not be posted: {exc}",
                )
            else:
                await self.store.update(
                    job.id,
                    JobState.COMPLETED,
                    now,
                    JobUpdate(
                        delivery_attempts=attempts,
                        next_attempt_at=now + self.scheduler.delivery_delay(attempts),
                    ),
                )
            return
        crashpoint("deliver.posted")
        delivered = await self.store.transition(
            job.id,
            JobState.DELIVERED,
            self._clock(),
            JobUpdate(delivered_message_id=receipt.message_id, notified=True),
            expected=(JobState.COMPLETED,),
        )
        if delivered is not None:
            log.info("job %s delivered", job.id, extra=job_extra(job.id, job.origin.guild_id))
            self.metrics.job_finished(JobState.DELIVERED.value)
            self.metrics.video_delivered(
                (delivered.finished_at or delivered.updated_at) - delivered.created_at
            )
            await self._forget_files(delivered)

    async def _finish_failed(
        self,
        job: Job,
        state: JobState,
        code: str,
        message: str,
        *,
        upstream_id: str | None = None,
        expected: tuple[JobState, ...] | None = None,
    ) -> None:
        finished = await self.store.transition(
            job.id,
            state,
            self._clock(),
            JobUpdate(error_code=code, error_message=message[:1000], upstream_id=upstream_id),
            expected=expected or (job.state,),
        )
        if finished is None:
            return
        self.metrics.job_finished(state.value)
        log.info(
            "job %s ended %s: %s", job.id, state.value, code, extra=job_extra(job.id, job.origin.guild_id)
        )
        self._wake.set()
        if finished.placed:  # otherwise the notice follows once the status message is there
            await self._notify_job(finished)
        await self._forget_files(finished)

    async def _notify(self, job_id: int) -> None:
        job = await self.store.get(job_id)
        if job is not None and job.needs_notice:
            await self._notify_job(job)

    async def _notify_job(self, job: Job) -> None:
        now = self._clock()
        try:
            receipt = await self.delivery.deliver_notice(job)
        except Exception as exc:
            if not isinstance(exc, DeliveryError):
                log.exception("notice for job %s raised", job.id)
            attempts = job.delivery_attempts + 1
            give_up = (isinstance(exc, DeliveryError) and exc.permanent) or (
                attempts >= self.scheduler.policy.delivery_max_attempts
            )
            if give_up:
                log.error("job %s: member could not be told it ended %s: %s", job.id, job.state.value, exc)
            await self.store.update(
                job.id,
                job.state,
                now,
                JobUpdate(
                    delivery_attempts=attempts,
                    notified=True if give_up else None,
                    next_attempt_at=now + self.scheduler.delivery_delay(attempts),
                ),
            )
            return
        await self.store.update(
            job.id, job.state, now, JobUpdate(notified=True, delivered_message_id=receipt.message_id)
        )

    async def _forget_files(self, job: Job) -> None:
        """Terminal jobs keep neither their input images nor their downloaded video."""
        await self.store.delete_inputs(job.id)
        if job.video is not None and job.video.path:
            await asyncio.to_thread(Path(job.video.path).unlink, missing_ok=True)

    async def _expire(self, now: float) -> None:
        for job in await self.store.overdue(now - self.settings.timeout, 100):
            self._spawn_locked("expire", job.id, self._expire_one)

    async def _expire_one(self, job_id: int) -> None:
        job = await self.store.get(job_id)
        if job is None or job.state not in (JobState.SUBMITTING, JobState.RUNNING):
            return
        minutes = self.settings.timeout / 60
        await self._finish_failed(
            job,
            JobState.EXPIRED,
            "timeout",
            f"Pika did not finish this job within {minutes:g} minutes",
            expected=(JobState.SUBMITTING, JobState.RUNNING),
        )
        if job.upstream_id:
            # Free the upstream slot; failure here only costs the slot until upstream gives up.
            try:
                await self._provider(job.provider).cancel(job.upstream_id, job.upstream_handle)
            except UpstreamError as error:
                log.info("cancelling expired job %s upstream: %s", job.id, error)

    async def _cancel_locked(self, job_id: int) -> CancelOutcome:
        job = await self.store.get(job_id)
        if job is None:
            return CancelOutcome.NOT_FOUND
        if job.state is JobState.QUEUED:
            await self._finish_failed(job, JobState.CANCELLED, "cancelled", "cancelled before it started")
            return CancelOutcome.CANCELLED
        if job.state in (JobState.RUNNING, JobState.SUBMITTING) and job.upstream_id:
            try:
                await self._provider(job.provider).cancel(job.upstream_id, job.upstream_handle)
            except UpstreamError as error:
                if error.kind is not ErrorKind.NOT_FOUND:
                    return CancelOutcome.UPSTREAM_REFUSED
            await self._finish_failed(
                job, JobState.CANCELLED, "cancelled", "cancelled while Pika was working on it"
            )
            return CancelOutcome.CANCELLED
        if job.state is JobState.SUBMITTING:
            return CancelOutcome.UPSTREAM_REFUSED
        return CancelOutcome.ALREADY_FINISHED

    # -- helpers ------------------------------------------------------------------------------

    async def _changed(self, job: Job) -> None:
        position = await self.store.queue_position(job.id) if job.state is JobState.QUEUED else None
        eta = await self.queue_eta(job, position) if position is not None else None
        try:
            await self.delivery.job_changed(job, position, eta)
        except Exception:
            # Progress display is best effort; the job's outcome does not depend on it.
            log.exception("progress update for job %s failed", job.id)

    def _provider(self, name: str) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise LookupError(f"provider {name!r} is not configured") from None

    async def _root_kind(self, job: Job) -> JobKind:
        current = job
        while current.kind is JobKind.RETRY and current.parent_id is not None:
            parent = await self.store.get(current.parent_id)
            if parent is None:
                break
            current = parent
        return current.kind if current.kind is not JobKind.RETRY else JobKind.CREATE


def check_declared(provider: Provider, request: JobRequest) -> None:
    """Refuse a kind or an option the provider does not declare, naming it (PromptError)."""
    name = provider.display_name
    if request.kind not in provider.capabilities.kinds:
        raise PromptError(f"{name} cannot run {request.kind.value} jobs", field="kind")
    for option in sorted(request.params.given() - provider.capabilities.params):
        raise PromptError(
            f"{name} does not take the `{option.value}` option here; remove it and try again",
            field=option.value,
        )


_RUN_TIMES_SAMPLE = 20  # recent deliveries the ETA is the median of
_RUN_TIMES_TTL = 30.0  # seconds between refreshes of that sample
_PLACE_GRACE = 5.0  # seconds a new job's own command handler has to place it before the sweep does
_QUEUE_SHOWN = 10  # queued jobs whose status is edited when the queue moves; the rest wait their turn


def _remove_partial_downloads(media_dir: Path) -> None:
    """A download cut short by a crash leaves a temporary file; the job downloads again anyway."""
    if media_dir.is_dir():
        for partial in media_dir.glob(".download-*.part"):
            partial.unlink(missing_ok=True)


def _join(message: str | None, details: str | None) -> str:
    if message and details:
        return f"{message}: {details}"
    return message or details or ""
