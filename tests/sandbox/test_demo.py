"""`pikabot demo` runs the real bot against the Discord emulator and the upstream simulators."""

from __future__ import annotations

import io

import pytest

from bot.cli import build_parser
from sandbox.demo import main as demo_main
from sandbox.demo import run_demo, tiny_png


async def test_demo_runs_to_the_expected_outcomes() -> None:
    """The scripted session: three videos, a refused flag, a moderated prompt, a refused Retry; exit 0."""
    out = io.StringIO()
    assert await run_demo(out, speed=0.2) == 0
    text = out.getvalue()
    assert text.count("📎 ") == 4 and text.count("MP4)") == 4
    assert "job 5 · API Glue" in text and "[Retry] [Remix] [Extend +4s] [Upscale]" in text
    assert "unknown parameter -size" in text
    assert "refused by Pika's moderation" in text
    assert "Only @alice (or a moderator) can retry" in text
    assert "Follow it in #a red fox running through fresh snow" in text
    assert "demo finished: every job ended and its member was told; Discord's limits were kept" in text
    assert "emu-bot-token" not in text and "sim-token" not in text and "glue-token" not in text


def test_tiny_png_is_a_png() -> None:
    """The demo's generated image has a PNG signature and an IEND chunk."""
    data = tiny_png()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")


async def test_fal_demo_runs_create_and_scenes_on_fal() -> None:
    """`pikabot demo --provider fal`: /pika create (one on v2 turbo) and /pika scenes on the fal
    simulator, each priced and showing its model."""
    from sandbox.demo import run_fal_demo

    out = io.StringIO()
    assert await run_fal_demo(out, speed=0.2) == 0
    text = out.getvalue()
    assert "fal.ai does not take the `motion` option" in text
    assert text.count("📎 ") == 5 + 1 and "· fal.ai · $0.20" in text  # five videos and carol's cat.png
    assert "Apps → Animate with Pika" in text and "clicks [Remix]" in text and "[Remix]" in text
    assert "remix of job 1" in text and "your defaults: negative, resolution" in text
    assert 'model:"v2-turbo"' in text and "[Pika · create · v2-turbo: " in text  # a non-default model
    assert "[Pika · create · v2.2] job 1" in text
    assert "sim-key-secret" not in text


def test_make_demo_plays_both_sessions_by_default(capfd: pytest.CaptureFixture[str]) -> None:
    """`pikabot demo` (what `make demo` runs) plays the fal.ai session and then the useapi.net one,
    and exits 0 only when both ended as expected."""
    assert build_parser().parse_args(["demo"]).provider == "all"
    assert demo_main("all", speed=0.2) == 0
    text = capfd.readouterr().out
    fal = text.index("── fal.ai, the live route to Pika ──")
    useapi = text.index("── useapi.net and API Glue, kept to their documented contracts ──")
    assert fal < text.index("demo finished: every fal.ai job delivered") < useapi
    assert useapi < text.index("demo finished: every job ended and its member was told")
