"""The submit routes (``POST /v1/pika/{create,animate,encrypt_text,encrypt_image,button}``): faults,
target account, capacity, moderation and the new job.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox.sim_common.values import contains_any
from sandbox.useapi_sim.config import acct_reply
from sandbox.useapi_sim.constants import (
    DISCORD_429_DETAILS,
    ERR_DISCORD_429,
    ERR_EXPIRED,
    ERR_INVALID_PARAM,
    ERR_MODERATED,
    MAX_JOBS_LIMIT,
    PIKA_USER,
    SEED_RE,
)
from sandbox.useapi_sim.errors import api_error
from sandbox.useapi_sim.operations import OperationsLayer
from sandbox.useapi_sim.records import JobStatus, SimJob, Verb
from sandbox.useapi_sim.server import RECORD_KEY, ServerLayer
from sandbox.useapi_sim.validation import (
    SubmitForm,
    Target,
    VerbSpec,
    content_details,
    parse_max_jobs,
    read_form,
    validate_form,
)
from sandbox.useapi_sim.values import unknown_flags, utc_now


class SubmitLayer(ServerLayer, OperationsLayer):
    """Submit handlers."""

    def _submit_handler(self, spec: VerbSpec) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self._submit(request, spec)

        return handler

    async def _submit(self, request: web.Request, spec: VerbSpec) -> web.StreamResponse:
        gateway = self._gateway_fault()
        if gateway is not None:
            return gateway
        if request.content_type != "multipart/form-data":
            # UNCONFIRMED text: the docs only say the body must be multipart/form-data.
            raise api_error(400, "Content-Type must be multipart/form-data")
        form = await read_form(request, request.get(RECORD_KEY))
        validate_form(spec, form)
        parent = self._button_parent(form) if spec.verb is Verb.BUTTON else None
        target = self._resolve_target(spec, form, parent)
        refused = self.faults.channel_status.get(target.channel)
        if refused is not None:
            message = ERR_EXPIRED if refused == 402 else f"Account {target.channel} is not authorized"
            raise api_error(refused, message)
        self._check_capacity(target)
        self._discord_fault()
        job = self._new_job(spec, form, target, parent, request)
        moderation = self._moderation(spec, job)
        self.jobs[job.jobid] = job
        if moderation is not None:
            return self._reply(moderation, 422)
        job.task = self._spawn(self._run_job(job))
        # The real API answers once Pika acknowledged the interaction, i.e. when the job is "started".
        await job.started_event.wait()
        payload = job.accepted_payload or job.to_json()
        if self.faults.accept_then_delay > 0:
            await asyncio.sleep(self.faults.accept_then_delay)
        return self._reply(payload, 200)

    def _gateway_fault(self) -> web.Response | None:
        faults = self.faults
        if faults.submit_html_error:
            html = (
                "<html><head><title>502 Bad Gateway</title></head><body>"
                "<center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>"
            )
            return web.Response(status=502, text=html, content_type="text/html")
        if faults.submit_status is not None:
            status = faults.submit_status
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:
                phrase = "Server Error"
            return self._reply({"error": phrase, "code": status}, status)
        if faults.gateway_504_submits > 0:
            faults.gateway_504_submits -= 1
            return self._reply({"error": "Gateway Timeout", "code": 504}, 504)
        return None

    def _discord_fault(self) -> None:
        if self.faults.discord_429_submits > 0:
            self.faults.discord_429_submits -= 1
            raise api_error(429, ERR_DISCORD_429, errorDetails=DISCORD_429_DETAILS)

    def _button_parent(self, form: SubmitForm) -> SimJob:
        jobid = form.text("jobid") or ""
        parent = self.jobs.get(jobid)
        if parent is None:
            raise api_error(404, f"Unable to locate job {jobid}")
        if parent.status is not JobStatus.COMPLETED:
            # UNCONFIRMED text: the docs only require a completed job.
            raise api_error(400, f"Job {jobid} status is {parent.status}, button requires a completed job")
        return parent

    def _resolve_target(self, spec: VerbSpec, form: SubmitForm, parent: SimJob | None) -> Target:
        max_jobs = parse_max_jobs(form)
        discord = form.text("discord")
        reply_url = form.text("replyUrl")
        if parent is not None:
            # Button: the channel comes from the parent; a configured account's token wins over the old one.
            account = self.accounts.get(parent.channel)
            token = discord or (account.discord if account else parent.discord)
            return Target(
                token, parent.channel, max_jobs or parent.max_jobs, reply_url or acct_reply(account)
            )
        channel = form.text("channel")
        if channel is None:
            # A bare discord token names no channel; with neither, a configured account is picked.
            if discord is not None or not self.accounts:
                raise api_error(400, spec.missing_error)
            return self._pick_account(max_jobs, reply_url)
        account = self.accounts.get(channel)
        if discord is None and account is None:
            raise api_error(400, spec.missing_error)
        token = discord or (account.discord if account else "")
        limit = max_jobs or (account.max_jobs if account else MAX_JOBS_LIMIT)
        return Target(token, channel, limit, reply_url or acct_reply(account))

    def _pick_account(self, max_jobs: int | None, reply_url: str | None) -> Target:
        """useapi's load balancing: a random configured account that still has a free slot."""
        free = [
            (ch, acct) for ch, acct in self.accounts.items() if self._busy(ch) < (max_jobs or acct.max_jobs)
        ]
        if not free:
            limit = max_jobs or next(iter(self.accounts.values())).max_jobs
            executing = [jid for ch in self.accounts for jid in self._executing_with_external(ch)]
            raise api_error(
                429, f"Maximum of {limit} jobs executing in parallel supported", executingJobs=executing
            )
        channel, acct = self._rng.choice(free)
        return Target(acct.discord, channel, max_jobs or acct.max_jobs, reply_url or acct.reply_url)

    def _check_capacity(self, target: Target) -> None:
        if self._busy(target.channel) >= target.max_jobs:
            raise api_error(
                429,
                f"Maximum of {target.max_jobs} jobs executing in parallel supported",
                executingJobs=self._executing_with_external(target.channel),
            )

    def _new_job(
        self,
        spec: VerbSpec,
        form: SubmitForm,
        target: Target,
        parent: SimJob | None,
        request: web.Request,
    ) -> SimJob:
        now = utc_now()
        font = form.text("font")
        font = font.upper() if font else None
        prompt = parent.prompt if parent is not None else form.text("prompt")
        details = parent.details if parent is not None else content_details(prompt, form, font)
        seed_match = SEED_RE.search(prompt or "")
        seed = int(seed_match.group(1)) if seed_match else self._rng.randrange(10**18, 10**19)
        return SimJob(
            jobid=self._new_jobid(now),
            verb=spec.verb,
            status=JobStatus.CREATED,
            created=now,
            updated=now,
            discord=target.discord,
            channel=target.channel,
            max_jobs=target.max_jobs,
            message_id=self._snowflake(now),
            timestamp=now,
            details=details,
            content=f"<@{PIKA_USER}> Creation job queued. ({details})",
            prompt=prompt,
            image=form.files.get("image"),
            message_file=form.files.get("message"),
            message_text=form.text("message") if spec.verb is Verb.ENCRYPT_TEXT else None,
            font=font if spec.verb is Verb.ENCRYPT_TEXT else None,
            reply_url=target.reply_url or None,
            reply_ref=form.texts.get("replyRef"),
            button=form.text("button") if parent is not None else None,
            parent_job_id=parent.jobid if parent is not None else None,
            seed=seed,
            public_base=(self.config.public_base_url or str(request.url.origin())).rstrip("/"),
        )

    def _moderation(self, spec: VerbSpec, job: SimJob) -> dict[str, object] | None:
        """Pika's own refusals (422); the job is kept with status moderated. Buttons document no 422."""
        if spec.verb is Verb.BUTTON:
            return None
        unknown = unknown_flags(job.prompt or "", spec.allowed_flags)
        if unknown:
            job.error = ERR_INVALID_PARAM
            job.error_details = "Unrecognized parameter(s): " + ", ".join(f"`{n}`" for n in unknown)
        elif contains_any(job.prompt, self.config.moderated_words) or contains_any(
            job.message_text, self.config.moderated_words
        ):
            job.error = ERR_MODERATED
        else:
            return None
        job.status = JobStatus.MODERATED
        job.updated = utc_now()
        payload: dict[str, object] = {"error": job.error}
        if job.error_details is not None:
            payload["errorDetails"] = job.error_details
        payload.update({"jobid": job.jobid, "status": str(job.status), "code": 422})
        return payload
