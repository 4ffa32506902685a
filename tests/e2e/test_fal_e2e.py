"""fal.ai end to end: /pika create routed to fal, /pika scenes, cancel, restart, unconfigured routing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import RoutingSettings
from bot.domain.jobs import JobKind, JobState
from sandbox.demo import tiny_png
from sandbox.fal_sim import PIKAFRAMES, PIKASCENES, TEXT_TO_VIDEO, TURBO_TEXT_TO_VIDEO, RunningFalSimulator
from sandbox.fal_sim import SimConfig as FalConfig
from sandbox.stack import LocalStack
from tests.e2e.conftest import FAST_SIM, settle_all
from tests.e2e.test_guild_settings_e2e import admin
from tests.helpers.bot_e2e import emu_ids, jobs, reply_of, result_in
from tests.helpers.engine import FAST_POLICY
from tests.helpers.invariants import assert_invariants

FAST_FAL = FalConfig(queue_delay=0.02, step_delay=0.1)
TO_FAL = RoutingSettings(create="fal", animate="fal")


@pytest.fixture
async def fal_stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    """The e2e stack with [fal] configured against the fal simulator and create/animate routed to it."""
    running = await LocalStack.start(
        tmp_path,
        sim_config=FAST_SIM,
        fal=True,
        fal_config=FAST_FAL,
        apiglue=False,
        routing=TO_FAL,
        policy=FAST_POLICY,
        status_interval=0.2,
    )
    try:
        yield running
        fal(running).sim.faults.hold_jobs = False
        fal(running).sim.release_all()
        await settle_all(running, timeout=30)
        assert running.emulator.emu.violations == []
    finally:
        await running.stop()
    assert_invariants(Path(running.settings.database.path), running.emulator.emu, running.simulator.sim)


def fal(stack: LocalStack) -> RunningFalSimulator:
    assert stack.fal is not None
    return stack.fal


def submitted(stack: LocalStack, model: str) -> list[dict[str, object]]:
    return [r.arguments for r in fal(stack).sim.requests.values() if r.model_id == model]


async def test_create_routed_to_fal_posts_the_video_with_retry_and_its_price(fal_stack: LocalStack) -> None:
    """/pika create on fal.ai: a signed webhook, the video in the thread with Retry, the price shown."""
    stack = fal_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(
        101, channel_id, "pika", "create", {"prompt": "a red fox in snow", "aspect_ratio": "9:16", "seed": 42}
    )
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    video = await result_in(stack, thread.id, timeout=20)
    assert video.attachments[0].data[4:8] == b"ftyp"
    (job,) = await jobs(stack)
    assert job.provider == "fal" and job.cost_usd == pytest.approx(0.20)
    assert f"pika:retry:{job.id}" in video.custom_ids()
    assert video.embeds[0]["footer"]["text"] == f"job {job.id} · fal.ai · $0.20"
    (arguments,) = submitted(stack, TEXT_TO_VIDEO)
    assert arguments["prompt"] == "a red fox in snow" and arguments["aspect_ratio"] == "9:16"
    assert arguments["seed"] == 42
    hooks = fal(stack).sim.webhooks
    assert hooks and hooks[0].http_status == 200  # our server verified the Ed25519 signature


async def test_scenes_with_three_images(fal_stack: LocalStack) -> None:
    """/pika scenes: three images uploaded to fal storage, one pikascenes job, the video delivered."""
    stack = fal_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(
        102,
        channel_id,
        "pika",
        "scenes",
        {"prompt": "the cat and the hat at the beach"},
        attachments={
            "image1": ("cat.png", "image/png", tiny_png(16, 16)),
            "image2": ("hat.png", "image/png", tiny_png(12, 12)),
            "image3": ("beach.png", "image/png", tiny_png(10, 10)),
        },
    )
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    await result_in(stack, thread.id, timeout=20)
    (arguments,) = submitted(stack, PIKASCENES)
    urls = arguments["image_urls"]
    assert isinstance(urls, list) and len(urls) == 3
    assert all(isinstance(u, str) and u.startswith(fal(stack).base_url + "/files/") for u in urls)
    await settle_all(stack)
    (job,) = await jobs(stack)
    assert job.kind is JobKind.SCENES and job.state is JobState.DELIVERED


async def test_cancel_a_running_fal_job(fal_stack: LocalStack) -> None:
    """/pika cancel on a running fal job: PUT cancel_url, and the job ends cancelled with a notice."""
    stack = fal_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    fal(stack).sim.faults.hold_jobs = True
    await reply_of(
        stack, await emu.slash(101, channel_id, "pika", "create", {"prompt": "a slow tide"}), "Follow it in"
    )
    await emu.wait_for(lambda: bool(fal(stack).sim.running_ids()), 10, "the job to run at fal")
    (job,) = await jobs(stack)
    for _ in range(100):
        job = await stack.bot.runtime.store.get(job.id) or job
        if job.state is JobState.RUNNING:
            break
        await asyncio.sleep(0.05)
    answer = await emu.slash(101, channel_id, "pika", "cancel", {"job": job.id})
    await reply_of(stack, answer, "is cancelled")
    assert any(r.method == "PUT" and r.path.endswith("/cancel") for r in fal(stack).sim.recorded)
    stored = await stack.bot.runtime.store.get(job.id)
    assert stored is not None and stored.state is JobState.CANCELLED


async def test_fal_job_survives_a_restart(fal_stack: LocalStack) -> None:
    """The bot restarts while fal works; the job still ends with its video."""
    stack = fal_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    fal(stack).sim.faults.hold_jobs = True
    await reply_of(
        stack, await emu.slash(101, channel_id, "pika", "create", {"prompt": "a storm"}), "Follow it in"
    )
    (thread,) = emu.threads(channel_id)
    await emu.wait_for(lambda: bool(fal(stack).sim.running_ids()), 10, "the job to run at fal")
    await stack.restart_bot()
    fal(stack).sim.faults.hold_jobs = False
    fal(stack).sim.release_all()
    await result_in(stack, thread.id, timeout=20)


async def test_an_option_fal_would_ignore_is_refused(fal_stack: LocalStack) -> None:
    """motion means nothing to fal.ai: the member is told which option to remove; nothing is stored."""
    stack = fal_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    answer = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a fox", "motion": 3})
    text = await reply_of(stack, answer, "❌")
    assert "fal.ai does not take the `motion` option" in text
    flags = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a fox -gs 12"})
    assert "not Pika's `-flags`" in await reply_of(stack, flags, "❌")
    assert await jobs(stack) == [] and not fal(stack).sim.requests


async def test_routing_to_an_unconfigured_provider_says_so(tmp_path: Path) -> None:
    """create routed to fal without FAL_KEY: a private answer naming fal.ai and FAL_KEY; no job."""
    stack = await LocalStack.start(
        tmp_path, sim_config=FAST_SIM, apiglue=False, routing=TO_FAL, policy=FAST_POLICY, status_interval=0.2
    )
    try:
        emu = stack.emulator.emu
        channel_id, _ = emu_ids(stack)
        answer = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a fox"})
        text = await reply_of(stack, answer, "not set up")
        assert "fal.ai" in text and "FAL_KEY" in text
        scenes = await emu.slash(
            101,
            channel_id,
            "pika",
            "scenes",
            {"prompt": "p"},
            attachments={
                "image1": ("a.png", "image/png", tiny_png()),
                "image2": ("b.png", "image/png", tiny_png()),
            },
        )
        assert "FAL_KEY" in await reply_of(stack, scenes, "not set up")
        assert await jobs(stack) == []
    finally:
        await stack.stop()


def pika_option(stack: LocalStack, subcommand: str, name: str) -> dict[str, Any]:
    """One option of /pika <subcommand> as the bot registered it with Discord."""
    (pika,) = [c for cmds in stack.emulator.emu.commands.values() for c in cmds if c.get("name") == "pika"]
    sub = next(o for o in pika["options"] if o["name"] == subcommand)
    return next(o for o in sub["options"] if o["name"] == name)


async def test_the_model_option_lists_the_configured_models(fal_stack: LocalStack) -> None:
    """create and animate offer fal's configured models as choices and name the default."""
    for subcommand in ("create", "animate"):
        option = pika_option(fal_stack, subcommand, "model")
        assert [c["value"] for c in option["choices"]] == ["v2.2", "v2.1", "v2-turbo"]
        assert "(default v2.2)" in str(option["description"])
    assert "keyframe 2 to 3" in str(pika_option(fal_stack, "frames", "transition2")["description"])
    seconds = pika_option(fal_stack, "frames", "seconds1")
    assert (seconds["min_value"], seconds["max_value"]) == (1, 25)


