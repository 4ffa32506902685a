"""What tests set: the simulator's static behaviour (``SimConfig``), its run-time fault knobs
(``SimFaults``), and the checks a knob value passes before it is changed at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sandbox.fal_sim.constants import DEFAULT_KEY, DEFAULT_USER_ID, ERROR_TYPES
from sandbox.sim_common.values import is_int, is_number


@dataclass
class SimConfig:
    """Static behaviour of the simulator; timings are in seconds."""

    #: The one valid ``Authorization: Key`` value.
    key: str = DEFAULT_KEY
    user_id: str = DEFAULT_USER_ID
    #: Requests IN_PROGRESS at once for the key (section 1.7: new accounts start at 2).
    concurrency: int = 2
    #: Minimum time a request stays IN_QUEUE before a free slot may take it.
    queue_delay: float = 0.02
    #: Time between two IN_PROGRESS log lines (one step per ``log_messages`` entry).
    step_delay: float = 0.1
    log_messages: tuple[str, ...] = ("Preparing inputs...", "Generating video...", "Encoding video...")
    #: A prompt containing one of these words (case-insensitive) fails with content_policy_violation.
    banned_words: tuple[str, ...] = ("forbidden",)
    #: Attempts the queue makes on ``runner_*`` failures before giving up (section 1.7).
    max_attempts: int = 10
    validate_at_submit: bool = True
    accept_string_duration: bool = False
    model_errors_on_status: bool = True
    cancel_running_finishes: bool = False
    #: How an accepted cancel answers: 202 CANCELLATION_REQUESTED, or 200 OK (both documented by fal).
    cancel_accepted_status: int = 202
    scenes_images: tuple[int, int] = (1, 5)
    frames_images: tuple[int, int] = (2, 5)
    max_transitions_total: int = 25
    max_transition_seconds: int = 25
    #: Fields a model's schema does not declare are refused (422 ``extra_forbidden``), so a client
    #: sending an option the model would silently drop is caught.
    refuse_unknown_fields: bool = True
    #: Webhook delivery: attempts per webhook, first backoff (doubling), per-attempt timeout.
    webhook_attempts: int = 4
    webhook_backoff: float = 0.05
    webhook_timeout: float = 5.0
    allow_external_webhooks: bool = False
    #: Timeout of the simulator's loopback image downloads.
    fetch_timeout: float = 5.0
    #: Lifetime of a storage token.
    token_ttl: float = 3600.0
    public_base_url: str = ""
    random_seed: int | None = None
    #: Webhook signing key; None means ``default_signing_key()`` (the contract's test vector).
    signing_key: Ed25519PrivateKey | None = field(default=None, repr=False)


@dataclass
class SimFaults:
    """Runtime fault knobs; all off by default. Tests flip them while the simulator runs."""

    #: Every authenticated route answers 403 "User is locked…" (exhausted balance).
    locked: bool = False
    #: Requests stay IN_QUEUE (even with free slots) until released or the knob is switched off.
    stuck_queued: bool = False
    #: Requests stay IN_PROGRESS after their first log line until released or the knob is off.
    hold_jobs: bool = False
    #: The next N submits answer a request error (flat body, ``X-Fal-Error-Type``); no job is made.
    submit_fail_next: int = 0
    submit_fail_error_type: str = "request_timeout"
    #: The next N run attempts fail with ``fail_error_type`` (``runner_*`` ones are retried inside).
    fail_next: int = 0
    fail_error_type: str = "runner_server_error"
    #: The next N jobs that would succeed complete with a clean status but a failing result.
    result_error_next: int = 0
    result_error_type: str = "no_media_generated"
    #: The next N queue/storage requests get an nginx HTML error without ``x-fal-request-id``.
    ingress_error_next: int = 0
    ingress_error_status: int = 503
    #: Queue API JSON answers are cut in half (same status).
    malformed_json: bool = False
    #: Every queue/storage request waits this long before anything else happens.
    delay_seconds: float = 0.0
    #: Submits create the request, then wait this long before answering.
    accept_then_delay: float = 0.0
    drop_webhooks: bool = False
    duplicate_webhooks: int = 0
    webhook_delay: float = 0.0
    #: Sign webhooks with a throw-away key instead of the served one.
    webhook_bad_signature: bool = False
    #: Seconds added to the webhook timestamp (e.g. -400 makes it stale).
    webhook_timestamp_skew: float = 0.0
    #: Webhooks carry ``payload: null`` plus ``payload_error`` (a non-serializable output).
    webhook_payload_error: bool = False
    #: ``GET /.well-known/jwks.json`` answers this HTTP status.
    jwks_status: int | None = None
    #: The JWKS ``x`` values keep their ``=`` padding (a 2026 test says the live JWKS pads).
    jwks_padded: bool = False
    #: Result and uploaded media answer 404.
    expire_media: bool = False


_STATUS_KNOBS: Final = frozenset({"jwks_status", "ingress_error_status"})


_ERROR_TYPE_KNOBS: Final = frozenset({"submit_fail_error_type", "fail_error_type", "result_error_type"})


def coerce_knob(name: str, current: object, value: object) -> object:
    """Check a knob value against the knob's type (bool before int: bool is an int subclass)."""
    if name == "cancel_accepted_status":
        if value in (200, 202) and is_int(value):
            return value
    elif name in _STATUS_KNOBS:
        if (value is None and name == "jwks_status") or (is_int(value) and 400 <= value <= 599):
            return value
    elif name in _ERROR_TYPE_KNOBS:
        if isinstance(value, str) and value in ERROR_TYPES:
            return value
    elif name == "random_seed":
        if value is None or is_int(value):
            return value
    elif isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, int):
        if is_int(value) and value >= 0:
            return value
    elif isinstance(current, float):
        if is_number(value) and (value >= 0 or name == "webhook_timestamp_skew"):
            return float(value)
    elif isinstance(current, str):
        if isinstance(value, str):
            return value
    elif isinstance(current, tuple) and isinstance(value, list | tuple):
        kinds = {type(item) for item in current} or {str}
        if all(type(item) in kinds for item in value):
            return tuple(value)
    raise ValueError(f"bad value {value!r} for {name!r}")
