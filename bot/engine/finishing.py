"""Finishing: download the video, complete, deliver, tell the member how a job ended, expire, forget files.

Every terminal failure goes through `finish_failed`, so each produces exactly one notice; a
terminal job keeps neither its input images nor its downloaded video.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from bot.domain.jobs import Job, JobState, VideoResult
from bot.engine.context import EngineContext, log
from bot.engine.crashpoints import crashpoint
from bot.engine.delivery import DeliveryError
from bot.engine.download_policy import DownloadedVideo, DownloadError
from bot.observability.logsetup import job_extra
from bot.providers.base import UpstreamError, UpstreamJob
from bot.store import JobUpdate


class Finishing:
    """The end of a job's work: its video fetched and posted, or its failure told."""

    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx

    async def complete(self, job: Job, snapshot: UpstreamJob) -> None:
        """Upstream finished the job: download its video, mark it completed and deliver it if placed."""
        ctx = self._ctx
        assert snapshot.video is not None
        ctx.settings.media_dir.mkdir(parents=True, exist_ok=True)
        video = await self._download(job, snapshot.video.url)
        if isinstance(video, DownloadError):
            error = video
            if error.transient:
                # The link may work again, or upstream may hand out a fresh one: poll again later.
                now = ctx.clock()
                await ctx.store.update(
                    job.id, JobState.RUNNING, now, JobUpdate(next_poll_at=now + ctx.settings.poll_interval)
                )
                log.warning("job %s: download failed for now: %s", job.id, error.message)
                return
            await self.finish_failed(
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
        await self._completed(job, result, snapshot.progress)

    async def _download(self, job: Job, url: str) -> DownloadedVideo | DownloadError:
        """The job's video, retried while the failure is transient; the last error if it never came."""
        ctx = self._ctx
        error: DownloadError | None = None
        for attempt in range(ctx.scheduler.policy.download_attempts):
            try:
                return await ctx.downloader.download(
                    url, ctx.settings.media_dir, f"job-{job.id}.mp4", max_bytes=ctx.settings.max_video_bytes
                )
            except DownloadError as exc:
                error = exc
                if not exc.transient:
                    break
                await asyncio.sleep(min(2.0**attempt, 5.0))
        assert error is not None
        return error

    async def _completed(self, job: Job, result: VideoResult, progress: str | None) -> None:
        ctx = self._ctx
        now = ctx.clock()
        completed = await ctx.store.transition(
            job.id,
            JobState.COMPLETED,
            now,
            JobUpdate(video=result, next_attempt_at=now, progress=progress, delivery_attempts=0),
            expected=(JobState.RUNNING,),
        )
        if completed is None:
            return
        log.info("job %s completed (%d bytes)", job.id, result.size)
        ctx.wake.set()  # a slot is free
        if not completed.placed:
            # The result waits, durably, for its thread; placing the job wakes the loop to post it.
            crashpoint("complete.unplaced")
            return
        await self.deliver_job(completed)

    async def deliver(self, job_id: int) -> None:
        """Post a completed job's video (the loop's retry of a delivery, or a placed job's wait)."""
        job = await self._ctx.store.get(job_id)
        if job is not None and job.state is JobState.COMPLETED:
            await self.deliver_job(job)

    async def deliver_job(self, job: Job) -> None:
        """Post the video; on failure retry later, or fail the job once retrying cannot help."""
        ctx = self._ctx
        assert job.video is not None
        now = ctx.clock()
        crashpoint("deliver.before")
        try:
            video = await self._video_here(job, job.video)
            receipt = await ctx.delivery.deliver_result(job, video)
        except Exception as exc:
            await self._delivery_failed(job, exc, now)
            return
        crashpoint("deliver.posted")
        delivered = await ctx.store.transition(
            job.id,
            JobState.DELIVERED,
            ctx.clock(),
            JobUpdate(delivered_message_id=receipt.message_id, notified=True),
            expected=(JobState.COMPLETED,),
        )
        if delivered is not None:
            log.info("job %s delivered", job.id, extra=job_extra(job.id, job.origin.guild_id))
            ctx.metrics.job_finished(JobState.DELIVERED.value)
            ctx.metrics.video_delivered(
                (delivered.finished_at or delivered.updated_at) - delivered.created_at
            )
            await self.forget_files(delivered)

    async def _video_here(self, job: Job, video: VideoResult) -> VideoResult:
        """The video as a file on this machine: another process may have downloaded it on its own
        disk and died before posting it, so fetch it again from upstream's link."""
        if not video.path or await asyncio.to_thread(Path(video.path).is_file):
            return video
        ctx = self._ctx
        ctx.settings.media_dir.mkdir(parents=True, exist_ok=True)
        fetched = await self._download(job, video.source_url)
        if isinstance(fetched, DownloadError):
            raise DeliveryError(
                f"the video is not on this machine and {fetched.message}", not fetched.transient
            )
        here = replace(video, path=str(fetched.path), size=fetched.size)
        await ctx.store.update(job.id, JobState.COMPLETED, ctx.clock(), JobUpdate(video=here))
        log.info("job %s: fetched its video again (it was downloaded on another machine)", job.id)
        return here

    async def _delivery_failed(self, job: Job, exc: Exception, now: float) -> None:
        ctx = self._ctx
        permanent = isinstance(exc, DeliveryError) and exc.permanent
        if not isinstance(exc, DeliveryError):
            log.exception("delivering job %s raised", job.id)
        attempts = job.delivery_attempts + 1
        if permanent or attempts >= ctx.scheduler.policy.delivery_max_attempts:
            await self.finish_failed(
                job,
                JobState.FAILED,
                "delivery_failed",
                f"the video was made but could not be posted: {exc}",
            )
        else:
            await ctx.store.update(
                job.id,
                JobState.COMPLETED,
                now,
                JobUpdate(
                    delivery_attempts=attempts,
                    next_attempt_at=now + ctx.scheduler.delivery_delay(attempts),
                ),
            )

    async def finish_failed(
        self,
        job: Job,
        state: JobState,
        code: str,
        message: str,
        *,
        upstream_id: str | None = None,
        expected: tuple[JobState, ...] | None = None,
    ) -> None:
        """End the job in a terminal failure state (compare-and-set) and tell its member once."""
        ctx = self._ctx
        finished = await ctx.store.transition(
            job.id,
            state,
            ctx.clock(),
            JobUpdate(error_code=code, error_message=message[:1000], upstream_id=upstream_id),
            expected=expected or (job.state,),
        )
        if finished is None:
            return
        ctx.metrics.job_finished(state.value)
        log.info(
            "job %s ended %s: %s", job.id, state.value, code, extra=job_extra(job.id, job.origin.guild_id)
        )
        ctx.wake.set()
        if finished.placed:  # otherwise the notice follows once the status message is there
            await self.notify_job(finished)
        await self.forget_files(finished)

    async def notify(self, job_id: int) -> None:
        """Tell the member how the job ended, if that is still owed."""
        job = await self._ctx.store.get(job_id)
        if job is not None and job.needs_notice:
            await self.notify_job(job)

    async def notify_job(self, job: Job) -> None:
        """Post the job's end notice; on failure retry later, giving up after the delivery attempts."""
        ctx = self._ctx
        now = ctx.clock()
        try:
            receipt = await ctx.delivery.deliver_notice(job)
        except Exception as exc:
            if not isinstance(exc, DeliveryError):
                log.exception("notice for job %s raised", job.id)
            attempts = job.delivery_attempts + 1
            give_up = (isinstance(exc, DeliveryError) and exc.permanent) or (
                attempts >= ctx.scheduler.policy.delivery_max_attempts
            )
            if give_up:
                log.error("job %s: member could not be told it ended %s: %s", job.id, job.state.value, exc)
            await ctx.store.update(
                job.id,
                job.state,
                now,
                JobUpdate(
                    delivery_attempts=attempts,
                    notified=True if give_up else None,
                    next_attempt_at=now + ctx.scheduler.delivery_delay(attempts),
                ),
            )
            return
        await ctx.store.update(
            job.id, job.state, now, JobUpdate(notified=True, delivered_message_id=receipt.message_id)
        )

    async def forget_files(self, job: Job) -> None:
        """Terminal jobs keep neither their input images nor their downloaded video."""
        await self._ctx.store.delete_inputs(job.id)
        if job.video is not None and job.video.path:
            await asyncio.to_thread(Path(job.video.path).unlink, missing_ok=True)

    async def expire(self, now: float) -> None:
        """Start expiring every job that has been submitting or running for longer than the timeout."""
        for job in await self._ctx.store.overdue(now - self._ctx.settings.timeout, 100):
            self._ctx.spawn_locked("expire", job.id, self.expire_one)

    async def expire_one(self, job_id: int) -> None:
        """Expire one overdue job and free its upstream slot."""
        ctx = self._ctx
        job = await ctx.store.get(job_id)
        if job is None or job.state not in (JobState.SUBMITTING, JobState.RUNNING):
            return
        minutes = ctx.settings.timeout / 60
        await self.finish_failed(
            job,
            JobState.EXPIRED,
            "timeout",
            f"Pika did not finish this job within {minutes:g} minutes",
            expected=(JobState.SUBMITTING, JobState.RUNNING),
        )
        if job.upstream_id:
            # Free the upstream slot; failure here only costs the slot until upstream gives up.
            try:
                await ctx.provider(job.provider).cancel(job.upstream_id, job.upstream_handle)
            except UpstreamError as error:
                log.info("cancelling expired job %s upstream: %s", job.id, error)
