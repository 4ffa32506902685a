"""fal.ai's queue serving Pika 2.2: the live route to Pika, behind the same Provider interface.

Built on our thin client (``fal_client.FalClient``) and webhook verifier (``fal_signature``); proven
against ``sandbox/fal_sim.py``. Facts: fal-pika-contract.md. How fal differs from the other
upstreams, and where that is absorbed:

* Each command runs on its own model (text-to-video, image-to-video, pikascenes, pikaframes), and each
  model's schema takes a different subset of the typed options (section 3.2): ``check`` refuses an
  option the chosen model would reject or ignore, by name. Pika's inline ``-flags`` are refused too.
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

import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Final
from urllib.parse import quote, unquote, urlsplit

import aiohttp

from bot.domain.jobs import InputFile, JobKind, JobRequest
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
    UpstreamVideo,
)
from bot.providers.fal.answers import (
    CONTENT_POLICY,
    INGRESS_STATUSES,
    FalCancelOutcome,
    FalError,
    FalErrorDetail,
    FalState,
    FalStatus,
    FalVideo,
)
from bot.providers.fal.client import FalClient
from bot.providers.fal.prices import FalPrices, price_usd
from bot.providers.fal.signature import FalWebhookVerifier

__all__ = [
    "ASPECT_RATIOS",
    "DURATIONS",
    "IMAGE_TO_VIDEO",
    "MAX_IMAGES",
    "MAX_SEED",
    "MIN_IMAGES",
    "MODEL_PARAMS",
    "MODERATED_TEXT",
    "PIKAFRAMES",
    "PIKASCENES",
    "RESOLUTIONS",
    "TEXT_TO_VIDEO",
    "FalHandle",
    "FalPikaProvider",
    "build_payload",
    "model_for",
]

log = logging.getLogger(__name__)

TEXT_TO_VIDEO: Final = "fal-ai/pika/v2.2/text-to-video"
IMAGE_TO_VIDEO: Final = "fal-ai/pika/v2.2/image-to-video"
PIKASCENES: Final = "fal-ai/pika/v2.2/pikascenes"
PIKAFRAMES: Final = "fal-ai/pika/v2.2/pikaframes"
# Status, result and cancel live under owner/app only (section 1.2); used when no handle is stored.
_REQUESTS_PATH: Final = "fal-ai/pika/requests"

# Value sets from section 3.2.
ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1", "4:5", "5:4", "3:2", "2:3")
RESOLUTIONS: Final = ("720p", "1080p")
DURATIONS: Final = (5, 10)
# /pika scenes and /pika frames take 2 to 5 images. UNCONFIRMED for pikascenes: fal publishes no
# maximum (third parties say 1-5); a scene of one image is what /pika create with an image is for.
MIN_IMAGES: Final = 2
MAX_IMAGES: Final = 5
# fal's schema says "int"; keep it within what a JSON number carries exactly (Discord's range too).
MAX_SEED: Final = 2**53 - 1

# The typed options each model's input schema has (section 3.2); any other is refused by name.
_CLIP_PARAMS: Final = frozenset(
    {ParamName.ASPECT_RATIO, ParamName.RESOLUTION, ParamName.DURATION, ParamName.NEGATIVE, ParamName.SEED}
)
MODEL_PARAMS: Final[Mapping[str, frozenset[ParamName]]] = {
    TEXT_TO_VIDEO: _CLIP_PARAMS,
    IMAGE_TO_VIDEO: _CLIP_PARAMS - {ParamName.ASPECT_RATIO},
    PIKASCENES: _CLIP_PARAMS,
    PIKAFRAMES: frozenset({ParamName.RESOLUTION, ParamName.NEGATIVE, ParamName.SEED}),
}
# Why a model has no such option, in the member's terms.
_WHY_NOT: Final[Mapping[tuple[str, ParamName], str]] = {
    (IMAGE_TO_VIDEO, ParamName.ASPECT_RATIO): "takes its shape from the image",
    (PIKAFRAMES, ParamName.ASPECT_RATIO): "takes its shape from the keyframes",
    (PIKAFRAMES, ParamName.DURATION): "takes its length from the keyframes (5 s between each two)",
}
_MODEL_NAMES: Final[Mapping[str, str]] = {
    TEXT_TO_VIDEO: "text-to-video",
    IMAGE_TO_VIDEO: "image-to-video",
    PIKASCENES: "Pikascenes",
    PIKAFRAMES: "Pikaframes",
}
# Pika's inline flags that have a typed counterpart here: (PikaOptions field) -> the option to use.
_FLAG_OPTIONS: Final[Mapping[str, ParamName]] = {
    "negative": ParamName.NEGATIVE,
    "aspect_ratio": ParamName.ASPECT_RATIO,
    "seed": ParamName.SEED,
}
# The input names an image may come in under: "image" (create, animate) or "image_1".."image_5".
_IMAGE_FIELD: Final = re.compile(r"image(?:_([1-9][0-9]?))?")

_NAME: Final = "fal.ai"
MODERATED_TEXT: Final = "fal.ai's content checker refused this prompt or image"
_CANCELLED_TYPES: Final = frozenset({"client_cancelled"})
# Answers about the request, not about fal's health.
_ANSWERS: Final = frozenset(
    {ErrorKind.MODERATED, ErrorKind.INVALID_REQUEST, ErrorKind.NOT_FOUND, ErrorKind.RATE_LIMITED}
)
_MAX_TEXT: Final = 600
_MAX_PROGRESS: Final = 200
_UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")


# -- the stored handle ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FalHandle:
    """The three URLs fal returned at submit, stored with the job and used exactly as given."""

    status_url: str
    response_url: str
    cancel_url: str
    model: str = ""

    def to_text(self) -> str:
        """JSON for the job's ``upstream_handle`` column."""
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
        except (ValueError, TypeError):
            return None
        if not isinstance(data, dict):
            return None
        urls = [data.get(key) for key in ("status_url", "response_url", "cancel_url")]
        if not all(isinstance(url, str) and url for url in urls):
            return None
        model = data.get("model")
        return cls(str(urls[0]), str(urls[1]), str(urls[2]), model if isinstance(model, str) else "")

    @classmethod
    def rebuilt(cls, base_url: str, request_id: str) -> FalHandle:
        """The owner/app URLs fal_client rebuilds from a request id (section 1.2)."""
        root = f"{base_url}/{_REQUESTS_PATH}/{quote(request_id, safe='')}"
        return cls(f"{root}/status", root, f"{root}/cancel")


