"""The emulator's payload factories, round-tripped through discord.py 2.7's own constructors.

discord.py reads many keys with ``data[...]``; a field the factories forget would kill a real bot inside
the gateway parser. These tests make such a gap fail here, in a unit test, with a clear KeyError.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord.interactions import InteractionCallbackResponse
from discord.state import ConnectionState

from sandbox import discord_payloads as P
from sandbox.discord_emu import DiscordEmulator, EmuConfig, MessageSource

NOW = 1_750_000_000.0
GUILD = 900000000000000100
CHANNEL = 900000000000000200
BOT = 900000000000000001


def wire(payload: object) -> Any:
    """discord.py's constructors take TypedDicts; the factories build plain dicts of the same shape."""
    return payload


@pytest.fixture
async def client() -> AsyncIterator[discord.Client]:
    intents = discord.Intents.default()
    intents.members = True  # so the member cache keeps what GUILD_CREATE carries and `chunked` is meaningful
    bot = discord.Client(intents=intents)
    bot._connection.user = discord.ClientUser(
        state=bot._connection, data=wire(P.user_payload(BOT, "pikabot", bot=True))
    )
    yield bot
    await bot.close()


@pytest.fixture
def state(client: discord.Client) -> ConnectionState[Any]:
    return client._connection


@pytest.fixture
def emu() -> DiscordEmulator:
    return DiscordEmulator(EmuConfig(public_base_url="http://127.0.0.1:1"))


def make_guild(state: ConnectionState[Any], emu: DiscordEmulator) -> discord.Guild:
    guild = discord.Guild(data=wire(emu.guild_payload()), state=state)
    state._add_guild(guild)
    return guild


def test_user_payload() -> None:
    user = discord.User(state=None, data=wire(P.user_payload(101, "alice")))  # type: ignore[arg-type]
    assert (user.id, user.name, user.bot, user.global_name) == (101, "alice", False, "Alice")
    assert discord.User(state=None, data=wire(P.user_payload(BOT, "pikabot", bot=True))).bot  # type: ignore[arg-type]


def test_guild_create_builds_a_chunked_guild(state: ConnectionState[Any], emu: DiscordEmulator) -> None:
    guild = make_guild(state, emu)
    assert guild.name == "Pika Sandbox" and not guild.unavailable
    assert guild.chunked, "member_count must equal len(members) or discord.py asks for chunks"
    assert {c.name for c in guild.text_channels} == {"generate", "community"}
    assert guild.default_role.id == GUILD
    mod = guild.get_member(104)
    assert mod is not None and mod.guild_permissions.manage_messages
    alice = guild.get_member(101)
    assert alice is not None and not alice.guild_permissions.manage_messages
    assert alice.guild_permissions.attach_files and alice.guild_permissions.create_public_threads
    me = guild.get_member(BOT)
    assert me is not None and me.bot and me.guild_permissions.manage_threads


def test_denied_permission_shows_as_bot_overwrite(state: ConnectionState[Any], emu: DiscordEmulator) -> None:
    emu.deny(CHANNEL, "ATTACH_FILES")
    guild = make_guild(state, emu)
    channel = guild.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    assert guild.me is not None
    perms = channel.permissions_for(guild.me)
    assert not perms.attach_files and perms.send_messages


def test_role_and_member(state: ConnectionState[Any], emu: DiscordEmulator) -> None:
    guild = make_guild(state, emu)
    role = discord.Role(guild=guild, state=state, data=wire(P.role_payload(5, "x", P.Perm.MANAGE_MESSAGES)))
    assert role.permissions.manage_messages
    data = P.member_payload(P.user_payload(102, "bob"), [5], joined_at=NOW, permissions=int(P.EVERYONE_PERMS))
    member = discord.Member(data=wire(data), guild=guild, state=state)
    assert member.id == 102 and member.joined_at is not None and member.flags.value == 0


