"""fal.ai's queue serving Pika 2.2: the live route to Pika, behind the same Provider interface.

Built on our thin client (`fal_client.FalClient`) and webhook verifier (`fal_signature`). Facts:
../shared/fal-pika-contract.md. What differs from the other providers, and how it is absorbed:

* Typed options per model (`Capabilities.params`); Pika's -flags are refused, not translated.
* Images are uploaded to fal's storage at submit time; a Discord CDN link would expire first.
* The upstream job is addressed by three URLs fal returns; they travel as the opaque handle.
* A failed job is COMPLETED with an error (or fails only when its result is fetched).
* Webhooks are signed with Ed25519; `authenticate_callback` verifies before the engine looks.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import aiohttp

from bot.jobs import InputFile, JobKind, JobRequest
from bot.params import ParamName, VideoParams
from bot.prompt import PromptError
from bot.providers.base import (
    Capabilities,
    ErrorKind,
    ProviderHealth,
    SubmitRequest,
    UpstreamError,
    UpstreamJob,
    UpstreamStatus,
    UpstreamVideo,
)
from bot.providers.fal_client import FalCancelOutcome, FalClient, FalError, FalState, FalStatus
from bot.providers.fal_prices import FalPrices, price_usd
from bot.providers.fal_signature import FalWebhookVerifier

log = logging.getLogger(__name__)

TEXT_TO_VIDEO: Final = "fal-ai/pika/v2.2/text-to-video"
IMAGE_TO_VIDEO: Final = "fal-ai/pika/v2.2/image-to-video"
PIKASCENES: Final = "fal-ai/pika/v2.2/pikascenes"
PIKAFRAMES: Final = "fal-ai/pika/v2.2/pikaframes"
# Status, result and cancel live under owner/app only (contract §1.2), used when no handle is stored.
_REQUESTS_PATH: Final = "fal-ai/pika/requests"

ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1", "4:5", "5:4", "3:2", "2:3")
RESOLUTIONS: Final = ("720p", "1080p")
DURATIONS: Final = (5, 10)
MIN_IMAGES: Final = 2
MAX_IMAGES: Final = 5
MAX_SEED: Final = 2**53 - 1  # fal's schema says int; keep within what JSON numbers carry exactly

# Which typed options each model's schema has (§3.2); the others are refused by name.
_MODEL_PARAMS: Final[Mapping[str, frozenset[ParamName]]] = {
    TEXT_TO_VIDEO: frozenset(
        {ParamName.ASPECT_RATIO, ParamName.RESOLUTION, ParamName.DURATION, ParamName.NEGATIVE, ParamName.SEED}
    ),
    IMAGE_TO_VIDEO: frozenset({ParamName.RESOLUTION, ParamName.DURATION, ParamName.NEGATIVE, ParamName.SEED}),
    PIKASCENES: frozenset(
        {ParamName.ASPECT_RATIO, ParamName.RESOLUTION, ParamName.DURATION, ParamName.NEGATIVE, ParamName.SEED}
    ),
    PIKAFRAMES: frozenset({ParamName.RESOLUTION, ParamName.NEGATIVE, ParamName.SEED}),
}
_WHY_NOT: Final[Mapping[ParamName, str]] = {
    ParamName.ASPECT_RATIO: "takes its shape from the image",
    ParamName.DURATION: "takes its length from the keyframes",
}
_MODERATED_TEXT: Final = "fal.ai's content checker refused this prompt or image"


@dataclass(frozen=True)
class FalHandle:
    """The three URLs fal returned at submit, stored with the job and used exactly as given."""

    status_url: str
    response_url: str
    cancel_url: str
    model: str

    def to_text(self) -> str:
        """JSON for the job's upstream_handle column."""
        return json.dumps(
            {
                "status_url": self.status_url,
                "response_url": self.response_url,
                "cancel_url": self.cancel_url,
                "model": self.model,
            },
            sort_keys=True,
        )

    @classmethod
    def from_text(cls, text: str) -> FalHandle | None:
        """Parse a stored handle; None when it is not one of ours."""
        try:
            data = json.loads(text)
            return cls(data["status_url"], data["response_url"], data["cancel_url"], data["model"])
        except (ValueError, KeyError, TypeError):
            return None


