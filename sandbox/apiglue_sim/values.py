"""Small pure helpers: type guards, URL checks and the result file name."""

from __future__ import annotations

from typing import TypeGuard

from yarl import URL

from sandbox.apiglue_sim.constants import SLUG_RE


def video_filename(prompt: str) -> str:
    """The result file name as in seed 004: the prompt's words joined by ``_`` plus ``.mp4``."""
    slug = SLUG_RE.sub("_", prompt.lower()).strip("_")[:64].strip("_") or "pika"
    return f"{slug}.mp4"


def contains_any(text: str | None, words: tuple[str, ...]) -> str | None:
    """The first of ``words`` found in ``text`` (case-insensitive), or None."""
    if not text:
        return None
    lowered = text.lower()
    return next((w for w in words if w.lower() in lowered), None)


def is_int(value: object) -> TypeGuard[int]:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[int | float]:
    """An int (not a bool) or a float."""
    return is_int(value) or isinstance(value, float)


def is_http_url(value: object) -> TypeGuard[str]:
    """A string that parses as an http(s) URL with a host."""
    if not isinstance(value, str):
        return False
    try:
        url = URL(value)
    except ValueError:
        return False
    return url.scheme in ("http", "https") and bool(url.host)
