"""The result file name (type guards and URL checks live in ``sandbox.sim_common.values``)."""

from __future__ import annotations

from sandbox.apiglue_sim.constants import SLUG_RE


def video_filename(prompt: str) -> str:
    """The result file name as in seed 004: the prompt's words joined by ``_`` plus ``.mp4``."""
    slug = SLUG_RE.sub("_", prompt.lower()).strip("_")[:64].strip("_") or "pika"
    return f"{slug}.mp4"
