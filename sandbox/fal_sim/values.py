"""Small pure helpers: fal's word check, timestamps, loopback URLs and names (the shared type guards
live in ``sandbox.sim_common.values``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from yarl import URL

from sandbox.fal_sim.constants import LOOPBACK_HOSTS, NAME_RE


def contains_any(text: object, words: Sequence[str]) -> bool:
    if not isinstance(text, str) or not text:
        return False
    lowered = text.lower()
    return any(w.lower() in lowered for w in words if w)


def iso_ms(ts: float) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, as fal's log timestamps."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def is_loopback(url: str) -> bool:
    try:
        return URL(url).host in LOOPBACK_HOSTS
    except ValueError:
        return False


def enum_expected(options: Sequence[object]) -> str:
    """Pydantic's enum wording: ``'a', 'b' or 'c'`` (ints bare)."""
    parts = [repr(o) if isinstance(o, str) else str(o) for o in options]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"


def safe_name(name: str) -> str:
    return NAME_RE.sub("_", name).strip("._")[:80] or "file"


def is_image_type(content_type: str | None) -> bool:
    return content_type is not None and (
        content_type.startswith("image/") or content_type == "application/octet-stream"
    )
