"""What tests set: the simulator's static behaviour (``SimConfig``), its run-time fault knobs
(``SimFaults``), and the checks a knob value passes before it is changed at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.apiglue_sim.constants import DEFAULT_ACCOUNT_ID, DEFAULT_USER_ID
from sandbox.apiglue_sim.records import VideoStatus
from sandbox.sim_common.values import is_int, is_number


@dataclass
class SimConfig:
    """Static behaviour of the simulator; timings are in seconds."""

    api_token: str = "glue-token"  # noqa: S105 - fake token of a local stand-in
    expired_token: str = "glue-expired-token"  # noqa: S105 - fake token of a local stand-in
    account_id: str = DEFAULT_ACCOUNT_ID
    user_id: str = DEFAULT_USER_ID
    moderated_words: tuple[str, ...] = ("forbidden",)
    fail_words: tuple[str, ...] = ("explode",)
    #: The status a fail-word video ends with: ``error`` or ``failed``.
    fail_status: VideoStatus = VideoStatus.ERROR
    #: More than this many queued/pending videos on the account answers 429.
    max_concurrent: int = 10
    #: Time a new video stays ``queued`` before it turns ``pending``.
    queued_delay: float = 0.05
    #: Time between two progress steps, and from the last step to the end.
    progress_delay: float = 0.05
    #: ``videos[].progress`` values while ``pending``; the end is always 100 (finished).
    progress_steps: tuple[int, ...] = (0, 20, 45, 70, 90)
    public_base_url: str = ""
    #: Timeout of the simulator's own HTTP calls (webhooks and loopback image fetches).
    callback_timeout: float = 5.0
    submit_created_at_empty: bool = True
    random_seed: int | None = None


@dataclass
class SimFaults:
    """Runtime fault knobs; all off by default. Tests flip them while the simulator runs."""

    #: Submits (generate/extend/upscale) answer this HTTP status with a JSON error; no job is made.
    submit_status: int | None = None
    #: ``GET /web/jobs/{id}`` answers this HTTP status with a JSON error.
    poll_status: int | None = None
    #: Every ``/web/`` route answers a Cloudflare-like 502 HTML page.
    html_error: bool = False
    #: Every ``/web/`` answer becomes a truncated JSON body with status 200.
    malformed_json: bool = False
    #: The next N ``/web/`` requests answer 429 (counts down).
    rate_limit_next: int = 0
    #: Every ``/web/`` request waits this long before anything else happens.
    delay_seconds: float = 0.0
    #: Submits create the job, then wait this long before answering.
    accept_then_delay: float = 0.0
    duplicate_callbacks: int = 0
    drop_callbacks: bool = False
    late_callback_delay: float = 0.0
    #: Also POST a webhook on every pending progress step.
    progress_callbacks: bool = False
    #: Videos stay ``pending`` (at the first progress step) until released or the knob is switched off.
    hold_jobs: bool = False
    #: Videos stay ``queued`` until released or the knob is switched off.
    stuck_queued: bool = False
    #: While pending, report this status string instead (clients must treat unknown as running).
    running_status: str | None = None
    #: ``GET /web/jobs/{id}`` adds 5 MiB of padding to its answer.
    huge_body: bool = False
    #: Result media (video, poster, thumbnail) answer 404.
    expire_results: bool = False


def coerce_fault(name: str, current: object, value: object) -> object:
    """Check a knob value against the knob's type (bool before int: bool is an int subclass)."""
    ok = False
    if name in ("submit_status", "poll_status"):
        ok = value is None or (is_int(value) and 400 <= value <= 599)
    elif name == "running_status":
        ok = value is None or (isinstance(value, str) and bool(value))
    elif isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = is_int(value) and value >= 0
    elif isinstance(current, float) and is_number(value) and value >= 0:
        return float(value)
    if not ok:
        raise ValueError(f"bad value {value!r} for fault knob {name!r}")
    return value
