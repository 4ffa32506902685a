"""The Discord emulator's gateway sharding: IDENTIFY with ``shard``, per-shard guilds and routing.

Two guilds whose ids fall on different shards of two: the emulator's own guild (shard 1) and a
second one (shard 0). Raw websocket sessions check the protocol frame by frame; a real discord.py
``AutoShardedBot`` checks that a sharded client connects and answers in both guilds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord.ext import commands

from sandbox.discord_emu import EmuConfig, EmuGuild, RunningEmulator, shard_of, start_emulator

TOKEN = EmuConfig.bot_token
APP = EmuConfig.application_id
GUILD_A = EmuConfig.guild_id  # shard 1 of 2
CHANNEL_A = EmuConfig.text_channel_id
GUILD_B = GUILD_A + (1 << 22)  # the next timestamp tick: shard 0 of 2
CHANNEL_B = 900000000000000210
ALICE = 101
COMMANDS: list[dict[str, Any]] = [{"name": "ping", "description": "Ping", "type": 1}]


def two_guilds(**overrides: Any) -> EmuConfig:
    return EmuConfig(extra_guilds=(EmuGuild(GUILD_B, "Second", CHANNEL_B),), **overrides)


@pytest.fixture
async def running() -> AsyncIterator[RunningEmulator]:
    """Two guilds on different shards; afterwards every answer must match Discord's response schemas."""
    emulator = await start_emulator(two_guilds(recommended_shards=2))
    yield emulator
    await emulator.close()
    assert emulator.emu.response_problems() == []


