"""What the simulator stores and tests read: queue requests, recorded requests and webhooks, files."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from enum import StrEnum

from sandbox.fal_sim.constants import OWNER_APP
from sandbox.sim_common.recording import RequestHead


class QueueStatus(StrEnum):
    """The queue states; a queue request never reports FAILED (section 0)."""

    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


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
class RecordedRequest(RequestHead):
    """One request the simulator received (``/_sim/`` traffic is not recorded; no Authorization)."""

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
