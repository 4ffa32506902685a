"""The Discord emulator driven by a tiny real discord.py bot: it speaks the protocol a bot needs."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from sandbox.discord_emu import DiscordEmulator, MessageSource, RunningEmulator
from tests.sandbox.discord_emu.helpers import ALICE, BOB, CHANNEL, COMMUNITY, GUILD, PNG, TOKEN


class RetryButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"pika:retry:(?P<job>\d+)"):
    def __init__(self, job: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Retry", emoji="🔁", style=discord.ButtonStyle.primary, custom_id=f"pika:retry:{job}"
            )
        )
        self.job = job

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RetryButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(f"retrying job {self.job}", ephemeral=True)


class TinyBot(commands.Bot):
    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.message_content = False
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.2)
        self.errors: list[BaseException] = []
        group = app_commands.Group(name="pika", description="Pika video")

        @group.command(name="gen", description="Generate a video")
        async def gen(interaction: discord.Interaction[Any], prompt: str, image: discord.Attachment) -> None:
            await interaction.response.defer(thinking=True)
            data = await image.read()
            channel = interaction.channel
            assert isinstance(channel, discord.TextChannel)
            thread = await channel.create_thread(
                name=f"job: {prompt}", type=discord.ChannelType.public_thread
            )
            result = discord.File(io.BytesIO(data[::-1]), filename="result.mp4")
            await thread.send(f"result for {prompt}", file=result, nonce="job-1")
            view = discord.ui.View(timeout=None)
            view.add_item(RetryButton(1))
            # The original first: a follow-up sent while it still "thinks" would replace it (Discord's rule).
            await interaction.edit_original_response(content=f"finished {len(data)} bytes")
            await interaction.followup.send(f"done in {thread.mention}", view=view)

        self.tree.add_command(group)

        @self.tree.error
        async def on_error(
            interaction: discord.Interaction[Any], error: app_commands.AppCommandError
        ) -> None:
            self.errors.append(error)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(RetryButton)
        guild = discord.Object(GUILD)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)


@pytest.fixture
def discord_pointed_at(running: RunningEmulator) -> Iterator[None]:
    """Point discord.py's process-wide REST base and gateway at the emulator, then restore them."""
    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = running.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(running.gateway_url)
    yield
    discord.http.Route.BASE = old_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@pytest.fixture
async def live_bot(emu: DiscordEmulator, discord_pointed_at: None) -> AsyncIterator[TinyBot]:
    bot = TinyBot()
    task = asyncio.create_task(bot.start(TOKEN))
    try:
        await emu.wait_ready(timeout=10)
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, 10)
    assert bot.errors == []


async def test_discordpy_full_flow(emu: DiscordEmulator, live_bot: TinyBot) -> None:
    inter = await emu.slash(
        ALICE,
        CHANNEL,
        "pika",
        "gen",
        {"prompt": "a cat"},
        attachments={"image": ("in.png", "image/png", PNG)},
    )
    await emu.wait_acked(inter)
    done = await emu.wait_for_message(lambda m: m.content.startswith("done in"))
    await emu.wait_for(lambda: emu.messages[inter.original_message_id or 0].content.startswith("finished"))

    assert inter.ack_type == 5 and inter.ack_latency is not None and inter.ack_latency < 3
    original = emu.messages[inter.original_message_id or 0]
    assert original.content == f"finished {len(PNG)} bytes" and not original.flags & 128  # LOADING cleared
    (thread,) = emu.threads(CHANNEL)
    assert thread.type == 11 and thread.name == "job: a cat" and thread.owner_id == emu.config.bot_user_id
    (posted,) = emu.thread_messages(thread.id)
    assert posted.source is MessageSource.BOT and posted.nonce == "job-1"
    assert posted.attachments[0].filename == "result.mp4" and posted.attachments[0].data == PNG[::-1]
    assert done.source is MessageSource.FOLLOWUP and done.custom_ids() == ["pika:retry:1"]

    click = await emu.click(BOB, done.id, "pika:retry:1")
    await emu.wait_acked(click)
    assert emu.ephemeral_replies(click) == ["retrying job 1"]

    routes = [c.route for c in emu.calls]
    assert routes[:3] == ["get_my_user", "get_my_application", "bulk_set_guild_commands"]
    assert routes[3:] == [
        "interaction_callback",
        "create_thread",
        "create_message",
        "edit_original",
        "execute_webhook",
        "interaction_callback",
    ]
    upload = emu.calls_to("create_message")[0]
    assert upload.files[0].field == "files[0]" and upload.files[0].size == len(PNG)
    assert upload.json["nonce"] == "job-1" and upload.json["enforce_nonce"] is True
    assert emu.identifies == 1
    assert emu.violations == []


