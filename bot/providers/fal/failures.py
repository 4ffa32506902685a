"""How fal.ai's answers become the engine's terms: a failed call as an UpstreamError, a request that
completed without a video as a snapshot, and the texts members see (docs/fal-pika.md section 1.8).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Final
from urllib.parse import unquote, urlsplit

from bot.providers.base import ErrorKind, UpstreamJob, UpstreamStatus, UpstreamVideo
from bot.providers.fal.answers import (
    CONTENT_POLICY,
    INGRESS_STATUSES,
    FalError,
    FalErrorDetail,
    FalStatus,
    FalVideo,
)
from bot.providers.fal.models import NAME

MODERATED_TEXT: Final = "fal.ai's content checker refused this prompt or image"
_CANCELLED_TYPES: Final = frozenset({"client_cancelled"})
# Answers about the request, not about fal's health.
ANSWERS: Final = frozenset(
    {ErrorKind.MODERATED, ErrorKind.INVALID_REQUEST, ErrorKind.NOT_FOUND, ErrorKind.RATE_LIMITED}
)
MAX_TEXT: Final = 600
_MAX_PROGRESS: Final = 200


# -- errors -----------------------------------------------------------------------------------------


def error_kind(error: FalError) -> ErrorKind:
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


def describe_error(kind: ErrorKind, error: FalError) -> tuple[str, str | None]:
    """The message (and details) of an UpstreamError: member-facing where members see it."""
    if kind is ErrorKind.MODERATED:
        return MODERATED_TEXT, _flagged(error.details)
    if kind is ErrorKind.INVALID_REQUEST:
        return f"{NAME} refused the request", _detail_text(error.details) or error.message
    if kind is ErrorKind.UNAUTHORIZED:
        return f"{NAME} refused the API key (401: {error.message})", None
    if kind is ErrorKind.PAYMENT_REQUIRED:
        return f"{NAME} locked the account, usually for lack of credit (403: {error.message})", None
    if kind is ErrorKind.AMBIGUOUS:
        return f"{NAME} may have received the job but did not answer ({error.message})", None
    where = f"{NAME} error {error.status}" if error.status is not None else f"{NAME} unreachable"
    kind_text = f" [{error.error_type}]" if error.error_type else ""
    return f"{where}{kind_text}: {error.message}", None


def result_unreachable(error: FalError) -> bool:
    """The result could not be read (no answer, an ingress page, a throttle): not the job's error."""
    status = error.status
    if status is None or status in (408, 429):
        return True
    return status in INGRESS_STATUSES and error.request_id is None and not error.details


def failure(
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
        return UpstreamJob(upstream_id, UpstreamStatus.CANCELLED, error=f"the job was cancelled at {NAME}")
    reason = _detail_text(details) or message or "no reason given"
    if error_type and not details:
        reason = f"{reason} ({error_type})"
    return UpstreamJob(
        upstream_id, UpstreamStatus.FAILED, error=f"{NAME} could not make this video: {reason}"[:MAX_TEXT]
    )


def first_type(details: tuple[FalErrorDetail, ...]) -> str | None:
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
    return "; ".join(texts)[:MAX_TEXT]


def _flagged(details: tuple[FalErrorDetail, ...]) -> str | None:
    """Which input the content checker flagged, when fal says."""
    places = [_where(d) for d in details if d.type == CONTENT_POLICY and _where(d)]
    named = [place if place[-1].isdigit() else f"the {place}" for place in dict.fromkeys(places)]
    return f"it flagged {' and '.join(named)}" if named else None


# -- snapshots --------------------------------------------------------------------------------------


def video_of(video: FalVideo) -> UpstreamVideo:
    name = video.file_name or unquote(PurePosixPath(urlsplit(video.url).path).name) or None
    return UpstreamVideo(url=video.url, filename=name, size=video.file_size, content_type=video.content_type)


def queue_text(position: int | None) -> str:
    """fal's ``queue_position`` counts the requests ahead (0 = next); members count from 1."""
    if position is None or position < 0:
        return f"waiting at {NAME}"
    return f"waiting at {NAME}, position {position + 1}"


def latest_log(status: FalStatus) -> str | None:
    for entry in reversed(status.logs or ()):
        text = " ".join(entry.message.split())
        if text:
            return text[:_MAX_PROGRESS]
    return None
