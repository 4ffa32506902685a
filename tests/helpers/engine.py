"""The engine wired to real parts for tests: SQLite file, useapi simulator, webhook server, downloader.

Only Delivery is a test double (Discord arrives in the next layer): it records what the member
would see, so tests can assert "exactly one result per job" and "every failure was told".
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.jobs import Job, JobState, VideoResult
from bot.domain.limits import MemberLimits
from bot.domain.retry import RetryPolicy
from bot.engine.delivery import DeliveryError, DeliveryReceipt, JobPlacement
from bot.engine.download_policy import DownloadPolicy
from bot.engine.downloads import VideoDownloader
from bot.engine.scheduler import Scheduler
from bot.engine.service import EngineSettings, JobService
from bot.providers.base import Account, Provider
from bot.providers.useapi import Timeouts, UseapiPikaProvider
from bot.store import Database, JobStore
from bot.store.leases import LeaseOwner
from bot.web.webhooks import WebhookServer
from sandbox.useapi_sim import RecordedRequest, RunningSimulator, SimConfig, start_simulator

# Engine tests submit batches for one member; the per-member limits have their own tests.
NO_LIMITS = MemberLimits(in_flight=1000, per_day=0, cooldown=0)

FAST_POLICY = RetryPolicy(
    busy_min=0.2,
    busy_max=0.4,
    overloaded_delay=0.5,
    transient_base=0.1,
    transient_cap=0.5,
    reconcile_delay=0.2,
    delivery_base=0.05,
    delivery_cap=0.2,
)


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1 (for servers whose URL must be known first)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Delivered:
    """One result the member would see."""

    job_id: int
    message_id: int
    size: int
    head: bytes


@dataclass
class RecordingDelivery:
    """A Delivery that records results, notices and progress; can be told to fail."""

    results: list[Delivered] = field(default_factory=list)
    notices: list[Job] = field(default_factory=list)
    progress: list[tuple[int, JobState, str | None, int | None]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    guild_alerts: list[tuple[int, str]] = field(default_factory=list)
    placed: list[int] = field(default_factory=list)
    status_ids: dict[int, int] = field(default_factory=dict)  # the status message posted per job
    fail_next: int = 0
    permanent: bool = False
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    async def deliver_result(self, job: Job, video: VideoResult) -> DeliveryReceipt:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise DeliveryError("emulated Discord outage", permanent=self.permanent)
        data = await asyncio.to_thread(Path(video.path).read_bytes)
        message_id = next(self._ids)
        self.results.append(Delivered(job.id, message_id, len(data), data[:12]))
        return DeliveryReceipt(message_id)

    async def deliver_notice(self, job: Job) -> DeliveryReceipt:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise DeliveryError("emulated Discord outage", permanent=self.permanent)
        self.notices.append(job)
        return DeliveryReceipt(next(self._ids))

    async def place_job(self, job: Job, queue_position: int | None, eta: float | None) -> JobPlacement:
        self.placed.append(job.id)
        self.status_ids[job.id] = next(self._ids)
        return JobPlacement(thread_id=None, status_message_id=self.status_ids[job.id])

    async def find_placement(self, job: Job) -> JobPlacement | None:
        status_id = self.status_ids.get(job.id)
        return None if status_id is None else JobPlacement(status_message_id=status_id)

    async def job_placed(self, job: Job) -> None:
        """Nobody to tell."""

    async def job_changed(self, job: Job, queue_position: int | None, eta: float | None = None) -> None:
        self.progress.append((job.id, job.state, job.progress, queue_position))

    async def alert_admins(self, text: str) -> None:
        self.alerts.append(text)

    async def alert_guild_admins(self, guild_id: int, text: str) -> None:
        self.guild_alerts.append((guild_id, text))

    def result_ids(self) -> list[int]:
        return [r.job_id for r in self.results]

    def notice_ids(self) -> list[int]:
        return [j.id for j in self.notices]


@dataclass
class Engine:
    """A running engine and the parts around it."""

    service: JobService
    store: JobStore
    db: Database
    sim: RunningSimulator
    delivery: RecordingDelivery
    provider: UseapiPikaProvider
    downloader: VideoDownloader
    webhooks: WebhookServer | None
    tmp_path: Path

    async def wait_until(self, predicate: Callable[[list[Job]], bool], timeout: float = 20.0) -> list[Job]:
        """Wait until the jobs in SQLite satisfy `predicate`; fail with their states if they never do."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            jobs = await self.store.all_jobs()
            if predicate(jobs):
                return jobs
            if loop.time() > deadline:
                states = {j.id: (j.state.value, j.error_code, j.progress) for j in jobs}
                raise AssertionError(f"condition not reached in {timeout}s; jobs: {states}")
            await asyncio.sleep(0.02)

    async def wait_all_terminal(self, timeout: float = 20.0) -> list[Job]:
        """Wait until every job has ended and its member was told."""
        return await self.wait_until(
            lambda jobs: (
                bool(jobs) and all(j.terminal and (j.notified or j.state is JobState.DELIVERED) for j in jobs)
            ),
            timeout,
        )

    async def stop(self, *, keep_sim: bool = False) -> None:
        """Stop the engine (and the simulator unless `keep_sim`)."""
        await self.service.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()
        await self.provider.close()
        await self.downloader.close()
        await self.db.close()
        if not keep_sim:
            await self.sim.close()


