"""A stand-in for the useapi.net Pika v1 API (decommissioned upstream), answering as its documents say.

The simulator is deliberately independent of the rest of the project: it imports nothing from ``bot``
so that a bug in the engine cannot be mirrored (and hidden) here.  It serves:

* ``POST /v1/pika/{create,animate,encrypt_text,encrypt_image,button}`` (multipart only),
* ``GET /v1/pika/jobs/?jobid=``, ``GET /v1/pika/jobs``, ``GET /v1/pika/jobs/cancel/?jobid=``,
* ``GET /v1/pika/account``, ``GET|POST|DELETE /v1/pika/account/<channel>``,
* ``GET /attachments/<channel>/<message>/<file>`` (the Discord-CDN-like result video),
* ``/_sim/...``, a small unauthenticated control API for out-of-process tests.

Run it standalone with ``python -m sandbox.useapi_sim --port 0``; it prints its base URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import random
import re
import time
from collections.abc import AsyncIterator, Coroutine, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Final, TypeGuard

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from aiohttp.typedefs import Handler, Middleware

from sandbox.serving import bind, listen_arguments, serve_until_stopped

# --------------------------------------------------------------------------------------------------
# Constants taken from the docs (useapi.net's Pika pages, docs/useapi-pika.md section 1)
# --------------------------------------------------------------------------------------------------

DEFAULT_CHANNEL: Final = "1183508299895820390"
DEFAULT_DISCORD: Final = "MTEsim-discord-tokenxYz"
#: Discord user id Pika mentions in its messages (illustrative; cf. docs/useapi-pika.md section 3).
PIKA_USER: Final = "1100000000000000000"
DISCORD_EPOCH_MS: Final = 1_420_070_400_000

MAX_PROMPT: Final = 1500
MAX_REPLY: Final = 1024
MAX_MESSAGE_TEXT: Final = 20
MAX_JOBS_LIMIT: Final = 10
FONTS: Final = ("MODERN", "COMICS", "SANS SERIF", "BAUHAUS", "RETRO")

BASE_FLAGS: Final = frozenset({"gs", "neg", "ar", "seed", "motion", "fps", "camera"})
ENCRYPT_FLAGS: Final = BASE_FLAGS | {"w", "size"}

ERR_UNAUTHORIZED: Final = "Unauthorized"
ERR_EXPIRED: Final = "Account has no subscription or subscription expired"
ERR_MODERATED: Final = "Sorry, your input may be inconsistent with server rules."
ERR_INVALID_PARAM: Final = "Invalid parameter"
ERR_TOO_LONG: Final = "prompt, replyRef or replyUrl is too long"
ERR_NO_JOBID: Final = "Query param jobid not provided"
ERR_DISCORD_429: Final = "Discord /interactions failed with HTTP status 429"
DISCORD_429_DETAILS: Final = '{"global":true,"message":"You are being rate limited.","retry_after":10}'
ERR_JOB_FAILED: Final = "Pika job failed"
CDN_GONE: Final = "This content is no longer available."

ASSETS_DIR: Final = Path(__file__).parent / "assets"
SAMPLE_VIDEO: Final = ASSETS_DIR / "sample.mp4"
# Real pixel size of assets/sample.mp4, reported in attachments so the metadata matches the bytes.
SAMPLE_WIDTH: Final = 128
SAMPLE_HEIGHT: Final = 72

HUGE_BODY_BYTES: Final = 5 * 1024 * 1024
CLIENT_MAX_SIZE: Final = 64 * 1024 * 1024

_dumps = functools.partial(json.dumps, ensure_ascii=False)
_FLAG_RE: Final = re.compile(r"(?:^|\s)--?([A-Za-z][A-Za-z_]*)(?=\s|$)")
_SEED_RE: Final = re.compile(r"(?:^|\s)--?seed\s+(\d+)")
_CHANNEL_RE: Final = re.compile(r"^\d{17,20}$")


# --------------------------------------------------------------------------------------------------
# Public configuration and state
# --------------------------------------------------------------------------------------------------


class Verb(StrEnum):
    """The ``verb`` field of a job, one per submit endpoint."""

    CREATE = "pika-create"
    ANIMATE = "pika-animate"
    ENCRYPT_TEXT = "pika-encrypt_text"
    ENCRYPT_IMAGE = "pika-encrypt_image"
    BUTTON = "pika-button"


class JobStatus(StrEnum):
    """The full useapi job status enum (docs/useapi-pika.md 1.5)."""

    CREATED = "created"
    STARTED = "started"
    PROGRESS = "progress"
    COMPLETED = "completed"
    FAILED = "failed"
    MODERATED = "moderated"
    CANCELLED = "cancelled"


EXECUTING: Final = frozenset({JobStatus.CREATED, JobStatus.STARTED, JobStatus.PROGRESS})


@dataclass
class SimAccount:
    """One configured Pika account (a Discord DM channel with the Pika bot)."""

    discord: str
    max_jobs: int = 10
    reply_url: str = ""


def _default_accounts() -> dict[str, SimAccount]:
    return {DEFAULT_CHANNEL: SimAccount(discord=DEFAULT_DISCORD, max_jobs=10)}


@dataclass
class SimConfig:
    """Static behaviour of the simulator; timings are in seconds."""

    api_token: str = "sim-token"  # noqa: S105 - fake token of a local stand-in
    expired_token: str = "sim-expired-token"  # noqa: S105 - fake token of a local stand-in
    accounts: dict[str, SimAccount] = field(default_factory=_default_accounts)
    moderated_words: tuple[str, ...] = ("forbidden",)
    job_started_delay: float = 0.05
    job_progress_delay: float = 0.1
    job_complete_delay: float = 0.2
    fail_words: tuple[str, ...] = ("explode",)
    public_base_url: str = ""
    attachment_ttl: float = 86_400.0
    callback_timeout: float = 5.0
    random_seed: int | None = None


@dataclass
class SimFaults:
    """Runtime fault knobs; all off by default. Tests flip them while the simulator runs."""

    submit_status: int | None = None
    submit_html_error: bool = False
    malformed_json: bool = False
    discord_429_submits: int = 0
    gateway_504_submits: int = 0
    delay_seconds: float = 0.0
    accept_then_delay: float = 0.0
    duplicate_callbacks: int = 0
    drop_callbacks: bool = False
    late_callback_delay: float = 0.0
    progress_callbacks: bool = False
    hold_jobs: bool = False
    huge_body: bool = False
    external_executing: dict[str, int] = field(default_factory=dict)
    expire_attachments: bool = False
    #: Submits to these account channels answer the given status (402: that account's Pika
    #: subscription lapsed; 401: its Discord token was revoked) instead of running.
    channel_status: dict[str, int] = field(default_factory=dict)
    #: GET pika/jobs (the executing list) answers this status instead of the list (e.g. 503).
    jobs_list_status: int | None = None


@dataclass(frozen=True)
class FileInfo:
    """Size and MIME type of an uploaded file part, echoed as ``{size, type}``."""

    size: int
    type: str

    def to_json(self) -> dict[str, object]:
        """The ``{size, type}`` echo object."""
        return {"size": self.size, "type": self.type}


@dataclass(frozen=True)
class Attachment:
    """Discord-like attachment object of a finished video."""

    id: str
    filename: str
    size: int
    url: str
    proxy_url: str
    width: int
    height: int
    content_type: str = "video/mp4"

    def to_json(self) -> dict[str, object]:
        """The attachment as it appears in ``attachments[]``."""
        return asdict(self)


@dataclass
class SimJob:
    """One job as the simulator stores it; ``to_json`` renders the documented wire shape."""

    jobid: str
    verb: Verb
    status: JobStatus
    created: datetime
    updated: datetime
    discord: str
    channel: str
    max_jobs: int
    message_id: str
    timestamp: datetime
    details: str
    content: str
    prompt: str | None = None
    image: FileInfo | None = None
    message_file: FileInfo | None = None
    message_text: str | None = None
    font: str | None = None
    reply_url: str | None = None
    reply_ref: str | None = None
    button: str | None = None
    parent_job_id: str | None = None
    seed: int = 0
    public_base: str = ""
    buttons: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    error: str | None = None
    error_details: str | None = None
    accepted_payload: dict[str, object] | None = field(default=None, repr=False)
    started_event: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    release_event: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    callback_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    # Set (then replaced by a fresh Event) on every status change, so waiters need not poll.
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def is_executing(self) -> bool:
        """True while the job occupies a maxJobs slot."""
        return self.status in EXECUTING

    def to_json(self) -> dict[str, object]:
        """Render the job as useapi does (docs 5.1/5.2); ``code`` is always 200 for a stored job."""
        out: dict[str, object] = {
            "jobid": self.jobid,
            "verb": str(self.verb),
            "status": str(self.status),
            "created": iso_ms(self.created),
            "updated": iso_ms(self.updated),
        }
        if self.button is not None:
            out["button"] = self.button
            out["parentJobId"] = self.parent_job_id
        if self.message_file is not None:
            out["message"] = self.message_file.to_json()
        elif self.message_text is not None:
            out["message"] = self.message_text
        if self.font is not None:
            out["font"] = self.font
        # The button docs echo button/parentJobId instead of the inherited prompt.
        if self.prompt is not None and self.verb is not Verb.BUTTON:
            out["prompt"] = self.prompt
        if self.buttons:
            out["buttons"] = list(self.buttons)
        if self.image is not None:
            out["image"] = self.image.to_json()
        out["discord"] = mask_discord(self.discord)
        out["channel"] = self.channel
        out["maxJobs"] = self.max_jobs
        if self.reply_url:
            out["replyUrl"] = self.reply_url
        if self.reply_ref is not None:
            out["replyRef"] = self.reply_ref
        out["messageId"] = self.message_id
        out["content"] = self.content
        out["timestamp"] = iso_discord(self.timestamp)
        if self.attachments:
            out["attachments"] = [a.to_json() for a in self.attachments]
        if self.error is not None:
            out["error"] = self.error
        if self.error_details is not None:
            out["errorDetails"] = self.error_details
        out["code"] = 200
        return out


@dataclass(frozen=True)
class RecordedFile:
    """A file part as received: its filename, content type and byte size."""

    filename: str
    content_type: str
    size: int


@dataclass
class RecordedRequest:
    """One request the simulator received (control API traffic under /_sim/ is not recorded)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    content_type: str
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, RecordedFile] = field(default_factory=dict)
    status: int | None = None
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RecordedCallback:
    """One callback POST attempt: ``http_status`` on an answer, ``error`` on a transport failure."""

    url: str
    jobid: str
    status: str
    http_status: int | None
    error: str | None
    at: float


