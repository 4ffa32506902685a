"""Tracking: following jobs upstream by polls, confirmed callbacks, the executing list and reconciliation.

Nothing a callback says is trusted: it only makes us fetch the job from upstream now. Whichever
of the submit answer, a callback or reconciliation adopts the upstream job first wins the
compare-and-set; the others find it already running.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from functools import partial

from bot.domain.jobs import Job, JobState
from bot.engine.context import EngineContext, join_reason, log, reply_ref
from bot.engine.finishing import Finishing
from bot.engine.lost_callbacks import ExecutingSweep
from bot.engine.presentation import Presentation
from bot.providers.base import ErrorKind, UpstreamError, UpstreamJob, UpstreamStatus
from bot.store import JobUpdate

_FAILURE_STATE: Mapping[UpstreamStatus, JobState] = {
    UpstreamStatus.FAILED: JobState.FAILED,
    UpstreamStatus.MODERATED: JobState.MODERATED,
    UpstreamStatus.CANCELLED: JobState.CANCELLED,
}


_CONFIRM_GAP = 1.0  # seconds between callback-prompted confirms of one job


class Tracking:
    """What upstream says about our submitted jobs, and acting on it."""

    def __init__(
        self, ctx: EngineContext, finishing: Finishing, presentation: Presentation, sweep: ExecutingSweep
    ) -> None:
        self._ctx = ctx
        self._finishing = finishing
        self._presentation = presentation
        self._sweep = sweep
        self._hints: dict[int, str | None] = {}  # the latest upstream id a callback named, per job
        self._again: set[int] = set()  # jobs whose callbacks arrived during their confirm

    def on_callback(self, job_id: int, hinted_upstream_id: str | None) -> None:
        """A callback arrived: confirm with upstream in the background (never trust the body).

        Callbacks that arrive while a job is being confirmed are not dropped: they make one more
        confirm after it, no sooner than _CONFIRM_GAP after the last, so a burst of progress
        callbacks costs one upstream GET a second per job instead of one each.
        """
        if hinted_upstream_id is not None or job_id not in self._hints:
            self._hints[job_id] = hinted_upstream_id
        if not self._ctx.tasks.spawn(("confirm", job_id), self._confirm_paced(job_id)):
            self._again.add(job_id)

    async def _confirm_paced(self, job_id: int) -> None:
        while True:
            hint = self._hints.pop(job_id, None)
            self._again.discard(job_id)
            started = time.monotonic()
            if not await self._ctx.locked(job_id, partial(self.confirm, job_id, hint)):
                await self._confirm_elsewhere(job_id, hint)
            if job_id not in self._again:
                return
            await asyncio.sleep(max(0.0, started + _CONFIRM_GAP - time.monotonic()))

    async def _confirm_elsewhere(self, job_id: int, hint: str | None) -> None:
        """Another process holds the job. Running: its next poll comes now, whichever process takes
        it. Still being submitted: the callback's upstream id is kept with the job, because that
        process may die before recording upstream's answer; reconciling tries it first."""
        now = self._ctx.clock()
        if await self._ctx.store.update(job_id, JobState.RUNNING, now, JobUpdate(next_poll_at=now)):
            return
        if hint is not None:
            await self._ctx.store.update(job_id, JobState.SUBMITTING, now, JobUpdate(callback_hint=hint))

    def sweep_due(self, now: float) -> None:
        """Start the executing-list requests that are due (callbacks on only; see ExecutingSweep)."""
        for name in self._sweep.due(now):
            self._ctx.tasks.spawn((f"list-{name}", 0), self.confirm_ended(name))

    async def poll(self, job_id: int) -> None:
        """Ask upstream about one running job and act on the answer."""
        ctx = self._ctx
        job = await ctx.store.get(job_id)
        if job is None or job.state is not JobState.RUNNING or job.upstream_id is None:
            return
        async with ctx.poll_slots:
            try:
                snapshot = await ctx.provider(job.provider).fetch(job.upstream_id, job.upstream_handle)
            except UpstreamError as error:
                await self._poll_failed(job, error)
                return
        await self.apply(job, snapshot)

    async def _poll_failed(self, job: Job, error: UpstreamError) -> None:
        ctx = self._ctx
        now = ctx.clock()
        upstream = ctx.provider(job.provider).display_name
        if error.kind is ErrorKind.NOT_FOUND:
            await self._finishing.finish_failed(
                job, JobState.FAILED, "lost_upstream", f"{upstream} no longer knows this job"
            )
            return
        failures = job.attempts + 1
        if failures >= ctx.scheduler.policy.poll_failures_max:
            await self._finishing.finish_failed(
                job, JobState.FAILED, "upstream_unavailable", f"{upstream} kept failing: {error.message}"
            )
            return
        delay = ctx.scheduler.jittered(ctx.settings.poll_interval) * 2
        await ctx.store.update(
            job.id, JobState.RUNNING, now, JobUpdate(next_poll_at=now + delay, attempts=failures)
        )

    async def confirm_ended(self, provider_name: str) -> None:
        """One executing-list request; every running job missing from it is confirmed like a callback."""
        for job in await self._sweep.ended(provider_name):
            self._ctx.spawn_locked("confirm", job.id, partial(self.confirm, hinted_upstream_id=None))

    async def confirm(self, job_id: int, hinted_upstream_id: str | None) -> None:
        """Fetch the job from upstream (as a callback or the executing list suggests) and act on it."""
        ctx = self._ctx
        job = await ctx.store.get(job_id)
        if job is None:
            return
        provider = ctx.provider(job.provider)
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
                now = ctx.clock()
                await ctx.store.update(job.id, JobState.RUNNING, now, JobUpdate(next_poll_at=now))
            log.info("confirming callback for job %s failed: %s", job.id, error)
            return
        if job.state is JobState.SUBMITTING:
            if snapshot.reply_ref != reply_ref(job.id):
                log.warning("callback for job %s names upstream job %s of someone else", job.id, upstream_id)
                return
            adopted = await self.adopt(job, snapshot)
            if adopted is None:
                return
            job = adopted
        await self.apply(job, snapshot)

    async def adopt(self, job: Job, snapshot: UpstreamJob) -> Job | None:
        """submitting -> running with the upstream job's id (from the submit answer, a callback or
        reconciliation; whichever comes first wins the compare-and-set)."""
        ctx = self._ctx
        now = ctx.clock()
        return await ctx.store.transition(
            job.id,
            JobState.RUNNING,
            now,
            JobUpdate(
                upstream_id=snapshot.upstream_id,
                upstream_handle=snapshot.handle,
                next_poll_at=now + ctx.poll_delay(job.provider),
                attempts=0,
                progress=snapshot.progress,
            ),
            expected=(JobState.SUBMITTING,),
        )

    async def reconcile(self, job_id: int) -> None:
        """A submit whose answer was lost: look for the job upstream by replyRef; never resend it."""
        ctx = self._ctx
        job = await ctx.store.get(job_id)
        if job is None or job.state is not JobState.SUBMITTING:
            return
        now = ctx.clock()
        try:
            found = await self._hinted(job) or await ctx.provider(job.provider).find_by_ref(reply_ref(job.id))
        except UpstreamError as error:
            log.info("reconciling job %s: %s", job.id, error)
            await ctx.store.update(
                job.id, JobState.SUBMITTING, now, JobUpdate(next_attempt_at=now + ctx.settings.poll_interval)
            )
            return
        if found is not None:
            adopted = await self.adopt(job, found)
            if adopted is not None:
                log.info("job %s reconciled: upstream %s", job.id, found.upstream_id)
                await self.apply(adopted, found)
            return
        await self._not_found_yet(job, now)

    async def _hinted(self, job: Job) -> UpstreamJob | None:
        """The upstream job a callback named for this job, if upstream confirms it carries our replyRef."""
        if job.callback_hint is None:
            return None
        try:
            snapshot = await self._ctx.provider(job.provider).fetch(job.callback_hint, None)
        except UpstreamError as error:
            log.info("job %s: the upstream job a callback named cannot be fetched: %s", job.id, error)
            return None
        return snapshot if snapshot.reply_ref == reply_ref(job.id) else None

    async def _not_found_yet(self, job: Job, now: float) -> None:
        ctx = self._ctx
        checks = job.attempts + 1
        if checks >= ctx.scheduler.policy.reconcile_checks:
            upstream = ctx.provider(job.provider).display_name
            await self._finishing.finish_failed(
                job,
                JobState.FAILED,
                "outcome_unknown",
                f"pikabot lost the answer from {upstream} while sending this job and could not find it "
                "there; it was not sent again, so you are not charged twice. Press Retry to try again.",
            )
            return
        wait = max(ctx.settings.poll_interval, ctx.scheduler.policy.reconcile_delay)
        await ctx.store.update(
            job.id, JobState.SUBMITTING, now, JobUpdate(attempts=checks, next_attempt_at=now + wait)
        )

    async def apply(self, job: Job, snapshot: UpstreamJob) -> None:
        """Act on a confirmed upstream snapshot of a running job."""
        ctx = self._ctx
        now = ctx.clock()
        if snapshot.status is UpstreamStatus.RUNNING:
            updated = await ctx.store.update(
                job.id,
                JobState.RUNNING,
                now,
                JobUpdate(
                    progress=snapshot.progress,
                    next_poll_at=now + ctx.poll_delay(job.provider),
                    attempts=0,
                ),
            )
            if updated is not None and updated.progress != job.progress:
                await self._presentation.changed(updated)
            return
        if snapshot.status is UpstreamStatus.COMPLETED:
            await self._finishing.complete(job, snapshot)
            return
        state = _FAILURE_STATE[snapshot.status]
        reason = (
            join_reason(snapshot.error, snapshot.error_details)
            or f"Pika reported the job {snapshot.status.value}"
        )
        await self._finishing.finish_failed(
            job, state, snapshot.status.value, reason, expected=(JobState.RUNNING,)
        )