# -- models and payloads ----------------------------------------------------------------------------


def model_for(kind: JobKind, image_count: int) -> str:
    """The fal model a command runs on: /pika create is text-to-video unless an image is attached."""
    if kind is JobKind.SCENES:
        return PIKASCENES
    if kind is JobKind.FRAMES:
        return PIKAFRAMES
    if kind is JobKind.ANIMATE or image_count:
        return IMAGE_TO_VIDEO
    return TEXT_TO_VIDEO


def build_payload(
    model: str, prompt: str, params: VideoParams, image_urls: Sequence[str]
) -> dict[str, object]:
    """The model's input JSON: only the options given (each model's own defaults apply otherwise)."""
    payload: dict[str, object] = {}
    if prompt:
        payload["prompt"] = prompt
    if model == IMAGE_TO_VIDEO:
        payload["image_url"] = image_urls[0]
    elif model in (PIKASCENES, PIKAFRAMES):
        payload["image_urls"] = list(image_urls)
    allowed = MODEL_PARAMS[model]
    optional: dict[ParamName, tuple[str, object]] = {
        ParamName.ASPECT_RATIO: ("aspect_ratio", params.aspect_ratio),
        ParamName.RESOLUTION: ("resolution", params.resolution),
        # An int: fal's schema moved from numbers to "5"|"10" strings to 5|10 ints (section 3.4).
        ParamName.DURATION: ("duration", params.duration),
        ParamName.NEGATIVE: ("negative_prompt", params.negative),
        ParamName.SEED: ("seed", params.seed),
    }
    for name, (key, value) in optional.items():
        if value is not None and name in allowed:
            payload[key] = value
    return payload


