"""How API Glue's answers become the engine's terms: an HTTP status and body as parsed JSON or a
typed UpstreamError, a job record as an UpstreamJob snapshot (docs/apiglue-pika.md).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from bot.providers.base import ErrorKind, UpstreamError, UpstreamJob, UpstreamStatus, UpstreamVideo

NAME: Final = "API Glue"
_FINISHED: Final = "finished"
_FAILED: Final = frozenset({"error", "failed"})
# UNCONFIRMED: API Glue documents no moderation status; a failure whose text reads like a content
# refusal is reported as MODERATED so the member is told why, not "try again".
_MODERATION: Final = re.compile(r"moderat|nsfw|policy", re.IGNORECASE)


def classify(status: int, raw: bytes, *, retry_after: str | None = None, submitting: bool = False) -> Any:
    """Map a status code and body to the parsed JSON or a typed UpstreamError.

    UNCONFIRMED: API Glue never published its error bodies; ``{"error": text, "code": status}``
    (the simulator's shape) is read when present, and any other body is described instead.
    """
    try:
        body: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if status == 200:
        if body is None:
            # After a submit the job was probably created: find it, don't send it again.
            kind = ErrorKind.AMBIGUOUS if submitting else ErrorKind.TRANSIENT
            raise UpstreamError(kind, f"{NAME} answered 200 with a body that is not JSON", status=status)
        return body
    fields: Mapping[str, Any] = body if isinstance(body, dict) else {}
    text = text_or_none(fields.get("error")) or text_or_none(fields.get("message")) or _describe_non_json(raw)
    if status == 400:
        raise UpstreamError(ErrorKind.INVALID_REQUEST, text, status=status)
    if status == 401:
        raise UpstreamError(
            ErrorKind.UNAUTHORIZED, f"{NAME} refused the API token (401: {text})", status=status
        )
    if status == 402:
        raise UpstreamError(ErrorKind.PAYMENT_REQUIRED, text, status=status)
    if status == 404:
        raise UpstreamError(ErrorKind.NOT_FOUND, text, status=status)
    if status == 422:
        raise UpstreamError(ErrorKind.MODERATED, text, status=status)
    if status == 429:
        raise UpstreamError(
            ErrorKind.RATE_LIMITED, text, status=status, retry_after=parse_retry_after(retry_after)
        )
    if status >= 500:
        raise UpstreamError(ErrorKind.TRANSIENT, f"{NAME} error {status}: {text}", status=status)
    raise UpstreamError(
        ErrorKind.INVALID_REQUEST, f"unexpected answer {status} from {NAME}: {text}", status=status
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def parse_job(body: Mapping[str, Any]) -> UpstreamJob:
    """A job snapshot from a submit answer (``job`` + ``video``) or GET /web/jobs/{id} (``job`` + ``videos``)."""
    job = body.get("job")
    job = job if isinstance(job, dict) else {}
    videos = body.get("videos")
    # API Glue makes one video per job (seed 004); the first is the one we follow.
    video: Mapping[str, Any] = {}
    if isinstance(videos, list) and videos and isinstance(videos[0], dict):
        video = videos[0]
    elif isinstance(body.get("video"), dict):
        video = body["video"]
    state = str(video.get("status") or "").lower()
    error = text_or_none(video.get("error"))
    result: UpstreamVideo | None = None
    if state == _FINISHED:
        url = text_or_none(video.get("resultUrl"))
        if url:
            name = _filename(url)
            mp4 = name is not None and name.lower().endswith(".mp4")
            result = UpstreamVideo(url=url, filename=name, content_type="video/mp4" if mp4 else None)
            status = UpstreamStatus.COMPLETED
        else:
            status = UpstreamStatus.FAILED
            error = f"{NAME} reported the video finished but sent no resultUrl"
    elif state in _FAILED:
        error = error or f"{NAME} reported the video {state} without a reason"
        status = UpstreamStatus.MODERATED if _MODERATION.search(error) else UpstreamStatus.FAILED
    else:
        # queued, pending and anything undocumented: still going (docs/apiglue-pika.md).
        status = UpstreamStatus.RUNNING
    seed = video.get("seed")
    return UpstreamJob(
        upstream_id=str(job.get("id") or ""),
        status=status,
        progress=_progress(video.get("progress")),
        video=result,
        error=error if status in (UpstreamStatus.FAILED, UpstreamStatus.MODERATED) else None,
        # UNCONFIRMED: where API Glue echoes `ref`; the simulator puts it on the job.
        reply_ref=text_or_none(job.get("ref")) or text_or_none(body.get("ref")),
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
    )


def _progress(value: object) -> str | None:
    """``videos[].progress`` (an integer 0-100) as the percentage string the engine shows."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return str(min(100, max(0, int(value))))


def _filename(url: str) -> str | None:
    name = unquote(PurePosixPath(urlsplit(url).path).name)
    return name or None


def text_or_none(value: Any) -> str | None:
    """A non-empty string, or None."""
    return value if isinstance(value, str) and value else None


def _describe_non_json(raw: bytes) -> str:
    if raw.lstrip()[:1] == b"<":
        return "an HTML error page instead of JSON"
    return "an answer that is not JSON" if raw else "an empty answer"
