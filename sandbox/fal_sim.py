"""A stand-in for fal.ai's queue API (``https://queue.fal.run``) serving the Pika v2.2, v2.1 and v2 turbo models.

Like its siblings ``useapi_sim`` and ``apiglue_sim`` it imports nothing from the rest of the project
(only ``sandbox.serving``), so that a bug in the bot cannot be mirrored (and hidden) here.  It
answers as docs/fal-pika.md sections 1-3 say:

* ``POST /{model_id}[?fal_webhook=…&fal_max_queue_length=…]`` for ``fal-ai/pika/v2.2/text-to-video``,
  ``…/image-to-video``, ``…/pikascenes`` and ``…/pikaframes``, ``fal-ai/pika/v2.1/text-to-video`` and
  ``…/image-to-video``, ``fal-ai/pika/v2/turbo/text-to-video`` and ``…/image-to-video``
  (``Authorization: Key <id>:<secret>``), validating the body against each model's input schema
  (422 ``{"detail": [ErrorObject, …]}``);
* ``GET /fal-ai/pika/requests/{id}/status[?logs=1]``, ``GET /fal-ai/pika/requests/{id}`` (the result)
  and ``PUT /fal-ai/pika/requests/{id}/cancel`` (the owner/app form the submit answer hands out);
* a per-key concurrency limit: requests over it wait ``IN_QUEUE`` with an honest ``queue_position``;
  ``runner_*`` failures are retried inside the queue (up to ``max_attempts``), as fal does;
* fal storage: ``POST /storage/auth/token?storage_type=fal-cdn-v3`` then ``POST /files/upload`` (raw
  bytes), and ``GET /files/…`` for uploads and for the result videos (a real small MP4);
* webhooks: the section 2.2 body, serialized Python-style, signed with Ed25519 as section 2.3 says, the
  public key served at ``GET /.well-known/jwks.json``; retried on non-2xx or connection errors;
* ``/_sim/...``, a small unauthenticated control API for out-of-process tests.

The simulator is the REST host, the queue host and the CDN host at once: point all three base URLs
of a client at ``RunningFalSimulator.base_url``.  Run it standalone with
``python -m sandbox.fal_sim --port 0``; it prints its base URL.

The default signing key is the contract's test-vector key (seed ``sha256("pika-bot fal webhook test
vector v1")``), so the served JWKS equals the contract's test JWKS.

What the sources do not say, and what this module therefore chose (each marked UNCONFIRMED below):

* Error texts nobody published: unknown model and unknown request id answer 404
  ``{"detail": "Not Found"}`` / ``{"detail": "Request not found"}``; a missing Authorization header
  is 401 ``{"detail": "Missing authorization header"}``; a malformed one is 401 with the contract's
  "Invalid Key Authorization header format…" text; ``fal_max_queue_length`` overflow is 429
  ``{"detail": "Queue is full"}``; an unknown/expired storage token is 401.
* ``fal_max_queue_length=N`` rejects when N or more requests already wait on the same endpoint.
* Input validation happens at submit (``validate_at_submit``; off, the job is accepted and fails with
  the same 422 at run time).  Pydantic-style ``type``/``msg`` strings (``missing``, ``string_type``,
  ``int_type``, ``enum`` for every enum field, ``list_type``, ``too_short``/``too_long``,
  ``value_error`` for the cross-field pikaframes rules); every ErrorObject carries
  ``url = https://docs.fal.ai/errors/#<type>``.  ``duration`` strings ("5") are refused unless
  ``accept_string_duration``; v2.1 and v2 turbo take any integer ``duration`` (their schemas say
  only "integer").  pikascenes takes 1-5 images (third parties), pikaframes 2-5; a pikaframes
  transition ``duration`` must be an int from 1 to 25, and all of them 25 at most.  A field the
  model's schema does not declare (in a transition too) is refused ``extra_forbidden`` (fal's schemas
  do not say whether extras are dropped or refused; refusing catches a client that sends an option
  the model would ignore; ``refuse_unknown_fields=False`` drops them).
* A status answer sends ``"logs": null`` unless ``logs=1``/``logs=true`` (IN_PROGRESS and COMPLETED).
* A failed job's status shows ``error`` (the detail text, or the first ErrorObject's ``msg``) and
  ``error_type`` (the request error code or the first ErrorObject's ``type``); with
  ``model_errors_on_status=False`` model (422-style) errors only show when the result is fetched.
* Only the owner/app URLs are served: status/result/cancel at the sub-path form
  (``/fal-ai/pika/v2.2/…/requests/{id}``) answer 404.
* The result before completion is 400 ``{"detail": "Request is still in progress"}``.
* Cancel: a queued request is removed and ends COMPLETED with ``error_type`` ``client_cancelled``;
  its result is 499 ``{"detail": "Request cancelled by client", "error_type": "client_cancelled"}``
  and its webhook is an ERROR.  A running request stops at its next step the same way, unless
  ``cancel_running_finishes`` (then the signal is ignored and the job finishes normally).  An
  accepted cancel answers 202 ``{"status": "CANCELLATION_REQUESTED"}``, or 200 ``{"status": "OK"}``
  with ``cancel_accepted_status = 200`` (fal documents both bodies; its client accepts any 2xx).
* The queue retries ``runner_*`` failures only (not ``request_timeout``/``startup_timeout``) and
  puts the request back at the end of the queue; each retry gets a new ``gateway_request_id``.
* Webhooks: the ``X-Fal-Webhook-Request-Id`` header carries ``request_id``; each attempt is signed
  afresh with the current time; an ERROR body has ``error = "Invalid status code: <http status>"`` and
  the error body as ``payload``.  Webhooks to non-loopback hosts are not sent unless
  ``allow_external_webhooks`` (recorded with an error instead).
* Request error detail texts (``"Runner server error"`` and the like) and model error ``msg`` texts
  other than the contract's content-policy one.
* The storage token is ``token_type`` ``Bearer`` and ``expires_at`` an ISO-8601 UTC time; uploaded
  files live at ``{base}/files/u/<random>_<name>``, result videos at ``{base}/files/b/<id>_output.mp4``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import functools
import hashlib
import json
import random
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Final, TypeGuard

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from aiohttp.typedefs import Handler, Middleware
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from yarl import URL

from sandbox.serving import bind, listen_arguments, serve_until_stopped

# --------------------------------------------------------------------------------------------------
# Constants taken from the contract (docs/fal-pika.md)
# --------------------------------------------------------------------------------------------------

OWNER_APP: Final = "fal-ai/pika"
TEXT_TO_VIDEO: Final = "fal-ai/pika/v2.2/text-to-video"
IMAGE_TO_VIDEO: Final = "fal-ai/pika/v2.2/image-to-video"
PIKASCENES: Final = "fal-ai/pika/v2.2/pikascenes"
PIKAFRAMES: Final = "fal-ai/pika/v2.2/pikaframes"
V21_TEXT_TO_VIDEO: Final = "fal-ai/pika/v2.1/text-to-video"
V21_IMAGE_TO_VIDEO: Final = "fal-ai/pika/v2.1/image-to-video"
TURBO_TEXT_TO_VIDEO: Final = "fal-ai/pika/v2/turbo/text-to-video"
TURBO_IMAGE_TO_VIDEO: Final = "fal-ai/pika/v2/turbo/image-to-video"
MODEL_IDS: Final = (
    TEXT_TO_VIDEO,
    IMAGE_TO_VIDEO,
    PIKASCENES,
    PIKAFRAMES,
    V21_TEXT_TO_VIDEO,
    V21_IMAGE_TO_VIDEO,
    TURBO_TEXT_TO_VIDEO,
    TURBO_IMAGE_TO_VIDEO,
)

#: The contract's test-vector seed: sha256("pika-bot fal webhook test vector v1").
TEST_VECTOR_SEED: Final = hashlib.sha256(b"pika-bot fal webhook test vector v1").digest()
#: The public ``x`` of that key, as in the contract's test JWKS.
TEST_VECTOR_X: Final = "g9eeZWltf3LIuaW6-nmPMaOQoMtSLkMbDSzup4AaKOs"
#: The user id of the contract's test vector.
DEFAULT_USER_ID: Final = "github|test-user-0001"
DEFAULT_KEY: Final = "sim-key-id:sim-key-secret"

ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1", "4:5", "5:4", "3:2", "2:3")
RESOLUTIONS: Final = ("720p", "1080p")
DURATIONS: Final = (5, 10)
INGREDIENTS_MODES: Final = ("precise", "creative")
NEGATIVE_DEFAULT: Final = "ugly, bad, terrible"
ERRORS_DOC: Final = "https://docs.fal.ai/errors/"

ERR_NO_USER: Final = "No user found for Key ID and Secret"
ERR_KEY_FORMAT: Final = "Invalid Key Authorization header format. Expected '<key_id>:<key_secret>'."
ERR_LOCKED: Final = (
    "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."
)
# UNCONFIRMED texts (see the module docstring).
ERR_NO_AUTH: Final = "Missing authorization header"
ERR_NOT_FOUND: Final = "Not Found"
ERR_REQUEST_NOT_FOUND: Final = "Request not found"
ERR_IN_PROGRESS: Final = "Request is still in progress"
ERR_QUEUE_FULL: Final = "Queue is full"
ERR_BAD_TOKEN: Final = "Invalid or expired token"  # noqa: S105 - an error text, not a secret
ERR_CANCELLED: Final = "Request cancelled by client"
CONTENT_POLICY_MSG: Final = (
    "The content could not be processed because it contained material flagged by a content checker."
)

#: Request (infrastructure) errors, section 1.8: error_type -> (HTTP status, detail text).
REQUEST_ERRORS: Final[Mapping[str, tuple[int, str]]] = {
    "request_timeout": (504, "Request timed out"),
    "startup_timeout": (504, "Runner startup timed out"),
    "runner_scheduling_failure": (503, "Failed to schedule a runner"),
    "runner_connection_timeout": (503, "Runner connection timed out"),
    "runner_disconnected": (503, "Runner disconnected"),
    "runner_connection_refused": (503, "Runner connection refused"),
    "runner_connection_error": (503, "Runner connection error"),
    "runner_incomplete_response": (502, "Runner returned an incomplete response"),
    "runner_server_error": (500, "Runner server error"),
    "client_disconnected": (499, "Client disconnected"),
    "client_cancelled": (499, ERR_CANCELLED),
    "bad_request": (400, "Bad request"),
    "internal_error": (500, "Internal error"),
}
#: Model errors, section 1.8: type -> (HTTP status, msg).
MODEL_ERRORS: Final[Mapping[str, tuple[int, str]]] = {
    "content_policy_violation": (422, CONTENT_POLICY_MSG),
    "no_media_generated": (422, "The model did not generate any media."),
    "image_too_small": (422, "Image dimensions are too small."),
    "image_too_large": (422, "Image dimensions are too large."),
    "image_load_error": (422, "Failed to load the image. Please check if the image file is valid."),
    "file_download_error": (422, "Failed to download the file. Please check if the URL is accessible."),
    "file_too_large": (422, "File is too large."),
    "internal_server_error": (500, "Internal server error"),
    "generation_timeout": (504, "Generation timed out"),
    "downstream_service_error": (400, "The downstream service returned an error."),
    "downstream_service_unavailable": (500, "The downstream service is unavailable."),
}
ERROR_TYPES: Final = frozenset(REQUEST_ERRORS) | frozenset(MODEL_ERRORS)

ASSETS_DIR: Final = Path(__file__).parent / "assets"
SAMPLE_VIDEO: Final = ASSETS_DIR / "sample.mp4"
OUTPUT_FILE_NAME: Final = "output.mp4"

#: Hosts the simulator will fetch an image URL from or post a webhook to.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
CLIENT_MAX_SIZE: Final = 64 * 1024 * 1024
JSON_HEADERS: Final = {"Content-Type": "application/json"}
REQUEST_ID_HEADER: Final = "x-fal-request-id"
TRUE_WORDS: Final = frozenset({"1", "true", "True", "yes"})

_dumps = functools.partial(json.dumps, ensure_ascii=False)
_MISSING: Final = object()
_NAME_RE: Final = re.compile(r"[^A-Za-z0-9._-]+")


# --------------------------------------------------------------------------------------------------
# Webhook signing (section 2.3), exported for tests elsewhere
# --------------------------------------------------------------------------------------------------


def default_signing_key() -> Ed25519PrivateKey:
    """The contract's test-vector private key (its JWKS is ``DEFAULT_JWKS``)."""
    return Ed25519PrivateKey.from_private_bytes(TEST_VECTOR_SEED)


