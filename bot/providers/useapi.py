"""useapi.net Pika v1 (https://api.useapi.net/v1/pika/…), built to its documented contract.

useapi.net decommissioned this API on 2025-12-15; pikabot keeps it exactly to the documents and
proves it against sandbox/useapi_sim/. Every documented answer maps to an UpstreamError kind
or an UpstreamJob (a job record is read by ``useapi_jobs``), so the engine never reads upstream JSON
itself.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import aiohttp

from bot.domain.jobs import JobKind, JobRequest
from bot.domain.prompt import PromptError, PromptKind, build_prompt, parse_font, validate_message
from bot.providers.base import (
    Account,
    Capabilities,
    ErrorKind,
    ProviderHealth,
    SubmitRequest,
    UpstreamError,
    UpstreamJob,
)
from bot.providers.useapi_jobs import parse_job, text_or_none

log = logging.getLogger(__name__)

_MAX_ANSWER_BYTES = 1024 * 1024  # a job record is ~2 KiB; anything near this is not a job record
# Answers that say something about the job, not about useapi's health.
_ANSWERS = frozenset(
    {ErrorKind.MODERATED, ErrorKind.ACCOUNT_FULL, ErrorKind.RATE_LIMITED, ErrorKind.NOT_FOUND}
)
_ENDPOINT: Mapping[JobKind, str] = {
    JobKind.CREATE: "pika/create",
    JobKind.ANIMATE: "pika/animate",
    JobKind.ENCRYPT_TEXT: "pika/encrypt_text",
    JobKind.ENCRYPT_IMAGE: "pika/encrypt_image",
    JobKind.RETRY: "pika/button",
}


@dataclass(frozen=True)
class Timeouts:
    """Client timeouts; a submit may wait on useapi's own Discord round trip, so it gets longer."""

    connect: float = 10.0
    submit_total: float = 90.0
    read_total: float = 30.0


@runtime_checkable
class ListsAccounts(Protocol):
    """A provider that can list the accounts configured upstream (useapi.net's GET pika/account)."""

    async def configured_accounts(self) -> tuple[Account, ...]:
        """The upstream's configured accounts."""
        ...


