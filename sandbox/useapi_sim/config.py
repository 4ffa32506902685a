"""What tests set: accounts, the simulator's static behaviour (``SimConfig``), its run-time fault
knobs (``SimFaults``), and the checks a knob value passes before it is changed at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.sim_common.values import is_int
from sandbox.useapi_sim.constants import DEFAULT_CHANNEL, DEFAULT_DISCORD


@dataclass
class SimAccount:
    """One configured Pika account (a Discord DM channel with the Pika bot)."""

    discord: str
    max_jobs: int = 10
    reply_url: str = ""


def _default_accounts() -> dict[str, SimAccount]:
    return {DEFAULT_CHANNEL: SimAccount(discord=DEFAULT_DISCORD, max_jobs=10)}


@dataclass
class SimConfig:
    """Static behaviour of the simulator; timings are in seconds."""

    api_token: str = "sim-token"  # noqa: S105 - fake token of a local stand-in
    expired_token: str = "sim-expired-token"  # noqa: S105 - fake token of a local stand-in
    accounts: dict[str, SimAccount] = field(default_factory=_default_accounts)
    moderated_words: tuple[str, ...] = ("forbidden",)
    job_started_delay: float = 0.05
    job_progress_delay: float = 0.1
    job_complete_delay: float = 0.2
    fail_words: tuple[str, ...] = ("explode",)
    public_base_url: str = ""
    attachment_ttl: float = 86_400.0
    callback_timeout: float = 5.0
    random_seed: int | None = None


@dataclass
class SimFaults:
    """Runtime fault knobs; all off by default. Tests flip them while the simulator runs."""

    submit_status: int | None = None
    submit_html_error: bool = False
    malformed_json: bool = False
    discord_429_submits: int = 0
    gateway_504_submits: int = 0
    delay_seconds: float = 0.0
    accept_then_delay: float = 0.0
    duplicate_callbacks: int = 0
    drop_callbacks: bool = False
    late_callback_delay: float = 0.0
    progress_callbacks: bool = False
    hold_jobs: bool = False
    huge_body: bool = False
    external_executing: dict[str, int] = field(default_factory=dict)
    expire_attachments: bool = False
    #: Submits to these account channels answer the given status (402: that account's Pika
    #: subscription lapsed; 401: its Discord token was revoked) instead of running.
    channel_status: dict[str, int] = field(default_factory=dict)
    #: GET pika/jobs (the executing list) answers this status instead of the list (e.g. 503).
    jobs_list_status: int | None = None


def coerce_fault(name: str, current: object, value: object) -> object:
    """Check a knob value against the knob's type (bool before int: bool is an int subclass)."""
    ok = False
    if name in ("submit_status", "jobs_list_status"):
        ok = value is None or (is_int(value) and 400 <= value <= 599)
    elif isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = is_int(value) and value >= 0
    elif isinstance(current, float):
        if (is_int(value) or isinstance(value, float)) and value >= 0:
            return float(value)
    elif isinstance(current, dict):
        ok = isinstance(value, dict) and all(isinstance(k, str) and is_int(v) for k, v in value.items())
        value = dict(value) if isinstance(value, dict) else value
    if not ok:
        raise ValueError(f"bad value {value!r} for fault knob {name!r}")
    return value


def acct_reply(account: SimAccount | None) -> str:
    return account.reply_url if account is not None else ""
