"""The Discord emulator, driven by the real discord.py client and by raw HTTP/websocket requests.

The discord.py tests prove the emulator speaks the protocol a real bot needs; the raw tests prove each
limit it enforces answers Discord's error code *and* lands in ``violations``.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands
from multidict import CIMultiDictProxy

from sandbox.discord_emu import (
    DiscordEmulator,
    EmuConfig,
    EmuInteraction,
    MessageSource,
    RunningEmulator,
    start_emulator,
)

TOKEN = EmuConfig.bot_token
CHANNEL = EmuConfig.text_channel_id
COMMUNITY = EmuConfig.community_channel_id
GUILD = EmuConfig.guild_id
APP = EmuConfig.application_id
ALICE, BOB, MOD = 101, 102, 104
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

PIKA_COMMANDS: list[dict[str, Any]] = [
    {
        "name": "pika",
        "description": "Pika video",
        "type": 1,
        "options": [
            {
                "type": 1,
                "name": "gen",
                "description": "Generate",
                "options": [
                    {"type": 3, "name": "prompt", "description": "What to make", "required": True},
                    {"type": 11, "name": "image", "description": "Start frame"},
                    {"type": 4, "name": "seed", "description": "Seed"},
                ],
            }
        ],
    }
]


# --------------------------------------------------------------------------------------------------
# Fixtures and raw clients
# --------------------------------------------------------------------------------------------------


@pytest.fixture
async def running() -> AsyncIterator[RunningEmulator]:
    """A served emulator; afterwards every answer it gave must match Discord's response schemas."""
    emu = await start_emulator()
    yield emu
    await emu.close()
    assert emu.emu.response_problems() == []


@pytest.fixture
def emu(running: RunningEmulator) -> DiscordEmulator:
    return running.emu


class Api:
    """Raw REST calls with the bot token, returning (status, parsed JSON or None, headers)."""

    def __init__(self, session: aiohttp.ClientSession, running: RunningEmulator) -> None:
        self.session = session
        self.base = running.api_base_url

    async def req(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        token: str | None = TOKEN,
        params: dict[str, str] | None = None,
        data: Any = None,
    ) -> tuple[int, Any, CIMultiDictProxy[str]]:
        headers = {"Authorization": f"Bot {token}"} if token is not None else {}
        kwargs: dict[str, Any] = {"headers": headers, "params": params}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        elif data is not None:
            kwargs["data"] = data
        async with self.session.request(method, self.base + path, **kwargs) as resp:
            raw = await resp.read()
            if resp.headers.get("Content-Type") == "application/json":
                return resp.status, json.loads(raw), resp.headers
            return resp.status, None, resp.headers

    async def multipart(
        self,
        method: str,
        path: str,
        payload: dict[str, Any],
        files: list[tuple[str, bytes]],
        *,
        token: str | None = TOKEN,
    ) -> tuple[int, Any, CIMultiDictProxy[str]]:
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("payload_json", json.dumps(payload), content_type="application/json")
        for i, (filename, blob) in enumerate(files):
            form.add_field(f"files[{i}]", blob, filename=filename, content_type="application/octet-stream")
        return await self.req(method, path, data=form, token=token)

    async def send(self, channel_id: int, **body: Any) -> tuple[int, Any, CIMultiDictProxy[str]]:
        return await self.req("POST", f"/channels/{channel_id}/messages", json_body=body)


@pytest.fixture
async def api(running: RunningEmulator) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, running)


class RawGateway:
    """A bare websocket client speaking just enough gateway protocol to stand in for a bot."""

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

    async def dispatch(self, event: str, timeout: float = 3.0) -> dict[str, Any]:
        while True:
            frame = await self.recv(timeout)
            if frame.get("t") == event:
                return frame

    async def send(self, op: int, d: Any) -> None:
        await self.ws.send_str(json.dumps({"op": op, "d": d}))

    async def identify(self, token: str = TOKEN, intents: int = 513) -> dict[str, Any]:
        await self.send(2, {"token": token, "intents": intents, "properties": {"os": "linux"}})
        return await self.dispatch("READY")