def _images(inputs: Sequence[InputFile]) -> list[InputFile]:
    """The image inputs in the member's order (``image_1`` first); other inputs are left out."""
    numbered: list[tuple[int, int, InputFile]] = []
    for position, item in enumerate(inputs):
        match = _IMAGE_FIELD.fullmatch(item.form_field)
        if match is not None:
            numbered.append((int(match.group(1) or 0), position, item))
    return [item for _, _, item in sorted(numbered, key=lambda entry: entry[:2])]


def _upload_name(item: InputFile, index: int) -> str:
    """A header-safe file name for fal's storage (the member's name may hold anything)."""
    cleaned = _UNSAFE_NAME.sub("_", item.filename).strip("._")[:80]
    return cleaned or f"image_{index}"


# -- the provider -----------------------------------------------------------------------------------


class FalPikaProvider:
    """Pika 2.2 on fal.ai's queue API: create, animate, scenes and frames."""

    name = "fal"
    display_name = _NAME
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
        prices: FalPrices | None = None,
    ) -> None:
        """Configure the client; nothing is sent until the first call.

        :param base_url: the queue host (``https://queue.fal.run``); the rebuilt status URLs use it.
        :param key: ``<key_id>:<key_secret>``, sent only to ``base_url`` and ``rest_base_url``.
        :param rest_base_url: where storage tokens come from (``https://rest.fal.ai``).
        :param jwks_url: fal's webhook keys (``https://rest.fal.ai/.well-known/jwks.json``).
        :param session: shared by the client and the verifier, and then not closed by ``close``.
        :param clock: Unix seconds: webhook timestamps, JWKS and storage-token ages, ``health``.
        :param prices: the price table (defaults: fal's list prices).
        """
        self._client = FalClient(base_url, key, session, rest_base_url=rest_base_url, clock=clock)
        self._base = self._client.base_url
        self._secrets = tuple(s for s in (key.strip(), key.strip().partition(":")[2]) if len(s) >= 4)
        self._jwks_session: aiohttp.ClientSession | None = None
        self._verifier = FalWebhookVerifier(
            jwks_url, session if session is not None else self._owned_jwks_session, clock=clock
        )
        self._clock = clock
        self.prices = prices or FalPrices()
        self.health = ProviderHealth()

    def __repr__(self) -> str:
        return f"FalPikaProvider(base_url={self._base!r})"  # never the key

    # -- the Provider interface -------------------------------------------------------------

    def check(self, request: JobRequest) -> None:
        """Refuse what the routed fal model would reject or ignore, naming the option (PromptError)."""
        if request.kind not in self.capabilities.kinds:
            raise PromptError(f"{_NAME} cannot run {request.kind.value} jobs", field="kind")
        _check_no_flags(request)
        undeclared = sorted(request.params.given() - self.capabilities.params)
        if undeclared:
            raise PromptError(
                f"{_NAME} has no `{undeclared[0].value}` option; remove it", field=undeclared[0].value
            )
        images = _check_images(request)
        model = model_for(request.kind, len(images))
        if model != PIKAFRAMES and not request.prompt.strip():
            raise PromptError(
                f"the prompt is empty: describe the video you want ({_NAME} needs a prompt)", field="prompt"
            )
        _check_params(model, request.params)

    def price_usd(self, request: JobRequest) -> float | None:
        """fal's price for this request, from the configured table (fal_prices.py)."""
        return price_usd(self.prices, request.kind, request.params, len(_images(request.inputs)))

    async def submit(self, request: SubmitRequest) -> UpstreamJob:
        """Upload the images to fal's storage, then POST the model input to the queue.

        fal's answer to a webhook-enabled submit is the same; the webhook goes to ``reply_url``.
        """
        if request.kind not in self.capabilities.kinds:
            raise UpstreamError(ErrorKind.INVALID_REQUEST, f"{_NAME} cannot run {request.kind.value} jobs")
        images = _images(request.inputs)
        if any(not item.data for item in images):
            raise UpstreamError(
                ErrorKind.INVALID_REQUEST, "the image is no longer stored; start the command again"
            )
        model = model_for(request.kind, len(images))
        urls: list[str] = []
        for index, item in enumerate(images, start=1):
            try:
                # Never the member's Discord CDN link: it expires before a queued job starts.
                url = await self._client.upload(
                    item.data, item.content_type or "application/octet-stream", _upload_name(item, index)
                )
            except FalError as error:
                raise self._failed(error) from None  # nothing was queued yet: never ambiguous
            urls.append(url)
        payload = build_payload(model, request.prompt.strip(), request.params, urls)
        try:
            submission = await self._client.submit(model, payload, webhook_url=request.reply_url)
        except FalError as error:
            raise self._failed(error) from None
        self._ok()
        handle = FalHandle(submission.status_url, submission.response_url, submission.cancel_url, model)
        return UpstreamJob(
            upstream_id=submission.request_id,
            status=UpstreamStatus.RUNNING,
            progress=_queue_text(submission.queue_position),
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
                progress=_queue_text(status.queue_position),
                queue_position=status.queue_position,
            )
        if status.state is FalState.IN_PROGRESS:
            return UpstreamJob(
                upstream_id, UpstreamStatus.RUNNING, progress=_latest_log(status) or "generating"
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
                ErrorKind.INVALID_REQUEST, f"{_NAME} says the job already finished", upstream_id=upstream_id
            )
        if outcome is FalCancelOutcome.NOT_FOUND:
            raise UpstreamError(
                ErrorKind.NOT_FOUND,
                f"{_NAME} does not know this request",
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
            not_the_jobs = _result_unreachable(error) or error.status in (401, 403, 404)
            if status.failed and (not_the_jobs or error.is_still_in_progress):
                return _failure(upstream_id, status.error_type, status.error, ())
            if error.is_still_in_progress:
                return UpstreamJob(upstream_id, UpstreamStatus.RUNNING, progress=f"finishing at {_NAME}")
            if not_the_jobs:
                raise self._failed(error) from None
            log.info("%s request %s failed: %s", _NAME, upstream_id, self._scrub(str(error)))
            return _failure(
                upstream_id,
                status.error_type or error.error_type or _first_type(error.details),
                self._scrub(status.error or error.message),
                error.details,
                content_policy=error.is_content_policy,
            )
        return UpstreamJob(upstream_id, UpstreamStatus.COMPLETED, video=_video(video))

    def _urls(self, upstream_id: str, handle: str | None) -> FalHandle:
        parsed = FalHandle.from_text(handle) if handle else None
        if parsed is not None:
            return parsed
        if handle:
            log.warning(
                "%s request %s has an unreadable stored handle; rebuilding its URLs", _NAME, upstream_id
            )
        return FalHandle.rebuilt(self._base, upstream_id)

    def _ok(self) -> None:
        self.health.last_ok_at = self._clock()

    def _failed(self, error: FalError) -> UpstreamError:
        """Type, scrub, record and log an error; returns it for the caller to raise."""
        kind = _kind(error)
        message, details = _describe(kind, error)
        upstream_error = UpstreamError(
            kind,
            self._scrub(message),
            details=self._scrub(details) if details else None,
            status=error.status,
        )
        if kind in _ANSWERS:
            # An answer about this request (moderation, validation, a full queue): fal itself is fine.
            self.health.last_ok_at = self._clock()
            log.info("%s answered: %s", _NAME, upstream_error)
        else:
            self.health.last_error = str(upstream_error)[:_MAX_TEXT]
            self.health.last_error_at = self._clock()
            log.warning("%s call failed: %s", _NAME, upstream_error)
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


# -- checks -----------------------------------------------------------------------------------------


def _check_no_flags(request: JobRequest) -> None:
    """Pika's inline flags are useapi.net's; fal takes typed options, so a flag would be lost."""
    fields = list(request.options.to_json())
    flags = request.options.flags()
    if not fields:
        return
    field, (flag, _) = fields[0], flags[0]
    option = _FLAG_OPTIONS.get(field)
    if option is not None:
        text = (
            f"{_NAME} takes the command's options, not Pika's `{flag}` flag: use the `{option.value}` option"
        )
    else:
        text = (
            f"{_NAME} takes the command's options, not Pika's flags, and has nothing like `{flag}`: remove it"
        )
    raise PromptError(text, field=field)


def _check_images(request: JobRequest) -> list[InputFile]:
    """The images fit the command: one at most for create, one for animate, 2-5 for scenes/frames."""
    images = _images(request.inputs)
    others = sorted({item.form_field for item in request.inputs} - {item.form_field for item in images})
    if others:
        raise PromptError(f"{_NAME} does not take a {others[0]} file", field=others[0])
    if any(not item.data for item in images):
        raise PromptError("an attached image is empty; attach it again", field="image")
    count = len(images)
    if request.kind in (JobKind.SCENES, JobKind.FRAMES):
        what = "images" if request.kind is JobKind.SCENES else "keyframes"
        if not MIN_IMAGES <= count <= MAX_IMAGES:
            raise PromptError(
                f"/pika {request.kind.value} needs {MIN_IMAGES} to {MAX_IMAGES} {what} ({count} attached)",
                field="image",
            )
    elif request.kind is JobKind.ANIMATE and count != 1:
        raise PromptError(
            "/pika animate needs an image to animate" if not count else "/pika animate takes one image",
            field="image",
        )
    elif count > 1:
        raise PromptError(f"/pika {request.kind.value} takes one image ({count} attached)", field="image")
    return images


def _check_params(model: str, params: VideoParams) -> None:
    """Every option given is one the model's schema has, with a value it accepts."""
    for option in sorted(params.given() - MODEL_PARAMS[model]):
        why = _WHY_NOT.get((model, option), "does not take it")
        raise PromptError(f"{_NAME}'s {_MODEL_NAMES[model]} {why}; remove {option.value}", field=option.value)
    if params.aspect_ratio is not None and params.aspect_ratio not in ASPECT_RATIOS:
        raise PromptError(
            f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)} on {_NAME} (you gave {params.aspect_ratio})",
            field=ParamName.ASPECT_RATIO.value,
        )
    if params.resolution is not None and params.resolution not in RESOLUTIONS:
        raise PromptError(
            f"resolution must be 720p or 1080p on {_NAME} (you gave {params.resolution})",
            field=ParamName.RESOLUTION.value,
        )
    duration = params.duration
    if duration is not None and (isinstance(duration, bool) or duration not in DURATIONS):
        raise PromptError(
            f"duration must be 5 or 10 seconds on {_NAME} (you gave {duration})",
            field=ParamName.DURATION.value,
        )
    seed = params.seed
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise PromptError(
            f"seed must be a whole number from 0 to {MAX_SEED:,} (you gave {seed})",
            field=ParamName.SEED.value,
        )
    if params.negative is not None and not isinstance(params.negative, str):
        raise PromptError("negative must be text", field=ParamName.NEGATIVE.value)


