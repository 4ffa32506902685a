"""API Glue's Pika web API (https://api.pikapikapika.io, the ``/web/*`` routes), built to its contract.

Sources: docs/apiglue-pika.md (from API Glue's guide, the only published request and answers). Proven
against sandbox/apiglue_sim/. Every answer maps to an UpstreamError kind or an UpstreamJob
(``apiglue_answers``), so the engine never reads API Glue's JSON itself; what a request may hold and
its JSON body are ``apiglue_requests``. Points the sources leave open are marked UNCONFIRMED.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from bot.domain.jobs import JobKind, JobRequest
from bot.domain.params import ParamName
from bot.providers.apiglue_answers import NAME, classify, parse_job, text_or_none
from bot.providers.apiglue_requests import check_request, submit_body
from bot.providers.base import (
    Capabilities,
    ErrorKind,
    ProviderHealth,
    SubmitRequest,
    UpstreamError,
    UpstreamJob,
)

log = logging.getLogger(__name__)

_MAX_ANSWER_BYTES: Final = 1024 * 1024  # a job record is ~2 KiB; anything near this is not one
# Answers that say something about the job, not about API Glue's health.
_ANSWERS: Final = frozenset({ErrorKind.MODERATED, ErrorKind.RATE_LIMITED, ErrorKind.NOT_FOUND})
_ROUTE: Final[Mapping[JobKind, str]] = {
    JobKind.GENERATE: "web/generate",
    JobKind.CREATE: "web/generate",
    JobKind.ANIMATE: "web/generate",
    JobKind.EXTEND: "web/extend",
    JobKind.UPSCALE: "web/upscale",
}


@dataclass(frozen=True)
class Timeouts:
    """Client timeouts; a submit may wait while API Glue downloads the image, so it gets longer."""

    connect: float = 10.0
    submit_total: float = 60.0
    read_total: float = 30.0


class ApiGlueProvider:
    """The API Glue Pika web API client (generate, extend, upscale; polling by job id)."""

    name = "apiglue"
    display_name = NAME
    retries_upstream = False  # no retry route: our Retry sends the same parameters as a new job
    capabilities = Capabilities(
        # CREATE and ANIMATE go to /web/generate too, so an operator can route those commands here.
        kinds=frozenset({JobKind.GENERATE, JobKind.CREATE, JobKind.ANIMATE, JobKind.EXTEND, JobKind.UPSCALE}),
        params=frozenset(
            {
                ParamName.ASPECT_RATIO,
                ParamName.FPS,
                ParamName.MOTION,
                ParamName.GUIDANCE,
                ParamName.NEGATIVE,
                ParamName.SEED,
                ParamName.PAN,
                ParamName.TILT,
                ParamName.ROTATE,
                ParamName.ZOOM,
            }
        ),
        progress_percent=True,
        image_urls=True,  # `image` is a URL: the member's upload on Discord's CDN
        follow_ups=frozenset({JobKind.EXTEND, JobKind.UPSCALE}),
    )

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        """`base_url` is the API root (``https://api.pikapikapika.io``); paths start at ``web/``."""
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._token = token
        self._session = session
        self._owns_session = session is None
        self._timeouts = timeouts or Timeouts()
        self.health = ProviderHealth()

    def __repr__(self) -> str:
        return f"ApiGlueProvider(base_url={self._base_url!r})"  # never the token

    # -- the Provider interface -------------------------------------------------------------

    def check(self, request: JobRequest) -> None:
        """Refuse what API Glue would refuse (or silently ignore), naming the option (PromptError)."""
        check_request(request, self.capabilities)

    async def submit(self, request: SubmitRequest) -> UpstreamJob:
        """POST the job as JSON to /web/generate, /web/extend or /web/upscale."""
        route = _ROUTE.get(request.kind)
        if route is None:
            raise UpstreamError(ErrorKind.INVALID_REQUEST, f"{NAME} cannot run {request.kind.value} jobs")
        body = submit_body(request)
        answer = await self._call("POST", route, body=body, submitting=True)
        return self._job(answer, submitting=True, sent_ref=request.reply_ref)

    async def fetch(self, upstream_id: str, handle: str | None = None) -> UpstreamJob:
        """GET /web/jobs/{id}: the job and its video's status, progress and result."""
        answer = await self._call("GET", "web/jobs/" + quote(upstream_id, safe=""))
        return self._job(answer, submitting=False)

    async def cancel(self, upstream_id: str, handle: str | None = None) -> None:
        """API Glue documents no cancel route, so this refuses without calling it."""
        raise UpstreamError(ErrorKind.INVALID_REQUEST, f"{NAME} cannot cancel a job once it has started")

    def price_usd(self, request: JobRequest) -> float | None:
        """Prices are the subscription's business, not per request: none to show."""
        return None

    async def authenticate_callback(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """API Glue does not sign webhooks (none documented): the per-job URL is the credential."""
        return None

    def callback_upstream_id(self, body: Mapping[str, object]) -> str | None:
        """The webhook carries the job JSON: `job.id` (UNCONFIRMED shape, as GET /web/jobs/{id})."""
        job = body.get("job")
        hint = job.get("id") if isinstance(job, Mapping) else None
        return hint if isinstance(hint, str) and hint else None

    async def find_by_ref(self, reply_ref: str) -> UpstreamJob | None:
        """Always None: API Glue documents no list or search route to look a ref up with.

        A submit whose answer was lost is therefore declared lost by the engine's reconcile and
        never sent again blindly (which could start, and charge for, a second job).
        """
        return None

    async def close(self) -> None:
        """Close the HTTP session if this provider made it."""
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    # -- transport ----------------------------------------------------------------------------

    async def _session_for_calls(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def _call(
        self, method: str, path: str, *, body: Mapping[str, object] | None = None, submitting: bool = False
    ) -> Any:
        session = await self._session_for_calls()
        total = self._timeouts.submit_total if submitting else self._timeouts.read_total
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=self._timeouts.connect)
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        try:
            async with session.request(
                method,
                self._base_url + path,
                json=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                raw = await _read_capped(response, submitting=submitting)
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except UpstreamError as refused:
            raise self._failed(refused) from None
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # Nothing reached API Glue: safe to send again later.
            raise self._failed(
                UpstreamError(ErrorKind.TRANSIENT, f"could not connect to {NAME} ({type(exc).__name__})")
            ) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The request may have arrived and started a job: a submit must be reconciled, not resent.
            kind = ErrorKind.AMBIGUOUS if submitting else ErrorKind.TRANSIENT
            reason = "timed out" if isinstance(exc, TimeoutError) else f"failed ({type(exc).__name__})"
            raise self._failed(UpstreamError(kind, f"{NAME} {reason} after the request was sent")) from None
        try:
            answer = classify(status, raw, retry_after=retry_after, submitting=submitting)
        except UpstreamError as answered:
            raise self._failed(answered) from None
        self.health.last_ok_at = time.time()
        return answer

    def _failed(self, error: UpstreamError) -> UpstreamError:
        """Scrub, record and log an error; returns it for the caller to raise."""
        error.message = self._scrub(error.message)
        error.details = self._scrub(error.details) if error.details else error.details
        if error.kind in _ANSWERS:
            # A documented, expected answer (moderation, a rate limit): API Glue itself is healthy.
            self.health.last_ok_at = time.time()
            log.info("%s answered: %s", NAME, error)
        else:
            self.health.last_error = str(error)
            self.health.last_error_at = time.time()
            log.warning("%s call failed: %s", NAME, error)
        return error

    def _scrub(self, text: str) -> str:
        # An upstream that echoes our headers back must not put the token into logs or /healthz.
        if len(self._token) >= 8:
            return text.replace(self._token, "[token]")
        return text

    def _job(self, answer: Any, *, submitting: bool, sent_ref: str | None = None) -> UpstreamJob:
        job = answer.get("job") if isinstance(answer, dict) else None
        if not isinstance(job, dict) or not text_or_none(job.get("id")):
            # After a submit the job probably exists: reconcile it rather than send it again.
            kind = ErrorKind.AMBIGUOUS if submitting else ErrorKind.TRANSIENT
            raise self._failed(UpstreamError(kind, f"{NAME} answered without a job id"))
        snapshot = parse_job(answer)
        if snapshot.reply_ref is None and sent_ref is not None:
            # The answer to our own submit is ours even if API Glue does not echo the ref there.
            snapshot = replace(snapshot, reply_ref=sent_ref)
        return snapshot


# -- reading answers ------------------------------------------------------------------------------------


async def _read_capped(response: aiohttp.ClientResponse, *, submitting: bool) -> bytes:
    """Read the body, refusing anything larger than a job record could ever be."""
    # A 200 to a submit means the job was probably created, however odd its answer.
    kind = ErrorKind.AMBIGUOUS if submitting and response.status == 200 else ErrorKind.TRANSIENT
    if response.content_length is not None and response.content_length > _MAX_ANSWER_BYTES:
        raise UpstreamError(
            kind,
            f"{NAME} answered {response.content_length} bytes; a job record is a few KiB",
            status=response.status,
        )
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        received += len(chunk)
        if received > _MAX_ANSWER_BYTES:
            raise UpstreamError(
                kind, f"{NAME} answered more than 1 MiB; a job record is a few KiB", status=response.status
            )
        chunks.append(chunk)
    return b"".join(chunks)
