"""A stand-in for API Glue's Pika web API (``https://api.pikapikapika.io``, the ``/web/*`` routes).

Like its sibling ``useapi_sim`` it imports nothing from the rest of the project, so that a bug in the
engine cannot be mirrored (and hidden) here.  It answers as API Glue's guide and docs/apiglue-pika.md say:

* ``POST /web/generate``, ``POST /web/extend``, ``POST /web/upscale`` (JSON bodies, Bearer auth),
* ``GET /web/jobs/{id}`` (the job plus its ``videos[]``, per-video status and progress),
* ``GET /videos/<id>/<name>.mp4`` and ``GET /images/<id>/{poster,thumbnail}.jpg`` (the result media),
* webhooks: the ``GET /web/jobs/{id}`` JSON POSTed to ``webhookOverride`` when a video ends,
* ``/_sim/...``, a small unauthenticated control API for out-of-process tests.

Run it standalone with ``python -m sandbox.apiglue_sim --port 0``; it prints its base URL.

What the sources do not say, and what this module therefore chose (each marked UNCONFIRMED below):

* Error bodies.  API Glue's error JSON was never published; every error here is
  ``{"error": "<message>", "code": <http status>}`` (400 messages name the offending field).
* Where ``ref`` is echoed: on the ``job`` object (``job.ref``, ``""`` when not given).
* The ``promptText`` limit (2000 characters), the camera value sets (pan left/right, tilt up/down,
  rotate cw/ccw, zoom in/out), the default aspect ratio (16:9) when ``options.aspectRatio`` is absent.
* Fields of a video that has not finished: ``duration``, ``seed``, ``resultUrl``, ``imageThumb`` and
  ``videoPoster`` are ``null`` until the video is ``finished``.
* The webhook body (the same JSON as ``GET /web/jobs/{id}``), and that it is only sent for ended videos
  unless the ``progress_callbacks`` knob is on.
* The generate answer's ``job.createdAt`` is ``{}`` exactly as in seed 004 (a Firestore server timestamp
  not yet resolved); ``SimConfig.submit_created_at_empty=False`` fills it in instead.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import functools
import json
import random
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from http import HTTPStatus
from pathlib import Path
from typing import Final, TypeGuard

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from aiohttp.typedefs import Handler, Middleware
from yarl import URL

from sandbox.serving import Served, bind, listen_arguments, serve_until_stopped

# --------------------------------------------------------------------------------------------------
# Constants taken from the docs (API Glue's guide, docs/apiglue-pika.md)
# --------------------------------------------------------------------------------------------------

#: Account and user ids shaped like the seed's examples.
DEFAULT_ACCOUNT_ID: Final = "zx234I5GukOugL1vcG2Mf"
DEFAULT_USER_ID: Final = "92b68ee2-a71d-4500-1234-4eea210d0cac"

ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1", "5:2", "4:5", "4:3")
# UNCONFIRMED: the docs do not say whether aspectRatio is required; absent means the seed's 16:9.
DEFAULT_ASPECT_RATIO: Final = "16:9"
# UNCONFIRMED value sets: the docs only show pan "right", tilt "up", rotate "cw", zoom "in"/"out".
CAMERA_VALUES: Final[Mapping[str, tuple[str, ...]]] = {
    "rotate": ("cw", "ccw"),
    "zoom": ("in", "out"),
    "tilt": ("up", "down"),
    "pan": ("left", "right"),
}
FRAME_RATE_RANGE: Final = (1, 24)
MOTION_RANGE: Final = (1, 4)
GUIDANCE_RANGE: Final = (5, 25)
# UNCONFIRMED: no published limit; generous enough for any real prompt.
MAX_PROMPT: Final = 2000

BASE_DURATION: Final = 3
EXTEND_SECONDS: Final = 4
# A reseller notes a 15 s maximum: 3 + 4 + 4 + 4.
MAX_EXTENDS: Final = 3
MAX_DURATION: Final = BASE_DURATION + MAX_EXTENDS * EXTEND_SECONDS

# UNCONFIRMED texts: API Glue's error bodies were never published.
ERR_UNAUTHORIZED: Final = "Unauthorized"
ERR_EXPIRED: Final = "Payment required: subscription expired or out of credits"
ERR_MODERATED: Final = "Prompt flagged by moderation"
ERR_BUSY: Final = "Too many jobs in progress for this account"
ERR_RATE_LIMITED: Final = "Too Many Requests"
ERR_NOT_FOUND: Final = "Job not found"
ERR_BODY: Final = "body must be a JSON object"
ERR_JOB_FAILED: Final = "Video generation failed"
ERR_BAD_VIDEO: Final = "video must be the resultUrl of a finished Pika video"
ERR_EXTEND_CAP: Final = f"video can't be extended beyond {MAX_DURATION} seconds"
ERR_ALREADY_UPSCALED: Final = "video is already upscaled"
MEDIA_GONE: Final = "Not Found"

ASSETS_DIR: Final = Path(__file__).parent / "assets"
SAMPLE_VIDEO: Final = ASSETS_DIR / "sample.mp4"
#: The first frame of assets/sample.mp4 as a 128x72 JPEG, served as videoPoster and imageThumb.
POSTER_JPEG: Final = base64.b64decode(
    "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAg+Pkk+SVVVVVVVVWRdZGhoaGRkZGRoaGhwcHCD"
    "g4NwcHBoaHBwfHyDg4+Tj4eHg4eTk5ubm7q6srLZ2eD/////xACJAAEAAgIDAQAAAAAAAAAAAAAABgcFCAIBBAMBAAMAAwEB"
    "AQAAAAAAAAAAAAgGBwUEAAIBAxABAAIBAQYFAwUBAQAAAAAAAAECEQNRcSFBExKRobEx0YEEM7JywUIjUmERAAIBAgQFBAMB"
    "AQAAAAAAAAABAgNBURHRBKFhgTEh8BITFMEignEz/8AAEQgASACAAwEiAAIRAAMRAP/aAAwDAQACEQMRAD8A1/AccWasDTpi"
    "M82F0q5nOxPn2nG553lZ/wDOP9aFbgKkW4rMA2EANxQAADQVmAayAENpft3LVUWnWjblP0U6nKxfN3RzXvXdd+ax6GwAD9zG"
    "mgAMrp17r1rPOYjxlxxsZSO2sMi5OjQvBDJP3Nt3eZWoBsDeKzANZADcUAAA0FZgxk3rGYzxjOa8c8Pfj7cN5wSb7EKSb7LM"
    "gj0xOJy87kZg22s/BtfE54w+qFfbW7tGm7HhOE1NRBDQBINH8lP3V9UfZnTmK3rM+0WifNx9NmgDWD+VqAaQ6yswDWQA3FAA"
    "ANBWapZz1dT2z/py/wDLZ4ZW08k1ieUb+fj779qjQko55kgpzUc87kAAb4ZReX2v4afX9UrBQb7aJjRpnf4zlOTWD+aOdO2x"
    "6+jfZ6LBqmVSm6jWA9SpJYmdrE4jPvzdSy8OEtH7EsFx1JBOjFYlYdltj59ltidywZlW5m7R46mdlupq0eOpU/Svs9HLo32e"
    "cLhemFAjXk7L11Jz8suXrqSjvrHNj+rTb5SjNkEsUFtIO8uGgwRrSeHrqZ7qV2+vw4dSu31+FcS6g2fUhjLhoe40ovEzTlgh"
    "k3h0Iq7CQjLMuiurpViIieEcI4T8PV19P/ryn4UK6YGXgw/wx5lTuINcmZZq0aX7t6rkn0vdj6b/AG/0cN3BSpuV49jyjoWM"
    "eiswDUQA3EdgAUaiswDSQAg1azaVoRGEQ0f7fT+U0V+mvGZSt5Nup7bL8lmgNUYT/9k="
)
MEDIA_IMAGES: Final = ("poster.jpg", "thumbnail.jpg")

#: Hosts the simulator will fetch an ``image`` URL from; any other host is only recorded.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
HUGE_BODY_BYTES: Final = 5 * 1024 * 1024
CLIENT_MAX_SIZE: Final = 16 * 1024 * 1024
JSON_HEADERS: Final = {"Content-Type": "application/json"}

_dumps = functools.partial(json.dumps, ensure_ascii=False)
_SLUG_RE: Final = re.compile(r"[^a-z0-9]+")


# --------------------------------------------------------------------------------------------------
# Public configuration and state
# --------------------------------------------------------------------------------------------------


class RequestType(StrEnum):
    """The ``job.requestType`` of each submit route."""

    GENERATE = "generate"
    EXTEND = "extend"
    UPSCALE = "upscale"


class VideoStatus(StrEnum):
    """``videos[].status``: queued/finished from seed 004, pending/error from proxies, failed from code."""

    QUEUED = "queued"
    PENDING = "pending"
    FINISHED = "finished"
    ERROR = "error"
    FAILED = "failed"


EXECUTING: Final = frozenset({VideoStatus.QUEUED, VideoStatus.PENDING})
ENDED: Final = frozenset({VideoStatus.FINISHED, VideoStatus.ERROR, VideoStatus.FAILED})


@dataclass
class SimConfig:
    """Static behaviour of the simulator; timings are in seconds."""

    api_token: str = "glue-token"  # noqa: S105 - fake token of a local stand-in
    expired_token: str = "glue-expired-token"  # noqa: S105 - fake token of a local stand-in
    account_id: str = DEFAULT_ACCOUNT_ID
    user_id: str = DEFAULT_USER_ID
    moderated_words: tuple[str, ...] = ("forbidden",)
    fail_words: tuple[str, ...] = ("explode",)
    #: The status a fail-word video ends with: ``error`` or ``failed``.
    fail_status: VideoStatus = VideoStatus.ERROR
    #: More than this many queued/pending videos on the account answers 429.
    max_concurrent: int = 10
    #: Time a new video stays ``queued`` before it turns ``pending``.
    queued_delay: float = 0.05
    #: Time between two progress steps, and from the last step to the end.
    progress_delay: float = 0.05
    #: ``videos[].progress`` values while ``pending``; the end is always 100 (finished).
    progress_steps: tuple[int, ...] = (0, 20, 45, 70, 90)
    public_base_url: str = ""
    #: Timeout of the simulator's own HTTP calls (webhooks and loopback image fetches).
    callback_timeout: float = 5.0
    submit_created_at_empty: bool = True
    random_seed: int | None = None


@dataclass
class SimFaults:
    """Runtime fault knobs; all off by default. Tests flip them while the simulator runs."""

    #: Submits (generate/extend/upscale) answer this HTTP status with a JSON error; no job is made.
    submit_status: int | None = None
    #: ``GET /web/jobs/{id}`` answers this HTTP status with a JSON error.
    poll_status: int | None = None
    #: Every ``/web/`` route answers a Cloudflare-like 502 HTML page.
    html_error: bool = False
    #: Every ``/web/`` answer becomes a truncated JSON body with status 200.
    malformed_json: bool = False
    #: The next N ``/web/`` requests answer 429 (counts down).
    rate_limit_next: int = 0
    #: Every ``/web/`` request waits this long before anything else happens.
    delay_seconds: float = 0.0
    #: Submits create the job, then wait this long before answering.
    accept_then_delay: float = 0.0
    duplicate_callbacks: int = 0
    drop_callbacks: bool = False
    late_callback_delay: float = 0.0
    #: Also POST a webhook on every pending progress step.
    progress_callbacks: bool = False
    #: Videos stay ``pending`` (at the first progress step) until released or the knob is switched off.
    hold_jobs: bool = False
    #: Videos stay ``queued`` until released or the knob is switched off.
    stuck_queued: bool = False
    #: While pending, report this status string instead (clients must treat unknown as running).
    running_status: str | None = None
    #: ``GET /web/jobs/{id}`` adds 5 MiB of padding to its answer.
    huge_body: bool = False
    #: Result media (video, poster, thumbnail) answer 404.
    expire_results: bool = False


@dataclass(frozen=True)
class ImageFetch:
    """The simulator's GET of a loopback ``image`` URL: ``http_status`` on an answer, else ``error``."""

    url: str
    http_status: int | None
    content_type: str | None
    size: int
    error: str | None