async def test_discordpy_honours_route_429(emu: DiscordEmulator, live_bot: TinyBot) -> None:
    emu.faults.rate_limit_next = 1
    sent = await live_bot.get_partial_messageable(COMMUNITY).send("hello", nonce="n-429")
    assert [m.id for m in emu.thread_messages(COMMUNITY)] == [sent.id]
    (hit,) = emu.rate_limit_hits
    assert hit.response == {
        "message": "You are being rate limited.",
        "retry_after": 0.2,
        "global": False,
        "code": 0,
    }
    assert emu.violations == []


async def test_discordpy_honours_global_429(emu: DiscordEmulator, live_bot: TinyBot) -> None:
    emu.faults.global_429_next = 1
    sent = await live_bot.get_partial_messageable(COMMUNITY).send("hi")
    assert [m.content for m in emu.thread_messages(COMMUNITY)] == ["hi"] and sent.content == "hi"
    assert emu.rate_limit_hits[0].response["global"] is True


async def test_server_error_after_store_is_deduped_by_nonce(emu: DiscordEmulator, live_bot: TinyBot) -> None:
    emu.faults.server_error_after_store_next = 1
    sent = await live_bot.get_partial_messageable(COMMUNITY).send("once", nonce="job-7")
    assert [c.status for c in emu.calls_to("create_message")] == [500, 200]
    assert [m.id for m in emu.thread_messages(COMMUNITY)] == [sent.id]


async def test_discordpy_paces_itself_on_channel_bucket(emu: DiscordEmulator, live_bot: TinyBot) -> None:
    emu.config.channel_rate = (2, 0.3)
    channel = live_bot.get_partial_messageable(COMMUNITY)
    for i in range(4):
        await channel.send(f"m{i}")
    assert [m.content for m in emu.thread_messages(COMMUNITY)] == ["m0", "m1", "m2", "m3"]
    assert emu.rate_limit_hits == []  # the X-RateLimit headers let discord.py wait instead of hitting 429


async def test_discordpy_resumes_after_drop(emu: DiscordEmulator, live_bot: TinyBot) -> None:
    emu.faults.drop_gateway()
    # Dispatched while the socket is down: must arrive through RESUME's replay.
    inter = await emu.slash(
        ALICE, CHANNEL, "pika", "gen", {"prompt": "x"}, attachments={"image": ("a.png", "image/png", PNG)}
    )
    await emu.wait_resumed()
    await emu.wait_acked(inter)
    await emu.wait_for_message(lambda m: m.content.startswith("done in") and m.interaction_id == inter.id)
    assert (emu.identifies, emu.resumes) == (1, 1)
    assert emu.violations == []


async def test_discordpy_sees_permission_denial(emu: DiscordEmulator, live_bot: TinyBot) -> None:
    emu.deny(COMMUNITY, "SEND_MESSAGES")
    with pytest.raises(discord.Forbidden) as caught:
        await live_bot.get_partial_messageable(COMMUNITY).send("nope")
    assert caught.value.code == 50013
    await asyncio.sleep(0.05)  # CHANNEL_UPDATE carries the overwrite to the bot's cache
    channel = live_bot.get_channel(COMMUNITY)
    assert isinstance(channel, discord.TextChannel) and channel.guild.me is not None
    assert not channel.permissions_for(channel.guild.me).send_messages
    assert emu.violations == []


async def test_reset_session_lets_a_restarted_bot_identify(emu: DiscordEmulator, live_bot: TinyBot) -> None:
    await live_bot.close()
    emu.reset_session()
    second = TinyBot()
    task = asyncio.create_task(second.start(TOKEN))
    try:
        await emu.wait_ready()
        await asyncio.wait_for(second.wait_until_ready(), 10)
        inter = await emu.slash(
            ALICE,
            CHANNEL,
            "pika",
            "gen",
            {"prompt": "again"},
            attachments={"image": ("a.png", "image/png", PNG)},
        )
        await emu.wait_for_message(lambda m: m.content.startswith("done in") and m.interaction_id == inter.id)
        assert inter.acked_at is not None and emu.identifies == 2
    finally:
        await second.close()
        await asyncio.wait_for(task, 10)
    assert second.errors == [] and emu.violations == []