def public_x(key: Ed25519PrivateKey | Ed25519PublicKey, *, padded: bool = False) -> str:
    """The base64url ``x`` of a key's public half, without ``=`` padding unless ``padded``."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    text = base64.urlsafe_b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    return text if padded else text.rstrip("=")


def jwks_for(
    keys: Iterable[Ed25519PrivateKey | Ed25519PublicKey], *, padded: bool = False
) -> dict[str, list[dict[str, str]]]:
    """A JWKS document listing the public halves of ``keys`` as fal serves it (OKP/Ed25519)."""
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": public_x(k, padded=padded)} for k in keys]}


#: The contract's test JWKS: ``{"keys":[{"kty":"OKP","crv":"Ed25519","x":TEST_VECTOR_X}]}``.
DEFAULT_JWKS: Final = jwks_for([default_signing_key()])


def sign_webhook(
    private_key: Ed25519PrivateKey, request_id: str, user_id: str, timestamp: int | str, body: bytes
) -> str:
    """Sign a webhook as fal does; return ``X-Fal-Webhook-Signature`` (128 lower-case hex digits).

    The message is ``"\\n".join([request_id, user_id, timestamp, sha256(body).hexdigest()])``.
    """
    digest = hashlib.sha256(body).hexdigest()
    message = "\n".join([request_id, user_id, str(timestamp), digest]).encode()
    return private_key.sign(message).hex()


def webhook_headers(
    private_key: Ed25519PrivateKey, request_id: str, user_id: str, timestamp: int | str, body: bytes
) -> dict[str, str]:
    """The four ``X-Fal-Webhook-*`` headers (plus JSON content type) for ``body``."""
    return {
        "Content-Type": "application/json",
        "X-Fal-Webhook-Request-Id": request_id,
        "X-Fal-Webhook-User-Id": user_id,
        "X-Fal-Webhook-Timestamp": str(timestamp),
        "X-Fal-Webhook-Signature": sign_webhook(private_key, request_id, user_id, timestamp, body),
    }


def serialize_webhook_body(body: Mapping[str, object]) -> bytes:
    """Serialize Python-style as fal does: keys sorted, ``", "`` and ``": "`` separators."""
    return json.dumps(body, sort_keys=True).encode()


# --------------------------------------------------------------------------------------------------
# Public configuration and state
# --------------------------------------------------------------------------------------------------


class QueueStatus(StrEnum):
    """The queue states; a queue request never reports FAILED (section 0)."""

    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


@dataclass
class SimConfig:
    """Static behaviour of the simulator; timings are in seconds."""

    #: The one valid ``Authorization: Key`` value.
    key: str = DEFAULT_KEY
    user_id: str = DEFAULT_USER_ID
    #: Requests IN_PROGRESS at once for the key (section 1.7: new accounts start at 2).
    concurrency: int = 2
    #: Minimum time a request stays IN_QUEUE before a free slot may take it.
    queue_delay: float = 0.02
    #: Time between two IN_PROGRESS log lines (one step per ``log_messages`` entry).
    step_delay: float = 0.1
    log_messages: tuple[str, ...] = ("Preparing inputs...", "Generating video...", "Encoding video...")
    #: A prompt containing one of these words (case-insensitive) fails with content_policy_violation.
    banned_words: tuple[str, ...] = ("forbidden",)
    #: Attempts the queue makes on ``runner_*`` failures before giving up (section 1.7).
    max_attempts: int = 10
    validate_at_submit: bool = True
    accept_string_duration: bool = False
    model_errors_on_status: bool = True
    cancel_running_finishes: bool = False
    #: How an accepted cancel answers: 202 CANCELLATION_REQUESTED, or 200 OK (both documented by fal).
    cancel_accepted_status: int = 202
    scenes_images: tuple[int, int] = (1, 5)
    frames_images: tuple[int, int] = (2, 5)
    max_transitions_total: int = 25
    max_transition_seconds: int = 25
    #: Fields a model's schema does not declare are refused (422 ``extra_forbidden``), so a client
    #: sending an option the model would silently drop is caught.
    refuse_unknown_fields: bool = True
    #: Webhook delivery: attempts per webhook, first backoff (doubling), per-attempt timeout.
    webhook_attempts: int = 4
    webhook_backoff: float = 0.05
    webhook_timeout: float = 5.0
    allow_external_webhooks: bool = False
    #: Timeout of the simulator's loopback image downloads.
    fetch_timeout: float = 5.0
    #: Lifetime of a storage token.
    token_ttl: float = 3600.0
    public_base_url: str = ""
    random_seed: int | None = None
    #: Webhook signing key; None means ``default_signing_key()`` (the contract's test vector).
    signing_key: Ed25519PrivateKey | None = field(default=None, repr=False)


@dataclass
class SimFaults:
    """Runtime fault knobs; all off by default. Tests flip them while the simulator runs."""

    #: Every authenticated route answers 403 "User is locked…" (exhausted balance).
    locked: bool = False
    #: Requests stay IN_QUEUE (even with free slots) until released or the knob is switched off.
    stuck_queued: bool = False
    #: Requests stay IN_PROGRESS after their first log line until released or the knob is off.
    hold_jobs: bool = False
    #: The next N submits answer a request error (flat body, ``X-Fal-Error-Type``); no job is made.
    submit_fail_next: int = 0
    submit_fail_error_type: str = "request_timeout"
    #: The next N run attempts fail with ``fail_error_type`` (``runner_*`` ones are retried inside).
    fail_next: int = 0
    fail_error_type: str = "runner_server_error"
    #: The next N jobs that would succeed complete with a clean status but a failing result.
    result_error_next: int = 0
    result_error_type: str = "no_media_generated"
    #: The next N queue/storage requests get an nginx HTML error without ``x-fal-request-id``.
    ingress_error_next: int = 0
    ingress_error_status: int = 503
    #: Queue API JSON answers are cut in half (same status).
    malformed_json: bool = False
    #: Every queue/storage request waits this long before anything else happens.
    delay_seconds: float = 0.0
    #: Submits create the request, then wait this long before answering.
    accept_then_delay: float = 0.0
    drop_webhooks: bool = False
    duplicate_webhooks: int = 0
    webhook_delay: float = 0.0
    #: Sign webhooks with a throw-away key instead of the served one.
    webhook_bad_signature: bool = False
    #: Seconds added to the webhook timestamp (e.g. -400 makes it stale).
    webhook_timestamp_skew: float = 0.0
    #: Webhooks carry ``payload: null`` plus ``payload_error`` (a non-serializable output).
    webhook_payload_error: bool = False
    #: ``GET /.well-known/jwks.json`` answers this HTTP status.
    jwks_status: int | None = None
    #: The JWKS ``x`` values keep their ``=`` padding (a 2026 test says the live JWKS pads).
    jwks_padded: bool = False
    #: Result and uploaded media answer 404.
    expire_media: bool = False


@dataclass(frozen=True)
class ImageFetch:
    """The simulator's GET of an input image URL: ``http_status`` on an answer, else ``error``."""

    url: str
    fetched: bool
    http_status: int | None
    content_type: str | None
    size: int
    error: str | None