# -- errors -----------------------------------------------------------------------------------------


def _kind(error: FalError) -> ErrorKind:
    """How the engine should treat a failed call (submit, status, result, cancel or upload)."""
    status = error.status
    if error.ambiguous:
        return ErrorKind.AMBIGUOUS  # a submit that may have been received: reconcile, never resend
    if status == 401:
        return ErrorKind.UNAUTHORIZED
    if status == 403:
        return ErrorKind.PAYMENT_REQUIRED  # "User is locked": out of credit; the account is parked
    if error.is_content_policy:
        return ErrorKind.MODERATED
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status is None or status >= 500 or error.retryable:
        return ErrorKind.TRANSIENT
    if 400 <= status < 500:
        return ErrorKind.INVALID_REQUEST
    return ErrorKind.TRANSIENT  # a malformed 2xx answer


def _describe(kind: ErrorKind, error: FalError) -> tuple[str, str | None]:
    """The message (and details) of an UpstreamError: member-facing where members see it."""
    if kind is ErrorKind.MODERATED:
        return MODERATED_TEXT, _flagged(error.details)
    if kind is ErrorKind.INVALID_REQUEST:
        return f"{_NAME} refused the request", _detail_text(error.details) or error.message
    if kind is ErrorKind.UNAUTHORIZED:
        return f"{_NAME} refused the API key (401: {error.message})", None
    if kind is ErrorKind.PAYMENT_REQUIRED:
        return f"{_NAME} locked the account, usually for lack of credit (403: {error.message})", None
    if kind is ErrorKind.AMBIGUOUS:
        return f"{_NAME} may have received the job but did not answer ({error.message})", None
    where = f"{_NAME} error {error.status}" if error.status is not None else f"{_NAME} unreachable"
    kind_text = f" [{error.error_type}]" if error.error_type else ""
    return f"{where}{kind_text}: {error.message}", None


