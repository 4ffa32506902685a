"""What the simulator stores and tests read: request types, video statuses, jobs with their video,
and the recorded requests, webhooks and image fetches.
"""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from sandbox.sim_common.recording import RequestHead


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
class RecordedRequest(RequestHead):
    """One request the simulator received (control API traffic under /_sim/ is not recorded)."""

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