def test_thread_payload(state: ConnectionState[Any], emu: DiscordEmulator) -> None:
    guild = make_guild(state, emu)
    data = P.thread_payload(
        555,
        GUILD,
        CHANNEL,
        owner_id=BOT,
        name="job 1",
        thread_type=P.ChannelType.PUBLIC_THREAD,
        archived=True,
        locked=False,
        auto_archive_duration=1440,
        archive_timestamp=NOW,
        created_at=NOW - 60,
        message_count=3,
        member_count=1,
    )
    thread = discord.Thread(guild=guild, state=state, data=wire(data))
    assert thread.parent_id == CHANNEL and thread.archived and thread.message_count == 3
    assert thread.type is discord.ChannelType.public_thread and thread.created_at is not None


def test_message_payload_with_everything(state: ConnectionState[Any], emu: DiscordEmulator) -> None:
    guild = make_guild(state, emu)
    channel = guild.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    attachment = P.attachment_payload(
        77, "out.mp4", size=3, url="http://127.0.0.1:1/cdn/attachments/77/out.mp4"
    )
    button = {"type": 2, "style": 1, "label": "Retry", "custom_id": "pika:retry:1"}
    data = P.message_payload(
        9001,
        CHANNEL,
        guild_id=GUILD,
        author=P.user_payload(BOT, "pikabot", bot=True),
        content="hello <@101>",
        created_at=NOW,
        edited_at=NOW + 1,
        embeds=[{"title": "t", "description": "d", "fields": [{"name": "n", "value": "v"}]}],
        components=[{"type": 1, "components": [button]}],
        attachments=[attachment],
        mentions=[P.user_payload(101, "alice")],
        nonce="job-1",
        webhook_id=BOT,
        application_id=BOT,
        message_type=P.MessageType.CHAT_INPUT_COMMAND,
        interaction_metadata=P.interaction_metadata_payload(
            1, 2, P.user_payload(101, "alice"), guild_id=GUILD
        ),
    )
    message = discord.Message(state=state, channel=channel, data=wire(data))
    assert message.content == "hello <@101>" and message.nonce == "job-1"
    assert message.attachments[0].filename == "out.mp4" and message.attachments[0].size == 3
    assert message.embeds[0].fields[0].name == "n"
    row = message.components[0]
    assert isinstance(row, discord.ActionRow)
    assert isinstance(row.children[0], discord.Button) and row.children[0].custom_id == "pika:retry:1"
    assert message.interaction_metadata is not None and message.interaction_metadata.user.id == 101
    assert message.edited_at is not None and message.webhook_id == BOT
    assert [m.id for m in message.mentions] == [101]


def test_emulator_messages_parse(state: ConnectionState[Any], emu: DiscordEmulator) -> None:
    guild = make_guild(state, emu)
    channel = guild.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    seeded = emu.post_user_message(101, CHANNEL, "hi <@102> @everyone")
    message = discord.Message(state=state, channel=channel, data=wire(emu.message_payload(seeded)))
    assert message.author.id == 101 and [m.id for m in message.mentions] == [102] and message.mention_everyone
    assert seeded.source is MessageSource.USER


def test_chat_input_interaction(
    client: discord.Client, state: ConnectionState[Any], emu: DiscordEmulator
) -> None:
    guild = make_guild(state, emu)
    attachment = P.attachment_payload(
        66, "in.png", size=4, url="http://127.0.0.1:1/cdn/attachments/66/in.png", content_type="image/png"
    )
    options = [
        {
            "name": "gen",
            "type": 1,
            "options": [
                P.command_option_payload("prompt", "a cat", P.OptionType.STRING),
                P.command_option_payload("image", 66, P.OptionType.ATTACHMENT),
            ],
        }
    ]
    data = P.interaction_payload(
        1234,
        application_id=BOT,
        interaction_type=P.InteractionType.APPLICATION_COMMAND,
        token="tok",
        data=P.chat_input_data_payload(
            42, "pika", options, guild_id=GUILD, resolved={"attachments": {"66": attachment}}
        ),
        guild_id=GUILD,
        channel=emu.channel_payload(emu.channels[CHANNEL]),
        member=emu.member_payload(104, with_permissions=True),
        app_permissions=int(emu.bot_permissions(CHANNEL)),
        attachment_size_limit=10 * 1024 * 1024,
    )
    interaction: discord.Interaction[discord.Client] = discord.Interaction(data=wire(data), state=state)
    assert interaction.channel is not None and interaction.channel.id == CHANNEL
    assert interaction.guild is guild
    assert isinstance(interaction.user, discord.Member) and interaction.user.id == 104
    assert interaction.permissions.manage_messages
    assert interaction.app_permissions.create_public_threads and interaction.app_permissions.attach_files
    assert interaction.filesize_limit == 10 * 1024 * 1024
    assert interaction.context.guild


