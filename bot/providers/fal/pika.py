"""fal.ai's queue serving Pika (v2.2, v2.1, v2 turbo): the live route to Pika, behind the Provider interface.

Built on our thin client (``client.FalClient``) and webhook verifier (``signature``); what is sent
lives in ``payloads``, how answers map to the engine's terms in ``failures``. Proven against
``sandbox/fal_sim/``. Facts: docs/fal-pika.md. How fal differs from the other upstreams, and
where that is absorbed:

* A request runs on the member's model (``[[fal.models]]``, the default when none is picked) at the
  endpoint its command needs (text-to-video, image-to-video, pikascenes, pikaframes); each endpoint's
  schema takes a different subset of the typed options (section 3.2): ``check`` refuses an option
  the routed model would reject or ignore, by name. Pika's inline ``-flags`` are refused too.
* Images are uploaded to fal's storage at submit time and sent as those URLs: a Discord CDN link
  expires before a queued job starts.
* The upstream job is addressed by the three URLs the submit answer returns (section 1.2); they travel
  as the opaque ``UpstreamJob.handle`` and are used exactly as given.
* A queue request never reports FAILED (section 0): a failed job is COMPLETED with ``error`` on its
  status, or fails only when its result is fetched (422 with a ``detail`` list).
* Webhooks are signed with Ed25519 (section 2.3); ``authenticate_callback`` verifies them.

The API key never appears in errors, logs, reprs or ``health``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import aiohttp

from bot.config import FalCatalogue, FalEndpoint
from bot.domain.jobs import JobKind, JobRequest
from bot.domain.params import ParamName, VideoParams
from bot.domain.prompt import PromptError
from bot.providers.base import (
    Capabilities,
    ErrorKind,
    ProviderHealth,
    SubmitRequest,
    UpstreamError,
    UpstreamJob,
    UpstreamStatus,
)
from bot.providers.fal.answers import (
    FalCancelOutcome,
    FalError,
    FalState,
    FalStatus,
)
from bot.providers.fal.client import FalClient
from bot.providers.fal.failures import (
    ANSWERS,
    MAX_TEXT,
    describe_error,
    error_kind,
    failure,
    first_type,
    latest_log,
    queue_text,
    result_unreachable,
    video_of,
)
from bot.providers.fal.models import NAME, FalRoute, route_for
from bot.providers.fal.payloads import (
    FalHandle,
    build_payload,
    check_images,
    check_no_flags,
    check_params,
    images_of,
    upload_name,
)
from bot.providers.fal.prices import price_usd
from bot.providers.fal.signature import FalWebhookVerifier

__all__ = ["FalPikaProvider"]

log = logging.getLogger(__name__)

# -- the provider -----------------------------------------------------------------------------------


class FalPikaProvider:
    """Pika on fal.ai's queue API: create and animate on any configured model, scenes and frames."""

    name = "fal"
    display_name = NAME
    retries_upstream = False  # no retry route: our Retry sends the same request again as a new job
    capabilities = Capabilities(
        kinds=frozenset({JobKind.CREATE, JobKind.ANIMATE, JobKind.SCENES, JobKind.FRAMES}),
        params=frozenset(
            {
                ParamName.ASPECT_RATIO,
                ParamName.NEGATIVE,
                ParamName.SEED,
                ParamName.RESOLUTION,
                ParamName.DURATION,
                ParamName.MODEL,
                ParamName.TRANSITIONS,
            }
        ),
        # image_urls=False: the images' bytes are uploaded to fal's storage at submit time.
        # No follow-ups: fal's Pika has no extend or upscale of a finished video.
    )

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        rest_base_url: str,
        jwks_url: str,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
        catalogue: FalCatalogue | None = None,
    ) -> None:
        """Configure the client; nothing is sent until the first call.

        :param base_url: the queue host (``https://queue.fal.run``); the rebuilt status URLs use it.
        :param key: ``<key_id>:<key_secret>``, sent only to ``base_url`` and ``rest_base_url``.
        :param rest_base_url: where storage tokens come from (``https://rest.fal.ai``).
        :param jwks_url: fal's webhook keys (``https://rest.fal.ai/.well-known/jwks.json``).
        :param session: shared by the client and the verifier, and then not closed by ``close``.
        :param clock: Unix seconds: webhook timestamps, JWKS and storage-token ages, ``health``.
        :param catalogue: the models, their endpoints and prices, and the default one
            (``[[fal.models]]``; by default the built-in list at fal's list prices).
        """
        self._client = FalClient(base_url, key, session, rest_base_url=rest_base_url, clock=clock)
        self._base = self._client.base_url
        self._secrets = tuple(s for s in (key.strip(), key.strip().partition(":")[2]) if len(s) >= 4)
        self._jwks_session: aiohttp.ClientSession | None = None
        self._verifier = FalWebhookVerifier(
            jwks_url, session if session is not None else self._owned_jwks_session, clock=clock
        )
        self._clock = clock
        self.catalogue = catalogue or FalCatalogue()
        self.health = ProviderHealth()

    def __repr__(self) -> str:
        return f"FalPikaProvider(base_url={self._base!r})"  # never the key

    # -- the Provider interface -------------------------------------------------------------

    def check(self, request: JobRequest) -> None:
        """Refuse what the routed fal model would reject or ignore, naming the option (PromptError)."""
        if request.kind not in self.capabilities.kinds:
            raise PromptError(f"{NAME} cannot run {request.kind.value} jobs", field="kind")
        check_no_flags(request)
        undeclared = sorted(request.params.given() - self.capabilities.params)
        if undeclared:
            raise PromptError(
                f"{NAME} has no `{undeclared[0].value}` option; remove it", field=undeclared[0].value
            )
        images = check_images(request)
        route = self.route(request.kind, request.params, len(images))
        if route.endpoint is not FalEndpoint.PIKAFRAMES and not request.prompt.strip():
            raise PromptError(
                f"the prompt is empty: describe the video you want ({NAME} needs a prompt)", field="prompt"
            )
        check_params(route, request.params, len(images))

    def route(self, kind: JobKind, params: VideoParams, image_count: int) -> FalRoute:
        """The model and endpoint a request runs on (PromptError naming ``model`` when there is none)."""
        return route_for(self.catalogue, kind, params, image_count)

    def price_usd(self, request: JobRequest) -> float | None:
        """fal's price for this request, from its model's configured prices; None without a model."""
        count = len(images_of(request.inputs))
        try:
            route = self.route(request.kind, request.params, count)
        except PromptError:
            return None
        return price_usd(route, request.params, count)

    async def submit(self, request: SubmitRequest) -> UpstreamJob:
        """Upload the images to fal's storage, then POST the model input to the queue.

        fal's answer to a webhook-enabled submit is the same; the webhook goes to ``reply_url``.
        """
        if request.kind not in self.capabilities.kinds:
            raise UpstreamError(ErrorKind.INVALID_REQUEST, f"{NAME} cannot run {request.kind.value} jobs")
        images = images_of(request.inputs)
        if any(not item.data for item in images):
            raise UpstreamError(
                ErrorKind.INVALID_REQUEST, "the image is no longer stored; start the command again"
            )
        try:
            route = self.route(request.kind, request.params, len(images))
        except PromptError as error:
            # A stored job whose model left the config since it was queued.
            raise UpstreamError(ErrorKind.INVALID_REQUEST, str(error)) from None
        urls: list[str] = []
        for index, item in enumerate(images, start=1):
            try:
                # Never the member's Discord CDN link: it expires before a queued job starts.
                url = await self._client.upload(
                    item.data, item.content_type or "application/octet-stream", upload_name(item, index)
                )
            except FalError as error:
                raise self._failed(error) from None  # nothing was queued yet: never ambiguous
            urls.append(url)
        payload = build_payload(route, request.prompt.strip(), request.params, urls)
        try:
            submission = await self._client.submit(route.endpoint_id, payload, webhook_url=request.reply_url)
        except FalError as error:
            raise self._failed(error) from None
        self._ok()
        handle = FalHandle(
            submission.status_url, submission.response_url, submission.cancel_url, route.endpoint_id
        )
        return UpstreamJob(
            upstream_id=submission.request_id,
            status=UpstreamStatus.RUNNING,
            progress=queue_text(submission.queue_position),
            reply_ref=request.reply_ref,  # the answer to our own submit is ours
            seed=request.params.seed,
            handle=handle.to_text(),
            queue_position=submission.queue_position,
        )

    async def fetch(self, upstream_id: str, handle: str | None = None) -> UpstreamJob:
        """The status, then (once COMPLETED) the result: the video, or the job's own error."""
        urls = self._urls(upstream_id, handle)
        try:
            status = await self._client.status(urls.status_url, logs=True)
        except FalError as error:
            raise self._failed(error) from None
        self._ok()
        if status.state is FalState.IN_QUEUE:
            return UpstreamJob(
                upstream_id,
                UpstreamStatus.RUNNING,
                progress=queue_text(status.queue_position),
                queue_position=status.queue_position,
            )
        if status.state is FalState.IN_PROGRESS:
            return UpstreamJob(
                upstream_id, UpstreamStatus.RUNNING, progress=latest_log(status) or "generating"
            )
        return await self._finished(upstream_id, urls, status)

    async def cancel(self, upstream_id: str, handle: str | None = None) -> None:
        """PUT ``cancel_url``. A running job may still finish after the request is accepted."""
        urls = self._urls(upstream_id, handle)
        try:
            outcome = await self._client.cancel(urls.cancel_url)
        except FalError as error:
            raise self._failed(error) from None
        self._ok()
        if outcome is FalCancelOutcome.ALREADY_COMPLETED:
            raise UpstreamError(
                ErrorKind.INVALID_REQUEST, f"{NAME} says the job already finished", upstream_id=upstream_id
            )
        if outcome is FalCancelOutcome.NOT_FOUND:
            raise UpstreamError(
                ErrorKind.NOT_FOUND,
                f"{NAME} does not know this request",
                status=404,
                upstream_id=upstream_id,
            )

    async def find_by_ref(self, reply_ref: str) -> UpstreamJob | None:
        """Always None: fal's queue cannot be searched by our reference.

        The request id is fal's own, the submit body is only the model's input (no field of ours
        travels with it), and the queue API has no list or search route. A submit whose answer was
        lost is therefore declared lost by the engine's reconcile and never sent again blindly
        (which could start, and charge for, a second job).
        """
        return None

    async def authenticate_callback(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """Verify fal's Ed25519 webhook signature (section 2.3) on the raw body; None when valid."""
        verdict = await self._verifier.verify(headers, body)
        if verdict:
            return None
        return f"{verdict.reason.value} ({verdict.detail})" if verdict.detail else verdict.reason.value

    def callback_upstream_id(self, body: Mapping[str, object]) -> str | None:
        """The webhook's ``request_id`` (the queue key; ``gateway_request_id`` may differ)."""
        hint = body.get("request_id")
        return hint if isinstance(hint, str) and hint else None

    async def close(self) -> None:
        """Close the queue client's session and the verifier's, when this provider made them."""
        await self._client.close()
        if self._jwks_session is not None:
            await self._jwks_session.close()
            self._jwks_session = None

    # -- answers ----------------------------------------------------------------------------

    async def _finished(self, upstream_id: str, urls: FalHandle, status: FalStatus) -> UpstreamJob:
        """A COMPLETED request: fetch its result, which is the video or the job's own error.

        The result is fetched even when the status already carries an error: only the result holds
        the full ``detail`` list, whose ``msg``s are what members are shown.
        """
        try:
            video = await self._client.result(urls.response_url)
        except FalError as error:
            not_the_jobs = result_unreachable(error) or error.status in (401, 403, 404)
            if status.failed and (not_the_jobs or error.is_still_in_progress):
                return failure(upstream_id, status.error_type, status.error, ())
            if error.is_still_in_progress:
                return UpstreamJob(upstream_id, UpstreamStatus.RUNNING, progress=f"finishing at {NAME}")
            if not_the_jobs:
                raise self._failed(error) from None
            log.info("%s request %s failed: %s", NAME, upstream_id, self._scrub(str(error)))
            return failure(
                upstream_id,
                status.error_type or error.error_type or first_type(error.details),
                self._scrub(status.error or error.message),
                error.details,
                content_policy=error.is_content_policy,
            )
        return UpstreamJob(upstream_id, UpstreamStatus.COMPLETED, video=video_of(video))

    def _urls(self, upstream_id: str, handle: str | None) -> FalHandle:
        parsed = FalHandle.from_text(handle) if handle else None
        if parsed is not None:
            return parsed
        if handle:
            log.warning(
                "%s request %s has an unreadable stored handle; rebuilding its URLs", NAME, upstream_id
            )
        return FalHandle.rebuilt(self._base, upstream_id)

    def _ok(self) -> None:
        self.health.last_ok_at = self._clock()

    def _failed(self, error: FalError) -> UpstreamError:
        """Type, scrub, record and log an error; returns it for the caller to raise."""
        kind = error_kind(error)
        message, details = describe_error(kind, error)
        upstream_error = UpstreamError(
            kind,
            self._scrub(message),
            details=self._scrub(details) if details else None,
            status=error.status,
        )
        if kind in ANSWERS:
            # An answer about this request (moderation, validation, a full queue): fal itself is fine.
            self.health.last_ok_at = self._clock()
            log.info("%s answered: %s", NAME, upstream_error)
        else:
            self.health.last_error = str(upstream_error)[:MAX_TEXT]
            self.health.last_error_at = self._clock()
            log.warning("%s call failed: %s", NAME, upstream_error)
        return upstream_error

    def _scrub(self, text: str) -> str:
        # FalClient scrubs its own texts; this is the belt to its braces.
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def _owned_jwks_session(self) -> aiohttp.ClientSession:
        if self._jwks_session is None or self._jwks_session.closed:
            self._jwks_session = aiohttp.ClientSession()
        return self._jwks_session
