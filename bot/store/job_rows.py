"""The jobs table's rows as typed values: what a transition changes (JobUpdate), a row as a Job."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.jobs import Job, JobKind, JobState, Origin, VideoResult
from bot.domain.params import VideoParams
from bot.domain.prompt import PikaOptions
from bot.store.rows import Row


@dataclass(frozen=True)
class JobUpdate:
    """Columns to change with a transition; None means "leave as it is"."""

    account: str | None = None
    upstream_id: str | None = None
    upstream_handle: str | None = None
    callback_hint: str | None = None
    callback_token_hash: str | None = None
    attempts: int | None = None
    next_attempt_at: float | None = None
    next_poll_at: float | None = None
    progress: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    video: VideoResult | None = None
    delivered_message_id: int | None = None
    delivery_attempts: int | None = None
    notified: bool | None = None
    submitted_at: float | None = None
    thread_id: int | None = None
    status_message_id: int | None = None
    clear_video: bool = False


@dataclass(frozen=True)
class JobEvent:
    """One recorded state change."""

    job_id: int
    from_state: JobState | None
    to_state: JobState
    at: float


@dataclass(frozen=True)
class StateCount:
    """How many jobs are in one state."""

    state: JobState
    count: int


def assignments(update: JobUpdate) -> tuple[list[str], list[object]]:
    columns: list[str] = []
    values: list[object] = []

    def put(column: str, value: object) -> None:
        columns.append(f"{column} = ?")
        values.append(value)

    simple: Sequence[tuple[str, object]] = (
        ("account", update.account),
        ("upstream_id", update.upstream_id),
        ("upstream_handle", update.upstream_handle),
        ("callback_hint", update.callback_hint),
        ("callback_token_hash", update.callback_token_hash),
        ("attempts", update.attempts),
        ("next_attempt_at", update.next_attempt_at),
        ("next_poll_at", update.next_poll_at),
        ("progress", update.progress),
        ("error_code", update.error_code),
        ("error_message", update.error_message),
        ("delivered_message_id", update.delivered_message_id),
        ("delivery_attempts", update.delivery_attempts),
        ("submitted_at", update.submitted_at),
        ("thread_id", update.thread_id),
        ("status_message_id", update.status_message_id),
    )
    for column, value in simple:
        if value is not None:
            put(column, value)
    if update.notified is not None:
        put("notified", int(update.notified))
    if update.video is not None:
        video = update.video
        for column, value in (
            ("video_path", video.path),
            ("video_size", video.size),
            ("video_filename", video.filename),
            ("video_content_type", video.content_type),
            ("video_url", video.source_url),
            ("video_seed", None if video.seed is None else str(video.seed)),
        ):
            put(column, value)
    elif update.clear_video:
        columns.append("video_path = NULL")
    return columns, values


def row_to_job(row: Row) -> Job:
    """Turn a jobs row into a Job."""
    video = None
    if row["video_filename"] is not None:
        video = VideoResult(
            path=row["video_path"] or "",
            size=int(row["video_size"] or 0),
            filename=row["video_filename"],
            content_type=row["video_content_type"] or "video/mp4",
            source_url=row["video_url"] or "",
            seed=None if row["video_seed"] is None else int(row["video_seed"]),
        )
    return Job(
        id=row["id"],
        provider=row["provider"],
        kind=JobKind(row["kind"]),
        state=JobState(row["state"]),
        owner_id=row["owner_id"],
        origin=Origin(
            guild_id=row["guild_id"],
            channel_id=row["channel_id"],
            thread_id=row["thread_id"],
            interaction_id=row["interaction_id"],
            upload_limit=row["upload_limit"],
        ),
        prompt=row["prompt"],
        options=PikaOptions.from_json(json.loads(row["options_json"])),
        message_text=row["message_text"],
        font=row["font"],
        parent_id=row["parent_id"],
        account=row["account"],
        upstream_id=row["upstream_id"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        progress=row["progress"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        video=video,
        delivered_message_id=row["delivered_message_id"],
        delivery_attempts=row["delivery_attempts"],
        notified=bool(row["notified"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        submitted_at=row["submitted_at"],
        finished_at=row["finished_at"],
        status_message_id=row["status_message_id"],
        params=VideoParams.from_json(json.loads(row["params_json"])),
        upstream_handle=row["upstream_handle"],
        callback_hint=row["callback_hint"],
        cost_usd=row["cost_usd"],
        placed=bool(row["placed"]),
        defaulted=frozenset(name for name in str(row["defaulted"]).split(",") if name),
        ping=bool(row["ping"]),
        remix=bool(row["remix"]),
        place_tried_at=row["place_tried_at"],
    )
