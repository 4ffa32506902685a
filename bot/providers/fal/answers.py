"""fal.ai's queue answers, typed: states, submissions, statuses, videos, and the one error type.

What ``FalClient`` returns and raises, and how an HTTP answer becomes them (docs/fal-pika.md
sections 1.4-1.8). Like the client, this module imports nothing from the rest of the bot.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from http import HTTPStatus
from typing import Final

from multidict import CIMultiDictProxy

__all__ = [
    "CONTENT_POLICY",
    "INGRESS_STATUSES",
    "RETRYABLE_ERROR_TYPES",
    "RETRYABLE_STATUSES",
    "STILL_IN_PROGRESS",
    "Answer",
    "FalCancelOutcome",
    "FalError",
    "FalErrorDetail",
    "FalLogEntry",
    "FalState",
    "FalStatus",
    "FalSubmission",
    "FalVideo",
    "error_from",
    "json_or_none",
    "opt_int",
    "opt_str",
    "parse_details",
    "parse_expiry",
    "parse_logs",
    "status_phrase",
    "truthy",
]

#: Section 1.8: the request error types worth another attempt.
RETRYABLE_ERROR_TYPES: Final = frozenset(
    {
        "request_timeout",
        "startup_timeout",
        "runner_scheduling_failure",
        "runner_connection_timeout",
        "runner_disconnected",
        "runner_connection_refused",
        "runner_connection_error",
        "runner_incomplete_response",
        "runner_server_error",
        "internal_error",
    }
)
#: Section 1.7: fal_client retries these statuses (429 comes from ``fal_max_queue_length``).
RETRYABLE_STATUSES: Final = frozenset({408, 409, 429})
#: 502/503/504 without ``x-fal-request-id`` come from the ingress, not from fal's servers.
INGRESS_STATUSES: Final = frozenset({502, 503, 504})
CONTENT_POLICY: Final = "content_policy_violation"
#: The (UNCONFIRMED) text of a result fetched before completion.
STILL_IN_PROGRESS: Final = "Request is still in progress"


# --------------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------------


class FalState(StrEnum):
    """The queue states (there is no FAILED: a failed request is COMPLETED with an error)."""

    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


class FalCancelOutcome(StrEnum):
    """The three outcomes of ``PUT cancel_url`` (section 1.6); fal's ``OK`` body means ``REQUESTED``."""

    REQUESTED = "CANCELLATION_REQUESTED"
    ALREADY_COMPLETED = "ALREADY_COMPLETED"
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True)
class FalErrorDetail:
    """One ErrorObject of a 422-style ``detail`` list; ``msg`` is for people, ``type`` for code."""

    loc: tuple[str | int, ...]
    msg: str
    type: str
    url: str | None = None

    def describe(self) -> str:
        """``body.prompt: <msg>`` (or just the msg when there is no location)."""
        where = ".".join(str(part) for part in self.loc)
        return f"{where}: {self.msg}" if where else self.msg


@dataclass(frozen=True)
class FalSubmission:
    """The submit answer: the request id and the three URLs to store with the job."""

    request_id: str
    status_url: str
    response_url: str
    cancel_url: str
    queue_position: int | None
    gateway_request_id: str | None = None


@dataclass(frozen=True)
class FalLogEntry:
    """One runner log line (``level``: STDERR, STDOUT, ERROR, INFO, WARN or DEBUG)."""

    message: str
    level: str
    source: str
    timestamp: str | None


@dataclass(frozen=True)
class FalStatus:
    """A status answer; ``logs`` is None unless asked for (and given)."""

    state: FalState
    request_id: str | None
    queue_position: int | None = None
    logs: tuple[FalLogEntry, ...] | None = None
    error: str | None = None
    error_type: str | None = None
    inference_time: float | None = None

    @property
    def done(self) -> bool:
        """True once COMPLETED (fetch the result to learn whether it worked)."""
        return self.state is FalState.COMPLETED

    @property
    def failed(self) -> bool:
        """True when COMPLETED with an error on the status (some failures only show at the result)."""
        return self.done and (self.error is not None or self.error_type is not None)


@dataclass(frozen=True)
class FalVideo:
    """The ``video`` File of a Pika result (section 3.3); only ``url`` is required."""

    url: str
    content_type: str | None = None
    file_name: str | None = None
    file_size: int | None = None


