"""Named points where the fault suite may kill the process with SIGKILL (like SQLite's crash tests).

Inert unless PIKABOT_CRASH_AT is set, e.g. "submit.sent" or "deliver.posted:3" (die at the third
time that point is reached). Every point sits right after one durable step and before the next, so
the tests can prove that a crash between any two steps loses and doubles nothing.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "job.stored",  # the row is committed and queued; the status message is not posted yet
    "place.posted",  # the status message (and thread) are posted; not recorded yet
    "submit.claimed",  # the slot is claimed (submitting); the POST has not left
    "submit.sent",  # upstream accepted the job; its id is not saved yet
    "callback.received",  # a callback arrived; it is not confirmed yet
    "download.streaming",  # part of the video is in a temporary file
    "download.done",  # the video is on disk; the job is not marked completed yet
    "complete.unplaced",  # the result is ready (completed) but its thread is not there yet
    "deliver.before",  # about to upload to Discord
    "deliver.posted",  # Discord accepted the post; its message id is not saved yet
)


def _parse(spec: str) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = item.partition(":")
        if name not in POINTS:
            raise ValueError(f"PIKABOT_CRASH_AT names an unknown point {name!r}; known: {', '.join(POINTS)}")
        wanted[name] = int(count or "1")
    return wanted


_WANTED = _parse(os.environ.get("PIKABOT_CRASH_AT", ""))
_HITS: dict[str, int] = {}


def crashpoint(name: str) -> None:
    """Die here with SIGKILL if the environment asks for it; otherwise do nothing."""
    if not _WANTED or name not in _WANTED:
        return
    _HITS[name] = _HITS.get(name, 0) + 1
    if _HITS[name] >= _WANTED[name]:
        os.kill(os.getpid(), signal.SIGKILL)
