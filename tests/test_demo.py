"""`pikabot demo` runs the real engine against the simulator and narrates the session."""

from __future__ import annotations

import io

from bot.demo import run_demo, tiny_png


async def test_demo_runs_to_the_expected_outcomes() -> None:
    """The scripted session ends with four videos, one moderated and one cancelled job, exit 0."""
    out = io.StringIO()
    assert await run_demo(out, speed=0.2) == 0
    text = out.getvalue()
    assert text.count("✔ video posted in the thread") == 4
    assert "✖ moderated" in text and "✖ cancelled" in text
    assert "unknown parameter -size" in text
    assert "demo finished: every job ended and its member was told" in text
    assert "sim-token" not in text


def test_tiny_png_is_a_png() -> None:
    """The demo's generated image has a PNG signature and an IEND chunk."""
    data = tiny_png()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