class FalError(Exception):
    """Anything that went wrong talking to fal; ``status`` is None for transport failures.

    ``retryable`` follows section 1.8 (the retryable request error types, 408/409/429, ingress
    502/503/504, transport errors, or fal's ``X-Fal-Retryable`` header).  ``ambiguous`` is True when a
    submit may have reached fal even though no answer came back (do not blindly resubmit: it may cost
    twice).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        details: tuple[FalErrorDetail, ...] = (),
        retryable: bool = False,
        ambiguous: bool = False,
        request_id: str | None = None,
    ) -> None:
        """Build the error; ``message`` must already be free of secrets."""
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.details = details
        self.retryable = retryable
        self.ambiguous = ambiguous
        self.request_id = request_id

    def __str__(self) -> str:
        head = f"fal HTTP {self.status}" if self.status is not None else "fal transport error"
        kind = f" [{self.error_type}]" if self.error_type else ""
        return f"{head}{kind}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"FalError(status={self.status!r}, error_type={self.error_type!r}, message={self.message!r}, "
            f"details={len(self.details)}, retryable={self.retryable}, ambiguous={self.ambiguous})"
        )

    @property
    def is_auth(self) -> bool:
        """401 (wrong or revoked key) or 403 (locked account or missing scope): fatal, do not retry."""
        return self.status in (401, 403)

    @property
    def is_locked(self) -> bool:
        """403: usually "User is locked" (exhausted balance); the key may also lack a scope."""
        return self.status == 403

    @property
    def is_content_policy(self) -> bool:
        """The prompt or image was refused by fal's content checker."""
        return self.error_type == CONTENT_POLICY or any(d.type == CONTENT_POLICY for d in self.details)

    @property
    def is_still_in_progress(self) -> bool:
        """The result was fetched before the request completed."""
        return self.status == 400 and self.message == STILL_IN_PROGRESS

    @property
    def detail_types(self) -> tuple[str, ...]:
        """The ``type`` of every ErrorObject, in order."""
        return tuple(d.type for d in self.details)


# --------------------------------------------------------------------------------------------------
# Parsing helpers
# --------------------------------------------------------------------------------------------------


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def json_or_none(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def parse_details(detail: object, scrub: Callable[[str], str]) -> tuple[FalErrorDetail, ...]:
    if not isinstance(detail, list):
        return ()
    out: list[FalErrorDetail] = []
    for item in detail:
        if not isinstance(item, dict):
            continue
        raw_loc = item.get("loc")
        loc = (
            tuple(p for p in raw_loc if isinstance(p, str | int) and not isinstance(p, bool))
            if isinstance(raw_loc, list)
            else ()
        )
        out.append(
            FalErrorDetail(
                loc=tuple(scrub(p) if isinstance(p, str) else p for p in loc),
                msg=scrub(str(item.get("msg", ""))),
                type=str(item.get("type", "")),
                url=opt_str(item.get("url")),
            )
        )
    return tuple(out)


def parse_logs(raw: object) -> tuple[FalLogEntry, ...] | None:
    if not isinstance(raw, list):
        return None
    out: list[FalLogEntry] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        out.append(
            FalLogEntry(
                message=str(item.get("message", "")),
                level=str(item.get("level", "")),
                source=str(item.get("source", "")),
                timestamp=opt_str(item.get("timestamp")),
            )
        )
    return tuple(out)


def parse_expiry(raw: object, now: float) -> float:
    """``expires_at`` as Unix seconds (ISO-8601 text, or a number); unknown means "use once"."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.strip())
        except ValueError:
            return now
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return now


def truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Answer:
    """One raw HTTP answer from fal: status, headers and the (capped) body."""

    status: int
    headers: CIMultiDictProxy[str]
    raw: bytes

    @property
    def request_id(self) -> str | None:
        """fal's ``x-fal-request-id`` header: present on answers from fal's servers, not the ingress."""
        return self.headers.get("x-fal-request-id")


def error_from(answer: Answer, scrub: Callable[[str], str], *, submit: bool = False) -> FalError:
    """Turn an error answer into a ``FalError`` (section 1.8 bodies, headers and retry rules)."""
    status, headers = answer.status, answer.headers
    body = json_or_none(answer.raw)
    error_type = headers.get("X-Fal-Error-Type")
    details: tuple[FalErrorDetail, ...] = ()
    message = ""
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            message = scrub(detail)
        details = parse_details(detail, scrub)
        if isinstance(body.get("error_type"), str):
            error_type = str(body["error_type"])
    if not message and details:
        message = "; ".join(d.describe() for d in details)
    if not message:
        message = f"HTTP {status} {status_phrase(status)}"
    message = message[:500]
    ingress = status in INGRESS_STATUSES and answer.request_id is None
    retryable = status in RETRYABLE_STATUSES or ingress or error_type in RETRYABLE_ERROR_TYPES
    hint = headers.get("X-Fal-Retryable") or headers.get("X-Fal-Needs-Retry")
    if hint is not None:
        retryable = truthy(hint)
    if headers.get("X-Fal-Request-Timeout-Type"):
        # Our own X-Fal-Request-Timeout expired: fal_client does not retry these either.
        retryable = False
    return FalError(
        message,
        status=status,
        error_type=error_type,
        details=details,
        retryable=retryable,
        ambiguous=submit and status in (502, 504) and ingress,
        request_id=answer.request_id,
    )
