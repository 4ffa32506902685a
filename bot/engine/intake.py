"""Intake: new jobs (submit, retry, follow-up) priced, limit-checked and stored; and cancelling.

A job is durable from its INSERT on: from there the loop takes it. Limits and budgets are checked
and the row inserted in one store transaction that takes turns per guild over every process
(JobStore.admit), so two quick commands cannot both squeeze in, on one machine or on several.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TypeVar

from bot.domain.budget import BudgetExceeded, check_budget
from bot.domain.jobs import InputFile, Job, JobKind, JobRequest, JobState
from bot.domain.limits import MemberLimits, day_start
from bot.domain.limits import check as check_limits
from bot.domain.params import VideoParams
from bot.domain.prompt import PikaOptions, PromptError
from bot.engine.budget import BudgetGuard
from bot.engine.context import EngineContext, log
from bot.engine.crashpoints import crashpoint
from bot.engine.finishing import Finishing
from bot.providers.base import ErrorKind, Provider, UpstreamError
from bot.store import JobUpdate, Standing

_Key = TypeVar("_Key", bound=Hashable)

# Kinds that cannot run without the member's images: a copy of one whose images are gone is refused.
_NEEDS_IMAGES = frozenset({JobKind.ANIMATE, JobKind.ENCRYPT_IMAGE, JobKind.SCENES, JobKind.FRAMES})


class CancelOutcome(StrEnum):
    """What a cancel request achieved."""

    CANCELLED = "cancelled"
    ALREADY_FINISHED = "already_finished"
    NOT_FOUND = "not_found"
    UPSTREAM_REFUSED = "upstream_refused"


class JobNotFound(LookupError):
    """No job has that id."""


@dataclass(frozen=True)
class Remix:
    """What a Remix changes in a job's request: who asks, the new prompt and its options."""

    requester_id: int
    prompt: str
    options: PikaOptions
    params: VideoParams
    ping: bool = True  # the requester's own choice (/pika defaults)


class NotRetryable(Exception):
    """The job cannot be retried (e.g. it is still running)."""


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


def _lock(locks: dict[_Key, asyncio.Lock], key: _Key) -> asyncio.Lock:
    """The lock for `key` in `locks`, made on first use."""
    lock = locks.get(key)
    if lock is None:
        if len(locks) > 10_000:  # unlocked ones are free to drop
            for idle in [k for k, v in locks.items() if not v.locked()]:
                del locks[idle]
        lock = locks[key] = asyncio.Lock()
    return lock