@dataclass
class SimJob:
    """One job and its single video as the simulator stores them; ``to_json`` renders the wire shape."""

    id: str
    pika_job_id: str
    request_type: RequestType
    prompt_text: str
    options: dict[str, object]
    created_ns: int
    account_id: str
    user_id: str
    ref: str
    webhook_override: str | None
    duration: int
    extended: int = 0
    upscaled: bool = False
    image: str | None = None
    video: str | None = None
    parent_id: str | None = None
    requested_seed: int | None = None
    extra: dict[str, object] = field(default_factory=dict)
    public_base: str = ""
    status: VideoStatus = VideoStatus.QUEUED
    progress: int = 0
    seed: int | None = None
    filename: str = "pika.mp4"
    result_url: str | None = None
    image_thumb: str | None = None
    video_poster: str | None = None
    error: str | None = None
    image_fetch: ImageFetch | None = None
    release_event: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    callback_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    # Set (then replaced by a fresh Event) on every change, so waiters need not poll.
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def is_executing(self) -> bool:
        """True while the video is queued or pending (it counts against ``max_concurrent``)."""
        return self.status in EXECUTING

    def job_json(self, created_at_empty: bool = False) -> dict[str, object]:
        """The ``job`` object (seed 004); ``ref`` is echoed on it (UNCONFIRMED placement)."""
        params: dict[str, object] = {
            "options": copy.deepcopy(self.options),
            "userId": self.user_id,
            "promptText": self.prompt_text,
        }
        # UNCONFIRMED: the docs show params only for a text generate; inputs are echoed next to them.
        if self.image is not None:
            params["image"] = self.image
        if self.video is not None:
            params["video"] = self.video
        created: dict[str, int] = {}
        if not created_at_empty:
            seconds, nanos = divmod(self.created_ns, 1_000_000_000)
            # Firestore timestamps as API Glue shows them carry millisecond precision.
            created = {"_seconds": seconds, "_nanoseconds": nanos // 1_000_000 * 1_000_000}
        return {
            "id": self.id,
            "adjusted": False,
            "accountId": self.account_id,
            "extended": self.extended,
            "pikaJobId": self.pika_job_id,
            "params": params,
            "promptText": self.prompt_text,
            "requestType": str(self.request_type),
            "upscaled": self.upscaled,
            "createdAt": created,
            "ref": self.ref,
        }

    def submit_video_json(self) -> dict[str, object]:
        """The short ``video`` object of a submit answer (seed 004: status is always queued there)."""
        return {
            "accountId": self.account_id,
            "id": self.id,
            "jobId": self.pika_job_id,
            "status": str(VideoStatus.QUEUED),
            "pikaVideoId": self.id,
        }

    def video_json(self, status_text: str | None = None) -> dict[str, object]:
        """One ``videos[]`` entry; ``status_text`` overrides the reported status (fault knob)."""
        finished = self.status is VideoStatus.FINISHED
        out: dict[str, object] = {
            # Seed 004's generate answer: video.id == job.id == pikaVideoId, video.jobId == pikaJobId.
            "jobId": self.pika_job_id,
            "pikaVideoId": self.id,
            "accountId": self.account_id,
            "id": self.id,
            "duration": self.duration if finished else None,
            "feedback": 0,
            "seed": self.seed,
            "progress": self.progress,
            "resultUrl": self.result_url,
            "imageThumb": self.image_thumb,
            "videoPoster": self.video_poster,
            "status": status_text or str(self.status),
        }
        if self.error is not None:
            out["error"] = self.error
        return out

    def submit_json(self, created_at_empty: bool = True) -> dict[str, object]:
        """The 200 answer of a submit route: ``{"job": …, "video": …}``."""
        return {"job": self.job_json(created_at_empty), "video": self.submit_video_json()}

    def to_json(self, status_text: str | None = None) -> dict[str, object]:
        """The ``GET /web/jobs/{id}`` answer (and webhook body): ``{"job": …, "videos": [...]}``."""
        return {"job": self.job_json(), "videos": [self.video_json(status_text)]}


@dataclass
class RecordedRequest:
    """One request the simulator received (control API traffic under /_sim/ is not recorded)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    content_type: str
    #: The parsed JSON body; None when there was none or it was not JSON.
    body: object = None
    status: int | None = None
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RecordedCallback:
    """One webhook POST attempt: ``http_status`` on an answer, ``error`` on a transport failure."""

    url: str
    job_id: str
    status: str
    progress: int
    http_status: int | None
    error: str | None
    at: float


# --------------------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------------------


def video_filename(prompt: str) -> str:
    """The result file name as in seed 004: the prompt's words joined by ``_`` plus ``.mp4``."""
    slug = _SLUG_RE.sub("_", prompt.lower()).strip("_")[:64].strip("_") or "pika"
    return f"{slug}.mp4"


def _contains_any(text: str | None, words: tuple[str, ...]) -> str | None:
    if not text:
        return None
    lowered = text.lower()
    return next((w for w in words if w.lower() in lowered), None)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return _is_int(value) or isinstance(value, float)


def _is_http_url(value: object) -> TypeGuard[str]:
    if not isinstance(value, str):
        return False
    try:
        url = URL(value)
    except ValueError:
        return False
    return url.scheme in ("http", "https") and bool(url.host)


# --------------------------------------------------------------------------------------------------
# Request parsing and validation (internal)
# --------------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer: HTTP status plus the JSON body."""

    def __init__(self, status: int, payload: dict[str, object]) -> None:
        super().__init__(payload.get("error"))
        self.status = status
        self.payload = payload


def api_error(status: int, message: str) -> ApiError:
    """Build an error as ``{"error": message, "code": status}`` (UNCONFIRMED shape, see module doc)."""
    return ApiError(status, {"error": message, "code": status})


@dataclass
class SubmitBody:
    """A validated submit body."""

    prompt_text: str | None
    options: dict[str, object] | None
    image: str | None
    video: str | None
    ref: str
    webhook_override: str | None
    extra: dict[str, object]


def _int_in(raw: object, path: str, bounds: tuple[int, int]) -> int:
    if raw is None:
        raise api_error(400, f"{path} is required")
    if not _is_int(raw) or not bounds[0] <= raw <= bounds[1]:
        raise api_error(400, f"{path} must be an integer from {bounds[0]} to {bounds[1]}")
    return raw


def _camera(raw: object) -> dict[str, object]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise api_error(400, "options.camera must be an object or null")
    camera: dict[str, object] = {}
    for name, allowed in CAMERA_VALUES.items():
        value = raw.get(name)
        if value is not None and value not in allowed:
            raise api_error(400, f"options.camera.{name} must be one of {', '.join(allowed)} or null")
        camera[name] = value
    return camera


def _parameters(raw: object) -> dict[str, object]:
    if raw is None:
        raise api_error(400, "options.parameters is required")
    if not isinstance(raw, dict):
        raise api_error(400, "options.parameters must be an object")
    motion = _int_in(raw.get("motion"), "options.parameters.motion", MOTION_RANGE)
    guidance = raw.get("guidanceScale")
    low, high = GUIDANCE_RANGE
    if guidance is None:
        raise api_error(400, "options.parameters.guidanceScale is required")
    if not _is_number(guidance) or not low <= guidance <= high:
        raise api_error(400, f"options.parameters.guidanceScale must be a number from {low} to {high}")
    negative = raw.get("negativePrompt")
    if negative is None:
        negative = ""
    if not isinstance(negative, str):
        raise api_error(400, "options.parameters.negativePrompt must be a string")
    seed = raw.get("seed")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise api_error(400, "options.parameters.seed must be a non-negative integer or null")
    return {"motion": motion, "guidanceScale": guidance, "negativePrompt": negative, "seed": seed}


def parse_options(raw: object) -> dict[str, object]:
    """Validate ``options`` and return it normalized as API Glue echoes it (all keys, nulls filled)."""
    if raw is None:
        raise api_error(400, "options is required")
    if not isinstance(raw, dict):
        raise api_error(400, "options must be an object")
    aspect = raw.get("aspectRatio")
    if aspect is None:
        aspect = DEFAULT_ASPECT_RATIO
    if aspect not in ASPECT_RATIOS:
        raise api_error(400, f"options.aspectRatio must be one of {', '.join(ASPECT_RATIOS)}")
    frame_rate = _int_in(raw.get("frameRate"), "options.frameRate", FRAME_RATE_RANGE)
    camera = _camera(raw.get("camera"))
    parameters = _parameters(raw.get("parameters"))
    extend = raw.get("extend", False)
    if not isinstance(extend, bool):
        raise api_error(400, "options.extend must be a boolean")
    return {
        "aspectRatio": aspect,
        "frameRate": frame_rate,
        "camera": camera,
        "parameters": parameters,
        "extend": extend,
    }


def _optional_url(body: Mapping[str, object], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not _is_http_url(value):
        raise api_error(400, f"{name} must be an http(s) URL")
    return value


def parse_submit(body: object, request_type: RequestType) -> SubmitBody:
    """Validate a submit body for ``request_type``; ApiError 400 names the first bad field."""
    if not isinstance(body, dict):
        raise api_error(400, ERR_BODY)
    image = _optional_url(body, "image") if request_type is RequestType.GENERATE else None
    video = _optional_url(body, "video")
    if request_type is not RequestType.GENERATE and video is None:
        raise api_error(400, "video is required")
    prompt = body.get("promptText")
    if prompt is not None and not isinstance(prompt, str):
        raise api_error(400, "promptText must be a string")
    if request_type is RequestType.GENERATE and not (prompt or "").strip() and image is None:
        raise api_error(400, "promptText is required unless image is given")
    if prompt is not None and len(prompt) > MAX_PROMPT:
        raise api_error(400, f"promptText must be at most {MAX_PROMPT} characters")
    options = None if request_type is RequestType.UPSCALE else parse_options(body.get("options"))
    ref = body.get("ref")
    if ref is None:
        ref = ""
    if not isinstance(ref, str):
        raise api_error(400, "ref must be a string")
    webhook = _optional_url(body, "webhookOverride")
    # style, sfx, model and the like are accepted and recorded but change nothing here.
    known = {"promptText", "options", "image", "video", "ref", "webhookOverride"}
    extra = {k: v for k, v in body.items() if k not in known}
    return SubmitBody(prompt, options, image, video, ref, webhook, extra)


# --------------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------------


class ApiGlueSimulator:
    """In-memory API Glue Pika web API: jobs, media, webhooks and fault knobs."""

    def __init__(self, config: SimConfig | None = None) -> None:
        """Create a simulator; nothing is served until ``make_app`` is run by an aiohttp runner."""
        self.config: SimConfig = config if config is not None else SimConfig()
        self.faults = SimFaults()
        self.jobs: dict[str, SimJob] = {}
        self.requests: list[RecordedRequest] = []
        self.callbacks_sent: list[RecordedCallback] = []
        self.image_fetches: list[ImageFetch] = []
        self.video = SAMPLE_VIDEO.read_bytes()
        self._by_result_url: dict[str, SimJob] = {}
        self._rng = random.Random(self.config.random_seed)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: ClientSession | None = None

    # ----- public helpers for in-process tests -------------------------------------------------

    def executing_job_ids(self) -> list[str]:
        """Ids of jobs whose video is queued or pending."""
        return [j.id for j in self.jobs.values() if j.is_executing]

    def job_for_result_url(self, url: str) -> SimJob | None:
        """The finished job whose ``resultUrl`` is ``url``, if this simulator served it."""
        return self._by_result_url.get(url)

    def release(self, job_id: str) -> None:
        """Let a job held by ``hold_jobs`` or ``stuck_queued`` go on."""
        self.jobs[job_id].release_event.set()

    def release_all(self) -> None:
        """Release every held or stuck job."""
        for job in self.jobs.values():
            job.release_event.set()

    def finish_now(self, job_id: str) -> bool:
        """Finish an executing job immediately; False if it already ended."""
        job = self.jobs[job_id]
        if not job.is_executing:
            return False
        self._stop_lifecycle(job)
        self._finish(job)
        return True

    def fail_now(
        self, job_id: str, error: str = ERR_JOB_FAILED, status: VideoStatus = VideoStatus.ERROR
    ) -> bool:
        """End an executing job as ``error`` or ``failed`` immediately; False if it already ended."""
        if status not in (VideoStatus.ERROR, VideoStatus.FAILED):
            raise ValueError(f"{status} is not a failure status")
        job = self.jobs[job_id]
        if not job.is_executing:
            return False
        self._stop_lifecycle(job)
        self._fail(job, error, status)
        return True

    def update_faults(self, changes: Mapping[str, object]) -> None:
        """Merge ``changes`` into ``faults`` after type checks; ValueError on unknown keys or bad types."""
        known = {f.name for f in fields(SimFaults)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault knob {name!r}")
            setattr(self.faults, name, _coerce_fault(name, getattr(self.faults, name), value))

    async def wait_for_status(self, job_id: str, *statuses: VideoStatus, within: float = 5.0) -> SimJob:
        """Wait until the job's video reaches one of ``statuses``; TimeoutError after ``within`` s."""
        job = self.jobs[job_id]
        async with asyncio.timeout(within):
            while job.status not in statuses:
                await job.changed.wait()
        return job

    def render(self, job: SimJob) -> dict[str, object]:
        """The job as ``GET /web/jobs/{id}`` shows it now (fault knobs on the status applied)."""
        return job.to_json(self._status_text(job))

    # ----- app wiring ---------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """Build the aiohttp application (routes, middlewares, outbound ClientSession lifecycle)."""
        app = web.Application(
            middlewares=[self._record_middleware(), self._api_middleware()],
            client_max_size=CLIENT_MAX_SIZE,
        )
        app.cleanup_ctx.append(self._lifecycle_ctx)
        router = app.router
        for request_type in RequestType:
            router.add_post(f"/web/{request_type}", self._submit_handler(request_type))
        router.add_get("/web/jobs/{job_id}", self._get_job)
        router.add_get("/videos/{video_id}/{filename}", self._video)
        router.add_get("/images/{video_id}/{filename}", self._image)
        router.add_get("/_sim/jobs", self._sim_jobs)
        router.add_get("/_sim/requests", self._sim_requests)
        router.add_get("/_sim/callbacks", self._sim_callbacks)
        router.add_get("/_sim/faults", self._sim_get_faults)
        router.add_post("/_sim/faults", self._sim_post_faults)
        router.add_post("/_sim/jobs/{job_id}/{action}", self._sim_job_action)
        return app

    async def _lifecycle_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        # One shared session for all webhooks and image fetches, owned by the app.
        self._session = ClientSession(timeout=ClientTimeout(total=self.config.callback_timeout))
        try:
            yield
        finally:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._session.close()
            self._session = None

    def _record_middleware(self) -> Middleware:
        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path.startswith("/_sim/"):
                return await handler(request)
            rec = RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
                content_type=request.content_type,
            )
            if request.can_read_body:
                # aiohttp caches the bytes, so the handler can still read the body.
                with contextlib.suppress(ValueError):
                    rec.body = json.loads(await request.read())
            self.requests.append(rec)
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                rec.status = exc.status
                raise
            rec.status = response.status
            return response

        return record

    def _api_middleware(self) -> Middleware:
        @web.middleware
        async def api(request: web.Request, handler: Handler) -> web.StreamResponse:
            if not request.path.startswith("/web/"):
                return await handler(request)
            if self.faults.delay_seconds > 0:
                await asyncio.sleep(self.faults.delay_seconds)
            try:
                self._check_auth(request)
                if self.faults.html_error:
                    return _html_502()
                if self.faults.rate_limit_next > 0:
                    self.faults.rate_limit_next -= 1
                    raise api_error(429, ERR_RATE_LIMITED)
                return await handler(request)
            except ApiError as err:
                return self._reply(err.payload, err.status)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                return self._reply({"error": exc.reason, "code": exc.status}, exc.status)

        return api

    def _check_auth(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token == self.config.api_token:
            return
        if scheme.lower() == "bearer" and token == self.config.expired_token:
            raise api_error(402, ERR_EXPIRED)
        raise api_error(401, ERR_UNAUTHORIZED)

    def _reply(self, payload: object, status: int = 200) -> web.Response:
        """JSON answer with exactly ``Content-Type: application/json``; ``malformed_json`` truncates it."""
        data = _dumps(payload).encode()
        if self.faults.malformed_json:
            return web.Response(status=200, body=data[: max(1, len(data) // 2)], headers=JSON_HEADERS)
        return web.Response(status=status, body=data, headers=JSON_HEADERS)

    def _status_text(self, job: SimJob) -> str | None:
        if job.status is VideoStatus.PENDING and self.faults.running_status:
            return self.faults.running_status
        return None

    # ----- submit ---------------------------------------------------------------------------------

    def _submit_handler(self, request_type: RequestType) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self._submit(request, request_type)

        return handler

    async def _submit(self, request: web.Request, request_type: RequestType) -> web.StreamResponse:
        if self.faults.submit_status is not None:
            status = self.faults.submit_status
            return self._reply({"error": _phrase(status), "code": status}, status)
        try:
            raw: object = await request.json()
        except ValueError:
            raw = None
        body = parse_submit(raw, request_type)
        parent = self._parent(body.video) if request_type is not RequestType.GENERATE else None
        if parent is not None and request_type is RequestType.EXTEND and parent.extended >= MAX_EXTENDS:
            raise api_error(400, ERR_EXTEND_CAP)
        if parent is not None and request_type is RequestType.UPSCALE and parent.upscaled:
            raise api_error(400, ERR_ALREADY_UPSCALED)
        prompt = body.prompt_text or ""
        if parent is not None and (request_type is RequestType.UPSCALE or body.prompt_text is None):
            # An upscale keeps its source's prompt; an extend without promptText does too.
            prompt = parent.prompt_text
        if _contains_any(prompt, self.config.moderated_words):
            raise api_error(422, ERR_MODERATED)
        image_fetch = await self._fetch_image(body.image) if body.image is not None else None
        # Checked after the last await, so concurrent submits cannot both take the last slot.
        if len(self.executing_job_ids()) >= self.config.max_concurrent:
            raise api_error(429, ERR_BUSY)
        job = self._new_job(request_type, body, prompt, parent, request)
        job.image_fetch = image_fetch
        self.jobs[job.id] = job
        payload = job.submit_json(self.config.submit_created_at_empty)
        job.task = self._spawn(self._run_job(job))
        if self.faults.accept_then_delay > 0:
            await asyncio.sleep(self.faults.accept_then_delay)
        return self._reply(payload)

    def _parent(self, video: str | None) -> SimJob:
        parent = self._by_result_url.get(video or "")
        if parent is None or parent.status is not VideoStatus.FINISHED:
            raise api_error(400, ERR_BAD_VIDEO)
        return parent

    async def _fetch_image(self, url: str) -> ImageFetch | None:
        """GET a loopback image (to prove the client passed a working URL); other hosts are not called."""
        if URL(url).host not in LOOPBACK_HOSTS:
            return None
        try:
            if self._session is None:
                raise RuntimeError("simulator app is not running")
            async with self._session.get(url) as resp:
                data = await resp.read()
                fetch = ImageFetch(url, resp.status, resp.content_type, len(data), None)
        except (ClientError, TimeoutError, RuntimeError) as exc:
            fetch = ImageFetch(url, None, None, 0, f"{type(exc).__name__}: {exc}")
        self.image_fetches.append(fetch)
        if fetch.http_status is None or not 200 <= fetch.http_status < 300:
            # UNCONFIRMED: the real API may instead accept the job and fail it later.
            why = fetch.error or f"HTTP {fetch.http_status}"
            raise api_error(400, f"image could not be downloaded ({why})")
        return fetch

    def _new_job(
        self,
        request_type: RequestType,
        body: SubmitBody,
        prompt: str,
        parent: SimJob | None,
        request: web.Request,
    ) -> SimJob:
        if request_type is RequestType.UPSCALE and parent is not None:
            options = copy.deepcopy(parent.options)
            extended, duration, seed = parent.extended, parent.duration, parent.seed
        else:
            options = body.options or {}
            if request_type is RequestType.EXTEND:
                # UNCONFIRMED: an extend job is echoed with options.extend true.
                options["extend"] = True
            parameters = options.get("parameters")
            raw_seed = parameters.get("seed") if isinstance(parameters, dict) else None
            seed = raw_seed if _is_int(raw_seed) else None
            extended = parent.extended + 1 if parent is not None else 0
            duration = parent.duration + EXTEND_SECONDS if parent is not None else BASE_DURATION
        return SimJob(
            id=self._new_id(),
            pika_job_id=self._new_id(),
            request_type=request_type,
            prompt_text=prompt,
            options=options,
            created_ns=time.time_ns(),
            account_id=self.config.account_id,
            user_id=self.config.user_id,
            ref=body.ref,
            webhook_override=body.webhook_override,
            duration=duration,
            extended=extended,
            upscaled=request_type is RequestType.UPSCALE,
            image=body.image,
            video=body.video,
            parent_id=parent.id if parent is not None else None,
            requested_seed=seed,
            extra=body.extra,
            public_base=(self.config.public_base_url or str(request.url.origin())).rstrip("/"),
            filename=video_filename(prompt),
        )

    def _new_id(self) -> str:
        while True:
            new = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            if new not in self.jobs:
                return new

    # ----- job life cycle -----------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        # Keep a strong reference so the task is not garbage-collected, and to cancel it on cleanup.
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _stop_lifecycle(self, job: SimJob) -> None:
        if job.task is not None and not job.task.done() and job.task is not asyncio.current_task():
            job.task.cancel()

    async def _run_job(self, job: SimJob) -> None:
        cfg = self.config
        await asyncio.sleep(cfg.queued_delay)
        await self._wait_while(job, lambda: self.faults.stuck_queued)
        steps = cfg.progress_steps or (0,)
        self._set_state(job, VideoStatus.PENDING, steps[0])
        await self._wait_while(job, lambda: self.faults.hold_jobs)
        for percent in steps[1:]:
            await asyncio.sleep(cfg.progress_delay)
            self._set_state(job, VideoStatus.PENDING, percent)
        await asyncio.sleep(cfg.progress_delay)
        word = _contains_any(job.prompt_text, cfg.fail_words)
        if word is not None:
            self._fail(job, f"{ERR_JOB_FAILED} (prompt has {word!r})", cfg.fail_status)
        else:
            self._finish(job)

    async def _wait_while(self, job: SimJob, condition: Callable[[], bool]) -> None:
        """Wait while ``condition`` holds (re-read often, so switching a knob off works) or until release."""
        while condition() and not job.release_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(job.release_event.wait(), 0.02)

    def _finish(self, job: SimJob) -> None:
        job.seed = job.requested_seed if job.requested_seed is not None else self._rng.randrange(1, 2**32)
        job.result_url = f"{job.public_base}/videos/{job.id}/{job.filename}"
        job.video_poster = f"{job.public_base}/images/{job.id}/poster.jpg"
        job.image_thumb = f"{job.public_base}/images/{job.id}/thumbnail.jpg"
        self._by_result_url[job.result_url] = job
        self._set_state(job, VideoStatus.FINISHED, 100)

    def _fail(self, job: SimJob, error: str, status: VideoStatus) -> None:
        job.error = error
        self._set_state(job, status, job.progress)

    def _set_state(self, job: SimJob, status: VideoStatus, progress: int) -> None:
        """Move a video on and post a webhook when the state calls for one."""
        job.status = status
        job.progress = progress
        job.changed.set()
        job.changed = asyncio.Event()
        if status in ENDED or self.faults.progress_callbacks:
            self._schedule_callback(job)

    # ----- webhooks -----------------------------------------------------------------------------

    def _schedule_callback(self, job: SimJob) -> None:
        if not job.webhook_override or self.faults.drop_callbacks:
            return
        copies = 1 + max(0, self.faults.duplicate_callbacks)
        # The body is taken now, so a late webhook still carries the state it announces.
        payload = self.render(job)
        self._spawn(
            self._deliver(job, job.webhook_override, payload, copies, self.faults.late_callback_delay)
        )

    async def _deliver(
        self, job: SimJob, url: str, payload: dict[str, object], copies: int, delay: float
    ) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        # The lock keeps one job's webhooks in the order its states happened.
        async with job.callback_lock:
            for _ in range(copies):
                await self._post_callback(job, url, payload)

    async def _post_callback(self, job: SimJob, url: str, payload: dict[str, object]) -> None:
        http_status: int | None = None
        error: str | None = None
        try:
            if self._session is None:
                raise RuntimeError("simulator app is not running")
            async with self._session.post(url, data=_dumps(payload).encode(), headers=JSON_HEADERS) as resp:
                await resp.read()
                http_status = resp.status
        except (ClientError, TimeoutError, RuntimeError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        videos = payload["videos"]
        video = videos[0] if isinstance(videos, list) and videos else {}
        status = video.get("status") if isinstance(video, dict) else None
        progress = video.get("progress") if isinstance(video, dict) else None
        self.callbacks_sent.append(
            RecordedCallback(
                url,
                job.id,
                str(status),
                progress if _is_int(progress) else 0,
                http_status,
                error,
                time.time(),
            )
        )

    # ----- jobs endpoint ------------------------------------------------------------------------

    async def _get_job(self, request: web.Request) -> web.StreamResponse:
        if self.faults.poll_status is not None:
            status = self.faults.poll_status
            return self._reply({"error": _phrase(status), "code": status}, status)
        job = self.jobs.get(request.match_info["job_id"])
        if job is None:
            raise api_error(404, ERR_NOT_FOUND)
        payload = self.render(job)
        if self.faults.huge_body:
            payload["padding"] = "x" * HUGE_BODY_BYTES
        return self._reply(payload)

    # ----- result media -------------------------------------------------------------------------

    def _finished_job(self, video_id: str) -> SimJob | None:
        job = self.jobs.get(video_id)
        if job is None or job.status is not VideoStatus.FINISHED or self.faults.expire_results:
            return None
        return job

    async def _video(self, request: web.Request) -> web.StreamResponse:
        job = self._finished_job(request.match_info["video_id"])
        if job is None or request.match_info["filename"] != job.filename:
            return web.Response(status=404, text=MEDIA_GONE)
        return web.Response(body=self.video, content_type="video/mp4")

    async def _image(self, request: web.Request) -> web.StreamResponse:
        job = self._finished_job(request.match_info["video_id"])
        if job is None or request.match_info["filename"] not in MEDIA_IMAGES:
            return web.Response(status=404, text=MEDIA_GONE)
        return web.Response(body=POSTER_JPEG, content_type="image/jpeg")

    # ----- control API (/_sim/, no auth) --------------------------------------------------------

    async def _sim_jobs(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response([self.render(j) for j in self.jobs.values()], dumps=_dumps)

    async def _sim_requests(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response([asdict(r) for r in self.requests], dumps=_dumps)

    async def _sim_callbacks(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response([asdict(c) for c in self.callbacks_sent], dumps=_dumps)

    async def _sim_get_faults(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response(asdict(self.faults), dumps=_dumps)

    async def _sim_post_faults(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return web.json_response({"error": ERR_BODY}, status=400)
        try:
            self.update_faults(body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(asdict(self.faults), dumps=_dumps)

    async def _sim_job_action(self, request: web.Request) -> web.StreamResponse:
        job_id, action = request.match_info["job_id"], request.match_info["action"]
        if job_id not in self.jobs:
            return web.json_response({"error": ERR_NOT_FOUND}, status=404)
        if action == "release":
            self.release(job_id)
            return web.json_response(self.render(self.jobs[job_id]), dumps=_dumps)
        if action == "fail":
            body: object = {}
            if request.can_read_body:
                with contextlib.suppress(ValueError):
                    body = await request.json()
            opts = body if isinstance(body, dict) else {}
            try:
                status = VideoStatus(str(opts.get("status", VideoStatus.ERROR)))
                done = self.fail_now(job_id, str(opts.get("error", ERR_JOB_FAILED)), status)
            except ValueError as exc:
                return web.json_response({"error": str(exc)}, status=400)
        elif action == "finish":
            done = self.finish_now(job_id)
        else:
            return web.json_response({"error": f"unknown action {action}"}, status=400)
        if not done:
            return web.json_response({"error": f"job {job_id} already ended"}, status=409)
        return web.json_response(self.render(self.jobs[job_id]), dumps=_dumps)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error"


def _html_502() -> web.Response:
    html = (
        "<html><head><title>502 Bad Gateway</title></head><body>"
        "<center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>"
    )
    return web.Response(status=502, text=html, content_type="text/html")


def _coerce_fault(name: str, current: object, value: object) -> object:
    """Check a knob value against the knob's type (bool before int: bool is an int subclass)."""
    ok = False
    if name in ("submit_status", "poll_status"):
        ok = value is None or (_is_int(value) and 400 <= value <= 599)
    elif name == "running_status":
        ok = value is None or (isinstance(value, str) and bool(value))
    elif isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = _is_int(value) and value >= 0
    elif isinstance(current, float) and _is_number(value) and value >= 0:
        return float(value)
    if not ok:
        raise ValueError(f"bad value {value!r} for fault knob {name!r}")
    return value


# --------------------------------------------------------------------------------------------------
# Running it
# --------------------------------------------------------------------------------------------------


@dataclass
class RunningGlueSimulator(Served):
    """A simulator served on a real socket; ``base_url`` is what an API client is configured with."""

    sim: ApiGlueSimulator

    @property
    def base_url(self) -> str:
        """The stand-in for ``https://api.pikapikapika.io``: the root, as API Glue paths start at /web/."""
        return self.root_url


async def start_simulator(
    config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningGlueSimulator:
    """Serve a new simulator on ``host:port`` (0 = a free port) and return a handle to it."""
    sim = ApiGlueSimulator(config)
    runner, bound_port = await bind(sim.make_app(), host, port)
    if not sim.config.public_base_url:
        sim.config = replace(sim.config, public_base_url=f"http://{host}:{bound_port}")
    return RunningGlueSimulator(sim=sim, runner=runner, host=host, port=bound_port)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="API Glue Pika web API simulator")
    listen_arguments(parser)
    parser.add_argument("--token", default=SimConfig.api_token, help="valid bearer token")
    parser.add_argument("--queued-delay", type=float, default=SimConfig.queued_delay)
    parser.add_argument("--progress-delay", type=float, default=SimConfig.progress_delay)
    parser.add_argument("--max-concurrent", type=int, default=SimConfig.max_concurrent)
    parser.add_argument("--seed", type=int, default=None, help="random seed for ids and video seeds")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    config = SimConfig(
        api_token=args.token,
        queued_delay=args.queued_delay,
        progress_delay=args.progress_delay,
        max_concurrent=args.max_concurrent,
        random_seed=args.seed,
    )
    running = await start_simulator(config, host=args.host, port=args.port)
    await serve_until_stopped(running, running.base_url)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: serve until SIGINT/SIGTERM, printing the base URL first."""
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