def model_for(kind: JobKind, inputs: tuple[InputFile, ...]) -> str:
    """The fal model a command runs on: create uses text-to-video unless an image is attached."""
    if kind is JobKind.SCENES:
        return PIKASCENES
    if kind is JobKind.FRAMES:
        return PIKAFRAMES
    if kind is JobKind.ANIMATE or inputs:
        return IMAGE_TO_VIDEO
    return TEXT_TO_VIDEO


def payload_for(model: str, prompt: str, params: VideoParams, image_urls: list[str]) -> dict[str, object]:
    """The model's input JSON; only the options the member gave (fal's defaults apply otherwise)."""
    payload: dict[str, object] = {}
    if prompt:
        payload["prompt"] = prompt
    if model == IMAGE_TO_VIDEO:
        payload["image_url"] = image_urls[0]
    elif model in (PIKASCENES, PIKAFRAMES):
        payload["image_urls"] = image_urls
    optional: dict[str, object | None] = {
        "aspect_ratio": params.aspect_ratio,
        "resolution": params.resolution,
        "duration": params.duration,  # an int: fal's schema moved to 5|10 ints (§3.4)
        "negative_prompt": params.negative,
        "seed": params.seed,
    }
    payload.update({key: value for key, value in optional.items() if value is not None})
    return payload