@dataclass(frozen=True)
class StoredFile:
    """A file the simulator serves under ``/files/``: an upload or a result video."""

    path: str
    data: bytes = field(repr=False)
    content_type: str
    file_name: str
    uploaded: bool


@dataclass
class RecordedRequest:
    """One request the simulator received (``/_sim/`` traffic is not recorded; no Authorization)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    content_type: str
    #: The parsed JSON body; None when there was none or it was not JSON.
    body: object = None
    size: int = 0
    status: int | None = None
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RecordedWebhook:
    """One webhook POST attempt: ``http_status`` on an answer, ``error`` on a transport failure."""

    url: str
    request_id: str
    attempt: int
    status: str
    headers: dict[str, str]
    body: str
    http_status: int | None
    error: str | None
    at: float


@dataclass
class QueueRequest:
    """One queue request as the simulator stores it."""

    id: str
    model_id: str
    input: dict[str, object]
    arguments: dict[str, object]
    input_errors: list[dict[str, object]]
    webhook_url: str | None
    base: str
    priority: str = "normal"
    no_retry: bool = False
    created: float = field(default_factory=time.time)
    ready_at: float = 0.0
    deadline: float | None = None
    status: QueueStatus = QueueStatus.IN_QUEUE
    attempts: int = 0
    gateway_request_id: str = ""
    logs: list[dict[str, object]] = field(default_factory=list)
    started_at: float | None = None
    inference_time: float | None = None
    error: str | None = None
    error_type: str | None = None
    error_on_status: bool = True
    result_status: int | None = None
    result_body: object = None
    result_headers: dict[str, str] = field(default_factory=dict)
    cancel_requested: bool = False
    image_fetches: list[ImageFetch] = field(default_factory=list)
    released: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    # Set (then replaced by a fresh Event) on every change, so waiters need not poll.
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The owner/app request URL (``response_url``)."""
        return f"{self.base}/{OWNER_APP}/requests/{self.id}"

    @property
    def done(self) -> bool:
        """True once COMPLETED (successfully or not)."""
        return self.status is QueueStatus.COMPLETED

    @property
    def succeeded(self) -> bool:
        """True once COMPLETED with a 200 result."""
        return self.done and self.result_status == 200

    def urls(self) -> dict[str, str]:
        """``response_url``, ``status_url`` and ``cancel_url``."""
        return {
            "response_url": self.url,
            "status_url": f"{self.url}/status",
            "cancel_url": f"{self.url}/cancel",
        }


# --------------------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------------------


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return _is_int(value) or isinstance(value, float)


def _contains_any(text: object, words: Sequence[str]) -> bool:
    if not isinstance(text, str) or not text:
        return False
    lowered = text.lower()
    return any(w.lower() in lowered for w in words if w)


def _iso(ts: float) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, as fal's log timestamps."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _loopback(url: str) -> bool:
    try:
        return URL(url).host in LOOPBACK_HOSTS
    except ValueError:
        return False


def _http_url(value: object) -> TypeGuard[str]:
    if not isinstance(value, str):
        return False
    try:
        url = URL(value)
    except ValueError:
        return False
    return url.scheme in ("http", "https") and bool(url.host)


