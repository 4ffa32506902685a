"""A sharded pikabot posts for jobs of guilds another process holds: REST, never the guild cache.

The bot here holds shard 1 of 2 (the emulator's own guild); the second guild is on shard 0, so
discord.py never caches it. Placing a job there (status message, thread), editing its status and
posting its result and a notice must all work as in a cached guild: with several processes, any of
them may finish a job whose command another one received.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import discord
import pytest
import yarl
from pydantic import SecretStr

from bot.config import DatabaseSettings, DiscordSettings, Settings
from bot.discord.app import PikaBot, ShardedPikaBot, create_bot
from bot.domain.jobs import JobState, Origin, VideoResult
from sandbox.discord_emu import EmuConfig, EmuGuild, RunningEmulator, shard_of, start_emulator
from tests.discord.test_render import job

GUILD_A = EmuConfig.guild_id  # shard 1 of 2: this process's
GUILD_B = GUILD_A + (1 << 22)  # shard 0 of 2: another process's
CHANNEL_B = 900000000000000210
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(2000)


@pytest.fixture
async def shard_one(tmp_path: Path) -> AsyncIterator[tuple[RunningEmulator, PikaBot]]:
    """The emulator with both guilds, and a PikaBot (no engine) connected as shard 1 of 2."""
    emulator = await start_emulator(EmuConfig(extra_guilds=(EmuGuild(GUILD_B, "Second", CHANNEL_B),)))
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = emulator.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emulator.gateway_url)
    settings = Settings(
        discord=DiscordSettings(
            token=SecretStr(emulator.emu.config.bot_token), shard_count=2, shard_ids=(1,)
        ),
        database=DatabaseSettings(path=str(tmp_path / "unused.sqlite3")),
    )
    bot = create_bot(settings, engine=False, status_interval=0.05, guild_ready_timeout=0.2)
    task = asyncio.create_task(bot.start(emulator.emu.config.bot_token))
    try:
        await emulator.emu.wait_ready(shard=1, timeout=15)
        await asyncio.wait_for(bot.wait_until_ready(), 15)
        yield emulator, bot
    finally:
        await bot.close()
        await asyncio.gather(task, return_exceptions=True)
        await emulator.close()
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def test_a_job_of_an_uncached_guild_is_placed_edited_and_delivered(
    shard_one: tuple[RunningEmulator, PikaBot], tmp_path: Path
) -> None:
    emulator, bot = shard_one
    emu = emulator.emu
    assert isinstance(bot, ShardedPikaBot) and (shard_of(GUILD_A, 2), shard_of(GUILD_B, 2)) == (1, 0)
    assert bot.get_guild(GUILD_A) is not None and bot.get_guild(GUILD_B) is None
    queued = job(id=7, origin=Origin(guild_id=GUILD_B, channel_id=CHANNEL_B), state=JobState.QUEUED)

    placement = await bot.delivery.place_job(queued, 1, None)
    (thread,) = emu.threads(CHANNEL_B)
    assert placement.thread_id == thread.id == placement.status_message_id
    assert thread.guild_id == GUILD_B and thread.name == "a red fox"

    placed = replace(
        queued,
        origin=replace(queued.origin, thread_id=thread.id),
        status_message_id=placement.status_message_id,
        state=JobState.RUNNING,
    )
    await bot.delivery.job_changed(placed, None)
    status = emu.messages[thread.id]
    await emu.wait_for(lambda: status.edits >= 1, what="the status edit")

    video = tmp_path / "fox.mp4"
    video.write_bytes(MP4)
    done = replace(placed, state=JobState.COMPLETED)
    result = VideoResult(str(video), len(MP4), "fox.mp4", "video/mp4", "http://127.0.0.1:1/fox.mp4", seed=5)
    receipt = await bot.delivery.deliver_result(done, result)
    assert receipt.message_id is not None
    posted = emu.messages[receipt.message_id]
    assert posted.channel_id == thread.id and posted.attachments[0].data == MP4

    failed = replace(placed, id=8, state=JobState.FAILED, error_message="upstream said no")
    notice = await bot.delivery.deliver_notice(failed)
    assert notice.message_id is not None and emu.messages[notice.message_id].channel_id == thread.id
    await bot.delivery.close()
    assert emu.violations == []