class UseapiPikaProvider:
    """The useapi.net Pika v1 client."""

    name = "useapi"
    display_name = "useapi.net"
    retries_upstream = True  # pika/button with button=retry re-runs a finished job
    capabilities = Capabilities(
        kinds=frozenset(
            {JobKind.CREATE, JobKind.ANIMATE, JobKind.ENCRYPT_TEXT, JobKind.ENCRYPT_IMAGE, JobKind.RETRY}
        ),
        prompt_flags=True,
        lists_executing=True,  # GET pika/jobs
    )

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._token = token
        self._session = session
        self._owns_session = session is None
        self._timeouts = timeouts or Timeouts()
        self.health = ProviderHealth()

    # -- the Provider interface -------------------------------------------------------------

    def check(self, request: JobRequest) -> None:
        """Validate prompt, parameters, message and images the way Pika will (raises PromptError)."""
        if request.kind is JobKind.RETRY:
            return
        build_prompt(request.prompt, request.options, PromptKind(request.kind.value))
        fields = {item.form_field for item in request.inputs}
        if request.kind is JobKind.ENCRYPT_TEXT:
            validate_message(request.message_text or "")
            parse_font(request.font)
        if request.kind is JobKind.ANIMATE and "image" not in fields:
            raise PromptError("/animate needs an image to animate", field="image")
        if request.kind is JobKind.ENCRYPT_IMAGE and "message" not in fields:
            raise PromptError("/encrypt_image needs the image to hide", field="message")

    async def submit(self, request: SubmitRequest) -> UpstreamJob:
        """POST the job to its endpoint as multipart/form-data."""
        form = self._form(request)
        body = await self._call("POST", _ENDPOINT[request.kind], data=form, submitting=True)
        return self._job(body)

    async def fetch(self, upstream_id: str, handle: str | None = None) -> UpstreamJob:
        """GET pika/jobs/?jobid=…"""
        body = await self._call("GET", "pika/jobs/", params={"jobid": upstream_id})
        return self._job(body)

    async def cancel(self, upstream_id: str, handle: str | None = None) -> None:
        """GET pika/jobs/cancel/?jobid=…"""
        await self._call("GET", "pika/jobs/cancel/", params={"jobid": upstream_id})

    async def executing(self) -> tuple[str, ...]:
        """GET pika/jobs: the jobids useapi is running now under this token, on all its accounts."""
        body = await self._call("GET", "pika/jobs")
        if not isinstance(body, list) or not all(isinstance(item, str) for item in body):
            raise UpstreamError(ErrorKind.TRANSIENT, "pika/jobs did not answer a list of job ids")
        return tuple(body)

    async def configured_accounts(self) -> tuple[Account, ...]:
        """GET pika/account: the accounts configured at useapi.net (their Discord tokens are not kept)."""
        try:
            body = await self._call("GET", "pika/account")
        except UpstreamError as error:
            if error.kind is ErrorKind.NOT_FOUND:  # 404: no account configured there
                return ()
            raise
        if not isinstance(body, dict):
            raise UpstreamError(ErrorKind.TRANSIENT, "pika/account did not answer an object")
        accounts = []
        for channel, entry in body.items():
            max_jobs = entry.get("maxJobs") if isinstance(entry, dict) else None
            accounts.append(
                Account(str(channel), str(channel), max_jobs if isinstance(max_jobs, int) else 10)
            )
        return tuple(accounts)

    def price_usd(self, request: JobRequest) -> float | None:
        """Prices are the subscription's business, not per request: none to show."""
        return None

    async def authenticate_callback(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """useapi.net does not sign callbacks: the unguessable per-job URL is the only credential."""
        return None

    def callback_upstream_id(self, body: Mapping[str, object]) -> str | None:
        """useapi.net posts the job record: its `jobid`."""
        hint = body.get("jobid")
        return hint if isinstance(hint, str) and hint else None

    async def find_by_ref(self, reply_ref: str) -> UpstreamJob | None:
        """Look through the executing jobs for one carrying our replyRef."""
        for upstream_id in await self.executing():
            job = await self.fetch(upstream_id)
            if job.reply_ref == reply_ref:
                return job
        return None

    async def close(self) -> None:
        """Close the HTTP session if this provider made it."""
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    # -- request building ---------------------------------------------------------------------

    def _form(self, request: SubmitRequest) -> aiohttp.FormData:
        # The docs require multipart even when no file is attached (aiohttp would urlencode it).
        form = aiohttp.FormData(default_to_multipart=True)
        if request.kind is JobKind.RETRY:
            if not request.parent_upstream_id:
                raise UpstreamError(ErrorKind.INVALID_REQUEST, "a retry needs the finished upstream job id")
            form.add_field("jobid", request.parent_upstream_id)
            form.add_field("button", "retry")
        else:
            prompt = build_prompt(request.prompt, request.options, PromptKind(request.kind.value))
            if prompt:
                form.add_field("prompt", prompt)
            if request.kind is JobKind.ENCRYPT_TEXT:
                form.add_field("message", validate_message(request.message_text or ""))
                if request.font:
                    form.add_field("font", request.font)
            for item in request.inputs:
                # The docs require File/Blob parts: a filename and content type make aiohttp send one.
                form.add_field(
                    item.form_field, item.data, filename=item.filename, content_type=item.content_type
                )
        if request.account.channel:
            # The button endpoint takes the channel from the parent job; sending one would conflict.
            if request.kind is not JobKind.RETRY:
                form.add_field("channel", request.account.channel)
            form.add_field("maxJobs", str(request.account.max_jobs))
        if request.reply_url:
            form.add_field("replyUrl", request.reply_url)
        form.add_field("replyRef", request.reply_ref)
        return form

    # -- transport ----------------------------------------------------------------------------

    async def _session_for_calls(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: aiohttp.FormData | None = None,
        submitting: bool = False,
    ) -> Any:
        session = await self._session_for_calls()
        total = self._timeouts.submit_total if submitting else self._timeouts.read_total
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=self._timeouts.connect)
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        try:
            async with session.request(
                method,
                self._base_url + path,
                params=params,
                data=data,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                raw = await _read_capped(response)
                status = response.status
        except UpstreamError as refused:
            self._record_error(refused)
            raise
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # Nothing reached useapi: safe to send again later.
            unreachable = UpstreamError(
                ErrorKind.TRANSIENT, f"could not connect to useapi.net ({type(exc).__name__})"
            )
            self._record_error(unreachable)
            raise unreachable from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The request may have arrived and started a job: a submit must be reconciled, not resent.
            kind = ErrorKind.AMBIGUOUS if submitting else ErrorKind.TRANSIENT
            reason = "timed out" if isinstance(exc, TimeoutError) else f"failed ({type(exc).__name__})"
            lost = UpstreamError(kind, f"useapi.net {reason} after the request was sent")
            self._record_error(lost)
            raise lost from None
        try:
            body = _classify(status, raw, submitting=submitting)
        except UpstreamError as answered:
            self._record_error(answered)
            raise
        self.health.last_ok_at = time.time()
        return body

    def _record_error(self, error: UpstreamError) -> None:
        if error.kind in _ANSWERS:
            # A documented, expected answer (moderation, a full account): useapi is healthy.
            self.health.last_ok_at = time.time()
            log.info("useapi.net answered: %s", error)
            return
        self.health.last_error = str(error)
        self.health.last_error_at = time.time()
        log.warning("useapi.net call failed: %s", error)

    # -- answers -----------------------------------------------------------------------------

    def _job(self, body: Any) -> UpstreamJob:
        if not isinstance(body, dict) or not isinstance(body.get("jobid"), str) or not body["jobid"]:
            raise UpstreamError(ErrorKind.TRANSIENT, "useapi.net answered without a jobid")
        return parse_job(body)


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """Read the body, refusing anything larger than a job record could ever be."""
    if response.content_length is not None and response.content_length > _MAX_ANSWER_BYTES:
        raise UpstreamError(
            ErrorKind.TRANSIENT,
            f"useapi.net answered {response.content_length} bytes; a job record is a few KiB",
            status=response.status,
        )
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        received += len(chunk)
        if received > _MAX_ANSWER_BYTES:
            raise UpstreamError(
                ErrorKind.TRANSIENT, "useapi.net answered more than 1 MiB; a job record is a few KiB"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _classify(status: int, raw: bytes, *, submitting: bool) -> Any:
    """Map a documented status code and body to a value or a typed UpstreamError."""
    try:
        body: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if status == 200:
        if body is None:
            # A 200 to a submit means the job was probably created: find it, don't send it again.
            kind = ErrorKind.AMBIGUOUS if submitting else ErrorKind.TRANSIENT
            raise UpstreamError(kind, "useapi.net answered 200 with a body that is not JSON", status=status)
        return body
    fields: dict[str, Any] = body if isinstance(body, dict) else {}
    error_text = text_or_none(fields.get("error")) or _describe_non_json(raw)
    details = text_or_none(fields.get("errorDetails"))
    if status == 400:
        raise UpstreamError(ErrorKind.INVALID_REQUEST, error_text, details, status)
    if status == 401:
        raise UpstreamError(ErrorKind.UNAUTHORIZED, "useapi.net refused the API token (401)", None, status)
    if status == 402:
        raise UpstreamError(ErrorKind.PAYMENT_REQUIRED, error_text, details, status)
    if status == 404:
        raise UpstreamError(ErrorKind.NOT_FOUND, error_text, details, status)
    if status == 422:
        raise UpstreamError(
            ErrorKind.MODERATED, error_text, details, status, upstream_id=text_or_none(fields.get("jobid"))
        )
    if status == 429:
        executing = fields.get("executingJobs")
        if isinstance(executing, list):
            jobs = tuple(str(j) for j in executing)
            raise UpstreamError(ErrorKind.ACCOUNT_FULL, error_text, None, status, executing_jobs=jobs)
        raise UpstreamError(
            ErrorKind.RATE_LIMITED, error_text, details, status, retry_after=_retry_after(details)
        )
    if status == 504:
        raise UpstreamError(ErrorKind.OVERLOADED, error_text, details, status)
    if status >= 500:
        raise UpstreamError(ErrorKind.TRANSIENT, f"useapi.net error {status}: {error_text}", details, status)
    raise UpstreamError(
        ErrorKind.INVALID_REQUEST, f"unexpected answer {status}: {error_text}", details, status
    )


def _describe_non_json(raw: bytes) -> str:
    if raw.lstrip()[:1] == b"<":
        return "an HTML error page instead of JSON"
    return "an answer that is not JSON" if raw else "an empty answer"


def _retry_after(details: str | None) -> float | None:
    """useapi forwards Discord's 429 body as a JSON string in errorDetails."""
    if not details:
        return None
    try:
        parsed = json.loads(details)
    except ValueError:
        return None
    value = parsed.get("retry_after") if isinstance(parsed, dict) else None
    return float(value) if isinstance(value, int | float) else None