class Intake:
    """Admits new jobs and cancels them."""

    def __init__(self, ctx: EngineContext, finishing: Finishing) -> None:
        self._ctx = ctx
        self._finishing = finishing
        self._guild_locks: dict[int | None, asyncio.Lock] = {}
        self._budget = BudgetGuard(ctx)

    async def submit(self, request: JobRequest, *, announce: bool, limits: MemberLimits | None) -> Job:
        """Validate, store as queued and wake the scheduler. Raises PromptError on bad input."""
        provider = self._ctx.provider(request.provider)
        check_declared(provider, request)
        provider.check(request)
        job = await self._admit(request, limits=limits, announce=announce)
        crashpoint("job.stored")
        log.info("job %s queued (%s by %s)", job.id, job.kind.value, job.owner_id)
        self._ctx.wake.set()
        return job

    async def _admit(
        self,
        request: JobRequest,
        *,
        limits: MemberLimits | None,
        announce: bool,
        parent_id: int | None = None,
    ) -> Job:
        """Price the request, check the member's limits and the budgets, and store it as queued."""
        ctx = self._ctx
        request = replace(request, cost_usd=ctx.provider(request.provider).price_usd(request))
        guild_id, owner_id = request.origin.guild_id, request.owner_id
        now = ctx.clock()
        in_force = await self._limits_in_force(guild_id, limits)

        def check(standing: Standing) -> None:
            check_limits(in_force, standing.usage, now)
            if standing.spend is not None:
                check_budget(in_force, standing.spend, request.cost_usd, now)

        budgets = self._budget.applies(guild_id, in_force, request.cost_usd)
        try:
            # The store's admission takes turns per guild across processes; this lock queues the
            # guild's commands here first, so waiting ones do not each hold a database connection.
            async with _lock(self._guild_locks, guild_id):
                job = await ctx.store.admit(
                    request,
                    now,
                    check,
                    since=day_start(now),
                    budgets=budgets,
                    parent_id=parent_id,
                    placed=not announce,
                )
        except BudgetExceeded as refusal:
            # Alerts are sent after the admission: a Discord post must not hold up the guild's intake.
            if refusal.guild_wide and guild_id is not None:
                await self._budget.refused(guild_id, owner_id, in_force, request.cost_usd)
            raise
        await self._budget.admitted(guild_id, owner_id, in_force, now)
        return job

    async def _limits_in_force(self, guild_id: int | None, limits: MemberLimits | None) -> MemberLimits:
        """`limits` when given (e.g. a role's override), else the guild's (or the configured default)."""
        if limits is not None:
            return limits
        default = self._ctx.settings.limits
        return default if guild_id is None else await self._ctx.store.guild_limits(guild_id, default)

    async def retry(
        self, job_id: int, requester_id: int, *, announce: bool, limits: MemberLimits | None
    ) -> Job:
        """A new job with the same request; never changes the old one (see JobService.retry)."""
        ctx = self._ctx
        parent = await ctx.store.get(job_id)
        if parent is None:
            raise JobNotFound(job_id)
        if not parent.terminal and parent.state is not JobState.COMPLETED:
            raise NotRetryable(f"job {job_id} is still {parent.state.value}")
        use_button = (
            parent.upstream_id is not None
            and parent.state in (JobState.COMPLETED, JobState.DELIVERED)
            and ctx.provider(parent.provider).retries_upstream
        )
        kind = JobKind.RETRY if use_button else await self._root_kind(parent)
        inputs = () if use_button else await self._copied_inputs(job_id, kind)
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
            ping=parent.ping or requester_id != parent.owner_id,
        )
        if not use_button:
            try:
                ctx.provider(parent.provider).check(request)
            except PromptError as error:
                raise NotRetryable(f"job {job_id} cannot be sent again: {error}") from None
        job = await self._admit(request, limits=limits, announce=announce, parent_id=parent_id)
        if use_button and parent.account:
            updated = await ctx.store.update(
                job.id, JobState.QUEUED, ctx.clock(), JobUpdate(account=parent.account)
            )
            job = updated or job
        ctx.wake.set()
        return job

    async def remix(self, job_id: int, change: Remix, *, announce: bool, limits: MemberLimits | None) -> Job:
        """A new job like `job_id` (same kind, images, thread and other options) with the member's new
        prompt and options, linked to it as its parent (see JobService.remix)."""
        ctx = self._ctx
        parent = await ctx.store.get(job_id)
        if parent is None:
            raise JobNotFound(job_id)
        if parent.kind.follow_up:
            raise NotRetryable(f"job {job_id} was made from another video; remix that one instead")
        kind = await self._root_kind(parent)
        inputs = await self._copied_inputs(job_id, kind)
        request = JobRequest(
            kind=kind,
            owner_id=change.requester_id,
            origin=parent.origin,
            prompt=change.prompt,
            options=change.options,
            message_text=parent.message_text,
            font=parent.font,
            inputs=inputs,
            provider=parent.provider,
            params=change.params,
            ping=change.ping,
            remix=True,
        )
        provider = ctx.provider(parent.provider)
        check_declared(provider, request)
        provider.check(request)
        job = await self._admit(request, limits=limits, announce=announce, parent_id=parent.id)
        ctx.wake.set()
        return job

    async def follow_up(
        self, job_id: int, kind: JobKind, requester_id: int, *, announce: bool, limits: MemberLimits | None
    ) -> Job:
        """A new job made from job `job_id`'s finished video (extend, upscale), same prompt and options."""
        parent = await self._ctx.store.get(job_id)
        if parent is None:
            raise JobNotFound(job_id)
        if parent.state not in (JobState.COMPLETED, JobState.DELIVERED) or parent.video is None:
            raise NotRetryable(f"job {job_id} has no finished video to {kind.value}")
        provider = self._ctx.provider(parent.provider)
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
            ping=parent.ping or requester_id != parent.owner_id,
        )
        job = await self._admit(request, limits=limits, announce=announce, parent_id=parent.id)
        self._ctx.wake.set()
        return job

    async def _copied_inputs(self, job_id: int, kind: JobKind) -> tuple[InputFile, ...]:
        """The images a copy of job `job_id` (a Retry sent again, a Remix) starts from; NotRetryable
        when a kind that needs images has lost them."""
        inputs = await self._ctx.store.inputs(job_id)
        if not inputs and kind in _NEEDS_IMAGES:
            raise NotRetryable(f"job {job_id}'s images are no longer stored; start a new job")
        return inputs

    async def _root_kind(self, job: Job) -> JobKind:
        current = job
        while current.kind is JobKind.RETRY and current.parent_id is not None:
            parent = await self._ctx.store.get(current.parent_id)
            if parent is None:
                break
            current = parent
        return current.kind if current.kind is not JobKind.RETRY else JobKind.CREATE

    async def cancel(self, job_id: int) -> CancelOutcome:
        """Cancel a queued job locally, or a running one upstream."""
        outcome = CancelOutcome.NOT_FOUND

        async def work() -> None:
            nonlocal outcome
            outcome = await self._cancel_locked(job_id)

        # No lease: a member's cancel must not wait for another process's poll; the compare-and-set
        # decides between them.
        await self._ctx.locked(job_id, work, lease=False)
        return outcome

    async def _cancel_locked(self, job_id: int) -> CancelOutcome:
        job = await self._ctx.store.get(job_id)
        if job is None:
            return CancelOutcome.NOT_FOUND
        finish_failed = self._finishing.finish_failed
        if job.state is JobState.QUEUED:
            await finish_failed(job, JobState.CANCELLED, "cancelled", "cancelled before it started")
            return CancelOutcome.CANCELLED
        if job.state in (JobState.RUNNING, JobState.SUBMITTING) and job.upstream_id:
            try:
                await self._ctx.provider(job.provider).cancel(job.upstream_id, job.upstream_handle)
            except UpstreamError as error:
                if error.kind is not ErrorKind.NOT_FOUND:
                    return CancelOutcome.UPSTREAM_REFUSED
            await finish_failed(
                job, JobState.CANCELLED, "cancelled", "cancelled while Pika was working on it"
            )
            return CancelOutcome.CANCELLED
        if job.state is JobState.SUBMITTING:
            return CancelOutcome.UPSTREAM_REFUSED
        return CancelOutcome.ALREADY_FINISHED
