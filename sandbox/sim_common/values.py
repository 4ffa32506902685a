"""Type guards and text checks the simulators' request validation and fault knobs share."""

from __future__ import annotations

from typing import TypeGuard

from yarl import URL


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


def contains_any(text: str | None, words: tuple[str, ...]) -> str | None:
    """The first of ``words`` found in ``text`` (case-insensitive), or None."""
    if not text:
        return None
    lowered = text.lower()
    return next((w for w in words if w.lower() in lowered), None)
