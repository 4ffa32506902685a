"""Presentation: placing jobs in Discord through the Delivery protocol and showing their progress.

A job's status message and thread are posted beside its work, never before it; a result that is
ready first waits, durably, until the job is placed. Progress and queue updates are best effort:
a job's outcome never depends on them.
"""

from __future__ import annotations

import asyncio
import statistics
from functools import partial

from bot.domain.jobs import Job, JobState
from bot.engine.context import EngineContext, log
from bot.engine.crashpoints import crashpoint
from bot.engine.delivery import JobPlacement

_RUN_TIMES_SAMPLE = 20  # recent deliveries the ETA is the median of
_RUN_TIMES_TTL = 30.0  # seconds between refreshes of that sample
_QUEUE_SHOWN = 10  # queued jobs whose status is edited when the queue moves; the rest wait their turn


#: A job's place in the queue and the ETA shown with it (seconds), as read for display.
QueuePlace = tuple[int | None, float | None]

#: Seconds after an interrupted placement's attempt before its channel is searched for the post.
PLACE_SETTLE = 5.0


class Presentation:
    """Status messages, threads, progress and queue places, as the member sees them."""

    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx
        self._run_times: list[float] = []
        self._run_times_at = float("-inf")
        self._shown_positions: dict[int, int] = {}

    def present(self, job_id: int, shown: QueuePlace | None = None) -> None:
        """Place the job in the background (at most one placement per job at a time); `shown` is its
        queue place as the caller just read it, so it is not read twice."""
        self._ctx.tasks.spawn(("place", job_id), self.place(job_id, shown))

    async def place(self, job_id: int, shown: QueuePlace | None = None) -> None:
        """Post the job's status message and thread, record them once, then show its current state
        (holding the job's placement lease, so no other process posts a second status meanwhile)."""
        await self._ctx.placing(job_id, partial(self._place, job_id, shown))

    async def _place(self, job_id: int, shown: QueuePlace | None) -> None:
        ctx = self._ctx
        job = await ctx.store.get(job_id)
        if job is None or job.placed:
            return
        if job.state is not JobState.QUEUED:
            position, eta = None, None
        elif shown is not None:
            position, eta = shown
        else:
            position = await ctx.store.queue_position(job.id)
            eta = await self.queue_eta(job, position) if position else None
        where = await self._posted_before(job)
        if where is None:
            await ctx.store.place_tried(job.id, ctx.clock())
            try:
                where = await ctx.delivery.place_job(job, position, eta)
            except Exception:
                # Nowhere to show it: the result and notices go to the channel it was asked in.
                log.exception("placing job %s failed; its result goes to its channel", job.id)
                where = JobPlacement()
        crashpoint("place.posted")
        placed = await ctx.store.place(
            job.id, ctx.clock(), thread_id=where.thread_id, status_message_id=where.status_message_id
        )
        if placed is None:
            return
        ctx.wake.set()  # a result or notice may have been waiting for this
        try:
            await ctx.delivery.job_placed(placed)
        except Exception:
            log.exception("telling the member where job %s is failed", job.id)
        if placed.state is not job.state or placed.progress != job.progress:
            await self.changed(placed)

    async def _posted_before(self, job: Job) -> JobPlacement | None:
        """What an earlier placement of `job`, cut short before it was recorded, posted (if any)."""
        if job.place_tried_at is None:
            return None
        found = await self._find_placement(job)
        # A post Discord was still answering when the last attempt was cut short may land a little
        # later: before posting another, look again once it has had time to.
        wait = job.place_tried_at + PLACE_SETTLE - self._ctx.clock()
        if found is None and wait > 0:
            await asyncio.sleep(wait)
            found = await self._find_placement(job)
        if found is not None:
            log.info("job %s: found the status message an interrupted placement posted", job.id)
        return found

    async def _find_placement(self, job: Job) -> JobPlacement | None:
        try:
            return await self._ctx.delivery.find_placement(job)
        except Exception:
            log.exception("looking for job %s's earlier status message failed", job.id)
            return None

    async def changed(self, job: Job) -> None:
        """Show the job's new state or progress (best effort)."""
        position = await self._ctx.store.queue_position(job.id) if job.state is JobState.QUEUED else None
        eta = await self.queue_eta(job, position) if position is not None else None
        try:
            await self._ctx.delivery.job_changed(job, position, eta)
        except Exception:
            # Progress display is best effort; the job's outcome does not depend on it.
            log.exception("progress update for job %s failed", job.id)

    async def queue_eta(self, job: Job, position: int) -> float | None:
        """Seconds until a job at `position` has its video, from recent run times; None without history.

        Jobs ahead leave in waves of the provider's slot count, each wave taking about the median run.
        """
        ctx = self._ctx
        now = ctx.clock()
        if now - self._run_times_at > _RUN_TIMES_TTL:
            self._run_times = await ctx.store.recent_run_times(_RUN_TIMES_SAMPLE)
            self._run_times_at = now
        if not self._run_times:
            return None
        slots = sum(a.max_jobs for a in ctx.scheduler.accounts.values() if a.provider == job.provider) or 1
        waves = (position - 1) // slots + 1
        return (waves + 1) * statistics.median(self._run_times)

    async def queue_moved(self) -> None:
        """Jobs left the queue: show the waiting ones their new place (the first few; edits are limited)."""
        ahead = await self._ctx.store.queued_in_order(_QUEUE_SHOWN)
        shown: dict[int, int] = {}
        for position, job in enumerate(ahead, start=1):
            shown[job.id] = position
            if self._shown_positions.get(job.id) != position:
                eta = await self.queue_eta(job, position)
                try:
                    await self._ctx.delivery.job_changed(job, position, eta)
                except Exception:
                    log.exception("queue update for job %s failed", job.id)
        self._shown_positions = shown
