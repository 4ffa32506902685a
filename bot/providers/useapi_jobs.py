"""A useapi.net job record (a submit answer, GET jobs/?jobid=, or a callback) read as an UpstreamJob
snapshot (docs/useapi-pika.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.domain.prompt import seed_from_filename
from bot.providers.base import UpstreamJob, UpstreamStatus, UpstreamVideo

_MENTION = re.compile(r"<@[!&]?\d+>")
# Pika's messages end by echoing the request ("(Prompt: …  Image: 1 Attachment  Author: <@u>)"); the
# status message shows the prompt and who asked already, so only what comes before is progress.
_ECHO = re.compile(r"\(?\s*Prompt:.*\Z", re.DOTALL)
_STATUS: Mapping[str, UpstreamStatus] = {
    "created": UpstreamStatus.RUNNING,
    "started": UpstreamStatus.RUNNING,
    "progress": UpstreamStatus.RUNNING,
    "completed": UpstreamStatus.COMPLETED,
    "failed": UpstreamStatus.FAILED,
    "moderated": UpstreamStatus.MODERATED,
    "cancelled": UpstreamStatus.CANCELLED,
}


def parse_job(body: Mapping[str, Any]) -> UpstreamJob:
    """Turn a useapi.net job record (GET jobs/?jobid=, a submit answer or a callback) into a snapshot."""
    upstream_id = str(body.get("jobid", ""))
    status = _STATUS.get(str(body.get("status", "")), UpstreamStatus.RUNNING)
    content = text_or_none(body.get("content"))
    progress = (_ECHO.sub("", _MENTION.sub("", content)).strip()[:300] or None) if content else None
    video: UpstreamVideo | None = None
    seed: int | None = None
    attachments = body.get("attachments")
    if isinstance(attachments, list) and attachments and isinstance(attachments[0], dict):
        first = attachments[0]
        url = text_or_none(first.get("url"))
        if url:
            filename = text_or_none(first.get("filename"))
            size = first.get("size")
            video = UpstreamVideo(
                url=url,
                filename=filename,
                size=size if isinstance(size, int) else None,
                content_type=text_or_none(first.get("content_type")),
            )
            seed = seed_from_filename(filename) if filename else None
    error = text_or_none(body.get("error"))
    if status is UpstreamStatus.COMPLETED and video is None:
        status = UpstreamStatus.FAILED
        error = "Pika reported the job completed but sent no video"
    return UpstreamJob(
        upstream_id=upstream_id,
        status=status,
        progress=progress or None,
        video=video,
        error=error,
        error_details=text_or_none(body.get("errorDetails")),
        reply_ref=text_or_none(body.get("replyRef")),
        seed=seed,
    )


def text_or_none(value: Any) -> str | None:
    """``value`` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None