def _result_unreachable(error: FalError) -> bool:
    """The result could not be read (no answer, an ingress page, a throttle): not the job's error."""
    status = error.status
    if status is None or status in (408, 429):
        return True
    return status in INGRESS_STATUSES and error.request_id is None and not error.details


def _failure(
    upstream_id: str,
    error_type: str | None,
    message: str | None,
    details: tuple[FalErrorDetail, ...],
    *,
    content_policy: bool = False,
) -> UpstreamJob:
    """The snapshot of a request that COMPLETED without a video."""
    if content_policy or error_type == CONTENT_POLICY:
        return UpstreamJob(
            upstream_id, UpstreamStatus.MODERATED, error=MODERATED_TEXT, error_details=_flagged(details)
        )
    if error_type in _CANCELLED_TYPES:
        return UpstreamJob(upstream_id, UpstreamStatus.CANCELLED, error=f"the job was cancelled at {_NAME}")
    reason = _detail_text(details) or message or "no reason given"
    if error_type and not details:
        reason = f"{reason} ({error_type})"
    return UpstreamJob(
        upstream_id, UpstreamStatus.FAILED, error=f"{_NAME} could not make this video: {reason}"[:_MAX_TEXT]
    )


def _first_type(details: tuple[FalErrorDetail, ...]) -> str | None:
    return details[0].type if details else None