# --------------------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------------------


def iso_ms(dt: datetime) -> str:
    """Format as useapi's ``created``/``updated``: ``YYYY-MM-DDTHH:mm:ss.sssZ``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_discord(dt: datetime) -> str:
    """Format as a Discord message ``timestamp``: microseconds and ``+00:00``."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def mask_discord(token: str) -> str:
    """Mask a Discord token the way useapi does: first 3 + ``…secured…`` + last 3 characters."""
    return f"{token[:3]}…secured…{token[-3:]}"


def prompt_flags(prompt: str) -> list[str]:
    """Names of the ``-flag`` parameters appended to a Pika prompt, lower-cased, in order."""
    return [m.group(1).lower() for m in _FLAG_RE.finditer(prompt)]


def unknown_flags(prompt: str, allowed: frozenset[str]) -> list[str]:
    """Flags Pika would reject with "Unrecognized parameter(s)", without duplicates."""
    seen: list[str] = []
    for name in prompt_flags(prompt):
        if name not in allowed and name not in seen:
            seen.append(name)
    return seen


def video_filename(prompt: str | None, seed: int) -> str:
    """Pika's result file name: the prompt words (flags stripped) joined by ``_`` plus ``_seed<N>``."""
    text = prompt or ""
    first_flag = _FLAG_RE.search(text)
    if first_flag is not None:
        text = text[: first_flag.start()]
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:64].strip("_") or "pika"
    return f"{slug}_seed{seed}.mp4"


