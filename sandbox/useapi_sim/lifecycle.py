"""The job life cycle: a job runs through its statuses to completion or failure."""

from __future__ import annotations

import asyncio
import contextlib

from sandbox.sim_common.values import contains_any
from sandbox.useapi_sim.attachments import AttachmentsLayer
from sandbox.useapi_sim.callbacks import CallbacksLayer
from sandbox.useapi_sim.constants import ERR_JOB_FAILED, PIKA_USER, SAMPLE_HEIGHT, SAMPLE_WIDTH
from sandbox.useapi_sim.records import Attachment, JobStatus, SimJob
from sandbox.useapi_sim.values import utc_now, video_filename


class LifecycleLayer(CallbacksLayer, AttachmentsLayer):
    """Running, completing and failing jobs."""

    def _stop_lifecycle(self, job: SimJob) -> None:
        if job.task is not None and not job.task.done() and job.task is not asyncio.current_task():
            job.task.cancel()

    async def _run_job(self, job: SimJob) -> None:
        cfg = self.config
        await asyncio.sleep(cfg.job_started_delay)
        self._set_status(job, JobStatus.STARTED)
        await asyncio.sleep(cfg.job_progress_delay)
        self._set_status(job, JobStatus.PROGRESS, percent=23)
        if self.faults.hold_jobs:
            await self._hold(job)
        else:
            await asyncio.sleep(cfg.job_complete_delay / 2)
            self._set_status(job, JobStatus.PROGRESS, percent=71)
            await asyncio.sleep(cfg.job_complete_delay / 2)
        word = contains_any(job.prompt, cfg.fail_words)
        if word is not None:
            self._fail(
                job, ERR_JOB_FAILED, f"Pika bot reported an error while generating (prompt has {word!r})"
            )
        else:
            self._complete(job)

    async def _hold(self, job: SimJob) -> None:
        """Stay in progress until released, or until ``hold_jobs`` is switched off (even by assignment)."""
        while self.faults.hold_jobs and not job.release_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(job.release_event.wait(), 0.02)

    def _complete(self, job: SimJob) -> None:
        filename = video_filename(job.prompt, job.seed)
        url, proxy_url = self._attachment_urls(job, filename)
        attachment_id = self._snowflake(utc_now())
        job.attachments = [
            Attachment(
                id=attachment_id,
                filename=filename,
                size=len(self.video),
                url=url,
                proxy_url=proxy_url,
                width=SAMPLE_WIDTH,
                height=SAMPLE_HEIGHT,
            )
        ]
        job.buttons = ["retry"]
        job.timestamp = utc_now()
        self._set_status(job, JobStatus.COMPLETED)

    def _fail(self, job: SimJob, error: str, details: str) -> None:
        job.error = error
        job.error_details = details
        self._set_status(job, JobStatus.FAILED)

    def _set_status(self, job: SimJob, status: JobStatus, percent: int | None = None) -> None:
        """Move a job on, refresh ``content``, and post a callback when the state calls for one."""
        job.status = status
        job.updated = utc_now()
        job.changed.set()
        job.changed = asyncio.Event()
        if status is JobStatus.PROGRESS:
            job.content = f"<@{PIKA_USER}> {job.details} ({percent}%)"
        elif status is JobStatus.COMPLETED:
            job.content = f"<@{PIKA_USER}> {job.details}"
        if status is not JobStatus.CREATED:
            if status is JobStatus.STARTED:
                job.accepted_payload = job.to_json()
            job.started_event.set()
        if not job.is_executing or self.faults.progress_callbacks:
            self._schedule_callback(job)
