"""What the simulator stores and tests read: verbs, job statuses, jobs with their files and
attachments, and the recorded requests and callbacks.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from sandbox.sim_common.recording import RequestHead
from sandbox.useapi_sim.values import iso_discord, iso_ms, mask_discord


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
class RecordedRequest(RequestHead):
    """One request the simulator received (control API traffic under /_sim/ is not recorded)."""

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