def _now() -> datetime:
    return datetime.now(UTC)


def _contains_any(text: str | None, words: tuple[str, ...]) -> str | None:
    if not text:
        return None
    lowered = text.lower()
    return next((w for w in words if w.lower() in lowered), None)


# --------------------------------------------------------------------------------------------------
# Request parsing and validation (internal)
# --------------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer: HTTP status plus the JSON body (which carries ``code`` = status)."""

    def __init__(self, status: int, payload: dict[str, object]) -> None:
        super().__init__(payload.get("error"))
        self.status = status
        self.payload = payload


def api_error(status: int, message: str, **extra: object) -> ApiError:
    """Build the documented ``{"error": …, …, "code": status}`` error."""
    return ApiError(status, {"error": message, **extra, "code": status})


@dataclass(frozen=True)
class VerbSpec:
    """Field rules of one submit endpoint (docs/useapi-pika.md 1.3)."""

    endpoint: str
    verb: Verb
    required_text: tuple[str, ...]
    required_files: tuple[str, ...]
    optional_files: tuple[str, ...]
    missing_error: str
    too_long_error: str
    allowed_flags: frozenset[str]


SPECS: Final = {
    spec.endpoint: spec
    for spec in (
        VerbSpec(
            "create",
            Verb.CREATE,
            ("prompt",),
            (),
            ("image",),
            "prompt, discord or channel value is missing",
            ERR_TOO_LONG,
            BASE_FLAGS,
        ),
        VerbSpec(
            "animate",
            Verb.ANIMATE,
            (),
            ("image",),
            (),
            "image, discord or channel value is missing",
            ERR_TOO_LONG,
            BASE_FLAGS,
        ),
        VerbSpec(
            "encrypt_text",
            Verb.ENCRYPT_TEXT,
            ("message", "prompt"),
            (),
            ("image",),
            "message, prompt, discord or channel value is missing",
            # UNCONFIRMED text: the encrypt_text page's 400 list was not recovered; same style.
            "message, prompt, replyRef or replyUrl is too long",
            ENCRYPT_FLAGS,
        ),
        VerbSpec(
            "encrypt_image",
            Verb.ENCRYPT_IMAGE,
            ("prompt",),
            ("message",),
            ("image",),
            "message, prompt, discord or channel value is missing",
            ERR_TOO_LONG,
            ENCRYPT_FLAGS,
        ),
        VerbSpec(
            "button",
            Verb.BUTTON,
            ("jobid", "button"),
            (),
            (),
            "jobid or button value is missing",
            "replyRef or replyUrl is too long",
            BASE_FLAGS,
        ),
    )
}


@dataclass
class SubmitForm:
    """A parsed multipart body: text parts and file parts (first occurrence of each name wins)."""

    texts: dict[str, str] = field(default_factory=dict)
    files: dict[str, FileInfo] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        """The text value, or None when absent or blank."""
        value = self.texts.get(name)
        return value if value is not None and value.strip() else None


