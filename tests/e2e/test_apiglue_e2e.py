"""/pika generate end to end: the real bot, the Discord emulator and the API Glue simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.jobs import JobKind, JobState
from sandbox.apiglue_sim import RunningGlueSimulator
from sandbox.apiglue_sim import SimConfig as GlueConfig
from sandbox.demo import tiny_png
from sandbox.stack import LocalStack
from tests.e2e.conftest import FAST_SIM, settle_all
from tests.helpers.bot_e2e import emu_ids, jobs, reply_of, result_in
from tests.helpers.engine import FAST_POLICY
from tests.helpers.invariants import assert_invariants

FAST_GLUE = GlueConfig(queued_delay=0.05, progress_delay=0.1, progress_steps=(40, 80))


@pytest.fixture
async def glue_stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    """The e2e stack with [apiglue] configured against the API Glue simulator."""
    running = await LocalStack.start(
        tmp_path, sim_config=FAST_SIM, glue_config=FAST_GLUE, policy=FAST_POLICY, status_interval=0.2
    )
    try:
        yield running
        glue(running).sim.faults.hold_jobs = False
        glue(running).sim.release_all()
        await settle_all(running)
        assert running.emulator.emu.violations == []
    finally:
        await running.stop()
    assert_invariants(Path(running.settings.database.path), running.emulator.emu, running.simulator.sim)


def glue(stack: LocalStack) -> RunningGlueSimulator:
    assert stack.glue is not None
    return stack.glue


def glue_posts(stack: LocalStack, path: str) -> list[dict[str, object]]:
    bodies = [r.body for r in glue(stack).sim.requests if r.method == "POST" and r.path == path]
    return [b for b in bodies if isinstance(b, dict)]


async def test_generate_shows_progress_then_video_with_three_buttons(glue_stack: LocalStack) -> None:
    """Typed options reach API Glue as JSON, the status shows a progress bar, the result has 3 buttons."""
    stack = glue_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    glue(stack).sim.faults.hold_jobs = True
    glue(stack).sim.faults.progress_callbacks = True
    png = tiny_png(16, 16)
    interaction = await emu.slash(
        101,
        channel_id,
        "pika",
        "generate",
        {
            "prompt": "a paper boat on a river",
            "fps": 12,
            "motion": 3,
            "guidance": 20,
            "pan": "right",
            "zoom": "in",
        },
        attachments={"image": ("boat.png", "image/png", png)},
    )
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    await emu.wait_for(lambda: "40%" in str(emu.messages[thread.id].embeds), 10, "a progress bar at 40%")
    assert "▰▰▰▰▱▱▱▱▱▱ 40%" in str(emu.messages[thread.id].embeds)
    (body,) = glue_posts(stack, "/web/generate")
    options = body["options"]
    assert isinstance(options, dict)
    assert options["frameRate"] == 12 and options["camera"] == {"pan": "right", "zoom": "in"}
    assert options["parameters"] == {"motion": 3, "guidanceScale": 20} or (
        isinstance(options["parameters"], dict)
        and options["parameters"]["motion"] == 3
        and options["parameters"]["guidanceScale"] == 20
    )
    assert isinstance(body["image"], str) and body["image"].startswith("http://127.0.0.1:")
    assert "/cdn/attachments/" in body["image"]
    (job,) = await jobs(stack)
    assert body["ref"] and str(job.id) in str(body["ref"])
    glue(stack).sim.faults.hold_jobs = False
    glue(stack).sim.release_all()
    video = await result_in(stack, thread.id)
    assert video.attachments[0].data[4:8] == b"ftyp"
    assert video.custom_ids() == [
        f"pika:retry:{job.id}",
        f"pika:remix:{job.id}",
        f"pika:extend:{job.id}",
        f"pika:upscale:{job.id}",
        f"pika:delete:{job.id}",
    ]
    fields = {f["name"]: f["value"] for f in video.embeds[0]["fields"]}
    assert "fps 12" in fields["Parameters"] and "pan right" in fields["Parameters"]


async def test_extend_and_upscale_make_new_jobs_in_the_same_thread(glue_stack: LocalStack) -> None:
    """Extend +4s and Upscale start follow-up jobs from the finished video, posting in its thread."""
    stack = glue_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(101, channel_id, "pika", "generate", {"prompt": "a lantern festival"})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    first = await result_in(stack, thread.id)
    (job,) = await jobs(stack)
    stranger = await emu.click(103, first.id, f"pika:extend:{job.id}")
    await reply_of(stack, stranger, "Only <@101>")
    assert not glue_posts(stack, "/web/extend")
    extend = await emu.click(101, first.id, f"pika:extend:{job.id}")
    await reply_of(stack, extend, "Follow it in")
    upscale = await emu.click(101, first.id, f"pika:upscale:{job.id}")
    await reply_of(stack, upscale, "Follow it in")
    seen = {first.id}
    for _ in range(2):
        post = await emu.wait_for_message(
            lambda m: m.channel_id == thread.id and bool(m.attachments) and m.id not in seen, timeout=15
        )
        seen.add(post.id)
    assert emu.threads(channel_id) == [thread]
    all_jobs = await jobs(stack)
    kinds = {j.kind: j for j in all_jobs}
    assert kinds[JobKind.EXTEND].parent_id == job.id and kinds[JobKind.UPSCALE].parent_id == job.id
    (extend_body,) = glue_posts(stack, "/web/extend")
    (upscale_body,) = glue_posts(stack, "/web/upscale")
    stored = await stack.bot.runtime.store.get(job.id)
    assert stored is not None and stored.video is not None
    assert extend_body["video"] == stored.video.source_url == upscale_body["video"]
    assert extend_body["promptText"] == "a lantern festival"


async def test_generate_survives_a_restart_mid_job(glue_stack: LocalStack) -> None:
    """The bot restarts while API Glue works; the job still ends with its video in the thread."""
    stack = glue_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    glue(stack).sim.faults.hold_jobs = True
    interaction = await emu.slash(101, channel_id, "pika", "generate", {"prompt": "a clock tower at dusk"})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    await emu.wait_for(lambda: bool(glue(stack).sim.executing_job_ids()), 10, "the job to start upstream")
    await stack.restart_bot()
    glue(stack).sim.faults.hold_jobs = False
    glue(stack).sim.release_all()
    await result_in(stack, thread.id, timeout=20)
    (job,) = await jobs(stack)
    for _ in range(100):
        job = await stack.bot.runtime.store.get(job.id) or job
        if job.state is JobState.DELIVERED:
            break
        await asyncio.sleep(0.05)
    assert job.state is JobState.DELIVERED


async def test_generate_without_apiglue_says_it_is_not_set_up(tmp_path: Path) -> None:
    """No APIGLUE_TOKEN: /pika generate answers privately that the provider is not set up; nothing stored."""
    stack = await LocalStack.start(
        tmp_path, sim_config=FAST_SIM, policy=FAST_POLICY, status_interval=0.2, apiglue=False
    )
    try:
        emu = stack.emulator.emu
        channel_id, _ = emu_ids(stack)
        interaction = await emu.slash(101, channel_id, "pika", "generate", {"prompt": "a quiet lake"})
        reply = await reply_of(stack, interaction, "not set up")
        assert "API Glue" in reply and "APIGLUE_TOKEN" in reply
        assert await jobs(stack) == []
    finally:
        await stack.stop()
