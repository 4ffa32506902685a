"""The provider interface: a typed request goes up, a typed snapshot of the upstream job comes back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from bot.domain.jobs import InputFile, JobKind, JobRequest
from bot.domain.params import ParamName, VideoParams
from bot.domain.prompt import PikaOptions


class UpstreamStatus(StrEnum):
    """The upstream job's state, reduced to what the engine acts on."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    MODERATED = "moderated"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class UpstreamVideo:
    """Where the finished video can be downloaded (the URL expires: fetch it promptly)."""

    url: str
    filename: str | None = None
    size: int | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class UpstreamJob:
    """A snapshot of one upstream job."""

    upstream_id: str
    status: UpstreamStatus
    progress: str | None = None
    video: UpstreamVideo | None = None
    error: str | None = None
    error_details: str | None = None
    reply_ref: str | None = None
    seed: int | None = None
    handle: str | None = None  # provider-opaque, stored with the job and given back to fetch/cancel
    queue_position: int | None = None  # upstream's own queue position, when it reports one


@dataclass(frozen=True)
class Account:
    """One upstream account and its concurrency (useapi.net `channel` / `maxJobs`)."""

    name: str
    channel: str | None
    max_jobs: int
    provider: str = "useapi"


@dataclass(frozen=True)
class SubmitRequest:
    """Everything a provider needs to start one upstream job."""

    job_id: int
    kind: JobKind
    prompt: str
    options: PikaOptions
    account: Account
    reply_ref: str
    reply_url: str | None = None
    message_text: str | None = None
    font: str | None = None
    inputs: tuple[InputFile, ...] = ()
    parent_upstream_id: str | None = None  # RETRY: the finished upstream job whose button is pressed
    params: VideoParams = field(default_factory=VideoParams)
    parent_video_url: str | None = None  # EXTEND/UPSCALE: the finished video to start from


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do: the job kinds it runs and the typed options it honours.

    The Discord layer refuses an option the routed provider would ignore, naming the provider,
    and the engine refuses a kind the provider does not run; neither special-cases a provider.
    """

    kinds: frozenset[JobKind]
    params: frozenset[ParamName] = frozenset()
    prompt_flags: bool = False  # options travel as Pika's inline flags (useapi.net)
    progress_percent: bool = False  # `UpstreamJob.progress` is a 0-100 percentage
    image_urls: bool = False  # images travel as URLs (the member's upload on Discord's CDN)
    follow_ups: frozenset[JobKind] = frozenset()  # buttons offered on a finished video (extend, upscale)
    # One request lists every job the upstream still runs (ListsExecuting): with callbacks on, the
    # engine finds lost callbacks from that list instead of polling each job.
    lists_executing: bool = False


@dataclass
class ProviderHealth:
    """What /healthz and admins see about an upstream: last success and last error (no secrets)."""

    last_ok_at: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None


class ErrorKind(StrEnum):
    """Every documented (and undocumented) way an upstream call can go wrong, typed."""

    INVALID_REQUEST = "invalid_request"  # 400: our request is wrong; resending will not help
    UNAUTHORIZED = "unauthorized"  # 401: the API token is wrong
    PAYMENT_REQUIRED = "payment_required"  # 402: the subscription lapsed
    MODERATED = "moderated"  # 422: Pika refused the prompt or a parameter
    ACCOUNT_FULL = "account_full"  # 429 with executingJobs: wait for a slot
    RATE_LIMITED = "rate_limited"  # 429 without it: Discord throttled useapi; wait retry_after
    OVERLOADED = "overloaded"  # 504: useapi's queue overflowed; back off minutes
    TRANSIENT = "transient"  # 5xx, connection refused, malformed answer: try again later
    AMBIGUOUS = "ambiguous"  # the request may have been acted on (timeout after sending)
    NOT_FOUND = "not_found"  # 404: no such upstream job


# Not frozen: contextlib and asyncio assign __traceback__ on exceptions, which a frozen one refuses.
@dataclass(eq=False)
class UpstreamError(Exception):
    """An upstream call failed; `kind` says what the engine should do about it."""

    kind: ErrorKind
    message: str
    details: str | None = None
    status: int | None = None
    retry_after: float | None = None
    executing_jobs: tuple[str, ...] = ()
    upstream_id: str | None = None

    def __str__(self) -> str:
        text = f"{self.kind.value}: {self.message}"
        return f"{text} ({self.details})" if self.details else text


class Provider(Protocol):
    """One upstream API. Implementations live beside this module, one per upstream."""

    name: str
    display_name: str  # how members and admins see the upstream named, e.g. "useapi.net"
    retries_upstream: bool  # True: a Retry of a finished job is sent as the upstream's own retry
    capabilities: Capabilities
    health: ProviderHealth

    def check(self, request: JobRequest) -> None:
        """Raise a user-facing error (PromptError) if the request cannot be sent as it is."""
        ...

    async def submit(self, request: SubmitRequest) -> UpstreamJob:
        """Start an upstream job; raises UpstreamError."""
        ...

    async def fetch(self, upstream_id: str, handle: str | None = None) -> UpstreamJob:
        """The upstream job's current state; raises UpstreamError."""
        ...

    async def cancel(self, upstream_id: str, handle: str | None = None) -> None:
        """Ask upstream to stop a running job; raises UpstreamError."""
        ...

    async def find_by_ref(self, reply_ref: str) -> UpstreamJob | None:
        """Find a job we may have started (lost submit answer) by our reference; None if absent."""
        ...

    def price_usd(self, request: JobRequest) -> float | None:
        """What the upstream charges for this request in USD, when it publishes prices; else None."""
        ...

    async def authenticate_callback(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """None if the callback may be from upstream; else why it is refused (fal signs its webhooks).

        The per-job URL capability is checked before this; a provider that signs adds its check here.
        """
        ...

    def callback_upstream_id(self, body: Mapping[str, object]) -> str | None:
        """The upstream job id a callback body names: only a hint, always confirmed with fetch()."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class ListsExecuting(Protocol):
    """A provider that can list, in one request, the upstream jobs it is still running."""

    async def executing(self) -> tuple[str, ...]:
        """The upstream ids of every job still running under our credentials; raises UpstreamError."""
        ...


def executing_lister(provider: Provider) -> ListsExecuting | None:
    """The provider as a ListsExecuting when it declares `lists_executing` and has the method."""
    if provider.capabilities.lists_executing and isinstance(provider, ListsExecuting):
        return provider
    return None
