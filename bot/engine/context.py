"""What the job service's parts share: its settings and collaborators, per-job locks, background tasks.

`JobService` builds one `EngineContext`; intake, the loop, submitting, tracking, finishing and
presentation each hold it (and the parts they call), never each other's private state.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bot.domain.limits import MemberLimits
from bot.engine.delivery import Delivery
from bot.engine.downloads import VideoDownloader
from bot.engine.lost_callbacks import PollCadence
from bot.engine.scheduler import Scheduler
from bot.observability.metrics import Metrics
from bot.providers.base import Provider
from bot.store import JobStore
from bot.store.leases import Pipeline

# Every part of the job service logs as it did when it was one module, so the log lines (and any
# operator's filter on this logger name) stay the same.
SERVICE_LOGGER = "bot.engine.service"

log = logging.getLogger(SERVICE_LOGGER)


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
    lease: float = 30.0  # how long a job stays with a process that stops renewing it (it died)
    max_parallel_polls: int = 16
    limits: MemberLimits = field(default_factory=MemberLimits)

    @property
    def callbacks_enabled(self) -> bool:
        """Whether upstream is asked to call us back."""
        return bool(self.callback_base_url)


def callback_token_hash(token: str) -> str:
    """How a callback capability is stored: only its SHA-256, so a leaked database leaks no URL."""
    return hashlib.sha256(token.encode()).hexdigest()


def reply_ref(job_id: int) -> str:
    """Our reference sent upstream as replyRef (the job id)."""
    return str(job_id)


def join_reason(message: str | None, details: str | None) -> str:
    """An upstream error's message and details as one reason for the member."""
    if message and details:
        return f"{message}: {details}"
    return message or details or ""


class KeyedLocks:
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
class Tasks:
    """Background tasks with strong references (the loop keeps only weak ones) and per-key dedupe."""

    running: set[asyncio.Task[object]] = field(default_factory=set)
    keys: set[tuple[str, int]] = field(default_factory=set)

    def spawn(self, key: tuple[str, int], coro: Coroutine[Any, Any, object]) -> bool:
        if key in self.keys:
            coro.close()
            return False
        self.keys.add(key)
        task = asyncio.create_task(coro, name=f"pikabot-{key[0]}-{key[1]}")
        self.running.add(task)

        def done(t: asyncio.Task[object]) -> None:
            self.running.discard(t)
            self.keys.discard(key)
            if not t.cancelled() and t.exception() is not None:
                log.error("background %s for job %s crashed", key[0], key[1], exc_info=t.exception())

        task.add_done_callback(done)
        return True


@dataclass
class EngineContext:
    """The one small state object the service's parts share.

    The collaborators are plain attributes, read at each use, so replacing one on `JobService`
    (tests swap the scheduler or the downloader) reaches every part.
    """

    store: JobStore
    providers: Mapping[str, Provider]
    scheduler: Scheduler
    delivery: Delivery
    downloader: VideoDownloader
    settings: EngineSettings
    metrics: Metrics
    clock: Callable[[], float]
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    tasks: Tasks = field(default_factory=Tasks)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    poll_slots: asyncio.Semaphore = field(init=False)
    cadence: PollCadence = field(init=False)

    def __post_init__(self) -> None:
        self.poll_slots = asyncio.Semaphore(self.settings.max_parallel_polls)
        self.cadence = PollCadence(
            self.settings.poll_interval, self.settings.callback_grace, self.settings.callbacks_enabled
        )

    def provider(self, name: str) -> Provider:
        """The configured provider `name`; LookupError when it is not configured."""
        try:
            return self.providers[name]
        except KeyError:
            raise LookupError(f"provider {name!r} is not configured") from None

    async def locked(self, job_id: int, work: Callable[[], Awaitable[None]], *, lease: bool = True) -> bool:
        """Run `work` holding job `job_id`'s lock and (with `lease`) its work lease, which keeps
        every other process off the job meanwhile; False if another process holds the lease."""
        ran = False

        async def leased() -> None:
            nonlocal ran
            leases = self.store.leases
            now = self.clock()
            if lease and not await leases.acquire(job_id, Pipeline.WORK, now, now + self.settings.lease):
                return
            ran = True
            try:
                await work()
            finally:
                if lease:
                    await self._release(job_id, Pipeline.WORK)

        await self.locks.run(job_id, leased)
        return ran

    async def _release(self, job_id: int, pipeline: Pipeline) -> None:
        try:
            await self.store.leases.release(job_id, pipeline)
        except Exception:
            # Not fatal: the lease runs out by itself, then any process takes the job again.
            log.warning("could not release job %s's %s lease", job_id, pipeline.name.lower(), exc_info=True)

    async def placing(self, job_id: int, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` holding job `job_id`'s placement lease; skipped while another process places it."""
        now = self.clock()
        if not await self.store.leases.acquire(job_id, Pipeline.PLACEMENT, now, now + self.settings.lease):
            return
        try:
            await work()
        finally:
            await self._release(job_id, Pipeline.PLACEMENT)

    def spawn_locked(self, what: str, job_id: int, work: Callable[[int], Awaitable[None]]) -> None:
        """Run `work(job_id)` in the background under the job's lock, unless the job is busy."""
        # A job whose lock is held is being worked on (e.g. its submit is in flight): skip it
        # this pass instead of queueing behind it.
        if self.locks.locked(job_id):
            return
        self.tasks.spawn((what, job_id), self.locked(job_id, partial(work, job_id)))

    def poll_delay(self, provider_name: str) -> float:
        """Until a running job's next per-job poll (see PollCadence), jittered so a batch spreads out."""
        return self.scheduler.jittered(self.cadence.base_delay(self.provider(provider_name)))
