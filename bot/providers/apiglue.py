"""API Glue's Pika web API (https://api.pikapikapika.io, the ``/web/*`` routes), built to its contract.

Sources: docs/apiglue-pika.md (from API Glue's guide, the only published request and answers). Proven
against sandbox/apiglue_sim.py. Every answer maps to an UpstreamError kind or an UpstreamJob
(``apiglue_answers``), so the engine never reads API Glue's JSON itself. Points the sources leave open are marked UNCONFIRMED.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from bot.domain.jobs import InputFile, JobKind, JobRequest
from bot.domain.params import ParamName, VideoParams
from bot.domain.prompt import PromptError
from bot.providers.apiglue_answers import NAME, classify, parse_job, text_or_none
from bot.providers.base import (
    Capabilities,
    ErrorKind,
    ProviderHealth,
    SubmitRequest,
    UpstreamError,
    UpstreamJob,
)

log = logging.getLogger(__name__)

# Ranges and value sets from docs/apiglue-pika.md ("options").
ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1", "5:2", "4:5", "4:3")
FPS_RANGE: Final = (1, 24)
MOTION_RANGE: Final = (1, 4)
GUIDANCE_RANGE: Final = (5, 25)
# UNCONFIRMED: the docs only show pan "right", tilt "up", rotate "cw", zoom "in"; the opposites are
# assumed (the simulator assumes the same).
CAMERA_VALUES: Final[Mapping[ParamName, tuple[str, ...]]] = {
    ParamName.PAN: ("left", "right"),
    ParamName.TILT: ("up", "down"),
    ParamName.ROTATE: ("cw", "ccw"),
    ParamName.ZOOM: ("in", "out"),
}
# UNCONFIRMED: API Glue publishes no promptText limit; 2000 is what the simulator enforces.
MAX_PROMPT_LENGTH: Final = 2000
# API Glue runs on JavaScript (Firestore timestamps): a larger seed would silently lose precision.
MAX_SEED: Final = 2**53 - 1

# API Glue requires motion, guidanceScale and frameRate on every request (docs/apiglue-pika.md). When
# the member gives none we send what seed 004's echoed job shows for a request without options:
# motion 1, guidanceScale 12, frameRate 24, aspectRatio 16:9, negativePrompt "" and seed null.
# They are also Pika's own defaults (-motion 1, -gs 12, -fps 24), so a job looks as it would on Pika.
DEFAULT_ASPECT_RATIO: Final = "16:9"
DEFAULT_FPS: Final = 24
DEFAULT_MOTION: Final = 1
DEFAULT_GUIDANCE: Final = 12
DEFAULT_NEGATIVE: Final = ""

_MAX_ANSWER_BYTES: Final = 1024 * 1024  # a job record is ~2 KiB; anything near this is not one
# Answers that say something about the job, not about API Glue's health.
_ANSWERS: Final = frozenset({ErrorKind.MODERATED, ErrorKind.RATE_LIMITED, ErrorKind.NOT_FOUND})
_GENERATE_KINDS: Final = frozenset({JobKind.GENERATE, JobKind.CREATE, JobKind.ANIMATE})
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
        if request.kind not in self.capabilities.kinds:
            raise PromptError(f"{NAME} cannot run {request.kind.value} jobs", field="kind")
        if request.kind is JobKind.UPSCALE:
            return  # only the finished video is sent
        _check_no_flags(request)
        _check_params(request.params, self.capabilities.params)
        text = request.prompt.strip()
        if len(text) > MAX_PROMPT_LENGTH:
            raise PromptError(
                f"the prompt is {len(text):,} characters; {NAME} allows {MAX_PROMPT_LENGTH:,} — "
                f"shorten it by {len(text) - MAX_PROMPT_LENGTH:,}",
                field="prompt",
            )
        if request.kind is JobKind.EXTEND:
            return  # the prompt and options are the finished job's own
        if not text:
            raise PromptError(
                f"the prompt is empty: describe the video you want ({NAME} needs a prompt)", field="prompt"
            )
        image = _check_inputs(request.inputs)
        if request.kind is JobKind.ANIMATE and image is None:
            raise PromptError("/animate needs an image to animate", field="image")

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


# -- checks -------------------------------------------------------------------------------------


def _check_no_flags(request: JobRequest) -> None:
    """Pika's inline flags are useapi.net's; API Glue takes typed options, so a flag would be lost."""
    flags = request.options.to_json()
    if flags:
        name, value = next(iter(flags.items()))
        raise PromptError(
            f"{NAME} does not take Pika prompt flags ({name} {value}); use the slash-command options",
            field=name,
        )


def _check_params(params: VideoParams, declared: frozenset[ParamName]) -> None:
    """Every given option must be one API Glue takes, in its range."""
    undeclared = sorted(params.given() - declared)
    if undeclared:
        raise PromptError(f"{NAME} does not take {undeclared[0]}", field=undeclared[0].value)
    if params.aspect_ratio is not None and params.aspect_ratio not in ASPECT_RATIOS:
        raise PromptError(
            f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)} for {NAME} "
            f"(you gave {params.aspect_ratio})",
            field=ParamName.ASPECT_RATIO.value,
        )
    _check_range(ParamName.FPS, params.fps, FPS_RANGE)
    _check_range(ParamName.MOTION, params.motion, MOTION_RANGE)
    _check_range(ParamName.GUIDANCE, params.guidance, GUIDANCE_RANGE)
    _check_range(ParamName.SEED, params.seed, (0, MAX_SEED))
    if params.negative is not None and not isinstance(params.negative, str):
        raise PromptError("negative must be text", field=ParamName.NEGATIVE.value)
    for name, allowed in CAMERA_VALUES.items():
        value = getattr(params, name.value)
        if value is not None and value not in allowed:
            raise PromptError(
                f"{name} must be {' or '.join(allowed)} for {NAME} (you gave {value})", field=name.value
            )


def _check_range(name: ParamName, value: object, bounds: tuple[int, int]) -> None:
    if value is None:
        return
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PromptError(
            f"{name} must be a whole number from {low:,} to {high:,} for {NAME} (you gave {value})",
            field=name.value,
        )


def _check_inputs(inputs: tuple[InputFile, ...]) -> InputFile | None:
    """At most one image, and it must be reachable by URL; returns it."""
    images = [item for item in inputs if item.form_field == "image"]
    others = sorted({item.form_field for item in inputs if item.form_field != "image"})
    if others:
        raise PromptError(f"{NAME} does not take a {others[0]} file", field=others[0])
    if len(images) > 1:
        raise PromptError(f"{NAME} takes one image; {len(images)} were attached", field="image")
    if not images:
        return None
    url = images[0].url
    if not url or not url.startswith(("http://", "https://")):
        raise PromptError(
            f"{NAME} takes the image as a link, and this upload has none; attach the image again",
            field="image",
        )
    return images[0]


# -- request bodies -----------------------------------------------------------------------------


def submit_body(request: SubmitRequest) -> dict[str, object]:
    """The JSON body for the request's route (generate, extend or upscale)."""
    body: dict[str, object] = {}
    if request.kind in _GENERATE_KINDS:
        body["promptText"] = request.prompt.strip()
        body["options"] = build_options(request.params)
        image = next((item for item in request.inputs if item.form_field == "image"), None)
        if image is not None:
            if not image.url:
                raise UpstreamError(
                    ErrorKind.INVALID_REQUEST, f"{NAME} needs the image's URL, and it has none"
                )
            body["image"] = image.url
    else:
        if not request.parent_video_url:
            raise UpstreamError(
                ErrorKind.INVALID_REQUEST, f"a {request.kind.value} needs the finished video's URL"
            )
        if request.kind is JobKind.EXTEND:
            prompt = request.prompt.strip()
            if prompt:
                # Absent, API Glue keeps the source video's prompt (UNCONFIRMED; the simulator does).
                body["promptText"] = prompt
            body["options"] = build_options(request.params)
        body["video"] = request.parent_video_url
    body["ref"] = request.reply_ref
    if request.reply_url:
        body["webhookOverride"] = request.reply_url
    return body


def build_options(params: VideoParams) -> dict[str, object]:
    """``options`` with the required fields always filled (the member's value, else our default)."""
    options: dict[str, object] = {
        "aspectRatio": params.aspect_ratio or DEFAULT_ASPECT_RATIO,
        "frameRate": params.fps if params.fps is not None else DEFAULT_FPS,
    }
    camera = {
        name.value: getattr(params, name.value)
        for name in CAMERA_VALUES
        if getattr(params, name.value) is not None
    }
    if camera:
        # UNCONFIRMED: only the moves given are sent; the docs never show a partial camera object.
        options["camera"] = camera
    options["parameters"] = {
        "motion": params.motion if params.motion is not None else DEFAULT_MOTION,
        "guidanceScale": params.guidance if params.guidance is not None else DEFAULT_GUIDANCE,
        "negativePrompt": params.negative if params.negative is not None else DEFAULT_NEGATIVE,
        "seed": params.seed,  # null lets Pika pick one (seed 004 shows "seed": null)
    }
    return options


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