async def test_create_on_a_chosen_model_shows_it_and_retry_keeps_it(fal_stack: LocalStack) -> None:
    """/pika create model:v2-turbo: turbo's endpoint, its price, the model on status and result; Retry
    runs on v2-turbo again."""
    stack = fal_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    interaction = await emu.slash(
        101, channel_id, "pika", "create", {"prompt": "a red fox", "model": "v2-turbo", "duration": 10}
    )
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    video = await result_in(stack, thread.id, timeout=20)
    (job,) = await jobs(stack)
    assert job.params.model == "v2-turbo" and job.cost_usd == pytest.approx(0.20)
    (arguments,) = submitted(stack, TURBO_TEXT_TO_VIDEO)
    assert arguments["duration"] == 10
    fields = {f["name"]: f["value"] for f in video.embeds[0]["fields"]}
    assert fields["Model"] == "`v2-turbo`"
    status = emu.messages[job.status_message_id or 0]
    assert {f["name"]: f["value"] for f in status.embeds[0]["fields"]}["Model"] == "`v2-turbo`"
    await reply_of(stack, await emu.click(101, video.id, f"pika:retry:{job.id}"), "✅")
    await emu.wait_for(lambda: len(submitted(stack, TURBO_TEXT_TO_VIDEO)) == 2, 20, "the retry at fal")
    retried = [j for j in await jobs(stack) if j.parent_id == job.id]
    assert retried and retried[0].params.model == "v2-turbo"


