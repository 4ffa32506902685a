"""Submitting: sending a claimed job upstream, and what each kind of refusal does to it and its account.

The slot is claimed in SQLite (submitting) before the request leaves and the callback token's hash
is stored before it too, so a crash or a callback racing the answer is always found again; an
answer that may have been lost is reconciled by replyRef, never resent.
"""

from __future__ import annotations

import secrets

from bot.domain.jobs import Job, JobKind, JobState
from bot.engine.context import EngineContext, callback_token_hash, join_reason, log, reply_ref
from bot.engine.crashpoints import crashpoint
from bot.engine.finishing import Finishing
from bot.engine.presentation import Presentation
from bot.engine.tracking import Tracking
from bot.providers.base import Account, ErrorKind, SubmitRequest, UpstreamError, UpstreamStatus
from bot.store import JobUpdate


class Submitter:
    """Sends claimed jobs upstream and handles the answers."""

    def __init__(
        self, ctx: EngineContext, tracking: Tracking, finishing: Finishing, presentation: Presentation
    ) -> None:
        self._ctx = ctx
        self._tracking = tracking
        self._finishing = finishing
        self._presentation = presentation

    async def send(self, job: Job, account: Account) -> None:
        """Submit a job the scheduler claimed a slot of `account` for."""
        ctx = self._ctx
        provider = ctx.provider(job.provider)
        token: str | None = None
        reply_url: str | None = None
        if ctx.settings.callbacks_enabled:
            token = secrets.token_urlsafe(32)
            reply_url = f"{ctx.settings.callback_base_url}/callbacks/{provider.name}/{token}"
        # The token's hash is committed before the request leaves, so even a callback that beats
        # the submit answer finds its job.
        stored = await ctx.store.update(
            job.id,
            JobState.SUBMITTING,
            ctx.clock(),
            JobUpdate(callback_token_hash=callback_token_hash(token) if token else None),
        )
        if stored is None:
            return
        request = await self._request(job, account, reply_url)
        crashpoint("submit.claimed")
        try:
            snapshot = await provider.submit(request)
        except UpstreamError as error:
            await self._refused(stored, account, error)
            return
        except Exception as exc:
            # A bug or a prompt the provider refused late: fail the job visibly rather than loop.
            log.exception("submit of job %s raised", job.id)
            await self._finishing.finish_failed(
                stored, JobState.FAILED, "internal_error", f"could not send the job ({exc})"
            )
            return
        crashpoint("submit.sent")
        ctx.scheduler.mark_ok(account.name, ctx.clock())
        running = await self._tracking.adopt(job, snapshot)
        if running is None:
            return
        log.info("job %s running upstream as %s on %s", job.id, snapshot.upstream_id, account.name)
        await self._presentation.changed(running)
        if snapshot.status is not UpstreamStatus.RUNNING:
            await self._tracking.apply(running, snapshot)

    async def _request(self, job: Job, account: Account, reply_url: str | None) -> SubmitRequest:
        """What is sent upstream for `job`, with its parent's upstream job or video for a follow-up."""
        store = self._ctx.store
        parent_upstream_id = None
        parent_video_url = None
        if (job.kind is JobKind.RETRY or job.kind.follow_up) and job.parent_id is not None:
            parent = await store.get(job.parent_id)
            parent_upstream_id = parent.upstream_id if parent else None
            parent_video_url = parent.video.source_url if parent and parent.video else None
        return SubmitRequest(
            job_id=job.id,
            kind=job.kind,
            prompt=job.prompt,
            options=job.options,
            account=account,
            reply_ref=reply_ref(job.id),
            reply_url=reply_url,
            message_text=job.message_text,
            font=job.font,
            inputs=await store.inputs(job.id),
            parent_upstream_id=parent_upstream_id,
            params=job.params,
            parent_video_url=parent_video_url,
        )

    async def _resync(self, account: Account, executing: tuple[str, ...], now: float) -> None:
        """Upstream listed what it is running: any job of ours not in that list has ended there
        (its callback may be lost), so look at it now instead of at its next poll."""
        running_upstream = set(executing)
        for job in await self._ctx.store.running_on(account.name):
            if job.upstream_id and job.upstream_id not in running_upstream:
                await self._ctx.store.update(job.id, JobState.RUNNING, now, JobUpdate(next_poll_at=now))

    async def _refused(self, job: Job, account: Account, error: UpstreamError) -> None:
        ctx = self._ctx
        now = ctx.clock()
        kind = error.kind
        ctx.scheduler.note_error(account.name, now, str(error))
        upstream = ctx.provider(job.provider).display_name
        if kind in (ErrorKind.ACCOUNT_FULL, ErrorKind.RATE_LIMITED, ErrorKind.OVERLOADED):
            await self._busy(job, account, error, now)
        elif kind is ErrorKind.TRANSIENT:
            attempts = job.attempts + 1
            if attempts >= ctx.scheduler.policy.transient_max_attempts:
                await self._finishing.finish_failed(
                    job, JobState.FAILED, "upstream_unavailable", f"{upstream} kept failing: {error.message}"
                )
            else:
                delay = ctx.scheduler.transient_delay(attempts)
                await self.requeue(
                    job, now + delay, f"{upstream} had a problem; trying again ({attempts})", attempts
                )
        elif kind is ErrorKind.AMBIGUOUS:
            # It may have started upstream: look for it by replyRef; never send it again blindly.
            await ctx.store.update(
                job.id,
                JobState.SUBMITTING,
                now,
                JobUpdate(
                    attempts=0,
                    next_attempt_at=now + ctx.scheduler.policy.reconcile_delay,
                    error_code="ambiguous",
                    error_message=error.message,
                ),
            )
        elif kind in (ErrorKind.UNAUTHORIZED, ErrorKind.PAYMENT_REQUIRED):
            await self._account_refused(job, account, error, now)
        elif kind is ErrorKind.MODERATED:
            await self._finishing.finish_failed(
                job,
                JobState.MODERATED,
                "moderated",
                join_reason(error.message, error.details),
                upstream_id=error.upstream_id,
            )
        else:
            await self._finishing.finish_failed(
                job, JobState.FAILED, kind.value, join_reason(error.message, error.details)
            )

    async def _busy(self, job: Job, account: Account, error: UpstreamError, now: float) -> None:
        """The account is full, rate limited or overloaded: pause it and queue the job again."""
        scheduler = self._ctx.scheduler
        upstream = self._ctx.provider(job.provider).display_name
        if error.kind is ErrorKind.ACCOUNT_FULL:
            await self._resync(account, error.executing_jobs, now)
            delay = scheduler.busy_delay()
            note = f"waiting for a free Pika slot ({len(error.executing_jobs)} running)"
        elif error.kind is ErrorKind.RATE_LIMITED:
            delay = scheduler.rate_limited_delay(error.retry_after)
            note = f"{upstream} is being rate limited; waiting"
        else:
            delay = scheduler.policy.overloaded_delay
            note = f"{upstream} is overloaded; waiting a few minutes"
        scheduler.pause(account.name, now + delay)
        await self.requeue(job, now + delay, note, job.attempts)

    async def _account_refused(self, job: Job, account: Account, error: UpstreamError, now: float) -> None:
        """401/402: the account is unusable. Admins are told once; the job moves to another account
        of the same provider, or fails with a clear reason when there is none."""
        ctx = self._ctx
        upstream = ctx.provider(job.provider).display_name
        what = (
            "its token was refused (401)"
            if error.kind is ErrorKind.UNAUTHORIZED
            else "payment required (402)"
        )
        if ctx.scheduler.mark_unhealthy(account.name, now, f"{what}: {error.message}"):
            log.warning("%s account %s is unhealthy: %s", upstream, account.name, error)
            recheck = ctx.scheduler.policy.unhealthy_recheck
            try:
                await ctx.delivery.alert_admins(
                    f"⚠️ {upstream} account `{account.name}` stopped taking jobs: {what}. Its jobs go to the "
                    f"other accounts; it is tried again in {recheck / 60:g} min. Check its token or "
                    "subscription."
                )
            except Exception:
                log.exception("alerting admins about account %s failed", account.name)
        if job.kind is not JobKind.RETRY and ctx.scheduler.any_usable(job.provider, now):
            await self.requeue(
                job, now, f"account {account.name} is unavailable; moving to another", job.attempts
            )
            return
        await self._finishing.finish_failed(
            job,
            JobState.FAILED,
            error.kind.value,
            f"{upstream} refused the bot's account ({what}); the bot's admins have been told. Try again later.",
        )

    async def requeue(self, job: Job, when: float, note: str, attempts: int) -> None:
        """submitting -> queued, to be sent again at `when`."""
        requeued = await self._ctx.store.transition(
            job.id,
            JobState.QUEUED,
            self._ctx.clock(),
            JobUpdate(next_attempt_at=when, progress=note, attempts=attempts),
            expected=(JobState.SUBMITTING,),
        )
        if requeued is not None:
            await self._presentation.changed(requeued)