@dataclass(frozen=True)
class Target:
    """The account a job runs on."""

    discord: str
    channel: str
    max_jobs: int
    reply_url: str


async def read_form(request: web.Request, record: RecordedRequest | None) -> SubmitForm:
    """Read a multipart body into a SubmitForm and note field names/values in the request record."""
    form = SubmitForm()
    post = await request.post()
    for name, value in post.items():
        if isinstance(value, web.FileField):
            data = value.file.read()
            content_type = value.content_type or "application/octet-stream"
            if record is not None and name not in record.files:
                record.files[name] = RecordedFile(value.filename, content_type, len(data))
            form.files.setdefault(name, FileInfo(len(data), content_type))
        else:
            text = value if isinstance(value, str) else bytes(value).decode("utf-8", "replace")
            if record is not None and name not in record.fields:
                record.fields[name] = text
            form.texts.setdefault(name, text)
    return form


def validate_form(spec: VerbSpec, form: SubmitForm) -> None:
    """Apply the documented 400 checks in the docs' order: missing, not File/Blob, too long, values."""
    missing_text = any(form.text(name) is None for name in spec.required_text)
    missing_file = any(n not in form.files and n not in form.texts for n in spec.required_files)
    if missing_text or missing_file:
        raise api_error(400, spec.missing_error)
    for name in (*spec.required_files, *spec.optional_files):
        if name in form.texts and name not in form.files:
            raise api_error(400, f"{name} is not File or Blob")
    if _too_long(spec, form):
        raise api_error(400, spec.too_long_error)
    font = form.text("font")
    if spec.verb is Verb.ENCRYPT_TEXT and font is not None and font.upper() not in FONTS:
        # UNCONFIRMED text, mirrors "button <button> not supported".
        raise api_error(400, f"font {font} not supported")
    button = form.text("button")
    if spec.verb is Verb.BUTTON and button is not None and button != "retry":
        raise api_error(400, f"button {button} not supported")
    parse_max_jobs(form)


def _too_long(spec: VerbSpec, form: SubmitForm) -> bool:
    limits = {"replyRef": MAX_REPLY, "replyUrl": MAX_REPLY}
    if spec.verb is not Verb.BUTTON:
        limits["prompt"] = MAX_PROMPT
    if spec.verb is Verb.ENCRYPT_TEXT:
        limits["message"] = MAX_MESSAGE_TEXT
    return any(len(form.texts.get(name, "")) > limit for name, limit in limits.items())


def parse_max_jobs(form: SubmitForm) -> int | None:
    """The optional ``maxJobs`` override (1..10)."""
    raw = form.text("maxJobs")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_JOBS_LIMIT:
        # UNCONFIRMED text; the docs only state the 1-10 range.
        raise api_error(400, f"maxJobs {raw} must be a number between 1 and {MAX_JOBS_LIMIT}")
    return value


def content_details(job_prompt: str | None, form: SubmitForm, font: str | None) -> str:
    """The "(Prompt: …  Image: 1 Attachment  Author: <@u>)" part of Pika's messages."""
    parts: list[str] = []
    if job_prompt:
        parts.append(f"Prompt: {job_prompt}")
    message_text = form.text("message")
    if "message" in form.files:
        parts.append("Message: 1 Attachment")
    elif message_text is not None:
        parts.append(f"Message: {message_text}" + (f" (Font: {font})" if font else ""))
    if "image" in form.files:
        parts.append("Image: 1 Attachment")
    parts.append(f"Author: <@{PIKA_USER}>")
    return "  ".join(parts)


# --------------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------------

_RECORD_KEY: Final = web.RequestKey("useapi_sim_record", RecordedRequest)