async def test_without_a_model_the_default_is_stored_and_shown(fal_stack: LocalStack) -> None:
    stack = fal_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    await reply_of(
        stack, await emu.slash(101, channel_id, "pika", "create", {"prompt": "a fox"}), "Follow it in"
    )
    await emu.wait_for(lambda: bool(submitted(stack, TEXT_TO_VIDEO)), 20, "the job at fal")
    (job,) = await jobs(stack)
    assert job.params.model == "v2.2"


async def test_what_a_model_cannot_take_is_refused_by_name(fal_stack: LocalStack) -> None:
    """animate on v2.1 with an aspect ratio: the member is told which option to remove; nothing is sent."""
    stack = fal_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    answer = await emu.slash(
        101,
        channel_id,
        "pika",
        "animate",
        {"prompt": "blink", "model": "v2.1", "aspect_ratio": "1:1"},
        attachments={"image": ("cat.png", "image/png", tiny_png())},
    )
    text = await reply_of(stack, answer, "❌")
    assert "v2.1 image-to-video takes its shape from the image; remove aspect_ratio" in text
    assert await jobs(stack) == [] and not fal(stack).sim.requests


async def test_the_model_option_is_refused_by_a_provider_without_models(tmp_path: Path) -> None:
    """create routed to useapi.net: picking a model is refused naming the option, as any option it lacks."""
    stack = await LocalStack.start(
        tmp_path,
        sim_config=FAST_SIM,
        fal=True,
        fal_config=FAST_FAL,
        apiglue=False,
        routing=RoutingSettings(create="useapi"),
        policy=FAST_POLICY,
        status_interval=0.2,
    )
    try:
        emu = stack.emulator.emu
        channel_id, _ = emu_ids(stack)
        answer = await emu.slash(101, channel_id, "pika", "create", {"prompt": "a fox", "model": "v2.1"})
        assert "does not take the `model` option" in await reply_of(stack, answer, "❌")
        assert await jobs(stack) == []
    finally:
        await stack.stop()


async def test_frames_with_per_transition_prompts_and_lengths(fal_stack: LocalStack) -> None:
    """/pika frames with transition and seconds options: fal gets transitions; priced by their length."""
    stack = fal_stack
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    frames = {f"frame{n}": (f"{n}.png", "image/png", tiny_png(8 + n, 8)) for n in (1, 2, 3)}
    beyond = await emu.slash(101, channel_id, "pika", "frames", {"seconds3": 4}, attachments=frames)
    assert "Attach `frame4`" in await reply_of(stack, beyond, "❌")
    answer = await emu.slash(
        101,
        channel_id,
        "pika",
        "frames",
        {"prompt": "a fox", "transition1": "the fox leaps", "seconds1": 3, "seconds2": 12},
        attachments=frames,
    )
    await reply_of(stack, answer, "Follow it in")
    (thread,) = emu.threads(channel_id)
    video = await result_in(stack, thread.id, timeout=20)
    (arguments,) = submitted(stack, PIKAFRAMES)
    assert arguments["transitions"] == [
        {"duration": 3, "prompt": "the fox leaps"},
        {"duration": 12, "prompt": None},
    ]
    (job,) = await jobs(stack)
    assert job.cost_usd == pytest.approx(0.60) and job.params.model == "v2.2"
    fields = {f["name"]: f["value"] for f in video.embeds[0]["fields"]}
    assert fields["Transitions"] == "1→2 · 3 s · the fox leaps\n2→3 · 12 s"
    await reply_of(stack, await admin(stack, ban_word="gore"), "banned word")
    banned = await emu.slash(
        101, channel_id, "pika", "frames", {"transition2": "lots of gore"}, attachments=frames
    )
    assert "“gore”" in await reply_of(stack, banned, "❌")
    too_long = await emu.slash(
        101, channel_id, "pika", "frames", {"seconds1": 20, "seconds2": 20}, attachments=frames
    )
    assert "add up to 40 s" in await reply_of(stack, too_long, "❌")