class Session:
    """A raw gateway connection speaking just enough protocol to stand in for one shard."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seq: int | None = None

    async def recv(self, timeout: float = 3.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        frame: dict[str, Any] = json.loads(msg.data)
        if frame.get("s") is not None:
            self.seq = frame["s"]
        return frame

    async def dispatch(self, event: str) -> dict[str, Any]:
        while True:
            frame = await self.recv()
            if frame.get("t") == event:
                return frame

    async def quiet(self, seconds: float = 0.2) -> None:
        """Nothing but heartbeat traffic arrives for a moment."""
        with contextlib.suppress(TimeoutError):
            frame = await self.recv(timeout=seconds)
            raise AssertionError(f"unexpected frame {frame}")

    async def identify(self, shard: Any = None) -> None:
        d: dict[str, Any] = {"token": TOKEN, "intents": 513, "properties": {"os": "linux"}}
        if shard is not None:
            d["shard"] = shard
        await self.ws.send_str(json.dumps({"op": 2, "d": d}))


@contextlib.asynccontextmanager
async def connect(running: RunningEmulator) -> AsyncIterator[Session]:
    async with aiohttp.ClientSession() as http, http.ws_connect(running.gateway_url) as ws:
        session = Session(ws)
        assert (await session.recv())["op"] == 10
        yield session


async def put_commands(running: RunningEmulator, guild_id: int) -> None:
    url = f"{running.api_base_url}/applications/{APP}/guilds/{guild_id}/commands"
    headers = {"Authorization": f"Bot {TOKEN}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.put(url, data=json.dumps(COMMANDS), headers=headers) as r,
    ):
        assert r.status == 200


def test_the_two_guilds_fall_on_different_shards() -> None:
    assert (shard_of(GUILD_A, 2), shard_of(GUILD_B, 2)) == (1, 0)
    assert shard_of(GUILD_A, 1) == shard_of(GUILD_B, 1) == 0


async def test_each_shard_hears_only_its_guilds(running: RunningEmulator) -> None:
    """READY carries the shard and its guilds; GUILD_CREATE and INTERACTION_CREATE follow the formula."""
    emu = running.emu
    await put_commands(running, GUILD_A)
    await put_commands(running, GUILD_B)
    async with connect(running) as zero, connect(running) as one:
        await zero.identify([0, 2])
        ready = (await zero.dispatch("READY"))["d"]
        assert ready["shard"] == [0, 2] and ready["guilds"] == [{"id": str(GUILD_B), "unavailable": True}]
        assert (await zero.dispatch("GUILD_CREATE"))["d"]["id"] == str(GUILD_B)
        await emu.wait_ready(shard=0)
        with pytest.raises(TimeoutError):
            await emu.wait_ready(timeout=0.2)  # shard 1 of 2 has nobody yet
        with pytest.raises(RuntimeError, match="no bot session receives guild"):
            await emu.slash(ALICE, CHANNEL_A, "ping")
        await one.identify([1, 2])
        ready = (await one.dispatch("READY"))["d"]
        assert ready["shard"] == [1, 2] and ready["guilds"] == [{"id": str(GUILD_A), "unavailable": True}]
        assert (await one.dispatch("GUILD_CREATE"))["d"]["id"] == str(GUILD_A)
        await emu.wait_ready()
        in_a = await emu.slash(ALICE, CHANNEL_A, "ping")
        in_b = await emu.slash(ALICE, CHANNEL_B, "ping")
        assert (await one.dispatch("INTERACTION_CREATE"))["d"]["id"] == str(in_a.id)
        assert (await zero.dispatch("INTERACTION_CREATE"))["d"]["id"] == str(in_b.id)
        assert in_a.payload["guild_id"] == str(GUILD_A) and in_b.payload["guild_id"] == str(GUILD_B)
        assert (in_a.shards, in_b.shards) == ([(1, 2)], [(0, 2)])
        await zero.quiet()
        await one.quiet()
        assert [(s.shard, s.guild_ids, s.ready) for s in emu.shard_sessions()] == [
            ((0, 2), (GUILD_B,), True),
            ((1, 2), (GUILD_A,), True),
        ]
    assert emu.violations == []  # (the pings go unanswered: the test ends before the 3 s deadline)


async def test_an_unsharded_session_hears_every_guild(running: RunningEmulator) -> None:
    emu = running.emu
    async with connect(running) as only:
        await only.identify()
        ready = (await only.dispatch("READY"))["d"]
        assert "shard" not in ready  # Discord echoes the shard only when IDENTIFY sent one
        assert {g["id"] for g in ready["guilds"]} == {str(GUILD_A), str(GUILD_B)}
        created = {(await only.dispatch("GUILD_CREATE"))["d"]["id"] for _ in range(2)}
        assert created == {str(GUILD_A), str(GUILD_B)}
        await emu.wait_ready()
        assert [s.shard for s in emu.shard_sessions()] == [(0, 1)]
        emu.deny(CHANNEL_B, "SEND_MESSAGES")
        emu.deny(CHANNEL_A, "SEND_MESSAGES")
        assert (await only.recv())["d"]["guild_id"] == str(GUILD_B)
        assert (await only.recv())["d"]["guild_id"] == str(GUILD_A)
    assert emu.violations == []


@pytest.mark.parametrize(
    ("shard", "config", "code"),
    [
        ([2, 2], {}, 4010),
        ([0, 0], {}, 4010),
        ([-1, 2], {}, 4010),
        ("0/2", {}, 4010),
        ([0, 3], {"shard_multiple": 2}, 4010),
        (None, {"max_guilds_per_session": 1}, 4011),
    ],
)
async def test_bad_shards_are_closed_like_discord(shard: Any, config: dict[str, Any], code: int) -> None:
    """4010 for a shard outside [0, num_shards) or a count Discord refuses; 4011 for too many guilds."""
    async with await start_emulator(two_guilds(**config)) as running, connect(running) as session:
        await session.identify(shard)
        closed = await session.ws.receive(timeout=3)
        assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == code
        assert len(running.emu.violations) == 1 and running.emu.identifies == 0


async def test_one_guild_per_session_is_enough_once_sharded() -> None:
    """The same cap that refuses an unsharded session (4011) lets each of two shards in."""
    async with await start_emulator(two_guilds(max_guilds_per_session=1)) as running:
        async with connect(running) as zero, connect(running) as one:
            await zero.identify([0, 2])
            await one.identify([1, 2])
            await running.emu.wait_ready()
        assert running.emu.violations == []


async def test_resume_keeps_the_shard(running: RunningEmulator) -> None:
    """A dropped shard-1 session resumes with its replay, and keeps hearing only guild A."""
    emu = running.emu
    async with connect(running) as zero:
        await zero.identify([0, 2])
        async with connect(running) as one:
            await one.identify([1, 2])
            session_id = (await one.dispatch("READY"))["d"]["session_id"]
            await one.dispatch("GUILD_CREATE")
            await emu.wait_ready()
            seq = one.seq
            emu.drop_gateway(shard=1)
            closed = await one.ws.receive(timeout=3)
            assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 4000
        emu.deny(CHANNEL_A, "SEND_MESSAGES")  # while shard 1 is away: buffered for its replay
        async with connect(running) as again:
            await again.ws.send_str(
                json.dumps({"op": 6, "d": {"token": TOKEN, "session_id": session_id, "seq": seq}})
            )
            assert (await again.recv())["d"]["guild_id"] == str(GUILD_A)  # the replayed CHANNEL_UPDATE
            assert (await again.recv())["t"] == "RESUMED"
            emu.deny(CHANNEL_B, "SEND_MESSAGES")
            emu.deny(CHANNEL_A, "ATTACH_FILES")
            assert (await again.recv())["d"]["id"] == str(CHANNEL_A)  # not guild B's update
            assert [s.shard for s in emu.shard_sessions()] == [(0, 2), (1, 2)]
        await zero.dispatch("READY")
        assert (await zero.dispatch("CHANNEL_UPDATE"))["d"]["id"] == str(CHANNEL_B)
    assert emu.resumes == 1 and emu.violations == []


async def test_sessions_with_different_counts_each_follow_their_own(running: RunningEmulator) -> None:
    """Discord routes by each session's own [shard_id, num_shards]: overlapping sessions both hear."""
    emu = running.emu
    async with connect(running) as whole, connect(running) as half:
        await whole.identify([0, 1])
        await half.identify([1, 2])
        sessions = emu.shard_sessions
        await emu.wait_for(lambda: len(sessions()) == 2 and all(s.ready for s in sessions()))
        emu.deny(CHANNEL_A, "SEND_MESSAGES")
        assert (await whole.dispatch("CHANNEL_UPDATE"))["d"]["id"] == str(CHANNEL_A)
        assert (await half.dispatch("CHANNEL_UPDATE"))["d"]["id"] == str(CHANNEL_A)
        emu.deny(CHANNEL_B, "SEND_MESSAGES")
        assert (await whole.dispatch("CHANNEL_UPDATE"))["d"]["id"] == str(CHANNEL_B)
        await half.quiet()
    assert emu.violations == []