class FalPikaProvider:
    """Pika 2.2 on fal.ai's queue API."""

    name = "fal"
    display_name = "fal.ai"
    retries_upstream = False  # Retry sends the same request again as a new job
    capabilities = Capabilities(
        kinds=frozenset({JobKind.CREATE, JobKind.ANIMATE, JobKind.SCENES, JobKind.FRAMES}),
        params=frozenset(
            {
                ParamName.ASPECT_RATIO,
                ParamName.NEGATIVE,
                ParamName.SEED,
                ParamName.RESOLUTION,
                ParamName.DURATION,
            }
        ),
    )

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        rest_base_url: str,
        jwks_url: str,
        prices: FalPrices | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._client = FalClient(self._base, key, session, rest_base_url=rest_base_url, clock=clock)
        self._jwks_session: aiohttp.ClientSession | None = None
        self._verifier = FalWebhookVerifier(jwks_url, self._session_for_jwks, clock=clock)
        self.prices = prices or FalPrices()
        self.health = ProviderHealth()

    def __repr__(self) -> str:
        return f"FalPikaProvider(base_url={self._base!r})"

    # -- the Provider interface -------------------------------------------------------------

    def check(self, request: JobRequest) -> None:
        """Refuse what the routed fal model would reject or ignore, naming it (PromptError)."""
        if request.options.flags():
            raise PromptError(
                "fal.ai takes the command's options, not Pika's -flags; use the options instead"
            )
        model = model_for(request.kind, request.inputs)
        images = len(request.inputs)
        if request.kind is JobKind.ANIMATE and not images:
            raise PromptError("/pika animate needs an image to animate", field="image")
        if request.kind in (JobKind.SCENES, JobKind.FRAMES) and not MIN_IMAGES <= images <= MAX_IMAGES:
            what = "images" if request.kind is JobKind.SCENES else "keyframes"
            raise PromptError(
                f"/pika {request.kind.value} needs {MIN_IMAGES} to {MAX_IMAGES} {what} (got {images})",
                field="image",
            )
        if model != PIKAFRAMES and not request.prompt.strip():
            raise PromptError("fal.ai needs a prompt saying what the video shows", field="prompt")
        self._check_params(model, request.params)

    def _check_params(self, model: str, params: VideoParams) -> None:
        for option in sorted(params.given() - _MODEL_PARAMS[model]):
            why = _WHY_NOT.get(option, "does not take it")
            raise PromptError(
                f"fal.ai's {model.rsplit('/', 1)[-1]} {why}; remove `{option.value}`", field=option.value
            )
        if params.aspect_ratio is not None and params.aspect_ratio not in ASPECT_RATIOS:
            raise PromptError(f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)}", field="aspect_ratio")
        if params.resolution is not None and params.resolution not in RESOLUTIONS:
            raise PromptError("resolution must be 720p or 1080p", field="resolution")
        if params.duration is not None and params.duration not in DURATIONS:
            raise PromptError("duration must be 5 or 10 seconds", field="duration")
        if params.seed is not None and not 0 <= params.seed <= MAX_SEED:
            raise PromptError(f"seed must be between 0 and {MAX_SEED}", field="seed")

    def price_usd(self, request: JobRequest) -> float | None:
        """fal's price for this request, from the configured table."""
        return price_usd(self.prices, request.kind, request.params, len(request.inputs))

    async def submit(self, request: SubmitRequest) -> UpstreamJob:
        """Upload the images to fal storage, then POST the model input to the queue."""
        model = model_for(request.kind, request.inputs)
        try:
            urls = [
                await self._client.upload(item.data, item.content_type, item.filename)
                for item in sorted(request.inputs, key=lambda item: item.form_field)
            ]
        except FalError as error:
            raise self._failed(error, submitting=False) from None  # nothing was queued yet
        payload = payload_for(model, request.prompt.strip(), request.params, urls)
        try:
            submission = await self._client.submit(model, payload, webhook_url=request.reply_url)
        except FalError as error:
            raise self._failed(error, submitting=True) from None
        self._ok()
        handle = FalHandle(submission.status_url, submission.response_url, submission.cancel_url, model)
        return UpstreamJob(
            upstream_id=submission.request_id,
            status=UpstreamStatus.RUNNING,
            progress=_queue_text(submission.queue_position),
            handle=handle.to_text(),
            queue_position=submission.queue_position,
        )

    async def fetch(self, upstream_id: str, handle: str | None = None) -> UpstreamJob:
        """Status, then (once COMPLETED) the result: the video or the job's own error."""
        urls = self._handle(upstream_id, handle)
        try:
            status = await self._client.status(urls.status_url, logs=True)
        except FalError as error:
            raise self._failed(error, submitting=False) from None
        self._ok()
        if status.state is FalState.IN_QUEUE:
            return UpstreamJob(
                upstream_id,
                UpstreamStatus.RUNNING,
                progress=_queue_text(status.queue_position),
                queue_position=status.queue_position,
            )
        if status.state is FalState.IN_PROGRESS:
            return UpstreamJob(
                upstream_id, UpstreamStatus.RUNNING, progress=_latest_log(status) or "generating"
            )
        if status.failed:
            moderated = status.error_type == "content_policy_violation"
            return UpstreamJob(
                upstream_id,
                UpstreamStatus.MODERATED if moderated else UpstreamStatus.FAILED,
                error=_MODERATED_TEXT if moderated else f"fal.ai: {status.error or status.error_type}",
            )
        try:
            video = await self._client.result(urls.response_url)
        except FalError as error:
            if error.is_content_policy:
                return UpstreamJob(upstream_id, UpstreamStatus.MODERATED, error=_MODERATED_TEXT)
            refused = (
                error.status is not None and 400 <= error.status < 500 and error.status not in (408, 429)
            )
            if refused and not error.is_still_in_progress:
                return UpstreamJob(upstream_id, UpstreamStatus.FAILED, error=_member_text(error))
            raise self._failed(error, submitting=False) from None
        return UpstreamJob(
            upstream_id,
            UpstreamStatus.COMPLETED,
            video=UpstreamVideo(
                url=video.url, filename=video.file_name, size=video.file_size, content_type=video.content_type
            ),
        )

    async def cancel(self, upstream_id: str, handle: str | None = None) -> None:
        """PUT cancel_url: accepted, or an UpstreamError saying it already finished / is unknown."""
        urls = self._handle(upstream_id, handle)
        try:
            outcome = await self._client.cancel(urls.cancel_url)
        except FalError as error:
            raise self._failed(error, submitting=False) from None
        if outcome is FalCancelOutcome.ALREADY_COMPLETED:
            raise UpstreamError(ErrorKind.INVALID_REQUEST, "fal.ai says the job already finished")
        if outcome is FalCancelOutcome.NOT_FOUND:
            raise UpstreamError(ErrorKind.NOT_FOUND, "fal.ai does not know this request")

    async def find_by_ref(self, reply_ref: str) -> UpstreamJob | None:
        """fal's queue cannot be searched by our reference: a lost submit answer is declared lost
        by the engine (never resent blindly), unless its signed webhook arrives first."""
        return None

    async def authenticate_callback(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """Verify fal's Ed25519 webhook signature (§2.3); None when valid, else why not."""
        verdict = await self._verifier.verify(headers, body)
        if verdict:
            return None
        return f"{verdict.reason.value}{': ' + verdict.detail if verdict.detail else ''}"

    def callback_upstream_id(self, body: Mapping[str, object]) -> str | None:
        """The webhook's `request_id` (the queue key)."""
        hint = body.get("request_id")
        return hint if isinstance(hint, str) and hint else None

    async def close(self) -> None:
        """Close the queue client and the JWKS session."""
        await self._client.close()
        if self._jwks_session is not None:
            await self._jwks_session.close()

    # -- helpers ----------------------------------------------------------------------------

    def _session_for_jwks(self) -> aiohttp.ClientSession:
        if self._jwks_session is None or self._jwks_session.closed:
            self._jwks_session = aiohttp.ClientSession()
        return self._jwks_session

    def _handle(self, upstream_id: str, handle: str | None) -> FalHandle:
        parsed = FalHandle.from_text(handle) if handle else None
        if parsed is not None:
            return parsed
        # A callback that beat the submit answer: rebuild the owner/app URLs (§1.2).
        root = f"{self._base}/{_REQUESTS_PATH}/{upstream_id}"
        return FalHandle(f"{root}/status", root, f"{root}/cancel", "")

    def _ok(self) -> None:
        self.health.last_ok_at = time.time()

    def _failed(self, error: FalError, *, submitting: bool) -> UpstreamError:
        kind = _classify(error, submitting=submitting)
        message = (
            _member_text(error) if kind in (ErrorKind.INVALID_REQUEST, ErrorKind.MODERATED) else str(error)
        )
        if kind is ErrorKind.MODERATED:
            message = _MODERATED_TEXT
        self.health.last_error = f"{kind.value}: {error}"[:300]
        self.health.last_error_at = time.time()
        log.info("fal.ai call failed: %s", error)
        return UpstreamError(kind, message, status=error.status)


def _classify(error: FalError, *, submitting: bool) -> ErrorKind:
    if error.ambiguous and submitting:
        return ErrorKind.AMBIGUOUS
    if error.status == 401:
        return ErrorKind.UNAUTHORIZED
    if error.status == 403:
        return ErrorKind.PAYMENT_REQUIRED  # "User is locked": out of credit; admins are told
    if error.is_content_policy:
        return ErrorKind.MODERATED
    if error.status == 429:
        return ErrorKind.RATE_LIMITED
    if error.status == 404:
        return ErrorKind.NOT_FOUND
    if error.status in (400, 422) and not error.retryable:
        return ErrorKind.INVALID_REQUEST
    return ErrorKind.TRANSIENT


def _member_text(error: FalError) -> str:
    """fal's `msg`s are written for people: show them, with where they point."""
    if error.details:
        return "fal.ai refused the request: " + "; ".join(detail.describe() for detail in error.details)[:800]
    return f"fal.ai refused the request: {error.message}"[:800]


def _queue_text(position: int | None) -> str:
    return f"waiting at fal.ai, position {position + 1}" if position is not None else "waiting at fal.ai"


def _latest_log(status: FalStatus) -> str | None:
    logs = status.logs or ()
    return logs[-1].message[:200] if logs else None
