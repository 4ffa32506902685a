"""The job life cycle: a video runs from queued through pending to finished, error or failed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from sandbox.apiglue_sim.constants import ERR_JOB_FAILED
from sandbox.apiglue_sim.records import ENDED, SimJob, VideoStatus
from sandbox.apiglue_sim.webhooks import WebhooksLayer
from sandbox.sim_common.values import contains_any


class LifecycleLayer(WebhooksLayer):
    """Running, finishing and failing jobs."""

    def _stop_lifecycle(self, job: SimJob) -> None:
        if job.task is not None and not job.task.done() and job.task is not asyncio.current_task():
            job.task.cancel()

    async def _run_job(self, job: SimJob) -> None:
        cfg = self.config
        await asyncio.sleep(cfg.queued_delay)
        await self._wait_while(job, lambda: self.faults.stuck_queued)
        steps = cfg.progress_steps or (0,)
        self._set_state(job, VideoStatus.PENDING, steps[0])
        await self._wait_while(job, lambda: self.faults.hold_jobs)
        for percent in steps[1:]:
            await asyncio.sleep(cfg.progress_delay)
            self._set_state(job, VideoStatus.PENDING, percent)
        await asyncio.sleep(cfg.progress_delay)
        word = contains_any(job.prompt_text, cfg.fail_words)
        if word is not None:
            self._fail(job, f"{ERR_JOB_FAILED} (prompt has {word!r})", cfg.fail_status)
        else:
            self._finish(job)

    async def _wait_while(self, job: SimJob, condition: Callable[[], bool]) -> None:
        """Wait while ``condition`` holds (re-read often, so switching a knob off works) or until release."""
        while condition() and not job.release_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(job.release_event.wait(), 0.02)

    def _finish(self, job: SimJob) -> None:
        job.seed = job.requested_seed if job.requested_seed is not None else self._rng.randrange(1, 2**32)
        job.result_url = f"{job.public_base}/videos/{job.id}/{job.filename}"
        job.video_poster = f"{job.public_base}/images/{job.id}/poster.jpg"
        job.image_thumb = f"{job.public_base}/images/{job.id}/thumbnail.jpg"
        self._by_result_url[job.result_url] = job
        self._set_state(job, VideoStatus.FINISHED, 100)

    def _fail(self, job: SimJob, error: str, status: VideoStatus) -> None:
        job.error = error
        self._set_state(job, status, job.progress)

    def _set_state(self, job: SimJob, status: VideoStatus, progress: int) -> None:
        """Move a video on and post a webhook when the state calls for one."""
        job.status = status
        job.progress = progress
        job.changed.set()
        job.changed = asyncio.Event()
        if status in ENDED or self.faults.progress_callbacks:
            self._schedule_callback(job)