class UseapiSimulator:
    """In-memory useapi.net Pika v1: jobs, accounts, callbacks and fault knobs."""

    def __init__(self, config: SimConfig | None = None) -> None:
        """Create a simulator; nothing is served until ``make_app`` is run by an aiohttp runner."""
        self.config: SimConfig = config if config is not None else SimConfig()
        self.faults = SimFaults()
        # Copied so that account POST/DELETE never mutates the caller's config object.
        self.accounts: dict[str, SimAccount] = {k: replace(v) for k, v in self.config.accounts.items()}
        self.jobs: dict[str, SimJob] = {}
        self.requests: list[RecordedRequest] = []
        self.callbacks_sent: list[RecordedCallback] = []
        self.video = SAMPLE_VIDEO.read_bytes()
        self._rng = random.Random(self.config.random_seed)
        self._secret = self._rng.randbytes(16)
        self._snowflake_seq = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: ClientSession | None = None

    # ----- public helpers for in-process tests -------------------------------------------------

    def executing_jobids(self, channel: str | None = None) -> list[str]:
        """Jobids now in created/started/progress, optionally for one channel."""
        return [
            j.jobid
            for j in self.jobs.values()
            if j.is_executing and (channel is None or j.channel == channel)
        ]

    def release(self, jobid: str) -> None:
        """Let a job held by ``hold_jobs`` finish."""
        self.jobs[jobid].release_event.set()

    def release_all(self) -> None:
        """Release every held job."""
        for job in self.jobs.values():
            job.release_event.set()

    def complete_now(self, jobid: str) -> bool:
        """Finish an executing job as completed immediately; False if it is not executing."""
        job = self.jobs[jobid]
        if not job.is_executing:
            return False
        self._stop_lifecycle(job)
        self._complete(job)
        return True

    def fail_now(self, jobid: str, error: str = ERR_JOB_FAILED, details: str | None = None) -> bool:
        """Finish an executing job as failed immediately; False if it is not executing."""
        job = self.jobs[jobid]
        if not job.is_executing:
            return False
        self._stop_lifecycle(job)
        self._fail(job, error, details or "Simulated failure requested by test")
        return True

    def cancel(self, jobid: str) -> bool:
        """Cancel an executing job (status cancelled, callback sent); False if it is not executing."""
        job = self.jobs[jobid]
        if not job.is_executing:
            return False
        self._stop_lifecycle(job)
        self._set_status(job, JobStatus.CANCELLED)
        return True

    def update_faults(self, changes: Mapping[str, object]) -> None:
        """Merge ``changes`` into ``faults`` after type checks; ValueError on unknown keys or bad types."""
        known = {f.name for f in fields(SimFaults)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault knob {name!r}")
            setattr(self.faults, name, _coerce_fault(name, getattr(self.faults, name), value))

    async def wait_for_status(self, jobid: str, *statuses: JobStatus, within: float = 5.0) -> SimJob:
        """Wait until the job reaches one of ``statuses``; TimeoutError after ``within`` seconds."""
        job = self.jobs[jobid]
        async with asyncio.timeout(within):
            while job.status not in statuses:
                await job.changed.wait()
        return job

    # ----- app wiring ---------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """Build the aiohttp application (routes, middlewares, callback ClientSession lifecycle)."""
        app = web.Application(
            middlewares=[self._record_middleware(), self._api_middleware()],
            client_max_size=CLIENT_MAX_SIZE,
        )
        app.cleanup_ctx.append(self._lifecycle_ctx)
        router = app.router
        for spec in SPECS.values():
            router.add_post(f"/v1/pika/{spec.endpoint}", self._submit_handler(spec))
        router.add_get("/v1/pika/jobs", self._jobs_root)
        router.add_get("/v1/pika/jobs/", self._get_job)
        router.add_get("/v1/pika/jobs/cancel", self._cancel_job)
        router.add_get("/v1/pika/jobs/cancel/", self._cancel_job)
        router.add_get("/v1/pika/account", self._get_accounts)
        router.add_get("/v1/pika/account/{channel}", self._get_account)
        router.add_post("/v1/pika/account/{channel}", self._post_account)
        router.add_delete("/v1/pika/account/{channel}", self._delete_account)
        router.add_get("/attachments/{channel}/{message}/{filename}", self._attachment)
        router.add_get("/proxy/attachments/{channel}/{message}/{filename}", self._attachment)
        router.add_get("/_sim/jobs", self._sim_jobs)
        router.add_get("/_sim/requests", self._sim_requests)
        router.add_get("/_sim/callbacks", self._sim_callbacks)
        router.add_get("/_sim/faults", self._sim_get_faults)
        router.add_post("/_sim/faults", self._sim_post_faults)
        router.add_post("/_sim/jobs/{jobid}/{action}", self._sim_job_action)
        return app

    async def _lifecycle_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        # One shared session for all callbacks, owned by the app.
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
            self.requests.append(rec)
            request[_RECORD_KEY] = rec
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
            if not request.path.startswith("/v1/"):
                return await handler(request)
            if self.faults.delay_seconds > 0:
                await asyncio.sleep(self.faults.delay_seconds)
            try:
                self._check_auth(request)
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
        """JSON answer for /v1; the ``malformed_json`` knob turns it into a truncated 200 body."""
        text = _dumps(payload)
        if self.faults.malformed_json:
            return web.Response(
                status=200, text=text[: max(1, len(text) // 2)], content_type="application/json"
            )
        return web.Response(status=status, text=text, content_type="application/json")

    # ----- submit ---------------------------------------------------------------------------------

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
        form = await read_form(request, request.get(_RECORD_KEY))
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
                token, parent.channel, max_jobs or parent.max_jobs, reply_url or _acct_reply(account)
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
        return Target(token, channel, limit, reply_url or _acct_reply(account))

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

    def _busy(self, channel: str) -> int:
        return len(self.executing_jobids(channel)) + self.faults.external_executing.get(channel, 0)

    def _executing_with_external(self, channel: str) -> list[str]:
        return self.executing_jobids(channel) + self._foreign_ids(channel)

    def _foreign_ids(self, channel: str) -> list[str]:
        # Foreign jobs (other clients of the same account) show up only as ids: in the 429 body and
        # in the executing list, never as job records.
        foreign = self.faults.external_executing.get(channel, 0)
        return [f"j{channel[-6:]}external{i:04d}" for i in range(foreign)]

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
        now = _now()
        font = form.text("font")
        font = font.upper() if font else None
        prompt = parent.prompt if parent is not None else form.text("prompt")
        details = parent.details if parent is not None else content_details(prompt, form, font)
        seed_match = _SEED_RE.search(prompt or "")
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
        elif _contains_any(job.prompt, self.config.moderated_words) or _contains_any(
            job.message_text, self.config.moderated_words
        ):
            job.error = ERR_MODERATED
        else:
            return None
        job.status = JobStatus.MODERATED
        job.updated = _now()
        payload: dict[str, object] = {"error": job.error}
        if job.error_details is not None:
            payload["errorDetails"] = job.error_details
        payload.update({"jobid": job.jobid, "status": str(job.status), "code": 422})
        return payload

    def _new_jobid(self, now: datetime) -> str:
        while True:
            jobid = f"j{now:%m%d%H%M%S}{now.microsecond // 1000:03d}{self._rng.randrange(10**7):07d}"
            if jobid not in self.jobs:
                return jobid

    def _snowflake(self, now: datetime) -> str:
        self._snowflake_seq = (self._snowflake_seq + 1) & 0x3FFFFF
        millis = int(now.timestamp() * 1000) - DISCORD_EPOCH_MS
        return str((millis << 22) | self._snowflake_seq)

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
        await asyncio.sleep(cfg.job_started_delay)
        self._set_status(job, JobStatus.STARTED)
        await asyncio.sleep(cfg.job_progress_delay)
        self._set_status(job, JobStatus.PROGRESS, percent=23)
        if self.faults.hold_jobs:
            await self._hold(job)
        else:
            await asyncio.sleep(cfg.job_complete_delay / 2)
            self._set_status(job, JobStatus.PROGRESS, percent=71)
            await asyncio.sleep(cfg.job_complete_delay / 2)
        word = _contains_any(job.prompt, cfg.fail_words)
        if word is not None:
            self._fail(
                job, ERR_JOB_FAILED, f"Pika bot reported an error while generating (prompt has {word!r})"
            )
        else:
            self._complete(job)

    async def _hold(self, job: SimJob) -> None:
        """Stay in progress until released, or until ``hold_jobs`` is switched off (even by assignment)."""
        while self.faults.hold_jobs and not job.release_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(job.release_event.wait(), 0.02)

    def _complete(self, job: SimJob) -> None:
        filename = video_filename(job.prompt, job.seed)
        url, proxy_url = self._attachment_urls(job, filename)
        attachment_id = self._snowflake(_now())
        job.attachments = [
            Attachment(
                id=attachment_id,
                filename=filename,
                size=len(self.video),
                url=url,
                proxy_url=proxy_url,
                width=SAMPLE_WIDTH,
                height=SAMPLE_HEIGHT,
            )
        ]
        job.buttons = ["retry"]
        job.timestamp = _now()
        self._set_status(job, JobStatus.COMPLETED)

    def _fail(self, job: SimJob, error: str, details: str) -> None:
        job.error = error
        job.error_details = details
        self._set_status(job, JobStatus.FAILED)

    def _set_status(self, job: SimJob, status: JobStatus, percent: int | None = None) -> None:
        """Move a job on, refresh ``content``, and post a callback when the state calls for one."""
        job.status = status
        job.updated = _now()
        job.changed.set()
        job.changed = asyncio.Event()
        if status is JobStatus.PROGRESS:
            job.content = f"<@{PIKA_USER}> {job.details} ({percent}%)"
        elif status is JobStatus.COMPLETED:
            job.content = f"<@{PIKA_USER}> {job.details}"
        if status is not JobStatus.CREATED:
            if status is JobStatus.STARTED:
                job.accepted_payload = job.to_json()
            job.started_event.set()
        if not job.is_executing or self.faults.progress_callbacks:
            self._schedule_callback(job)

    # ----- callbacks ----------------------------------------------------------------------------

    def _schedule_callback(self, job: SimJob) -> None:
        if not job.reply_url or self.faults.drop_callbacks:
            return
        copies = 1 + max(0, self.faults.duplicate_callbacks)
        self._spawn(self._deliver(job, job.reply_url, job.to_json(), copies, self.faults.late_callback_delay))

    async def _deliver(
        self, job: SimJob, url: str, payload: dict[str, object], copies: int, delay: float
    ) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        # The lock keeps one job's callbacks in the order its states happened.
        async with job.callback_lock:
            for _ in range(copies):
                await self._post_callback(url, payload)

    async def _post_callback(self, url: str, payload: dict[str, object]) -> None:
        http_status: int | None = None
        error: str | None = None
        try:
            if self._session is None:
                raise RuntimeError("simulator app is not running")
            async with self._session.post(
                url, data=_dumps(payload).encode(), headers={"Content-Type": "application/json"}
            ) as resp:
                await resp.read()
                http_status = resp.status
        except (ClientError, TimeoutError, RuntimeError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.callbacks_sent.append(
            RecordedCallback(
                url, str(payload["jobid"]), str(payload["status"]), http_status, error, time.time()
            )
        )

    # ----- jobs endpoints -----------------------------------------------------------------------

    async def _jobs_root(self, request: web.Request) -> web.StreamResponse:
        if "jobid" in request.query:
            return await self._get_job(request)
        status = self.faults.jobs_list_status
        if status is not None:
            raise api_error(status, f"Simulated failure {status} of the jobs list")
        # Contract: every jobid executing under this token, across its accounts, foreign ones included.
        foreign = [jid for channel in self.faults.external_executing for jid in self._foreign_ids(channel)]
        return self._reply(self.executing_jobids() + foreign)

    async def _get_job(self, request: web.Request) -> web.StreamResponse:
        job = self._job_from_query(request)
        payload = job.to_json()
        if self.faults.huge_body:
            payload["embeds"] = [{"type": "rich", "description": "x" * HUGE_BODY_BYTES}]
        return self._reply(payload)

    async def _cancel_job(self, request: web.Request) -> web.StreamResponse:
        job = self._job_from_query(request)
        if job.status is not JobStatus.CANCELLED and not self.cancel(job.jobid):
            # UNCONFIRMED text: the docs list no error for a job that already ended.
            raise api_error(
                400, f"Job {job.jobid} status is {job.status}, only executing jobs can be cancelled"
            )
        return self._reply({"jobid": job.jobid, "status": str(JobStatus.CANCELLED), "code": 200})

    def _job_from_query(self, request: web.Request) -> SimJob:
        jobid = request.query.get("jobid", "").strip()
        if not jobid:
            raise api_error(400, ERR_NO_JOBID)
        job = self.jobs.get(jobid)
        if job is None:
            raise api_error(404, f"Unable to locate job {jobid}")
        return job

    # ----- account endpoints (docs/useapi-pika.md 1.7) ------------------------------------------

    def _account_json(self, channel: str, acct: SimAccount) -> dict[str, object]:
        out: dict[str, object] = {
            "channel": channel,
            "discord": mask_discord(acct.discord),
            "maxJobs": acct.max_jobs,
        }
        if acct.reply_url:
            out["replyUrl"] = acct.reply_url
        return out

    async def _get_accounts(self, _request: web.Request) -> web.StreamResponse:
        if not self.accounts:
            raise api_error(404, "Pika account configuration not found")
        return self._reply({ch: self._account_json(ch, acct) for ch, acct in self.accounts.items()})

    async def _get_account(self, request: web.Request) -> web.StreamResponse:
        channel = request.match_info["channel"]
        acct = self.accounts.get(channel)
        if acct is None:
            raise api_error(404, f"Unable to locate account {channel}")
        return self._reply(self._account_json(channel, acct))

    async def _post_account(self, request: web.Request) -> web.StreamResponse:
        channel = request.match_info["channel"]
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise api_error(400, "Request body must be a JSON object")
        self.accounts[channel] = self._validated_account(channel, body)
        return web.Response(status=204)

    def _validated_account(self, channel: str, body: dict[str, object]) -> SimAccount:
        discord, body_channel, max_jobs = body.get("discord"), body.get("channel"), body.get("maxJobs")
        if not isinstance(discord, str) or not discord.strip():
            raise api_error(400, "Required param discord is missing or empty")
        if not isinstance(body_channel, str) or not _CHANNEL_RE.match(body_channel):
            raise api_error(400, f"Required param channel ({body_channel}) is not valid Discord channel id")
        if body_channel != channel:
            raise api_error(
                400, f"Required param channel ({body_channel}) not matching to /pika/account/{channel}"
            )
        if not isinstance(max_jobs, int) or isinstance(max_jobs, bool) or max_jobs < 1:
            raise api_error(400, "Required param maxJobs is missing or invalid")
        if max_jobs > MAX_JOBS_LIMIT:
            raise api_error(400, f"Required param maxJobs {max_jobs} can't be more that {MAX_JOBS_LIMIT}")
        for other, acct in self.accounts.items():
            if other != channel and acct.discord == discord:
                raise api_error(400, f"Channel {other} configuration has same discord value")
        reply_url = body.get("replyUrl")
        return SimAccount(discord, max_jobs, reply_url if isinstance(reply_url, str) else "")

    async def _delete_account(self, request: web.Request) -> web.StreamResponse:
        channel = request.match_info["channel"]
        if self.accounts.pop(channel, None) is None:
            raise api_error(404, f"Unable to locate account {channel}")
        return web.Response(status=204)

    # ----- attachments (Discord CDN stand-in, docs/useapi-pika.md 1.11) -------------------------

    def _sign(self, channel: str, message: str, filename: str, ex: str, is_: str) -> str:
        msg = f"{channel}/{message}/{filename}|{ex}|{is_}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def _attachment_urls(self, job: SimJob, filename: str) -> tuple[str, str]:
        issued = int(time.time())
        ex, is_ = f"{issued + int(self.config.attachment_ttl):x}", f"{issued:x}"
        hm = self._sign(job.channel, job.message_id, filename, ex, is_)
        tail = f"attachments/{job.channel}/{job.message_id}/{filename}?ex={ex}&is={is_}&hm={hm}&"
        return f"{job.public_base}/{tail}", f"{job.public_base}/proxy/{tail}"

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        channel, message, filename = (request.match_info[k] for k in ("channel", "message", "filename"))
        known = any(
            j.channel == channel
            and j.message_id == message
            and any(a.filename == filename for a in j.attachments)
            for j in self.jobs.values()
        )
        if not known:
            return web.Response(status=404, text="Not Found")
        ex, is_, hm = (request.query.get(k, "") for k in ("ex", "is", "hm"))
        valid = bool(ex) and hmac.compare_digest(hm, self._sign(channel, message, filename, ex, is_))
        # Signed Discord CDN URLs answer 404 once `ex` has passed or when the signature is wrong.
        if self.faults.expire_attachments or not valid or int(ex, 16) < time.time():
            return web.Response(status=404, text=CDN_GONE)
        return web.Response(body=self.video, content_type="video/mp4")

    # ----- control API (/_sim/, no auth) --------------------------------------------------------

    async def _sim_jobs(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response([j.to_json() for j in self.jobs.values()], dumps=_dumps)

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
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        try:
            self.update_faults(body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(asdict(self.faults), dumps=_dumps)

    async def _sim_job_action(self, request: web.Request) -> web.StreamResponse:
        jobid, action = request.match_info["jobid"], request.match_info["action"]
        if jobid not in self.jobs:
            return web.json_response({"error": f"Unable to locate job {jobid}"}, status=404)
        if action == "release":
            self.release(jobid)
            return web.json_response(self.jobs[jobid].to_json(), dumps=_dumps)
        if action == "fail":
            body: object = {}
            if request.can_read_body:
                with contextlib.suppress(ValueError):
                    body = await request.json()
            error = body.get("error", ERR_JOB_FAILED) if isinstance(body, dict) else ERR_JOB_FAILED
            details = body.get("errorDetails") if isinstance(body, dict) else None
            done = self.fail_now(jobid, str(error), str(details) if details is not None else None)
        elif action == "complete":
            done = self.complete_now(jobid)
        elif action == "cancel":
            done = self.cancel(jobid)
        else:
            return web.json_response({"error": f"unknown action {action}"}, status=400)
        if not done:
            return web.json_response({"error": f"job {jobid} is not executing"}, status=409)
        return web.json_response(self.jobs[jobid].to_json(), dumps=_dumps)


def _acct_reply(account: SimAccount | None) -> str:
    return account.reply_url if account is not None else ""


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _coerce_fault(name: str, current: object, value: object) -> object:
    """Check a knob value against the knob's type (bool before int: bool is an int subclass)."""
    ok = False
    if name in ("submit_status", "jobs_list_status"):
        ok = value is None or (_is_int(value) and 400 <= value <= 599)
    elif isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = _is_int(value) and value >= 0
    elif isinstance(current, float):
        if (_is_int(value) or isinstance(value, float)) and value >= 0:
            return float(value)
    elif isinstance(current, dict):
        ok = isinstance(value, dict) and all(isinstance(k, str) and _is_int(v) for k, v in value.items())
        value = dict(value) if isinstance(value, dict) else value
    if not ok:
        raise ValueError(f"bad value {value!r} for fault knob {name!r}")
    return value


# --------------------------------------------------------------------------------------------------
# Running it
# --------------------------------------------------------------------------------------------------


@dataclass
class RunningSimulator:
    """A simulator served on a real socket; ``base_url`` is what an API client is configured with."""

    sim: UseapiSimulator
    runner: web.AppRunner
    host: str
    port: int

    @property
    def root_url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://host:port/v1/``, the stand-in for ``https://api.useapi.net/v1/``."""
        return f"{self.root_url}/v1/"

    async def close(self) -> None:
        """Stop serving and cancel background jobs/callbacks."""
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningSimulator:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def start_simulator(
    config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Serve a new simulator on ``host:port`` (0 = a free port) and return a handle to it."""
    sim = UseapiSimulator(config)
    runner, bound_port = await bind(sim.make_app(), host, port)
    if not sim.config.public_base_url:
        sim.config = replace(sim.config, public_base_url=f"http://{host}:{bound_port}")
    return RunningSimulator(sim=sim, runner=runner, host=host, port=bound_port)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="useapi.net Pika v1 simulator")
    listen_arguments(parser)
    parser.add_argument("--token", default=SimConfig.api_token, help="valid bearer token")
    parser.add_argument("--started-delay", type=float, default=SimConfig.job_started_delay)
    parser.add_argument("--progress-delay", type=float, default=SimConfig.job_progress_delay)
    parser.add_argument("--complete-delay", type=float, default=SimConfig.job_complete_delay)
    parser.add_argument("--seed", type=int, default=None, help="random seed for ids and account choice")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    config = SimConfig(
        api_token=args.token,
        job_started_delay=args.started_delay,
        job_progress_delay=args.progress_delay,
        job_complete_delay=args.complete_delay,
        random_seed=args.seed,
    )
    running = await start_simulator(config, host=args.host, port=args.port)
    await serve_until_stopped(running, running.base_url)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: serve until SIGINT/SIGTERM, printing the base URL first."""
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
