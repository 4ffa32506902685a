"""The job model: states, legal transitions and the Job record. Pure: no I/O, no Discord."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.params import VideoParams
from bot.domain.prompt import PikaOptions


class JobState(StrEnum):
    """Where a job is in its life; see docs/reliability.md "Job states"."""

    QUEUED = "queued"
    SUBMITTING = "submitting"
    RUNNING = "running"
    COMPLETED = "completed"
    DELIVERED = "delivered"
    FAILED = "failed"
    MODERATED = "moderated"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        """True once nothing more can happen to the job."""
        return self in TERMINAL_STATES

    @property
    def active_upstream(self) -> bool:
        """True while the job may hold one of the account's upstream slots."""
        return self in (JobState.SUBMITTING, JobState.RUNNING)


TERMINAL_STATES = frozenset(
    {JobState.DELIVERED, JobState.FAILED, JobState.MODERATED, JobState.CANCELLED, JobState.EXPIRED}
)

# The only moves a job may make. SUBMITTING -> QUEUED exists because an upstream that answers
# "busy" (429) or "try later" (5xx before anything was created) sends the job back to wait;
# nothing else ever moves backwards.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.SUBMITTING, JobState.FAILED, JobState.CANCELLED, JobState.EXPIRED}),
    JobState.SUBMITTING: frozenset(
        {
            JobState.QUEUED,
            JobState.RUNNING,
            JobState.FAILED,
            JobState.MODERATED,
            JobState.CANCELLED,
            JobState.EXPIRED,
        }
    ),
    JobState.RUNNING: frozenset(
        {JobState.COMPLETED, JobState.FAILED, JobState.MODERATED, JobState.CANCELLED, JobState.EXPIRED}
    ),
    JobState.COMPLETED: frozenset({JobState.DELIVERED, JobState.FAILED}),
    JobState.DELIVERED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.MODERATED: frozenset(),
    JobState.CANCELLED: frozenset(),
    JobState.EXPIRED: frozenset(),
}


def can_transition(current: JobState, target: JobState) -> bool:
    """Whether a job in `current` may move to `target`."""
    return target in TRANSITIONS[current]


def predecessors(target: JobState) -> frozenset[JobState]:
    """Every state from which `target` can be reached in one move."""
    return frozenset(state for state, nexts in TRANSITIONS.items() if target in nexts)


class IllegalTransition(Exception):
    """A transition the state machine forbids was asked for."""

    def __init__(self, job_id: int, current: JobState | None, target: JobState) -> None:
        super().__init__(f"job {job_id}: cannot move from {current} to {target}")
        self.job_id = job_id
        self.current = current
        self.target = target


class JobKind(StrEnum):
    """Which upstream command a job runs."""

    CREATE = "create"
    ANIMATE = "animate"
    ENCRYPT_TEXT = "encrypt_text"
    ENCRYPT_IMAGE = "encrypt_image"
    RETRY = "retry"
    GENERATE = "generate"  # API Glue's web generate: typed options, optional image URL
    EXTEND = "extend"  # +4 s from a finished video (API Glue)
    UPSCALE = "upscale"  # a finished video, upscaled (API Glue)
    SCENES = "scenes"  # fal.ai pikascenes: 2-5 images combined
    FRAMES = "frames"  # fal.ai pikaframes: 2-5 keyframes

    @property
    def follow_up(self) -> bool:
        """True for kinds made from a finished video of another job (the parent)."""
        return self in (JobKind.EXTEND, JobKind.UPSCALE)


@dataclass(frozen=True)
class InputFile:
    """An image the member attached; the bytes live in SQLite so a queued job survives a restart."""

    form_field: str  # upstream form field: "image" or "message" (scenes/frames: "image_1".."image_5")
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    url: str | None = None  # where the member's upload lives (Discord's CDN), for URL-taking upstreams

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass(frozen=True)
class Origin:
    """Where a job came from in Discord, so its result can go back there."""

    guild_id: int | None
    channel_id: int
    thread_id: int | None = None
    interaction_id: int | None = None
    upload_limit: int | None = None  # bytes; the interaction's attachment_size_limit


@dataclass(frozen=True)
class JobRequest:
    """What a member asked for; the service turns it into a stored job."""

    kind: JobKind
    owner_id: int
    origin: Origin
    prompt: str = ""
    options: PikaOptions = field(default_factory=PikaOptions)
    message_text: str | None = None  # encrypt_text's hidden message
    font: str | None = None  # encrypt_text's font
    inputs: tuple[InputFile, ...] = ()
    provider: str = "useapi"
    params: VideoParams = field(default_factory=VideoParams)  # typed options (API Glue, fal.ai)
    cost_usd: float | None = None  # the upstream's price for this request, when it publishes one
    defaulted: frozenset[str] = frozenset()  # option names taken from the member's /pika defaults
    ping: bool = True  # whether the result and notice mention the member (their /pika defaults)
    remix: bool = False  # a member's changed copy of its parent (Remix), not a retry


@dataclass(frozen=True)
class VideoResult:
    """The finished video as stored for delivery."""

    path: str
    size: int
    filename: str
    content_type: str
    source_url: str
    seed: int | None = None


@dataclass(frozen=True)
class Job:
    """One row of the jobs table, typed."""

    id: int
    provider: str
    kind: JobKind
    state: JobState
    owner_id: int
    origin: Origin
    prompt: str
    options: PikaOptions
    message_text: str | None
    font: str | None
    parent_id: int | None
    account: str | None
    upstream_id: str | None
    attempts: int
    next_attempt_at: float
    progress: str | None
    error_code: str | None
    error_message: str | None
    video: VideoResult | None
    delivered_message_id: int | None
    delivery_attempts: int
    notified: bool
    created_at: float
    updated_at: float
    submitted_at: float | None
    finished_at: float | None
    status_message_id: int | None = None
    params: VideoParams = field(default_factory=VideoParams)
    upstream_handle: str | None = None  # provider-opaque data about the upstream job (fal's URLs)
    cost_usd: float | None = None
    placed: bool = True  # its status message and thread exist (or were given up on); results wait for it
    callback_hint: str | None = None  # an upstream id a callback named while it was being submitted
    defaulted: frozenset[str] = frozenset()  # option names taken from the member's /pika defaults
    ping: bool = True  # whether the result and notice mention the member
    remix: bool = False  # made by Remix from its parent
    place_tried_at: float | None = (
        None  # when its status message was last sent for (placing may be cut short)
    )

    @property
    def terminal(self) -> bool:
        """True once nothing more can happen to the job."""
        return self.state.terminal

    @property
    def needs_notice(self) -> bool:
        """A terminal failure whose member has not been told yet."""
        return self.state.terminal and self.state is not JobState.DELIVERED and not self.notified