async def test_gateway_bot_recommends_the_configured_shards(running: RunningEmulator) -> None:
    headers = {"Authorization": f"Bot {TOKEN}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{running.api_base_url}/gateway/bot", headers=headers) as r,
    ):
        body = await r.json()
    assert body["shards"] == 2 and body["url"] == running.gateway_url
    assert body["session_start_limit"]["max_concurrency"] == 1


class ShardedBot(commands.AutoShardedBot):
    """discord.py's own sharded client, both shards in this process."""

    def __init__(self) -> None:
        super().__init__(
            command_prefix="!",
            intents=discord.Intents.none() | discord.Intents(guilds=True),
            shard_count=2,
            guild_ready_timeout=0.2,
        )
        self.answered: dict[int, int | None] = {}

        @self.tree.command(name="ping", description="Ping")
        async def ping(interaction: discord.Interaction[Any]) -> None:
            self.answered[interaction.id] = interaction.guild_id
            await interaction.response.send_message(f"pong from shard {interaction.guild.shard_id}")  # type: ignore[union-attr]

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No 5 s pause between shards: the emulator has no identify rate limit."""

    async def setup_hook(self) -> None:
        await self.tree.sync()


async def test_discordpy_autosharded_bot_answers_in_both_guilds(running: RunningEmulator) -> None:
    emu = running.emu
    old = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = running.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(running.gateway_url)
    bot = ShardedBot()
    task = asyncio.create_task(bot.start(TOKEN))
    try:
        await emu.wait_ready(timeout=10)
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        assert {g.id: g.shard_id for g in bot.guilds} == {GUILD_A: 1, GUILD_B: 0}
        for channel in (CHANNEL_A, CHANNEL_B):
            inter = await emu.slash(ALICE, channel, "ping")
            await emu.wait_acked(inter)
        replies = sorted(m.content for m in emu.messages.values())
        assert replies == ["pong from shard 0", "pong from shard 1"]
        assert set(bot.answered.values()) == {GUILD_A, GUILD_B}
    finally:
        await bot.close()
        await asyncio.wait_for(task, 10)
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old
    assert emu.identifies == 2 and emu.violations == []