def test_component_interaction_and_callback_response(
    state: ConnectionState[Any], emu: DiscordEmulator
) -> None:
    make_guild(state, emu)
    seeded = emu.post_user_message(101, CHANNEL, "x")
    seeded.components = [
        {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "a:b", "label": "go"}]}
    ]
    message = emu.message_payload(seeded)
    data = P.interaction_payload(
        4321,
        application_id=BOT,
        interaction_type=P.InteractionType.MESSAGE_COMPONENT,
        token="tok",
        data=P.component_data_payload("a:b"),
        guild_id=GUILD,
        channel=emu.channel_payload(emu.channels[CHANNEL]),
        member=emu.member_payload(101, with_permissions=True),
        app_permissions=int(emu.bot_permissions(CHANNEL)),
        attachment_size_limit=1024,
        message=message,
    )
    interaction: discord.Interaction[discord.Client] = discord.Interaction(data=wire(data), state=state)
    assert interaction.message is not None and interaction.message.id == seeded.id
    assert interaction.message.components, "DynamicItem rebuilds the view from message.components"
    body = P.callback_response_payload(4321, 3, 4, message=message, ephemeral=True)
    response = InteractionCallbackResponse(
        data=wire(body), parent=interaction, state=state, type=discord.InteractionResponseType.channel_message
    )
    assert response.message_id == seeded.id and response.resource is not None
    deferred = InteractionCallbackResponse(
        data=wire(P.callback_response_payload(4321, 3, 6, message=None)),
        parent=interaction,
        state=state,
        type=discord.InteractionResponseType.deferred_message_update,
    )
    assert deferred.message_id is None


def test_app_info_and_ready(state: ConnectionState[Any]) -> None:
    owner = P.user_payload(100, "owner")
    info = discord.AppInfo(state, wire(P.application_payload(BOT, "pikabot", owner)))
    assert info.id == BOT and info.owner.id == 100 and not info.bot_public
    ready = P.ready_payload(
        P.user_payload(BOT, "pikabot", bot=True),
        [GUILD],
        session_id="s",
        resume_gateway_url="ws://127.0.0.1:1/gateway",
        application_id=BOT,
    )
    user = discord.ClientUser(state=state, data=wire(ready["user"]))
    assert user.bot and ready["guilds"] == [{"id": str(GUILD), "unavailable": True}]
    assert {"session_id", "resume_gateway_url", "application"} <= set(ready)


async def test_ready_and_guild_create_through_the_parsers(
    state: ConnectionState[Any], emu: DiscordEmulator
) -> None:
    ready = P.ready_payload(
        P.user_payload(BOT, "pikabot", bot=True),
        [GUILD],
        session_id="s",
        resume_gateway_url="ws://127.0.0.1:1/gateway",
        application_id=BOT,
    )
    state.parse_ready(wire(ready))
    try:
        state.parse_guild_create(wire(emu.guild_payload()))
        guild = state._get_guild(GUILD)
        assert guild is not None and guild.member_count == len(emu.config.members) + 1
        assert state.application_id == BOT
    finally:
        if state._ready_task is not None:
            state._ready_task.cancel()


def test_snowflakes_are_monotonic_and_timed() -> None:
    gen = P.SnowflakeGen()
    ids = [gen.next(NOW) for _ in range(5000)]
    assert ids == sorted(set(ids))
    assert abs(P.snowflake_time(ids[0]) - NOW) < 0.01
    assert discord.utils.snowflake_time(ids[0]).timestamp() == pytest.approx(NOW, abs=0.01)
