"""What ``pikabot jobs`` does: list, show, retry and cancel jobs in the running bot's database.

The operator's shell and the running bot share one database: a SQLite file (WAL: readers never
block it) or a PostgreSQL server. Every action opens the bot's own assembly (Runtime.open) without
its loop or webhook server, so retry and cancel go through the same JobService, providers and rules
as the bot's; its loop is never started: the running bot's loop schedules what we queue and posts
the notices, so a member hears about an operator's cancel exactly as about their own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.domain.jobs import Job, JobState, VideoResult
from bot.engine.delivery import DeliveryError, DeliveryReceipt, JobPlacement
from bot.engine.service import CancelOutcome, JobNotFound, JobService
from bot.runtime import Runtime
from bot.store import JobStore
from bot.store.job_rows import JobEvent

__all__ = [
    "CancelReport",
    "DatabaseNotFound",
    "InputSummary",
    "JobDetails",
    "JobQuery",
    "OperatorDelivery",
    "cancel_job",
    "format_age",
    "format_job_details",
    "format_job_table",
    "format_utc",
    "job_details",
    "list_jobs",
    "open_runtime",
    "retry_job",
]


class DatabaseNotFound(FileNotFoundError):
    """The configured database file does not exist (wrong --config, or the bot never ran here)."""


@dataclass(frozen=True)
class JobQuery:
    """Which jobs ``jobs list`` shows: optional state and owner filters, newest first, at most `limit`."""

    state: JobState | None = None
    owner_id: int | None = None
    limit: int = 20


@dataclass(frozen=True)
class InputSummary:
    """One stored input image, without its bytes (or its URL, which is the member's upload)."""

    form_field: str
    filename: str
    content_type: str
    size: int
    by_url: bool


@dataclass(frozen=True)
class JobDetails:
    """Everything ``jobs show`` prints about one job."""

    job: Job
    inputs: tuple[InputSummary, ...]
    events: tuple[JobEvent, ...]


@dataclass(frozen=True)
class CancelReport:
    """What ``jobs cancel`` achieved: the service's outcome and the job's state before and after."""

    job_id: int
    outcome: CancelOutcome
    before: Job | None
    after: Job | None

    @property
    def ok(self) -> bool:
        """True when the job is now cancelled because of this request."""
        return (
            self.outcome is CancelOutcome.CANCELLED
            and self.after is not None
            and self.after.state is JobState.CANCELLED
        )

    def describe(self) -> str:
        """The outcome in words, for the operator."""
        job_id, before, after = self.job_id, self.before, self.after
        if before is None or after is None or self.outcome is CancelOutcome.NOT_FOUND:
            return f"job {job_id} not found"
        if self.ok:
            if before.state is JobState.QUEUED:
                return f"job {job_id} cancelled before it started (it was queued); the member will be told"
            return (
                f"job {job_id} cancelled upstream at {after.provider} (it was {before.state.value}); "
                "the member will be told"
            )
        if self.outcome is CancelOutcome.CANCELLED:
            # The service's compare-and-set lost a race with the running bot, which moved the job on.
            return f"job {job_id} moved on to {after.state.value} before it could be cancelled; try again"
        if self.outcome is CancelOutcome.UPSTREAM_REFUSED:
            if after.upstream_id is None:
                return f"job {job_id} is being sent upstream right now; try again in a moment"
            return f"{after.provider} refused to cancel job {job_id}; it is still {after.state.value}"
        return f"job {job_id} is already {after.state.value}; nothing to cancel"


class OperatorDelivery:
    """A Delivery for a JobService without Discord: the running bot posts results and notices.

    Refusing (not silently accepting) a notice keeps the job marked "member not told yet", so the
    running bot's loop posts the notice a few seconds later; accepting it would mark it told.
    """

    async def deliver_result(self, job: Job, video: VideoResult) -> DeliveryReceipt:
        """Left to the running bot."""
        raise DeliveryError("results are posted by the running bot")

    async def deliver_notice(self, job: Job) -> DeliveryReceipt:
        """Left to the running bot."""
        raise DeliveryError("notices are posted by the running bot")

    async def place_job(self, job: Job, queue_position: int | None, eta: float | None) -> JobPlacement:
        """Operator jobs are stored placed; the running bot posts their results where they were asked."""
        return JobPlacement()

    async def find_placement(self, job: Job) -> JobPlacement | None:
        """Nothing was posted to find."""
        return None

    async def job_placed(self, job: Job) -> None:
        """Nobody to tell."""

    async def job_changed(self, job: Job, queue_position: int | None, eta: float | None = None) -> None:
        """Progress display is the running bot's."""

    async def alert_admins(self, text: str) -> None:
        """Admin alerts are the running bot's."""

    async def alert_guild_admins(self, guild_id: int, text: str) -> None:
        """Admin alerts are the running bot's."""


# --- assembly -------------------------------------------------------------------------------------


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The bot's own engine assembly on the configured database, without its loop or webhook
    server (the running bot's do that work); DatabaseNotFound rather than creating a SQLite file,
    DatabaseUnavailable when a database server cannot be reached."""
    target = settings.database.target
    if target.backend == "sqlite" and not await asyncio.to_thread(Path(target.path).is_file):
        raise DatabaseNotFound(f"database not found: {target.path} (is --config the bot's config file?)")
    runtime = await Runtime.open(settings, OperatorDelivery(), start_loop=False, serve_webhooks=False)
    try:
        yield runtime
    finally:
        await runtime.stop()


# --- the four actions -----------------------------------------------------------------------------


async def list_jobs(store: JobStore, query: JobQuery) -> list[Job]:
    """Jobs matching `query`, newest first."""
    return await store.newest(query.limit, state=query.state, owner_id=query.owner_id)


async def job_details(store: JobStore, job_id: int) -> JobDetails | None:
    """One job with its inputs and state history; None if there is no such job."""
    job = await store.get(job_id)
    if job is None:
        return None
    inputs = tuple(
        InputSummary(item.form_field, item.filename, item.content_type, item.size, item.url is not None)
        for item in await store.inputs(job_id)
    )
    return JobDetails(job, inputs, tuple(await store.events(job_id)))


async def retry_job(service: JobService, job_id: int) -> Job:
    """Queue a new job from `job_id` exactly as its owner's Retry button would; return the new job.

    Raises JobNotFound, NotRetryable, LimitExceeded (the owner's limits apply, as to the button) or
    LookupError (the job's provider is not configured).
    """
    parent = await service.store.get(job_id)
    if parent is None:
        raise JobNotFound(job_id)
    # Stored placed: no Discord interaction to announce it through; its result goes where the parent's did.
    return await service.retry(job_id, parent.owner_id)


async def cancel_job(service: JobService, job_id: int) -> CancelReport:
    """Cancel a queued job locally or a running one upstream (JobService.cancel), and report how it went.

    Raises LookupError if the job's provider is not configured.
    """
    before = await service.store.get(job_id)
    if before is None:
        return CancelReport(job_id, CancelOutcome.NOT_FOUND, None, None)
    outcome = await service.cancel(job_id)
    return CancelReport(job_id, outcome, before, await service.store.get(job_id))


# --- rendering ------------------------------------------------------------------------------------


def format_utc(timestamp: float) -> str:
    """``2025-01-31 12:00:00`` in UTC."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_age(seconds: float) -> str:
    """A short duration: ``42s``, ``5m``, ``3h 05m``, ``2d 4h``."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total}s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


_TABLE_HEADER = ("ID", "STATE", "KIND", "PROVIDER", "OWNER", "CREATED (UTC)", "AGE", "ERROR")


def format_job_table(jobs: Iterable[Job], now: float) -> str:
    """The ``jobs list`` table, one job per row, columns padded to fit."""
    rows = [
        (
            str(job.id),
            job.state.value,
            job.kind.value,
            job.provider,
            str(job.owner_id),
            format_utc(job.created_at),
            format_age(now - job.created_at),
            job.error_code or "-",
        )
        for job in jobs
    ]
    if not rows:
        return "no jobs match"
    widths = [max(len(row[i]) for row in (_TABLE_HEADER, *rows)) for i in range(len(_TABLE_HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (_TABLE_HEADER, *rows)
    ]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _field_lines(name: str, value: object, now: float) -> list[tuple[str, str]]:
    """``(label, text)`` pairs for one Job field; nested records are spread as ``origin.guild_id``."""
    if value is None:
        return [(name, "-")]
    if name.endswith("_at") and isinstance(value, int | float) and not isinstance(value, bool):
        return [(name, f"{format_utc(value)} UTC ({format_age(now - value)} ago)")]
    to_json = getattr(value, "to_json", None)
    if callable(to_json):  # PikaOptions, VideoParams: show what is set, as stored
        data = to_json()
        return [(name, json.dumps(data, sort_keys=True) if data else "(none)")]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        lines: list[tuple[str, str]] = []
        for inner in dataclasses.fields(value):
            lines += _field_lines(f"{name}.{inner.name}", getattr(value, inner.name), now)
        return lines
    if isinstance(value, str):
        return [(name, _one_line(value) if value else '""')]
    return [(name, str(value))]


def format_job_details(details: JobDetails, now: float) -> str:
    """The ``jobs show`` text: every Job field, the inputs (names and sizes) and the state history.

    The callback capability is not part of Job (only its hash is stored) and is never shown.
    """
    job = details.job
    pairs: list[tuple[str, str]] = []
    for column in dataclasses.fields(job):
        pairs += _field_lines(column.name, getattr(job, column.name), now)
    width = max(len(label) for label, _ in pairs)
    lines = [f"job {job.id}"]
    lines += [f"  {label.ljust(width)}  {text}" for label, text in pairs]
    lines.append("inputs:")
    if not details.inputs:
        lines.append("  (none)")
    for item in details.inputs:
        where = ", by URL" if item.by_url else ""
        size = f"{item.size:,} bytes" if item.size or not item.by_url else "bytes dropped"
        lines.append(f"  {item.form_field}: {_one_line(item.filename)} ({item.content_type}, {size}{where})")
    lines.append("history:")
    if not details.events:
        lines.append("  (none)")
    for event in details.events:
        source = event.from_state.value if event.from_state is not None else "(new)"
        lines.append(f"  {format_utc(event.at)} UTC  {source} -> {event.to_state.value}")
    return "\n".join(lines)
