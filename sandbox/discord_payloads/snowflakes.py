"""Snowflake ids that follow the emulated clock, and Discord's timestamp format."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

from sandbox.discord_payloads.constants import DISCORD_EPOCH_MS


class SnowflakeGen:
    """Monotonic snowflakes whose timestamp part follows the (emulated) clock."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._last = 0
        # The control API may be driven from another thread in the demo; ids must never repeat.
        self._lock = threading.Lock()

    def next(self, at: float) -> int:
        """A new id for an object created at ``at`` (Unix seconds), strictly above every earlier one."""
        with self._lock:
            ms = max(int(at * 1000) - DISCORD_EPOCH_MS, 0)
            candidate = (ms << 22) | (next(self._counter) & 0xFFF)
            self._last = max(candidate, self._last + 1)
            return self._last


def snowflake_time(snowflake: int) -> float:
    """Unix seconds encoded in a snowflake."""
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000


def iso(at: float) -> str:
    """ISO-8601 UTC timestamp as Discord writes it (microseconds, ``+00:00``)."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds")