async def start_engine(
    tmp_path: Path,
    *,
    callbacks: bool = True,
    max_jobs: int = 3,
    poll_interval: float = 1.0,
    timeout: float = 60.0,
    callback_grace: float = 30.0,
    sim: RunningSimulator | None = None,
    sim_config: SimConfig | None = None,
    delivery: RecordingDelivery | None = None,
    policy: RetryPolicy = FAST_POLICY,
    channel: str | None = "1183508299895820390",
    submit_timeout: float | None = None,
    read_timeout: float | None = None,
    token: str | None = None,
    limits: MemberLimits = NO_LIMITS,
    db_path: Path | None = None,
    owner: LeaseOwner | None = None,
    lease: float = 30.0,
) -> Engine:
    """Start the simulator (unless given), the store, the webhook server and the service.

    Two engines given one `db_path` (and one `sim`) are two processes sharing a database.
    """
    running_sim = sim or await start_simulator(sim_config or SimConfig())
    db = await Database.open(db_path or tmp_path / "pikabot.sqlite3")
    store = JobStore(db, owner)
    timeouts = Timeouts(submit_total=submit_timeout or 90.0, read_total=read_timeout or 30.0)
    provider = UseapiPikaProvider(
        running_sim.base_url, token or running_sim.sim.config.api_token, timeouts=timeouts
    )
    downloader = VideoDownloader(
        DownloadPolicy(allowed_hosts=frozenset({"127.0.0.1"}), max_bytes=10 * 1024 * 1024)
    )
    recorder = delivery or RecordingDelivery()
    webhooks: WebhookServer | None = None
    port = free_port() if callbacks else 0
    settings = EngineSettings(
        media_dir=tmp_path / "media",
        poll_interval=poll_interval,
        timeout=timeout,
        callback_grace=callback_grace,
        callback_base_url=f"http://127.0.0.1:{port}" if callbacks else None,
        tick=0.05,
        limits=limits,
        lease=lease,
    )
    account = Account(name=channel or "default", channel=channel, max_jobs=max_jobs)
    service = JobService(
        store, {"useapi": provider}, Scheduler([account], policy), recorder, downloader, settings
    )
    if callbacks:
        webhooks = WebhookServer(service, "127.0.0.1", port)
        await webhooks.start()
    await service.start()
    return Engine(service, store, db, running_sim, recorder, provider, downloader, webhooks, tmp_path)


@dataclass
class ProviderEngine:
    """A JobService over one provider (any of them), without a webhook server: polling only."""

    service: JobService
    store: JobStore
    delivery: RecordingDelivery
    _db: Database
    _downloader: VideoDownloader
    _provider: Provider

    async def wait_told(self, job_id: int, timeout: float = 5.0) -> Job:
        """Wait until the job ended and its member was told; return it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            job = await self.store.get(job_id)
            if job is not None and job.terminal and job.notified:
                return job
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"job {job_id} was not told in time: {job}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop the loop and close everything this engine opened."""
        await self.service.stop()
        await self._provider.close()
        await self._downloader.close()
        await self._db.close()


async def start_provider_engine(
    tmp_path: Path,
    provider: Provider,
    *,
    max_jobs: int = 2,
    timeout: float = 60.0,
    poll_interval: float = 0.2,
    callback_base_url: str | None = None,
    callback_grace: float = 0,
) -> ProviderEngine:
    """An engine whose only upstream is `provider` (one account of `max_jobs`), polling every 0.2 s.

    With `callback_base_url` it runs as if callbacks were on (no webhook server: for dropped ones).
    """
    db = await Database.open(tmp_path / "pikabot.sqlite3")
    store = JobStore(db)
    downloader = VideoDownloader(DownloadPolicy(allowed_hosts=frozenset({"127.0.0.1"}), max_bytes=1 << 20))
    await downloader.start()
    delivery = RecordingDelivery()
    settings = EngineSettings(
        media_dir=tmp_path / "media",
        poll_interval=poll_interval,
        timeout=timeout,
        callback_grace=callback_grace,
        callback_base_url=callback_base_url,
        tick=0.05,
        limits=NO_LIMITS,
    )
    account = Account(provider.name, None, max_jobs, provider=provider.name)
    service = JobService(
        store, {provider.name: provider}, Scheduler([account], FAST_POLICY), delivery, downloader, settings
    )
    await service.start()
    return ProviderEngine(service, store, delivery, db, downloader, provider)


def is_listing(request: RecordedRequest) -> bool:
    """A GET pika/jobs asking for the executing list (not one job)."""
    return request.method == "GET" and request.path.rstrip("/") == "/v1/pika/jobs" and not request.query


def is_job_fetch(request: RecordedRequest) -> bool:
    """A GET pika/jobs/?jobid= fetching one job."""
    return (
        request.method == "GET" and request.path.rstrip("/") == "/v1/pika/jobs" and "jobid" in request.query
    )