@pytest.fixture
async def gateway(running: RunningEmulator) -> AsyncIterator[RawGateway]:
    """An identified raw gateway session: enough for the emulator to dispatch interactions."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(running.gateway_url + "?v=10&encoding=json") as ws,
    ):
        gw = RawGateway(ws)
        hello = await gw.recv()
        assert hello["op"] == 10
        await gw.identify()
        await gw.dispatch("GUILD_CREATE")
        yield gw


@pytest.fixture
async def synced(api: Api, gateway: RawGateway) -> RawGateway:
    status, _, _ = await api.req(
        "PUT", f"/applications/{APP}/guilds/{GUILD}/commands", json_body=PIKA_COMMANDS
    )
    assert status == 200
    return gateway


async def ack(
    api: Api, inter: EmuInteraction, body: dict[str, Any]
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    path = f"/interactions/{inter.id}/{inter.token}/callback"
    return await api.req("POST", path, json_body=body, token=None, params={"with_response": "1"})


def error_codes(errors: Any) -> list[str]:
    """Every ``_errors[].code`` in a Discord 50035 ``errors`` tree."""
    found: list[str] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "_errors":
                found += [e["code"] for e in value]
            else:
                found += error_codes(value)
    return found


# --------------------------------------------------------------------------------------------------
# A tiny real discord.py bot
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# discord.py end to end
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Login, auth, unknown routes
# --------------------------------------------------------------------------------------------------


async def test_login_routes_and_exact_content_type(api: Api) -> None:
    status, me, headers = await api.req("GET", "/users/@me")
    assert status == 200 and me["bot"] is True and headers["Content-Type"] == "application/json"
    status, app, _ = await api.req("GET", "/oauth2/applications/@me")
    assert status == 200 and app["id"] == str(APP) and "verify_key" in app
    status, gw, _ = await api.req("GET", "/gateway/bot")
    assert status == 200 and gw["url"].endswith("/gateway") and gw["shards"] == 1


async def test_wrong_token_is_401_and_a_violation(api: Api, emu: DiscordEmulator) -> None:
    status, body, _ = await api.req("GET", "/users/@me", token="nope")
    assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
    assert len(emu.violations) == 1


async def test_unknown_route_is_404_recorded_and_a_violation(api: Api, emu: DiscordEmulator) -> None:
    status, body, _ = await api.req("POST", f"/channels/{CHANNEL}/pins/1")
    assert (status, body) == (404, {"message": "404: Not Found", "code": 0})
    assert emu.calls[-1].route == "unknown" and emu.calls[-1].status == 404
    assert "unknown route POST" in emu.violations[0]


async def test_unknown_channel_is_10003_not_a_violation(api: Api, emu: DiscordEmulator) -> None:
    status, body, _ = await api.send(123, content="x")
    assert status == 404 and body["code"] == 10003
    assert emu.violations == []


# --------------------------------------------------------------------------------------------------
# Message limits (each breach: Discord's code + a violation)
# --------------------------------------------------------------------------------------------------

BUTTON = {"type": 2, "style": 1, "label": "ok", "custom_id": "b"}


def _row(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(buttons)}


def _button(custom_id: str, label: str = "ok") -> dict[str, Any]:
    return {**BUTTON, "custom_id": custom_id, "label": label}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"content": "x" * 2001}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"title": "t"}] * 11}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"title": "t" * 257}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"description": "d" * 4097}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"footer": {"text": "f" * 2049}}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"author": {"name": "a" * 257}}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"description": "d" * 3500}, {"description": "d" * 3500}]}, "MAX_EMBED_SIZE_EXCEEDED"),
        ({"components": [_row(_button(f"r{i}")) for i in range(6)]}, "BASE_TYPE_MAX_LENGTH"),
        ({"components": [_row(*[_button(f"b{i}") for i in range(6)])]}, "BASE_TYPE_MAX_LENGTH"),
        ({"components": [_row(_button("c" * 101))]}, "BASE_TYPE_MAX_LENGTH"),
        ({"components": [_row(_button("same"), _button("same"))]}, "COMPONENT_CUSTOM_ID_DUPLICATED"),
        ({"components": [_row(_button("l", label="L" * 81))]}, "BASE_TYPE_MAX_LENGTH"),
        ({"content": "x", "nonce": "n" * 26, "enforce_nonce": True}, "BASE_TYPE_MAX_LENGTH"),
    ],
    ids=[
        "content",
        "embed-count",
        "title",
        "description",
        "field-count",
        "field-name",
        "field-value",
        "footer",
        "author",
        "embed-total",
        "rows",
        "buttons-per-row",
        "custom-id-length",
        "custom-id-duplicate",
        "label",
        "nonce",
    ],
)
async def test_message_limits(api: Api, emu: DiscordEmulator, body: dict[str, Any], code: str) -> None:
    status, answer, _ = await api.send(CHANNEL, **body)
    assert status == 400 and answer["code"] == 50035 and answer["message"] == "Invalid Form Body"
    assert code in error_codes(answer["errors"])
    assert len(emu.violations) == 1 and emu.thread_messages(CHANNEL) == []


async def test_limits_apply_to_interaction_responses_too(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    status, answer, _ = await ack(api, inter, {"type": 4, "data": {"content": "x" * 2001}})
    assert status == 400 and answer["code"] == 50035 and inter.acked_at is None
    assert emu.violations


async def test_empty_message_is_50006(api: Api, emu: DiscordEmulator) -> None:
    status, answer, _ = await api.send(CHANNEL, content="")
    assert status == 400 and answer["code"] == 50006 and emu.violations


async def test_schema_catches_malformed_bodies(api: Api, emu: DiscordEmulator) -> None:
    status, answer, _ = await api.send(CHANNEL, content="x", tts="yes", embeds=[{"color": "red"}])
    assert status == 400 and answer["code"] == 50035
    assert set(answer["errors"]) == {"tts", "embeds"}
    assert "schema" in emu.violations[0]


async def test_schema_checks_multipart_payload_json(api: Api, emu: DiscordEmulator) -> None:
    status, answer, _ = await api.multipart(
        "POST",
        f"/channels/{CHANNEL}/messages",
        {"content": 42, "attachments": [{"id": 0}]},
        [("a.txt", b"a")],
    )
    assert status == 400 and "content" in answer["errors"] and emu.violations


async def test_schema_accepts_what_discordpy_sends(api: Api, emu: DiscordEmulator) -> None:
    """Int snowflakes (allowed_mentions.users, attachments[].id) and digit-only nonces are accepted."""
    status, _, _ = await api.multipart(
        "POST",
        f"/channels/{CHANNEL}/messages",
        {
            "content": "<@101>",
            "nonce": "12345",
            "enforce_nonce": True,
            "allowed_mentions": {"parse": [], "users": [101]},
            "attachments": [{"id": 0, "filename": "clip.mp4"}],
        },
        [("clip.mp4", b"video")],
    )
    assert status == 200 and emu.violations == []
    (message,) = emu.thread_messages(CHANNEL)
    assert message.mention_ids == [101] and message.attachments[0].content_type == "video/mp4"


async def test_file_over_the_limit_is_413(api: Api, emu: DiscordEmulator) -> None:
    big = b"\0" * (emu.config.attachment_size_limit + 1)
    status, answer, _ = await api.multipart(
        "POST",
        f"/channels/{CHANNEL}/messages",
        {"attachments": [{"id": 0, "filename": "big.mp4"}]},
        [("big.mp4", big)],
    )
    assert (status, answer) == (413, {"message": "Request entity too large", "code": 40005})
    assert "attachment_size_limit" in emu.violations[0]
    assert emu.calls[-1].files[0].size == len(big)


async def test_attachments_are_served_by_the_cdn(api: Api, running: RunningEmulator) -> None:
    status, message, _ = await api.multipart(
        "POST",
        f"/channels/{CHANNEL}/messages",
        {"attachments": [{"id": 0, "filename": "x.png"}]},
        [("x.png", PNG)],
    )
    assert status == 200
    url = message["attachments"][0]["url"]
    assert url.startswith(running.root_url + "/cdn/attachments/")
    async with api.session.get(url) as resp:
        assert resp.status == 200 and await resp.read() == PNG and resp.content_type == "image/png"
    async with api.session.get(url.rsplit("/", 1)[0] + "/other.png") as resp:
        assert resp.status == 404


async def test_message_payload_has_every_list_key(api: Api) -> None:
    status, message, _ = await api.send(CHANNEL, content="hi")
    assert status == 200
    for key in ("mentions", "mention_roles", "attachments", "embeds", "components"):
        assert message[key] == []
    assert message["guild_id"] == str(GUILD) and message["channel_id"] == str(CHANNEL)
    assert message["author"]["id"] == str(EmuConfig.bot_user_id)


async def test_edits_keep_replace_and_clear_attachments(api: Api, emu: DiscordEmulator) -> None:
    path = f"/channels/{CHANNEL}/messages"
    _, message, _ = await api.multipart(
        "POST", path, {"attachments": [{"id": 0, "filename": "a.txt"}]}, [("a.txt", b"a")]
    )
    old = message["attachments"][0]["id"]
    status, edited, _ = await api.multipart(
        "PATCH",
        f"{path}/{message['id']}",
        {"content": "two", "attachments": [{"id": old}, {"id": 0, "filename": "b.txt"}]},
        [("b.txt", b"bb")],
    )
    assert status == 200 and [a["filename"] for a in edited["attachments"]] == ["a.txt", "b.txt"]
    status, cleared, _ = await api.req("PATCH", f"{path}/{message['id']}", json_body={"attachments": []})
    assert status == 200 and cleared["attachments"] == [] and cleared["content"] == "two"
    assert emu.messages[int(message["id"])].edits == 2 and emu.violations == []


# --------------------------------------------------------------------------------------------------
# Nonces and rate limits
# --------------------------------------------------------------------------------------------------


async def test_enforce_nonce_returns_the_existing_message(api: Api, emu: DiscordEmulator) -> None:
    _, first, _ = await api.send(CHANNEL, content="a", nonce="job-1", enforce_nonce=True)
    _, again, _ = await api.send(CHANNEL, content="a", nonce="job-1", enforce_nonce=True)
    assert again["id"] == first["id"] and len(emu.thread_messages(CHANNEL)) == 1
    _, loose, _ = await api.send(CHANNEL, content="a", nonce="job-1")
    assert loose["id"] != first["id"]
    emu.clock_offset += emu.config.nonce_window + 1
    _, later, _ = await api.send(CHANNEL, content="a", nonce="job-1", enforce_nonce=True)
    assert later["id"] != first["id"] and len(emu.thread_messages(CHANNEL)) == 3


async def test_channel_bucket_answers_429_with_retry_after(api: Api, emu: DiscordEmulator) -> None:
    remaining = []
    for i in range(5):
        status, _, headers = await api.send(CHANNEL, content=str(i))
        assert status == 200
        remaining.append(headers["X-RateLimit-Remaining"])
    assert remaining == ["4", "3", "2", "1", "0"]
    status, body, headers = await api.send(CHANNEL, content="too many")
    assert status == 429 and body["global"] is False and 0 < body["retry_after"] <= 5
    assert headers["Via"] == "1.1 google" and headers["X-RateLimit-Scope"] == "user"
    assert {
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Reset",
        "X-RateLimit-Reset-After",
        "X-RateLimit-Bucket",
    } <= set(headers)
    status, _, _ = await api.send(COMMUNITY, content="other channel, other bucket")
    assert status == 200
    emu.clock_offset += 5
    assert (await api.send(CHANNEL, content="later"))[0] == 200
    assert len(emu.rate_limit_hits) == 1 and emu.violations == []


async def test_global_limit(running: RunningEmulator) -> None:
    running.emu.config.global_rate = 3
    async with aiohttp.ClientSession() as session:
        api = Api(session, running)
        statuses = [(await api.req("GET", "/users/@me"))[0] for _ in range(4)]
        _, body, headers = await api.req("GET", "/users/@me")
    assert statuses == [200, 200, 200, 429]
    assert body["global"] is True and headers["X-RateLimit-Global"] == "true" and headers["Via"]


# --------------------------------------------------------------------------------------------------
# Threads, channels, permissions
# --------------------------------------------------------------------------------------------------


async def test_thread_creation_and_validation(api: Api, emu: DiscordEmulator, gateway: RawGateway) -> None:
    status, thread, _ = await api.req(
        "POST",
        f"/channels/{CHANNEL}/threads",
        json_body={"name": "job 1", "type": 11, "auto_archive_duration": 60},
    )
    assert status == 201 and thread["type"] == 11 and thread["parent_id"] == str(CHANNEL)
    created = await gateway.dispatch("THREAD_CREATE")
    assert created["d"]["newly_created"] is True and created["d"]["id"] == thread["id"]
    status, private, _ = await api.req("POST", f"/channels/{CHANNEL}/threads", json_body={"name": "p"})
    assert status == 201 and private["type"] == 12  # Discord's default
    assert emu.violations == []
    status, body, _ = await api.req(
        "POST", f"/channels/{CHANNEL}/threads", json_body={"name": "n" * 101, "type": 11}
    )
    assert status == 400 and body["code"] == 50035
    status, body, _ = await api.req(
        "POST",
        f"/channels/{CHANNEL}/threads",
        json_body={"name": "ok", "type": 11, "auto_archive_duration": 30},
    )
    assert status == 400 and body["code"] == 50035
    assert len(emu.violations) == 2


async def test_thread_from_message_shares_its_id(api: Api, emu: DiscordEmulator) -> None:
    _, message, _ = await api.send(CHANNEL, content="starter")
    status, thread, _ = await api.req(
        "POST", f"/channels/{CHANNEL}/messages/{message['id']}/threads", json_body={"name": "from message"}
    )
    assert status == 201 and thread["id"] == message["id"] and thread["type"] == 11
    status, body, _ = await api.req(
        "POST", f"/channels/{CHANNEL}/messages/{message['id']}/threads", json_body={"name": "again"}
    )
    assert status == 400 and body["code"] == 160004


async def test_posting_unarchives_unless_locked(api: Api, emu: DiscordEmulator) -> None:
    _, thread, _ = await api.req("POST", f"/channels/{CHANNEL}/threads", json_body={"name": "t", "type": 11})
    tid = int(thread["id"])
    emu.archive_thread(tid)
    status, _, _ = await api.send(tid, content="wake up")
    assert status == 200 and not emu.channels[tid].archived
    emu.archive_thread(tid, locked=True)
    status, body, _ = await api.send(tid, content="locked")
    assert (status, body["code"]) == (400, 50083) and emu.channels[tid].archived
    status, body, _ = await api.req("PATCH", f"/channels/{tid}", json_body={"name": "rename"})
    assert (status, body["code"]) == (400, 50083)
    status, body, _ = await api.req(
        "PATCH", f"/channels/{tid}", json_body={"archived": False, "locked": False}
    )
    assert status == 200 and body["thread_metadata"]["archived"] is False
    assert emu.violations == []


async def test_threads_auto_archive_on_the_emulated_clock(api: Api, emu: DiscordEmulator) -> None:
    _, thread, _ = await api.req(
        "POST",
        f"/channels/{CHANNEL}/threads",
        json_body={"name": "t", "type": 11, "auto_archive_duration": 60},
    )
    emu.clock_offset += 61 * 60
    _, fetched, _ = await api.req("GET", f"/channels/{thread['id']}")
    assert fetched["thread_metadata"]["archived"] is True


async def test_deleted_thread_is_unknown_channel(api: Api, emu: DiscordEmulator) -> None:
    _, thread, _ = await api.req("POST", f"/channels/{CHANNEL}/threads", json_body={"name": "t", "type": 11})
    emu.delete_channel(int(thread["id"]))
    status, body, _ = await api.send(int(thread["id"]), content="gone?")
    assert (status, body["code"]) == (404, 10003)


@pytest.mark.parametrize(
    ("denied", "where"),
    [
        ("SEND_MESSAGES", "channel"),
        ("SEND_MESSAGES_IN_THREADS", "thread"),
        ("ATTACH_FILES", "file"),
        ("CREATE_PUBLIC_THREADS", "create"),
    ],
)
async def test_permission_denials_are_403(api: Api, emu: DiscordEmulator, denied: str, where: str) -> None:
    _, thread, _ = await api.req("POST", f"/channels/{CHANNEL}/threads", json_body={"name": "t", "type": 11})
    emu.deny(CHANNEL, denied)
    if where == "channel":
        status, body, _ = await api.send(CHANNEL, content="x")
    elif where == "thread":
        status, body, _ = await api.send(int(thread["id"]), content="x")
    elif where == "file":
        status, body, _ = await api.multipart(
            "POST", f"/channels/{thread['id']}/messages", {"attachments": [{"id": 0}]}, [("a.bin", b"1")]
        )
    else:
        status, body, _ = await api.req(
            "POST", f"/channels/{CHANNEL}/threads", json_body={"name": "u", "type": 11}
        )
    assert (status, body) == (403, {"message": "Missing Permissions", "code": 50013})
    assert emu.violations == []  # an injected denial is the test's doing, not the bot's


async def test_denial_shows_in_app_permissions(emu: DiscordEmulator, synced: RawGateway) -> None:
    emu.deny(CHANNEL, "ATTACH_FILES")
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    perms = int(inter.payload["app_permissions"])
    assert not perms & (1 << 15) and perms & (1 << 11)
    frame = await synced.dispatch("INTERACTION_CREATE")
    assert frame["d"]["app_permissions"] == str(perms)


async def test_history_and_edits(api: Api, emu: DiscordEmulator) -> None:
    ids = [(await api.send(CHANNEL, content=f"m{i}"))[1]["id"] for i in range(3)]
    status, history, _ = await api.req("GET", f"/channels/{CHANNEL}/messages", params={"limit": "2"})
    assert status == 200 and [m["id"] for m in history] == ids[:0:-1]
    status, edited, _ = await api.req(
        "PATCH", f"/channels/{CHANNEL}/messages/{ids[0]}", json_body={"content": "e"}
    )
    assert status == 200 and edited["content"] == "e" and edited["edited_timestamp"]
    user_message = emu.post_user_message(ALICE, CHANNEL, "mine")
    status, body, _ = await api.req(
        "PATCH", f"/channels/{CHANNEL}/messages/{user_message.id}", json_body={"content": "x"}
    )
    assert (status, body["code"]) == (403, 50005) and len(emu.violations) == 1
    status, _, _ = await api.req("DELETE", f"/channels/{CHANNEL}/messages/{ids[1]}")
    assert status == 204 and emu.messages[int(ids[1])].deleted


# --------------------------------------------------------------------------------------------------
# Interactions: acks, deadlines, tokens
# --------------------------------------------------------------------------------------------------


async def test_slash_payload_shape(emu: DiscordEmulator, synced: RawGateway) -> None:
    inter = await emu.slash(
        ALICE,
        CHANNEL,
        "pika",
        "gen",
        {"prompt": "p", "seed": 7},
        attachments={"image": ("i.png", "image/png", PNG)},
    )
    frame = await synced.dispatch("INTERACTION_CREATE")
    d = frame["d"]
    assert (
        d["id"] == str(inter.id)
        and d["channel"]["id"] == str(CHANNEL)
        and d["attachment_size_limit"] == 10 * 1024 * 1024
    )
    assert d["member"]["flags"] == 0 and "permissions" in d["member"]
    (sub,) = d["data"]["options"]
    assert sub["name"] == "gen" and sub["type"] == 1
    assert {o["name"]: o["type"] for o in sub["options"]} == {"prompt": 3, "seed": 4, "image": 11}
    attachment_id = next(o["value"] for o in sub["options"] if o["name"] == "image")
    assert d["data"]["resolved"]["attachments"][attachment_id]["filename"] == "i.png"
    assert d["data"]["guild_id"] == str(GUILD)


async def test_slash_refuses_what_discord_would_not_send(emu: DiscordEmulator, synced: RawGateway) -> None:
    with pytest.raises(LookupError):
        await emu.slash(ALICE, CHANNEL, "nope", None, {})
    with pytest.raises(ValueError, match="required"):
        await emu.slash(ALICE, CHANNEL, "pika", "gen", {})
    with pytest.raises(ValueError, match="not declared"):
        await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p", "bogus": 1})


async def test_double_ack_is_40060(api: Api, emu: DiscordEmulator, synced: RawGateway) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    status, body, headers = await ack(api, inter, {"type": 5})
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body["interaction"]["response_message_loading"] is True
    status, body, _ = await ack(api, inter, {"type": 4, "data": {"content": "again"}})
    assert (status, body["code"]) == (400, 40060)
    assert "acknowledged twice" in emu.violations[0]


async def test_callback_without_with_response_is_204(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    path = f"/interactions/{inter.id}/{inter.token}/callback"
    status, body, _ = await api.req(
        "POST", path, json_body={"type": 4, "data": {"content": "hi"}}, token=None
    )
    assert (status, body) == (204, None) and emu.ephemeral_replies(inter) == []
    assert [m.content for m in emu.interaction_messages(inter)] == ["hi"]


async def test_late_ack_is_10062_and_a_violation(api: Api, emu: DiscordEmulator, synced: RawGateway) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    emu.clock_offset += 3.5
    status, body, _ = await ack(api, inter, {"type": 5})
    assert (status, body) == (404, {"message": "Unknown interaction", "code": 10062})
    assert "after 3.5" in emu.violations[0]


async def test_never_acked_is_a_violation(running: RunningEmulator, api: Api, synced: RawGateway) -> None:
    emu = running.emu
    emu.config.ack_deadline = 0.05
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    await emu.wait_for(lambda: bool(emu.violations), timeout=2)
    assert f"interaction {inter.id}" in emu.violations[0] and "not acknowledged" in emu.violations[0]


async def test_invalid_callback_type(api: Api, emu: DiscordEmulator, synced: RawGateway) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    status, body, _ = await ack(api, inter, {"type": 7, "data": {"content": "x"}})
    assert status == 400 and body["code"] == 50035 and emu.violations


async def test_token_dies_after_15_minutes(api: Api, emu: DiscordEmulator, synced: RawGateway) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    await ack(api, inter, {"type": 5, "data": {"flags": 64}})
    path = f"/webhooks/{APP}/{inter.token}"
    status, _, _ = await api.req(
        "POST", path, json_body={"content": "in time", "flags": 64}, params={"wait": "1"}, token=None
    )
    assert status == 200
    emu.clock_offset += 16 * 60
    status, body, _ = await api.req(
        "POST", path, json_body={"content": "late"}, params={"wait": "1"}, token=None
    )
    assert (status, body) == (401, {"message": "Invalid Webhook Token", "code": 50027})
    status, _, _ = await api.req(
        "PATCH", path + "/messages/@original", json_body={"content": "late"}, token=None
    )
    assert status == 401
    assert len(emu.violations) == 2
    # The first follow-up after a deferred response replaces the "thinking…" message (and stays ephemeral).
    assert emu.ephemeral_replies(inter) == ["in time"]


async def test_first_followup_after_a_defer_replaces_the_thinking_message(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    """Discord: right after a deferred response, the first follow-up edits the loading message, which
    keeps its ephemeral flag; once the original is answered, follow-ups are new messages of their own."""
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    await ack(api, inter, {"type": 5, "data": {"flags": 64}})
    path = f"/webhooks/{APP}/{inter.token}"
    status, first, _ = await api.req(
        "POST", path, json_body={"content": "public?"}, params={"wait": "1"}, token=None
    )
    assert status == 200 and first["id"] == str(inter.original_message_id) and first["flags"] & 64
    status, second, _ = await api.req(
        "POST", path, json_body={"content": "public"}, params={"wait": "1"}, token=None
    )
    assert status == 200 and second["id"] != first["id"] and not second["flags"] & 64
    assert emu.messages[int(second["id"])].source is MessageSource.FOLLOWUP


async def test_followup_before_ack_is_unknown_webhook(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    status, body, _ = await api.req(
        "POST", f"/webhooks/{APP}/{inter.token}", json_body={"content": "x"}, params={"wait": "1"}, token=None
    )
    assert (status, body["code"]) == (404, 10015) and emu.violations


async def test_component_update_message_edits_the_clicked_message(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    _, message, _ = await api.send(CHANNEL, content="pick", components=[_row(_button("pika:retry:9"))])
    click = await emu.click(BOB, int(message["id"]), "pika:retry:9")
    frame = await synced.dispatch("INTERACTION_CREATE")
    assert frame["d"]["message"]["components"][0]["components"][0]["custom_id"] == "pika:retry:9"
    status, _, _ = await ack(api, click, {"type": 7, "data": {"content": "picked", "components": []}})
    assert status == 200
    assert (
        emu.messages[int(message["id"])].content == "picked"
        and emu.messages[int(message["id"])].components == []
    )
    with pytest.raises(ValueError):
        await emu.click(BOB, int(message["id"]), "pika:retry:9")


async def test_command_sync_validation(api: Api, emu: DiscordEmulator) -> None:
    path = f"/applications/{APP}/guilds/{GUILD}/commands"
    bad: list[dict[str, Any]] = [
        {"name": "Pika", "description": "upper case"},
        {"name": "long", "description": "d" * 101},
        {
            "name": "many",
            "description": "d",
            "options": [{"type": 3, "name": f"o{i}", "description": "d"} for i in range(26)],
        },
        {
            "name": "choices",
            "description": "d",
            "options": [
                {
                    "type": 3,
                    "name": "c",
                    "description": "d",
                    "choices": [{"name": str(i), "value": str(i)} for i in range(26)],
                }
            ],
        },
        {
            "name": "order",
            "description": "d",
            "options": [
                {"type": 3, "name": "a", "description": "d"},
                {"type": 3, "name": "b", "description": "d", "required": True},
            ],
        },
    ]
    for command in bad:
        status, body, _ = await api.req("PUT", path, json_body=[command])
        assert status == 400 and body["code"] == 50035, command
    assert len(emu.violations) == len(bad)
    status, stored, _ = await api.req("PUT", path, json_body=PIKA_COMMANDS)
    assert status == 200 and stored[0]["id"] and stored[0]["guild_id"] == str(GUILD)
    _, listed, _ = await api.req("GET", path)
    assert listed == stored


# --------------------------------------------------------------------------------------------------
# Gateway
# --------------------------------------------------------------------------------------------------


async def test_gateway_handshake_heartbeat_and_resume(running: RunningEmulator) -> None:
    emu = running.emu
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(running.gateway_url) as ws:
            gw = RawGateway(ws)
            assert (await gw.recv())["op"] == 10
            await gw.send(1, None)
            assert (await gw.recv())["op"] == 11
            ready = await gw.identify()
            assert ready["d"]["resume_gateway_url"] == running.gateway_url
            guild = await gw.dispatch("GUILD_CREATE")
            assert guild["d"]["member_count"] == len(guild["d"]["members"]) == 5
            await emu.wait_ready()
            session_id, seq = ready["d"]["session_id"], gw.seq
            emu.drop_gateway()
            closed = await ws.receive(timeout=3)
            assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 4000
        emu.post_user_message(ALICE, CHANNEL, "while you were away")
        async with session.ws_connect(running.gateway_url) as ws:
            gw = RawGateway(ws)
            await gw.recv()
            await gw.send(6, {"token": TOKEN, "session_id": session_id, "seq": seq})
            replayed = await gw.recv()
            # Replayed, and blank: the session has no MESSAGE_CONTENT intent and the bot is not mentioned.
            assert replayed["t"] == "MESSAGE_CREATE" and replayed["d"]["content"] == ""
            assert (await gw.recv())["t"] == "RESUMED"
        async with session.ws_connect(running.gateway_url) as ws:
            gw = RawGateway(ws)
            await gw.recv()
            await gw.send(6, {"token": TOKEN, "session_id": "bogus", "seq": 1})
            assert await gw.recv() == {"op": 9, "d": False}
    assert emu.violations == []


async def test_dispatches_follow_intents(running: RunningEmulator, api: Api) -> None:
    emu = running.emu
    async with aiohttp.ClientSession() as session, session.ws_connect(running.gateway_url) as ws:
        gw = RawGateway(ws)
        await gw.recv()
        await gw.identify(intents=1)  # GUILDS only: no message events at all
        await gw.dispatch("GUILD_CREATE")
        emu.post_user_message(ALICE, CHANNEL, "unseen")
        _, thread, _ = await api.req(
            "POST", f"/channels/{CHANNEL}/threads", json_body={"name": "t", "type": 11}
        )
        emu.archive_thread(int(thread["id"]))
        assert (await gw.recv())["t"] == "THREAD_CREATE"  # not the MESSAGE_CREATEs (bot's or alice's)
        assert (await gw.recv())["t"] == "THREAD_UPDATE"
    async with aiohttp.ClientSession() as session, session.ws_connect(running.gateway_url) as ws:
        gw = RawGateway(ws)
        await gw.recv()
        await gw.identify(intents=1 | 1 << 9)
        await gw.dispatch("GUILD_CREATE")
        emu.post_user_message(ALICE, CHANNEL, f"hey <@{emu.config.bot_user_id}>")
        frame = await gw.dispatch("MESSAGE_CREATE")
        assert frame["d"]["content"] == f"hey <@{emu.config.bot_user_id}>"  # mentions pass without the intent


@pytest.mark.parametrize(("token", "intents", "code"), [("wrong", 513, 4004), (TOKEN, 1 << 15, 4014)])
async def test_gateway_rejects_bad_identify(
    running: RunningEmulator, token: str, intents: int, code: int
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(running.gateway_url) as ws:
        gw = RawGateway(ws)
        await gw.recv()
        await gw.send(2, {"token": token, "intents": intents, "properties": {}})
        closed = await ws.receive(timeout=3)
        assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == code
    assert len(running.emu.violations) == 1


# --------------------------------------------------------------------------------------------------
# Control API and CLI
# --------------------------------------------------------------------------------------------------


async def test_control_api(running: RunningEmulator, api: Api, synced: RawGateway) -> None:
    base = running.control_url
    async with aiohttp.ClientSession() as session:
        async with session.post(
            base + "/slash",
            json={"user_id": ALICE, "command": "pika", "subcommand": "gen", "options": {"prompt": "p"}},
        ) as resp:
            assert resp.status == 200
            inter = await resp.json()
        frame = await synced.dispatch("INTERACTION_CREATE")
        assert frame["d"]["id"] == inter["id"]
        async with session.post(base + "/faults", json={"rate_limit_next": 2}) as resp:
            assert (await resp.json())["rate_limit_next"] == 2
        async with session.post(base + "/clock", json={"advance": 60}) as resp:
            assert (await resp.json())["clock_offset"] == 60
        async with session.get(base + "/calls") as resp:
            calls = await resp.json()
            assert calls[-1]["route"] == "bulk_set_guild_commands"
        async with session.get(base + "/violations") as resp:
            assert await resp.json() == []
        async with session.post(base + "/slash", json={"user_id": ALICE, "command": "nope"}) as resp:
            assert resp.status == 400


def test_cli_prints_its_urls() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.discord_emu", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        urls = json.loads(proc.stdout.readline())
        assert urls["api_base_url"].startswith("http://127.0.0.1:") and urls["api_base_url"].endswith(
            "/api/v10"
        )
        assert urls["gateway_url"].startswith("ws://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------------
# Message context-menu commands and modals
# --------------------------------------------------------------------------------------------------

MENU_COMMANDS: list[dict[str, Any]] = [*PIKA_COMMANDS, {"name": "Animate it", "type": 3}]


async def test_message_command_payload_shape(api: Api, emu: DiscordEmulator, gateway: RawGateway) -> None:
    """Apps → a message command: type 2 with data.type 3, target_id and the message (attachments
    included) in resolved.messages; an unregistered name is refused as the client would."""
    status, _, _ = await api.req(
        "PUT", f"/applications/{APP}/guilds/{GUILD}/commands", json_body=MENU_COMMANDS
    )
    assert status == 200
    posted = emu.post_user_message(BOB, CHANNEL, "my cat", attachments=[("cat.png", "image/png", PNG)])
    inter = await emu.message_command(ALICE, posted.id, "Animate it")
    d = (await gateway.dispatch("INTERACTION_CREATE"))["d"]
    assert d["type"] == 2 and d["id"] == str(inter.id)
    data = d["data"]
    assert data["type"] == 3 and data["name"] == "Animate it" and data["target_id"] == str(posted.id)
    target = data["resolved"]["messages"][str(posted.id)]
    assert target["content"] == "my cat" and target["author"]["id"] == str(BOB)
    (attachment,) = target["attachments"]
    assert attachment["filename"] == "cat.png" and attachment["size"] == len(PNG)
    with pytest.raises(LookupError):
        await emu.message_command(ALICE, posted.id, "gen")  # a slash command, not a message command


async def test_modal_round_trip_and_client_side_checks(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    """A modal answer (type 9) is schema-checked; its submit (type 5) carries the custom id and each
    text input's value in its label or row; required and max_length are enforced before sending."""
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    status, body, _ = await ack(api, inter, {"type": 9, "data": {"custom_id": "form:1", "components": []}})
    assert status == 400 and body["code"] == 50035  # no title, no components
    emu.violations.clear()
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    text = {"type": 4, "custom_id": "prompt", "style": 2, "value": "a fox", "max_length": 10}
    seed = {"type": 4, "custom_id": "seed", "style": 1, "required": False}
    modal = {
        "custom_id": "form:1",
        "title": "Remix",
        "components": [{"type": 18, "label": "Prompt", "component": text}, {"type": 1, "components": [seed]}],
    }
    status, _, _ = await ack(api, inter, {"type": 9, "data": modal})
    assert status == 200 and inter.modal == modal
    with pytest.raises(ValueError, match="max_length"):
        await emu.submit_modal(ALICE, inter, {"prompt": "x" * 11})
    with pytest.raises(ValueError, match="required"):
        await emu.submit_modal(ALICE, inter, {"prompt": ""})
    with pytest.raises(ValueError, match="no text input"):
        await emu.submit_modal(ALICE, inter, {"bogus": "1"})
    with pytest.raises(ValueError, match="only the member"):
        await emu.submit_modal(BOB, inter, {})
    submit = await emu.submit_modal(ALICE, inter, {"seed": "7"})
    frames = [await synced.dispatch("INTERACTION_CREATE") for _ in range(3)]  # two commands, the submit
    d = frames[-1]["d"]
    assert d["type"] == 5 and d["id"] == str(submit.id) and d["data"]["custom_id"] == "form:1"
    label, row = d["data"]["components"]
    assert label == {"type": 18, "component": {"type": 4, "custom_id": "prompt", "value": "a fox"}}
    assert row == {"type": 1, "components": [{"type": 4, "custom_id": "seed", "value": "7"}]}
    status, _, _ = await ack(api, submit, {"type": 5, "data": {"flags": 64}})
    assert status == 200 and emu.violations == []