def _where(detail: FalErrorDetail) -> str:
    """An ErrorObject's ``loc`` in the member's words: ``prompt``, ``image 2``, ``negative``."""
    parts = list(detail.loc[1:] if detail.loc[:1] == ("body",) else detail.loc)
    words: list[str] = []
    for index, part in enumerate(parts):
        if isinstance(part, int):
            words.append(str(part + 1))
        elif part == "negative_prompt":
            words.append("negative")
        elif part in ("image_url", "image_urls"):
            words.append("image" if part == "image_url" or index + 1 < len(parts) else "images")
        else:
            words.append(part)
    return " ".join(words)


def _detail_text(details: tuple[FalErrorDetail, ...]) -> str:
    """fal's ``msg``s are written for people (section 1.8): show them, each with where it points."""
    texts: list[str] = []
    for detail in details:
        where = _where(detail)
        msg = detail.msg.strip() or detail.type.replace("_", " ")
        texts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(texts)[:_MAX_TEXT]


def _flagged(details: tuple[FalErrorDetail, ...]) -> str | None:
    """Which input the content checker flagged, when fal says."""
    places = [_where(d) for d in details if d.type == CONTENT_POLICY and _where(d)]
    named = [place if place[-1].isdigit() else f"the {place}" for place in dict.fromkeys(places)]
    return f"it flagged {' and '.join(named)}" if named else None


# -- snapshots --------------------------------------------------------------------------------------


def _video(video: FalVideo) -> UpstreamVideo:
    name = video.file_name or unquote(PurePosixPath(urlsplit(video.url).path).name) or None
    return UpstreamVideo(url=video.url, filename=name, size=video.file_size, content_type=video.content_type)


def _queue_text(position: int | None) -> str:
    """fal's ``queue_position`` counts the requests ahead (0 = next); members count from 1."""
    if position is None or position < 0:
        return f"waiting at {_NAME}"
    return f"waiting at {_NAME}, position {position + 1}"


def _latest_log(status: FalStatus) -> str | None:
    for entry in reversed(status.logs or ()):
        text = " ".join(entry.message.split())
        if text:
            return text[:_MAX_PROGRESS]
    return None