def error_object(
    loc: Sequence[str | int],
    msg: str,
    type_: str,
    *,
    input_value: object = _MISSING,
    ctx: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """One ErrorObject of a 422 ``detail`` list (section 1.8): loc, msg, type, url, ctx?, input?."""
    out: dict[str, object] = {"loc": list(loc), "msg": msg, "type": type_, "url": f"{ERRORS_DOC}#{type_}"}
    if ctx:
        out["ctx"] = dict(ctx)
    if input_value is not _MISSING:
        out["input"] = copy.deepcopy(input_value)
    return out


def model_error_body(
    type_: str, loc: Sequence[str | int] = ("body",), input_value: object = _MISSING
) -> tuple[int, dict[str, object]]:
    """``(status, {"detail": [ErrorObject]})`` for a model error type of section 1.8."""
    status, msg = MODEL_ERRORS.get(type_, (422, type_.replace("_", " ")))
    return status, {"detail": [error_object(loc, msg, type_, input_value=input_value)]}


def request_error_body(error_type: str) -> tuple[int, dict[str, object]]:
    """``(status, {"detail": text, "error_type": code})`` for a request error type of section 1.8."""
    status, text = REQUEST_ERRORS.get(error_type, (500, error_type.replace("_", " ")))
    return status, {"detail": text, "error_type": error_type}


def _expected(options: Sequence[object]) -> str:
    """Pydantic's enum wording: ``'a', 'b' or 'c'`` (ints bare)."""
    parts = [repr(o) if isinstance(o, str) else str(o) for o in options]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"


def _safe_name(name: str) -> str:
    return _NAME_RE.sub("_", name).strip("._")[:80] or "file"


# --------------------------------------------------------------------------------------------------
# Model input schemas (section 3.2)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """The input schema of one Pika model, reduced to what the validator needs."""

    model_id: str
    negative_default: str
    default_resolution: str
    prompt_required: bool = True
    aspect_ratio: bool = False
    duration: bool = False
    image_url: bool = False
    image_urls: bool = False
    ingredients_mode: bool = False
    transitions: bool = False
    #: v2.1 and v2 turbo declare ``duration`` as a plain integer (default 5), not v2.2's 5|10 enum.
    integer_duration: bool = False

    def fields(self) -> frozenset[str]:
        """Every input field the schema declares; any other is refused (``extra_forbidden``)."""
        declared = {"prompt", "resolution", "negative_prompt", "seed"}
        flags = {
            "aspect_ratio": self.aspect_ratio,
            "duration": self.duration,
            "image_url": self.image_url,
            "image_urls": self.image_urls,
            "ingredients_mode": self.ingredients_mode,
            "transitions": self.transitions,
        }
        return frozenset(declared | {name for name, on in flags.items() if on})


def _older_spec(model_id: str, *, image: bool) -> ModelSpec:
    """v2.1 and v2 turbo: the v2.2 text/image-to-video fields with an integer duration, negative ""."""
    return ModelSpec(
        model_id, "", "720p", aspect_ratio=not image, duration=True, image_url=image, integer_duration=True
    )


MODEL_SPECS: Final[Mapping[str, ModelSpec]] = {
    TEXT_TO_VIDEO: ModelSpec(TEXT_TO_VIDEO, NEGATIVE_DEFAULT, "720p", aspect_ratio=True, duration=True),
    IMAGE_TO_VIDEO: ModelSpec(IMAGE_TO_VIDEO, "", "720p", duration=True, image_url=True),
    PIKASCENES: ModelSpec(
        PIKASCENES,
        NEGATIVE_DEFAULT,
        "1080p",
        aspect_ratio=True,
        duration=True,
        image_urls=True,
        ingredients_mode=True,
    ),
    PIKAFRAMES: ModelSpec(PIKAFRAMES, "", "720p", prompt_required=False, image_urls=True, transitions=True),
    V21_TEXT_TO_VIDEO: _older_spec(V21_TEXT_TO_VIDEO, image=False),
    V21_IMAGE_TO_VIDEO: _older_spec(V21_IMAGE_TO_VIDEO, image=True),
    TURBO_TEXT_TO_VIDEO: _older_spec(TURBO_TEXT_TO_VIDEO, image=False),
    TURBO_IMAGE_TO_VIDEO: _older_spec(TURBO_IMAGE_TO_VIDEO, image=True),
}
#: The fields of one pikaframes transition (``KeyframeTransition``).
TRANSITION_FIELDS: Final = frozenset({"prompt", "duration"})


class _Validator:
    """Collects every ErrorObject for one body (Pydantic reports all field errors at once)."""

    def __init__(self, body: dict[str, object], config: SimConfig) -> None:
        self.body = body
        self.config = config
        self.errors: list[dict[str, object]] = []
        self.out: dict[str, object] = {}

    def fail(self, loc: Sequence[str | int], msg: str, type_: str, value: object, **ctx: object) -> None:
        self.errors.append(error_object(["body", *loc], msg, type_, input_value=value, ctx=ctx or None))

    def string(self, name: str, *, required: bool = False, default: str | None = None) -> None:
        if name not in self.body or (self.body[name] is None and not required):
            if required:
                self.fail([name], "Field required", "missing", self.body)
            elif default is not None:
                self.out[name] = default
            return
        value = self.body[name]
        if not isinstance(value, str):
            self.fail([name], "Input should be a valid string", "string_type", value)
            return
        self.out[name] = value

    def enum(self, name: str, options: Sequence[object], default: object) -> None:
        value = self.body.get(name, default)
        if value is None:
            value = default
        if value not in options or isinstance(value, bool):
            expected = _expected(options)
            self.fail([name], f"Input should be {expected}", "enum", value, expected=expected)
            return
        self.out[name] = value

    def undeclared(
        self, allowed: frozenset[str], loc: Sequence[str | int], body: Mapping[str, object]
    ) -> None:
        """Refuse fields the schema does not declare, as a Pydantic model with ``extra="forbid"``."""
        if not self.config.refuse_unknown_fields:
            return
        for name in sorted(set(body) - allowed):
            self.fail([*loc, name], "Extra inputs are not permitted", "extra_forbidden", body[name])

    def duration(self, *, integer: bool = False) -> None:
        value = self.body.get("duration", DURATIONS[0])
        if value is None:
            value = DURATIONS[0]
        if isinstance(value, str) and self.config.accept_string_duration and value.strip().isdigit():
            value = int(value.strip())
        if integer and not _is_int(value):
            self.fail(["duration"], "Input should be a valid integer", "int_type", value)
            return
        if not integer and (not _is_int(value) or value not in DURATIONS):
            expected = _expected(DURATIONS)
            self.fail(["duration"], f"Input should be {expected}", "enum", value, expected=expected)
            return
        self.out["duration"] = value

    def seed(self) -> None:
        value = self.body.get("seed")
        if value is None:
            self.out["seed"] = None
            return
        if not _is_int(value):
            self.fail(["seed"], "Input should be a valid integer", "int_type", value)
            return
        self.out["seed"] = value

    def url_list(self, name: str, bounds: tuple[int, int]) -> None:
        if name not in self.body:
            self.fail([name], "Field required", "missing", self.body)
            return
        value = self.body[name]
        if not isinstance(value, list):
            self.fail([name], "Input should be a valid list", "list_type", value)
            return
        low, high = bounds
        if len(value) < low:
            self.fail(
                [name],
                f"List should have at least {low} item{'s' if low != 1 else ''} after validation, not {len(value)}",
                "too_short",
                value,
                field_type="List",
                min_length=low,
                actual_length=len(value),
            )
            return
        if len(value) > high:
            self.fail(
                [name],
                f"List should have at most {high} items after validation, not {len(value)}",
                "too_long",
                value,
                field_type="List",
                max_length=high,
                actual_length=len(value),
            )
            return
        bad = False
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail([name, i], "Input should be a valid string", "string_type", item)
                bad = True
        if not bad:
            self.out[name] = list(value)

    def transitions(self) -> None:
        raw = self.body.get("transitions")
        if raw is None:
            return
        if not isinstance(raw, list):
            self.fail(["transitions"], "Input should be a valid list", "list_type", raw)
            return
        items: list[dict[str, object]] = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                self.fail(
                    ["transitions", i],
                    "Input should be a valid dictionary or instance of PikaTransition",
                    "model_type",
                    item,
                    class_name="PikaTransition",
                )
                continue
            before = len(self.errors)
            self.undeclared(TRANSITION_FIELDS, ["transitions", i], item)
            if len(self.errors) > before:
                continue
            duration = item.get("duration", 5)
            if duration is None:
                duration = 5
            if not _is_int(duration):
                self.fail(
                    ["transitions", i, "duration"], "Input should be a valid integer", "int_type", duration
                )
                continue
            if duration < 1:
                self.fail(
                    ["transitions", i, "duration"],
                    "Input should be greater than or equal to 1",
                    "greater_than_equal",
                    duration,
                    ge=1,
                )
                continue
            if duration > self.config.max_transition_seconds:
                high = self.config.max_transition_seconds
                self.fail(
                    ["transitions", i, "duration"],
                    f"Input should be less than or equal to {high}",
                    "less_than_equal",
                    duration,
                    le=high,
                )
                continue
            prompt = item.get("prompt")
            if prompt is not None and not isinstance(prompt, str):
                self.fail(
                    ["transitions", i, "prompt"], "Input should be a valid string", "string_type", prompt
                )
                continue
            items.append({"duration": duration, "prompt": prompt})
        if len(items) == len(raw):
            self.out["transitions"] = items

    def cross_checks(self) -> None:
        """The pikaframes model-level rules; like a Pydantic ``after`` validator, only on clean fields."""
        transitions = self.out.get("transitions")
        images = self.out.get("image_urls")
        if self.errors or not isinstance(transitions, list) or not isinstance(images, list):
            return
        if len(transitions) != len(images) - 1:
            self.errors.append(
                error_object(
                    ["body"],
                    "Value error, the number of transitions must be one less than the number of image_urls",
                    "value_error",
                    input_value=self.body,
                )
            )
            return
        total = sum(t["duration"] for t in transitions if _is_int(t["duration"]))
        if total > self.config.max_transitions_total:
            self.errors.append(
                error_object(
                    ["body"],
                    f"Value error, the total duration of all transitions must be at most "
                    f"{self.config.max_transitions_total} seconds",
                    "value_error",
                    input_value=self.body,
                )
            )


def validate_input(
    spec: ModelSpec, body: object, config: SimConfig
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Validate a submit body; return the arguments with defaults filled in and the ErrorObjects."""
    if not isinstance(body, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return {}, [error_object(["body"], msg, "model_attributes_type", input_value=body)]
    v = _Validator(body, config)
    if spec.image_url:
        v.string("image_url", required=True)
    if spec.image_urls:
        bounds = config.scenes_images if spec.model_id == PIKASCENES else config.frames_images
        v.url_list("image_urls", bounds)
    v.string("prompt", required=spec.prompt_required)
    if spec.transitions:
        v.transitions()
    if spec.ingredients_mode:
        v.enum("ingredients_mode", INGREDIENTS_MODES, INGREDIENTS_MODES[0])
    if spec.aspect_ratio:
        v.enum("aspect_ratio", ASPECT_RATIOS, ASPECT_RATIOS[0])
    v.enum("resolution", RESOLUTIONS, spec.default_resolution)
    if spec.duration:
        v.duration(integer=spec.integer_duration)
    v.string("negative_prompt", default=spec.negative_default)
    v.seed()
    v.undeclared(spec.fields(), [], body)  # Pydantic reports extras after the declared fields
    v.cross_checks()
    return v.out, v.errors


def image_inputs(arguments: Mapping[str, object]) -> list[tuple[list[str | int], str]]:
    """``(loc, url)`` of every image URL among validated arguments."""
    out: list[tuple[list[str | int], str]] = []
    single = arguments.get("image_url")
    if isinstance(single, str):
        out.append((["body", "image_url"], single))
    many = arguments.get("image_urls")
    if isinstance(many, list):
        out.extend((["body", "image_urls", i], u) for i, u in enumerate(many) if isinstance(u, str))
    return out


def _banned_loc(
    arguments: Mapping[str, object], words: Sequence[str]
) -> tuple[list[str | int], object] | None:
    """Where a banned word sits among the prompts, with the offending input."""
    if _contains_any(arguments.get("prompt"), words):
        return ["body", "prompt"], arguments["prompt"]
    transitions = arguments.get("transitions")
    if isinstance(transitions, list):
        for i, t in enumerate(transitions):
            if isinstance(t, dict) and _contains_any(t.get("prompt"), words):
                return ["body", "transitions", i, "prompt"], t["prompt"]
    return None


# --------------------------------------------------------------------------------------------------
# Errors raised inside handlers
# --------------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer: HTTP status, JSON body and extra headers."""

    def __init__(self, status: int, payload: object, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = dict(headers or {})


def _detail(status: int, text: str) -> ApiError:
    return ApiError(status, {"detail": text})


# --------------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------------


class FalSimulator:
    """In-memory fal queue + storage + webhooks for the Pika v2.2 models, with fault knobs."""

    def __init__(self, config: SimConfig | None = None) -> None:
        """Create a simulator; nothing is served until ``make_app`` is run by an aiohttp runner."""
        self.config: SimConfig = config if config is not None else SimConfig()
        self.faults = SimFaults()
        self.requests: dict[str, QueueRequest] = {}
        self.recorded: list[RecordedRequest] = []
        self.webhooks: list[RecordedWebhook] = []
        self.files: dict[str, StoredFile] = {}
        self.tokens: dict[str, float] = {}
        self.video = SAMPLE_VIDEO.read_bytes()
        self.signing_key: Ed25519PrivateKey = self.config.signing_key or default_signing_key()
        #: Public keys served in the JWKS (the signing key's first).
        self.jwks_keys: list[Ed25519PublicKey] = [self.signing_key.public_key()]
        self._waiting: list[QueueRequest] = []
        self._rng = random.Random(self.config.random_seed)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: ClientSession | None = None
        self._wake = asyncio.Event()
        self._webhooks_changed = asyncio.Event()

    # ----- public helpers for in-process tests -------------------------------------------------

    def position(self, request_id: str) -> int | None:
        """Requests ahead of this one in the queue; None when it is not waiting."""
        req = self.requests[request_id]
        return self._waiting.index(req) if req in self._waiting else None

    def running_ids(self) -> list[str]:
        """Ids of requests IN_PROGRESS."""
        return [r.id for r in self.requests.values() if r.status is QueueStatus.IN_PROGRESS]

    def waiting_ids(self) -> list[str]:
        """Ids of requests IN_QUEUE, in queue order."""
        return [r.id for r in self._waiting]

    def release(self, request_id: str) -> None:
        """Let a request held by ``hold_jobs`` or ``stuck_queued`` go on."""
        self.requests[request_id].released.set()
        self._kick()

    def release_all(self) -> None:
        """Release every held or stuck request."""
        for req in self.requests.values():
            req.released.set()
        self._kick()

    def finish_now(self, request_id: str) -> bool:
        """Complete a request successfully right now; False if it already completed."""
        req = self.requests[request_id]
        if req.done:
            return False
        self._stop_run(req)
        self._succeed(req)
        return True

    def fail_now(self, request_id: str, error_type: str = "runner_server_error") -> bool:
        """Complete a request with ``error_type`` (any section 1.8 code) right now; False if done."""
        if error_type not in ERROR_TYPES:
            raise ValueError(f"unknown error type {error_type!r}")
        req = self.requests[request_id]
        if req.done:
            return False
        self._stop_run(req)
        self._fail_with(req, error_type)
        return True

    def rotate_signing_key(self, new_key: Ed25519PrivateKey, *, keep_old: bool = True) -> None:
        """Sign with ``new_key`` from now on; the JWKS lists it first (and the old keys if ``keep_old``)."""
        public = new_key.public_key()
        self.signing_key = new_key
        self.jwks_keys = [public, *self.jwks_keys] if keep_old else [public]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS document as served now."""
        return jwks_for(self.jwks_keys, padded=self.faults.jwks_padded)

    def update_faults(self, changes: Mapping[str, object]) -> None:
        """Merge ``changes`` into ``faults`` after type checks; ValueError on unknown keys or bad types."""
        known = {f.name for f in fields(SimFaults)}
        checked: dict[str, object] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault knob {name!r}")
            checked[name] = _coerce_knob(name, getattr(self.faults, name), value)
        for name, value in checked.items():
            setattr(self.faults, name, value)
        self._kick()

    def update_config(self, changes: Mapping[str, object]) -> None:
        """Change config fields at run time (not ``signing_key``); ValueError on unknown or bad values."""
        known = {f.name for f in fields(SimConfig)} - {"signing_key"}
        checked: dict[str, object] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown config field {name!r}")
            checked[name] = _coerce_knob(name, getattr(self.config, name), value)
        self.config = replace(self.config, **checked)  # type: ignore[arg-type]
        self._kick()

    async def wait_for_status(
        self, request_id: str, *statuses: QueueStatus, within: float = 5.0
    ) -> QueueRequest:
        """Wait until the request reaches one of ``statuses``; TimeoutError after ``within`` s."""
        req = self.requests[request_id]
        async with asyncio.timeout(within):
            while req.status not in statuses:
                await req.changed.wait()
        return req

    async def wait_for_webhooks(self, count: int, within: float = 5.0) -> list[RecordedWebhook]:
        """Wait until at least ``count`` webhook attempts were recorded; return them all."""
        async with asyncio.timeout(within):
            while len(self.webhooks) < count:
                event = self._webhooks_changed
                await event.wait()
        return list(self.webhooks)

    def render_status(self, req: QueueRequest, with_logs: bool = False) -> dict[str, object]:
        """The status answer body for ``req`` as it is now."""
        body: dict[str, object] = {"status": str(req.status), "request_id": req.id, **req.urls()}
        if req.status is QueueStatus.IN_QUEUE:
            body["queue_position"] = self._waiting.index(req) if req in self._waiting else 0
            return body
        body["logs"] = copy.deepcopy(req.logs) if with_logs else None
        if req.status is QueueStatus.COMPLETED:
            metrics: dict[str, object] = {}
            if req.succeeded and req.inference_time is not None:
                metrics["inference_time"] = round(req.inference_time, 3)
            body["metrics"] = metrics
            if req.error is not None and req.error_on_status:
                body["error"] = req.error
                body["error_type"] = req.error_type
        return body

    def webhook_body(self, req: QueueRequest) -> dict[str, object]:
        """The section 2.2 webhook body for a completed request."""
        ok = req.result_status == 200
        body: dict[str, object] = {
            "request_id": req.id,
            "gateway_request_id": req.gateway_request_id or req.id,
            "status": "OK" if ok else "ERROR",
            "payload": copy.deepcopy(req.result_body),
            "error": None if ok else f"Invalid status code: {req.result_status}",
        }
        if self.faults.webhook_payload_error:
            body["payload"] = None
            body["payload_error"] = (
                "Response payload is not JSON serializable. Either return a JSON serializable object "
                "or use the queue endpoint to retrieve the response."
            )
        return body

    # ----- app wiring ---------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """Build the aiohttp application (routes, middlewares, scheduler and outbound session)."""
        app = web.Application(
            middlewares=[self._record_middleware(), self._api_middleware()],
            client_max_size=CLIENT_MAX_SIZE,
        )
        app.cleanup_ctx.append(self._lifecycle_ctx)
        router = app.router
        router.add_get("/.well-known/jwks.json", self._jwks)
        router.add_post("/storage/auth/token", self._storage_token)
        router.add_post("/files/upload", self._upload)
        router.add_get("/files/{bucket}/{name}", self._file)
        router.add_get("/_sim/requests", self._sim_requests)
        router.add_get("/_sim/jobs", self._sim_jobs)
        router.add_get("/_sim/webhooks", self._sim_webhooks)
        router.add_get("/_sim/files", self._sim_files)
        router.add_get("/_sim/faults", self._sim_get_faults)
        router.add_post("/_sim/faults", self._sim_post_faults)
        router.add_get("/_sim/config", self._sim_get_config)
        router.add_post("/_sim/config", self._sim_post_config)
        router.add_post("/_sim/release", self._sim_release_all)
        router.add_post("/_sim/rotate-key", self._sim_rotate_key)
        router.add_post("/_sim/jobs/{request_id}/{action}", self._sim_job_action)
        router.add_get("/{owner}/{app}/requests/{request_id}/status", self._status)
        router.add_get("/{owner}/{app}/requests/{request_id}", self._result)
        router.add_put("/{owner}/{app}/requests/{request_id}/cancel", self._cancel)
        # Last: anything else is a submit (POST) or a 404.
        router.add_route("*", "/{model_id:.+}", self._catch_all)
        return app

    async def _lifecycle_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        # One shared session for webhooks and image downloads, owned by the app.
        self._session = ClientSession()
        self._wake = asyncio.Event()
        self._spawn(self._scheduler())
        try:
            yield
        finally:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._session.close()
            self._session = None

    @staticmethod
    def _is_queue_path(path: str) -> bool:
        return not path.startswith(("/_sim/", "/files/", "/.well-known/"))

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
                with contextlib.suppress(web.HTTPException):
                    raw = await request.read()
                    rec.size = len(raw)
                    if request.path != "/files/upload":
                        with contextlib.suppress(ValueError):
                            rec.body = json.loads(raw)
            self.recorded.append(rec)
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
            queue_path = self._is_queue_path(request.path)
            if queue_path:
                if self.faults.delay_seconds > 0:
                    await asyncio.sleep(self.faults.delay_seconds)
                if self.faults.ingress_error_next > 0:
                    self.faults.ingress_error_next -= 1
                    return _nginx_error(self.faults.ingress_error_status)
            try:
                return await handler(request)
            except ApiError as err:
                return self._reply(err.payload, err.status, err.headers, json_fault=queue_path)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                return self._reply({"detail": exc.reason}, exc.status, json_fault=queue_path)

        return api

    def _reply(
        self,
        payload: object,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        request_id: str | None = None,
        json_fault: bool = True,
    ) -> web.Response:
        """A JSON answer carrying ``x-fal-request-id`` (fal's own answers do; ingress errors do not)."""
        data = _dumps(payload).encode()
        if json_fault and self.faults.malformed_json:
            data = data[: max(1, len(data) // 2)]
        out = {**JSON_HEADERS, REQUEST_ID_HEADER: request_id or str(uuid.uuid4()), **(headers or {})}
        return web.Response(status=status, body=data, headers=out)

    def _authorize(self, request: web.Request) -> None:
        header = request.headers.get("Authorization")
        if header is None:
            raise _detail(401, ERR_NO_AUTH)
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "key" or ":" not in value:
            raise _detail(401, ERR_KEY_FORMAT)
        key_id, _, key_secret = value.partition(":")
        if not key_id or not key_secret:
            raise _detail(401, ERR_KEY_FORMAT)
        if not secrets.compare_digest(value.encode(), self.config.key.encode()):
            raise _detail(401, ERR_NO_USER)
        if self.faults.locked:
            raise _detail(403, ERR_LOCKED)

    def _base(self, request: web.Request) -> str:
        return (self.config.public_base_url or str(request.url.origin())).rstrip("/")

    # ----- submit ---------------------------------------------------------------------------------

    async def _catch_all(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            raise _detail(404, ERR_NOT_FOUND)
        return await self._submit(request, request.match_info["model_id"])

    async def _submit(self, request: web.Request, model_id: str) -> web.StreamResponse:
        self._authorize(request)
        spec = MODEL_SPECS.get(model_id)
        if spec is None:
            raise _detail(404, ERR_NOT_FOUND)
        if self.faults.submit_fail_next > 0:
            self.faults.submit_fail_next -= 1
            error_type = self.faults.submit_fail_error_type
            status, fail_body = request_error_body(error_type)
            raise ApiError(status, fail_body, {"X-Fal-Error-Type": error_type})
        webhook = request.query.get("fal_webhook")
        if webhook is not None and not _http_url(webhook):
            raise ApiError(
                422,
                {
                    "detail": [
                        error_object(
                            ["query", "fal_webhook"],
                            "Input should be a valid URL",
                            "url_parsing",
                            input_value=webhook,
                        )
                    ]
                },
            )
        self._check_queue_length(request, model_id)
        raw = await request.read()
        try:
            body: object = json.loads(raw) if raw else None
        except ValueError as exc:
            raise ApiError(
                422,
                {
                    "detail": [
                        error_object(
                            ["body", 0], "JSON decode error", "json_invalid", ctx={"error": str(exc)}
                        )
                    ]
                },
            ) from None
        arguments, errors = validate_input(spec, body, self.config)
        if errors and self.config.validate_at_submit:
            raise ApiError(422, {"detail": errors})
        req = self._new_request(request, spec, body, arguments, errors, webhook)
        self.requests[req.id] = req
        self._enqueue(req)
        position = self._waiting.index(req)
        self._kick()
        payload = {
            "status": str(QueueStatus.IN_QUEUE),
            "request_id": req.id,
            **req.urls(),
            "queue_position": position,
        }
        if self.faults.accept_then_delay > 0:
            await asyncio.sleep(self.faults.accept_then_delay)
        return self._reply(payload, request_id=req.id)

    def _check_queue_length(self, request: web.Request, model_id: str) -> None:
        raw = request.query.get("fal_max_queue_length")
        if raw is None:
            return
        try:
            limit = int(raw)
        except ValueError:
            raise ApiError(
                422,
                {
                    "detail": [
                        error_object(
                            ["query", "fal_max_queue_length"],
                            "Input should be a valid integer, unable to parse string as an integer",
                            "int_parsing",
                            input_value=raw,
                        )
                    ]
                },
            ) from None
        waiting = sum(1 for r in self._waiting if r.model_id == model_id)
        if waiting >= limit:
            raise _detail(429, ERR_QUEUE_FULL)

    def _new_request(
        self,
        request: web.Request,
        spec: ModelSpec,
        body: object,
        arguments: dict[str, object],
        errors: list[dict[str, object]],
        webhook: str | None,
    ) -> QueueRequest:
        loop_now = asyncio.get_running_loop().time()
        deadline: float | None = None
        with contextlib.suppress(ValueError):
            seconds = float(request.headers.get("X-Fal-Request-Timeout", ""))
            if seconds > 0:
                deadline = loop_now + seconds
        priority = (
            "low" if request.headers.get("X-Fal-Queue-Priority", "").strip().lower() == "low" else "normal"
        )
        request_id = self._new_id()
        return QueueRequest(
            id=request_id,
            model_id=spec.model_id,
            input=copy.deepcopy(body) if isinstance(body, dict) else {},
            arguments=arguments,
            input_errors=errors,
            webhook_url=webhook,
            base=self._base(request),
            priority=priority,
            no_retry=request.headers.get("X-Fal-No-Retry", "").strip() in TRUE_WORDS,
            ready_at=loop_now + self.config.queue_delay,
            deadline=deadline,
            gateway_request_id=request_id,
        )

    def _new_id(self) -> str:
        while True:
            new = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            if new not in self.requests:
                return new

    def _enqueue(self, req: QueueRequest) -> None:
        """Append to the queue; normal priority goes ahead of every waiting low-priority request."""
        req.status = QueueStatus.IN_QUEUE
        if req.priority == "low":
            self._waiting.append(req)
            return
        index = next((i for i, r in enumerate(self._waiting) if r.priority == "low"), len(self._waiting))
        self._waiting.insert(index, req)

    # ----- the queue ------------------------------------------------------------------------------

    def _kick(self) -> None:
        self._wake.set()

    async def _scheduler(self) -> None:
        """Move waiting requests to free slots (and expire start deadlines) whenever something changes."""
        while True:
            self._wake.clear()
            timeout = self._dispatch()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _dispatch(self) -> float | None:
        """One scheduling pass; return when to look again (None: on the next kick)."""
        now = asyncio.get_running_loop().time()
        recheck: list[float] = []
        for req in list(self._waiting):
            if req.deadline is not None and now >= req.deadline:
                self._waiting.remove(req)
                status, body = request_error_body("request_timeout")
                headers = {"X-Fal-Error-Type": "request_timeout", "X-Fal-Request-Timeout-Type": "user"}
                self._complete(
                    req, status, body, headers, error=str(body["detail"]), error_type="request_timeout"
                )
            elif req.deadline is not None:
                recheck.append(req.deadline - now)
        running = len(self.running_ids())
        for req in list(self._waiting):
            if running >= self.config.concurrency:
                break
            if req.ready_at > now:
                recheck.append(req.ready_at - now)
                continue
            if self.faults.stuck_queued and not req.released.is_set():
                continue  # switching the knob off or releasing kicks the scheduler
            self._waiting.remove(req)
            self._start(req)
            running += 1
        return max(0.0, min(recheck)) if recheck else None

    def _start(self, req: QueueRequest) -> None:
        req.status = QueueStatus.IN_PROGRESS
        req.attempts += 1
        if req.attempts > 1:
            req.gateway_request_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        req.started_at = asyncio.get_running_loop().time()
        self._notify(req)
        req.task = self._spawn(self._run(req))

    def _spawn(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        # Keep a strong reference so the task is not garbage-collected, and to cancel it on cleanup.
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _stop_run(self, req: QueueRequest) -> None:
        if req in self._waiting:
            self._waiting.remove(req)
        if req.task is not None and not req.task.done() and req.task is not asyncio.current_task():
            req.task.cancel()

    def _notify(self, req: QueueRequest) -> None:
        req.changed.set()
        req.changed = asyncio.Event()

    def _log(self, req: QueueRequest, message: str, level: str = "INFO") -> None:
        req.logs.append(
            {"message": message, "level": level, "source": "USER", "timestamp": _iso(time.time())}
        )
        self._notify(req)

    def _cancel_now(self, req: QueueRequest) -> bool:
        return req.cancel_requested and not self.config.cancel_running_finishes

    async def _wait_while(self, req: QueueRequest, condition: Callable[[], bool]) -> None:
        """Wait while ``condition`` holds (re-read often, so switching a knob off works) or until release."""
        while condition() and not req.released.is_set() and not self._cancel_now(req):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(req.released.wait(), 0.02)

    async def _run(self, req: QueueRequest) -> None:
        """One attempt on a runner: logs, image downloads, then an outcome."""
        cfg = self.config
        self._log(req, f"Starting {req.model_id} (attempt {req.attempts})")
        await self._wait_while(req, lambda: self.faults.hold_jobs)
        if self._cancel_now(req):
            self._cancelled(req)
            return
        if await self._download_images(req):
            return
        for message in cfg.log_messages:
            await asyncio.sleep(cfg.step_delay)
            if self._cancel_now(req):
                self._cancelled(req)
                return
            self._log(req, message)
        if self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            self._attempt_failed(req, self.faults.fail_error_type)
            return
        if req.input_errors:
            self._complete_model_error(req, 422, {"detail": req.input_errors})
            return
        banned = _banned_loc(req.arguments, cfg.banned_words)
        if banned is not None:
            status, body = model_error_body("content_policy_violation", banned[0], banned[1])
            self._complete_model_error(req, status, body)
            return
        if self.faults.result_error_next > 0:
            self.faults.result_error_next -= 1
            status, body = model_error_body(self.faults.result_error_type)
            self._complete(req, status, body, error=None, error_type=None)
            return
        self._succeed(req)

    async def _download_images(self, req: QueueRequest) -> bool:
        """Fetch loopback input images like a runner would; True if the job failed on one."""
        for loc, url in image_inputs(req.arguments):
            fetch = await self._fetch(url)
            req.image_fetches.append(fetch)
            if fetch.error is None and (fetch.http_status is None or 200 <= fetch.http_status < 300):
                if fetch.fetched and not _image_type(fetch.content_type):
                    status, body = model_error_body("image_load_error", loc, url)
                    self._complete_model_error(req, status, body)
                    return True
                continue
            status, body = model_error_body("file_download_error", loc, url)
            self._complete_model_error(req, status, body)
            return True
        return False

    async def _fetch(self, url: str) -> ImageFetch:
        if url.startswith("data:"):
            return ImageFetch(url[:64], False, None, None, 0, None)
        if not _http_url(url):
            return ImageFetch(url, False, None, None, 0, "not an http(s) URL")
        if not _loopback(url):
            # Never leave 127.0.0.1: other hosts are recorded as if downloaded.
            return ImageFetch(url, False, None, None, 0, None)
        try:
            if self._session is None:
                raise RuntimeError("simulator app is not running")
            timeout = ClientTimeout(total=self.config.fetch_timeout)
            async with self._session.get(url, timeout=timeout, allow_redirects=False) as resp:
                data = await resp.read()
                return ImageFetch(url, True, resp.status, resp.content_type, len(data), None)
        except (ClientError, TimeoutError, RuntimeError) as exc:
            return ImageFetch(url, True, None, None, 0, f"{type(exc).__name__}: {exc}")

    def _attempt_failed(self, req: QueueRequest, error_type: str) -> None:
        """A runner attempt failed: retry ``runner_*`` inside the queue, else complete with the error."""
        retry = (
            error_type.startswith("runner_") and not req.no_retry and req.attempts < self.config.max_attempts
        )
        if retry:
            self._log(req, f"Runner failed ({error_type}); the request goes back to the queue", "WARN")
            req.ready_at = asyncio.get_running_loop().time()
            self._enqueue(req)
            self._notify(req)
            self._kick()
            return
        self._fail_with(req, error_type)

    def _fail_with(self, req: QueueRequest, error_type: str) -> None:
        if error_type in MODEL_ERRORS:
            status, body = model_error_body(error_type)
            self._complete_model_error(req, status, body)
            return
        status, body = request_error_body(error_type)
        self._complete(
            req,
            status,
            body,
            {"X-Fal-Error-Type": error_type},
            error=str(body["detail"]),
            error_type=error_type,
        )

    def _complete_model_error(self, req: QueueRequest, status: int, body: dict[str, object]) -> None:
        detail = body.get("detail")
        first = detail[0] if isinstance(detail, list) and detail and isinstance(detail[0], dict) else {}
        self._complete(
            req,
            status,
            body,
            error=str(first.get("msg", "")),
            error_type=str(first.get("type", "")),
            on_status=self.config.model_errors_on_status,
        )

    def _cancelled(self, req: QueueRequest) -> None:
        status, body = request_error_body("client_cancelled")
        self._complete(
            req,
            status,
            body,
            {"X-Fal-Error-Type": "client_cancelled"},
            error=ERR_CANCELLED,
            error_type="client_cancelled",
        )

    def _succeed(self, req: QueueRequest) -> None:
        path = f"/files/b/{req.id}_{OUTPUT_FILE_NAME}"
        self.files[path] = StoredFile(path, self.video, "video/mp4", OUTPUT_FILE_NAME, uploaded=False)
        video = {
            "url": f"{req.base}{path}",
            "content_type": "video/mp4",
            "file_name": OUTPUT_FILE_NAME,
            "file_size": len(self.video),
        }
        loop_now = asyncio.get_running_loop().time()
        req.inference_time = loop_now - req.started_at if req.started_at is not None else 0.0
        self._complete(req, 200, {"video": video}, error=None, error_type=None)

    def _complete(
        self,
        req: QueueRequest,
        status: int,
        body: object,
        headers: Mapping[str, str] | None = None,
        *,
        error: str | None,
        error_type: str | None,
        on_status: bool = True,
    ) -> None:
        if req.done:
            return
        if req in self._waiting:
            self._waiting.remove(req)
        req.status = QueueStatus.COMPLETED
        req.result_status = status
        req.result_body = body
        req.result_headers = dict(headers or {})
        req.error = error
        req.error_type = error_type
        req.error_on_status = on_status
        self._notify(req)
        self._kick()
        self._schedule_webhook(req)

    # ----- webhooks -----------------------------------------------------------------------------

    def _schedule_webhook(self, req: QueueRequest) -> None:
        if not req.webhook_url or self.faults.drop_webhooks:
            return
        # The body is taken now, so a late webhook still carries the state it announces.
        body = serialize_webhook_body(self.webhook_body(req))
        copies = 1 + max(0, self.faults.duplicate_webhooks)
        self._spawn(self._deliver(req, req.webhook_url, body, copies, self.faults.webhook_delay))

    async def _deliver(self, req: QueueRequest, url: str, body: bytes, copies: int, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        for _ in range(copies):
            if not await self._deliver_once(req, url, body):
                return

    async def _deliver_once(self, req: QueueRequest, url: str, body: bytes) -> bool:
        """POST with retries on non-2xx and connection errors; True once a 2xx came back."""
        cfg = self.config
        attempts = max(1, cfg.webhook_attempts)
        if not (_loopback(url) or cfg.allow_external_webhooks):
            # Never leave 127.0.0.1 unless told to: record the one attempt that was not made.
            self._record_webhook(req, url, 1, {}, body, None, "not sent: webhook host is not loopback")
            return False
        for attempt in range(1, attempts + 1):
            timestamp = int(time.time() + self.faults.webhook_timestamp_skew)
            key = Ed25519PrivateKey.generate() if self.faults.webhook_bad_signature else self.signing_key
            headers = webhook_headers(key, req.id, cfg.user_id, timestamp, body)
            http_status: int | None = None
            error: str | None = None
            try:
                if self._session is None:
                    raise RuntimeError("simulator app is not running")
                timeout = ClientTimeout(total=cfg.webhook_timeout)
                async with self._session.post(
                    url, data=body, headers=headers, timeout=timeout, allow_redirects=False
                ) as resp:
                    await resp.read()
                    http_status = resp.status
            except (ClientError, TimeoutError, RuntimeError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            self._record_webhook(req, url, attempt, headers, body, http_status, error)
            if http_status is not None and 200 <= http_status < 300:
                return True
            if attempt < attempts:
                await asyncio.sleep(cfg.webhook_backoff * 2 ** (attempt - 1))
        return False

    def _record_webhook(
        self,
        req: QueueRequest,
        url: str,
        attempt: int,
        headers: dict[str, str],
        body: bytes,
        http_status: int | None,
        error: str | None,
    ) -> None:
        status = "OK" if req.result_status == 200 else "ERROR"
        self.webhooks.append(
            RecordedWebhook(
                url, req.id, attempt, status, headers, body.decode(), http_status, error, time.time()
            )
        )
        self._webhooks_changed.set()
        self._webhooks_changed = asyncio.Event()

    # ----- queue routes ---------------------------------------------------------------------------

    def _lookup(self, request: web.Request) -> QueueRequest | None:
        owner_app = f"{request.match_info['owner']}/{request.match_info['app']}"
        req = self.requests.get(request.match_info["request_id"])
        if req is None or owner_app != OWNER_APP:
            return None
        return req

    async def _status(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        req = self._lookup(request)
        if req is None:
            raise _detail(404, ERR_REQUEST_NOT_FOUND)
        with_logs = request.query.get("logs", "0") in TRUE_WORDS
        status = 200 if req.done else 202
        return self._reply(self.render_status(req, with_logs), status, request_id=req.id)

    async def _result(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        req = self._lookup(request)
        if req is None:
            raise _detail(404, ERR_REQUEST_NOT_FOUND)
        if not req.done or req.result_status is None:
            return self._reply({"detail": ERR_IN_PROGRESS}, 400, request_id=req.id)
        return self._reply(req.result_body, req.result_status, req.result_headers, request_id=req.id)

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        req = self._lookup(request)
        if req is None:
            return self._reply({"status": "NOT_FOUND"}, 404)
        if req.done:
            return self._reply({"status": "ALREADY_COMPLETED"}, 400, request_id=req.id)
        req.cancel_requested = True
        if req.status is QueueStatus.IN_QUEUE:
            self._stop_run(req)
            self._cancelled(req)
        self._notify(req)
        if self.config.cancel_accepted_status == 200:
            return self._reply({"status": "OK"}, 200, request_id=req.id)
        return self._reply({"status": "CANCELLATION_REQUESTED"}, 202, request_id=req.id)

    # ----- storage and media --------------------------------------------------------------------

    async def _storage_token(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        token = secrets.token_urlsafe(24)
        expires = time.time() + self.config.token_ttl
        self.tokens[token] = expires
        payload = {
            "token": token,
            "token_type": "Bearer",
            "base_url": self._base(request),
            "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
        }
        return self._reply(payload)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        expires = self.tokens.get(token.strip())
        if scheme.lower() != "bearer" or expires is None or expires <= time.time():
            raise _detail(401, ERR_BAD_TOKEN)
        data = await request.read()
        name = _safe_name(request.headers.get("X-Fal-File-Name", "") or "file")
        content_type = request.headers.get("Content-Type", "application/octet-stream")
        path = f"/files/u/{secrets.token_hex(8)}_{name}"
        self.files[path] = StoredFile(path, data, content_type, name, uploaded=True)
        return self._reply({"access_url": f"{self._base(request)}{path}"}, json_fault=False)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        stored = self.files.get(request.path)
        if stored is None or self.faults.expire_media:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored.data, headers={"Content-Type": stored.content_type})

    async def _jwks(self, _request: web.Request) -> web.StreamResponse:
        if self.faults.jwks_status is not None:
            return web.json_response({"detail": "JWKS unavailable"}, status=self.faults.jwks_status)
        return web.json_response(self.jwks())

    # ----- control API (/_sim/, no auth) --------------------------------------------------------

    def _sim_job_json(self, req: QueueRequest) -> dict[str, object]:
        return {
            "request_id": req.id,
            "model_id": req.model_id,
            "status": str(req.status),
            "queue_position": self.position(req.id),
            "attempts": req.attempts,
            "gateway_request_id": req.gateway_request_id,
            "input": req.input,
            "arguments": req.arguments,
            "webhook_url": req.webhook_url,
            "priority": req.priority,
            "cancel_requested": req.cancel_requested,
            "error": req.error,
            "error_type": req.error_type,
            "result_status": req.result_status,
            "result": req.result_body,
            "image_fetches": [asdict(f) for f in req.image_fetches],
        }

    async def _sim_jobs(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response([self._sim_job_json(r) for r in self.requests.values()], dumps=_dumps)

    async def _sim_requests(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response([asdict(r) for r in self.recorded], dumps=_dumps)

    async def _sim_webhooks(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response([asdict(w) for w in self.webhooks], dumps=_dumps)

    async def _sim_files(self, _request: web.Request) -> web.StreamResponse:
        files = [
            {"path": f.path, "content_type": f.content_type, "file_name": f.file_name, "size": len(f.data)}
            for f in self.files.values()
        ]
        return web.json_response(files, dumps=_dumps)

    async def _sim_get_faults(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response(asdict(self.faults), dumps=_dumps)

    async def _sim_post_faults(self, request: web.Request) -> web.StreamResponse:
        body = await _json_object(request)
        try:
            self.update_faults(body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(asdict(self.faults), dumps=_dumps)

    def _config_json(self) -> dict[str, object]:
        return {f.name: getattr(self.config, f.name) for f in fields(SimConfig) if f.name != "signing_key"}

    async def _sim_get_config(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response(self._config_json(), dumps=_dumps)

    async def _sim_post_config(self, request: web.Request) -> web.StreamResponse:
        body = await _json_object(request)
        try:
            self.update_config(body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(self._config_json(), dumps=_dumps)

    async def _sim_release_all(self, _request: web.Request) -> web.StreamResponse:
        self.release_all()
        return web.json_response({"released": len(self.requests)})

    async def _sim_rotate_key(self, request: web.Request) -> web.StreamResponse:
        body = await _json_object(request)
        seed = body.get("seed")
        try:
            key = (
                Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
                if isinstance(seed, str)
                else Ed25519PrivateKey.generate()
            )
        except ValueError as exc:
            return web.json_response({"error": f"bad seed: {exc}"}, status=400)
        self.rotate_signing_key(key, keep_old=body.get("keep_old", True) is not False)
        return web.json_response(self.jwks())

    async def _sim_job_action(self, request: web.Request) -> web.StreamResponse:
        request_id, action = request.match_info["request_id"], request.match_info["action"]
        if request_id not in self.requests:
            return web.json_response({"error": ERR_REQUEST_NOT_FOUND}, status=404)
        if action == "release":
            self.release(request_id)
            return web.json_response(self._sim_job_json(self.requests[request_id]), dumps=_dumps)
        if action == "finish":
            done = self.finish_now(request_id)
        elif action == "fail":
            body = await _json_object(request)
            try:
                done = self.fail_now(request_id, str(body.get("error_type", "runner_server_error")))
            except ValueError as exc:
                return web.json_response({"error": str(exc)}, status=400)
        else:
            return web.json_response({"error": f"unknown action {action}"}, status=400)
        if not done:
            return web.json_response({"error": f"request {request_id} already completed"}, status=409)
        return web.json_response(self._sim_job_json(self.requests[request_id]), dumps=_dumps)


def _image_type(content_type: str | None) -> bool:
    return content_type is not None and (
        content_type.startswith("image/") or content_type == "application/octet-stream"
    )


def _nginx_error(status: int) -> web.Response:
    """An ingress error as nginx sends it: HTML, no ``x-fal-request-id`` (fal_client retries these)."""
    phrase = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}.get(
        status, "Error"
    )
    html = (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=html, content_type="text/html")


async def _json_object(request: web.Request) -> dict[str, object]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


_STATUS_KNOBS: Final = frozenset({"jwks_status", "ingress_error_status"})
_ERROR_TYPE_KNOBS: Final = frozenset({"submit_fail_error_type", "fail_error_type", "result_error_type"})


def _coerce_knob(name: str, current: object, value: object) -> object:
    """Check a knob value against the knob's type (bool before int: bool is an int subclass)."""
    if name == "cancel_accepted_status":
        if value in (200, 202) and _is_int(value):
            return value
    elif name in _STATUS_KNOBS:
        if (value is None and name == "jwks_status") or (_is_int(value) and 400 <= value <= 599):
            return value
    elif name in _ERROR_TYPE_KNOBS:
        if isinstance(value, str) and value in ERROR_TYPES:
            return value
    elif name == "random_seed":
        if value is None or _is_int(value):
            return value
    elif isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, int):
        if _is_int(value) and value >= 0:
            return value
    elif isinstance(current, float):
        if _is_number(value) and (value >= 0 or name == "webhook_timestamp_skew"):
            return float(value)
    elif isinstance(current, str):
        if isinstance(value, str):
            return value
    elif isinstance(current, tuple) and isinstance(value, list | tuple):
        kinds = {type(item) for item in current} or {str}
        if all(type(item) in kinds for item in value):
            return tuple(value)
    raise ValueError(f"bad value {value!r} for {name!r}")


# --------------------------------------------------------------------------------------------------
# Running it
# --------------------------------------------------------------------------------------------------


@dataclass
class RunningFalSimulator:
    """A simulator served on a real socket; ``base_url`` stands in for the queue, REST and CDN hosts."""

    sim: FalSimulator
    runner: web.AppRunner
    host: str
    port: int

    @property
    def base_url(self) -> str:
        """``http://host:port`` (no trailing slash): the queue, REST and CDN base URL at once."""
        return f"http://{self.host}:{self.port}"

    @property
    def jwks_url(self) -> str:
        """Where the webhook public keys are served."""
        return f"{self.base_url}/.well-known/jwks.json"

    async def close(self) -> None:
        """Stop serving and cancel background runs and webhooks."""
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningFalSimulator:
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
) -> RunningFalSimulator:
    """Serve a new simulator on ``host:port`` (0 = a free port) and return a handle to it."""
    sim = FalSimulator(config)
    runner, bound_port = await bind(sim.make_app(), host, port, shutdown_timeout=1.0)
    if not sim.config.public_base_url:
        sim.config = replace(sim.config, public_base_url=f"http://{host}:{bound_port}")
    return RunningFalSimulator(sim=sim, runner=runner, host=host, port=bound_port)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="fal.ai queue API simulator (Pika v2.2 models)")
    listen_arguments(parser)
    parser.add_argument("--key", default=SimConfig.key, help="valid 'key_id:key_secret'")
    parser.add_argument("--concurrency", type=int, default=SimConfig.concurrency)
    parser.add_argument("--queue-delay", type=float, default=SimConfig.queue_delay)
    parser.add_argument("--step-delay", type=float, default=SimConfig.step_delay)
    parser.add_argument("--seed", type=int, default=None, help="random seed for request ids")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    config = SimConfig(
        key=args.key,
        concurrency=args.concurrency,
        queue_delay=args.queue_delay,
        step_delay=args.step_delay,
        random_seed=args.seed,
    )
    running = await start_simulator(config, host=args.host, port=args.port)
    await serve_until_stopped(running, running.base_url)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: serve until SIGINT/SIGTERM, printing the base URL first."""
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
