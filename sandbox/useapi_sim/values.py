"""Small pure helpers: timestamps, token masking, prompt flags and file names."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sandbox.useapi_sim.constants import FLAG_RE


def iso_ms(dt: datetime) -> str:
    """Format as useapi's ``created``/``updated``: ``YYYY-MM-DDTHH:mm:ss.sssZ``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_discord(dt: datetime) -> str:
    """Format as a Discord message ``timestamp``: microseconds and ``+00:00``."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def mask_discord(token: str) -> str:
    """Mask a Discord token the way useapi does: first 3 + ``…secured…`` + last 3 characters."""
    return f"{token[:3]}…secured…{token[-3:]}"


def prompt_flags(prompt: str) -> list[str]:
    """Names of the ``-flag`` parameters appended to a Pika prompt, lower-cased, in order."""
    return [m.group(1).lower() for m in FLAG_RE.finditer(prompt)]


def unknown_flags(prompt: str, allowed: frozenset[str]) -> list[str]:
    """Flags Pika would reject with "Unrecognized parameter(s)", without duplicates."""
    seen: list[str] = []
    for name in prompt_flags(prompt):
        if name not in allowed and name not in seen:
            seen.append(name)
    return seen


def video_filename(prompt: str | None, seed: int) -> str:
    """Pika's result file name: the prompt words (flags stripped) joined by ``_`` plus ``_seed<N>``."""
    text = prompt or ""
    first_flag = FLAG_RE.search(text)
    if first_flag is not None:
        text = text[: first_flag.start()]
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:64].strip("_") or "pika"
    return f"{slug}_seed{seed}.mp4"


def utc_now() -> datetime:
    return datetime.now(UTC)
