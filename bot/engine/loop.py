"""The background loop: recovery on start, then one pass over everything that is due, every tick.

A pass expires overdue jobs, claims free slots for queued jobs in the fair order, and starts the
polls, executing-list requests, reconciliations, deliveries, notices and placements that are due,
each as a background task under its job's lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bot.domain.jobs import JobState
from bot.engine.context import EngineContext, log
from bot.engine.finishing import Finishing
from bot.engine.presentation import Presentation
from bot.engine.submitting import Submitter
from bot.engine.tracking import Tracking
from bot.store import JobUpdate

_PLACE_GRACE = 5.0  # seconds a new job's own command handler has to place it before the sweep does


@dataclass(frozen=True)
class RecoveryReport:
    """What recover() found on start."""

    queued: int = 0
    reconciling: int = 0
    polling: int = 0
    delivering: int = 0


class EngineLoop:
    """Drives every job that is due; started and stopped with the service."""

    def __init__(
        self,
        ctx: EngineContext,
        submitter: Submitter,
        tracking: Tracking,
        finishing: Finishing,
        presentation: Presentation,
    ) -> None:
        self._ctx = ctx
        self._submitter = submitter
        self._tracking = tracking
        self._finishing = finishing
        self._presentation = presentation
        self._task: asyncio.Task[None] | None = None
        self._started_at = float("inf")  # until recover(): every unplaced job counts as new

    async def recover(self) -> RecoveryReport:
        """Pick every unfinished job up again after a start; nothing is resent blindly."""
        ctx = self._ctx
        now = ctx.clock()
        await asyncio.to_thread(_remove_partial_downloads, ctx.settings.media_dir)
        # Jobs not yet placed in Discord are picked up by the loop's placement sweep.
        self._started_at = now
        freed = await ctx.store.leases.free_dead_local()
        if freed:
            log.info("took back %d leases of an earlier process on this machine", freed)
        counts = dict.fromkeys(JobState, 0)
        for job in await ctx.store.unfinished():
            counts[job.state] += 1
            if job.state is JobState.SUBMITTING:
                # We may have crashed after sending: look for it upstream before anything else.
                await ctx.store.update(job.id, job.state, now, JobUpdate(next_attempt_at=now))
            elif job.state is JobState.RUNNING:
                # Callbacks may have been lost while we were down: ask upstream now.
                await ctx.store.update(job.id, job.state, now, JobUpdate(next_poll_at=now))
            elif job.state is JobState.COMPLETED:
                await ctx.store.update(job.id, job.state, now, JobUpdate(next_attempt_at=now))
        report = RecoveryReport(
            queued=counts[JobState.QUEUED],
            reconciling=counts[JobState.SUBMITTING],
            polling=counts[JobState.RUNNING],
            delivering=counts[JobState.COMPLETED],
        )
        log.info("recovered jobs: %s", report)
        ctx.wake.set()
        return report

    def start(self) -> None:
        """Run the loop in the background."""
        self._task = asyncio.create_task(self._run(), name="pikabot-engine")

    async def stop(self) -> None:
        """Stop the loop and wait for in-flight work (state is in the store; nothing is lost), then
        hand this process's leases back so the other processes take its jobs at once."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        tasks = list(self._ctx.tasks.running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        leases = self._ctx.store.leases
        try:
            await leases.free_all_of(leases.name)
        except Exception:
            log.warning(
                "could not hand back this process's leases; they run out by themselves", exc_info=True
            )

    async def _run(self) -> None:
        wake = self._ctx.wake
        renewed_at = self._ctx.clock()
        while True:
            wake.clear()
            try:
                renewed_at = await self._heartbeat(renewed_at)
                await self.run_once()
            except Exception:
                log.exception("engine loop iteration failed; continuing")
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that races
            # with the wake-up, and stop() would then wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._ctx.settings.tick):
                    await wake.wait()

    async def _heartbeat(self, renewed_at: float) -> float:
        """Renew this process's leases a few times per lease period; when they were last renewed."""
        ctx = self._ctx
        now = ctx.clock()
        if now - renewed_at < ctx.settings.lease / 3:
            return renewed_at
        await ctx.store.leases.renew(now + ctx.settings.lease)
        return now

    async def run_once(self) -> None:
        """One pass over everything that is due."""
        ctx = self._ctx
        now = ctx.clock()
        await self._finishing.expire(now)
        await self._schedule(now)
        for job in await ctx.store.due_for_poll(now, 200):
            ctx.spawn_locked("poll", job.id, self._tracking.poll)
        if ctx.settings.callbacks_enabled:
            self._tracking.sweep_due(now)
        for job in await ctx.store.due(JobState.SUBMITTING, now, 100):
            ctx.spawn_locked("reconcile", job.id, self._tracking.reconcile)
        for job in await ctx.store.due(JobState.COMPLETED, now, 100):
            ctx.spawn_locked("deliver", job.id, self._finishing.deliver)
        for job in await ctx.store.needing_notice(now, 100):
            ctx.spawn_locked("notify", job.id, self._finishing.notify)
        # The member's own interaction places a new job at once (present()); this sweep takes the
        # ones it missed: jobs from before a restart, or whose command handler failed midway.
        for job in await ctx.store.unplaced(max(now - _PLACE_GRACE, self._started_at), now, 50):
            ctx.tasks.spawn(("place", job.id), self._presentation.place(job.id))

    async def _schedule(self, now: float) -> None:
        ctx = self._ctx
        free = ctx.scheduler.free_slots(await ctx.store.active_by_account(), now)
        total = sum(free.values())
        if total == 0:
            return
        moved = False
        for job in await ctx.store.due_queued(now, max(total * 4, 20)):
            account = ctx.scheduler.choose(job, free)
            if account is None:
                continue
            # Claim the job and the slot in the store before the POST, so every process counts it.
            claimed = await ctx.store.leases.claim(
                job.id, account.name, account.max_jobs, now, now + ctx.settings.lease
            )
            if claimed is None:
                # Another process took the job or the account's slot meanwhile; either way a slot
                # of this pass's count is gone.
                free[account.name] -= 1
                continue
            free[account.name] -= 1
            moved = True
            ctx.tasks.spawn(
                ("submit", job.id), ctx.locked(job.id, partial(self._submitter.send, claimed, account))
            )
            if sum(free.values()) == 0:
                break
        if moved:
            await self._presentation.queue_moved()


def _remove_partial_downloads(media_dir: Path) -> None:
    """A download cut short by a crash leaves a temporary file; the job downloads again anyway."""
    if media_dir.is_dir():
        for partial_file in media_dir.glob(".download-*.part"):
            partial_file.unlink(missing_ok=True)
