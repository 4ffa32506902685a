"""Waiting on the Discord emulator and SQLite in the bot's end-to-end tests: replies, results, jobs."""

from __future__ import annotations

import asyncio

from bot.domain.jobs import Job, JobState
from sandbox.discord_emu import EmuChannel, EmuInteraction, EmuMessage
from sandbox.stack import LocalStack


def emu_ids(stack: LocalStack) -> tuple[int, int]:
    config = stack.emulator.emu.config
    return config.text_channel_id, config.guild_id


async def result_in(stack: LocalStack, thread_id: int, *, timeout: float = 15) -> EmuMessage:
    """Wait for the video post (a message with an attachment) in a thread."""
    return await stack.emulator.emu.wait_for_message(
        lambda m: m.channel_id == thread_id and bool(m.attachments), timeout=timeout
    )


async def reply_of(stack: LocalStack, interaction: EmuInteraction, needle: str, timeout: float = 10) -> str:
    """Wait for an ephemeral reply containing `needle`; return all replies joined."""
    emu = stack.emulator.emu
    await emu.wait_for(
        lambda: any(needle in text for text in emu.ephemeral_replies(interaction)),
        timeout,
        f"reply {needle!r}",
    )
    return "\n".join(emu.ephemeral_replies(interaction))


async def held_job_in_thread(stack: LocalStack, prompt: str) -> EmuChannel:
    """Alice's /pika create, held upstream once it runs there; returns the job's new thread."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    stack.simulator.sim.faults.hold_jobs = True
    interaction = await emu.slash(101, channel_id, "pika", "create", {"prompt": prompt})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = [t for t in emu.threads(channel_id) if t.name == prompt]
    await emu.wait_for(lambda: bool(stack.simulator.sim.executing_jobids()), 10, "the job to start upstream")
    # Upstream runs it before the bot has read the submit answer: wait until its id is saved too.
    for _ in range(200):
        if any(j.prompt == prompt and j.state is JobState.RUNNING for j in await jobs(stack)):
            break
        await asyncio.sleep(0.02)
    return thread


async def jobs(stack: LocalStack) -> list[Job]:
    return await stack.bot.runtime.store.all_jobs()


async def settled(stack: LocalStack, timeout: float = 10) -> list[Job]:
    """Wait until every job has ended and its member was told (SQLite is the truth)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await jobs(stack)
        if found and all(j.terminal and j.notified for j in found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"jobs did not settle: {[(j.id, j.state.value) for j in found]}")
        await asyncio.sleep(0.02)
