"""Payload factories for the Discord emulator: the JSON objects Discord sends, field for field.

Every object the emulator puts on the wire (REST responses and gateway dispatches) is built here, and
each factory is round-tripped through discord.py's own constructors in the tests, because discord.py
reads many keys with ``data[...]``: a missing ``attachment_size_limit`` or member ``flags`` kills the
bot with a ``KeyError`` inside the gateway parser (docs/discord.md, section 9).

Like the emulator, this module imports nothing from the rest of the project and nothing from discord.py.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import IntEnum, IntFlag
from typing import Any, Final, TypeAlias

#: A JSON object as it goes on the wire.
JsonObj: TypeAlias = dict[str, Any]

DISCORD_EPOCH_MS: Final = 1_420_070_400_000
API_VERSION: Final = 10


class Perm(IntFlag):
    """Discord permission bits (the subset a bot that posts into threads deals with)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38


#: What @everyone may do in the emulated guild: chat, attach, embed, use commands and threads.
EVERYONE_PERMS: Final = (
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.SEND_MESSAGES_IN_THREADS
    | Perm.CREATE_PUBLIC_THREADS
    | Perm.CREATE_PRIVATE_THREADS
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.ADD_REACTIONS
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.CHANGE_NICKNAME
    | Perm.CREATE_INSTANT_INVITE
)
MODERATOR_PERMS: Final = Perm.MANAGE_MESSAGES | Perm.MANAGE_THREADS
#: The bot's own role adds thread management (archive/lock) to what everyone has.
BOT_ROLE_PERMS: Final = Perm.MANAGE_THREADS


class ChannelType(IntEnum):
    """The channel types the emulator serves."""

    GUILD_TEXT = 0
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12


class InteractionType(IntEnum):
    """Interaction types (Discord docs, Interaction Object)."""

    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class CallbackType(IntEnum):
    """Interaction callback (response) types."""

    PONG = 1
    CHANNEL_MESSAGE_WITH_SOURCE = 4
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    AUTOCOMPLETE_RESULT = 8
    MODAL = 9


class MessageType(IntEnum):
    """Message types the emulator produces."""

    DEFAULT = 0
    CHAT_INPUT_COMMAND = 20


class MessageFlag(IntFlag):
    """Message flags the emulator interprets."""

    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


class OptionType(IntEnum):
    """Application command option types."""

    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10
    ATTACHMENT = 11


# --------------------------------------------------------------------------------------------------
# Snowflakes and timestamps
# --------------------------------------------------------------------------------------------------


class SnowflakeGen:
    """Monotonic snowflakes whose timestamp part follows the (emulated) clock."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._last = 0
        # The control API may be driven from another thread in the demo; ids must never repeat.
        self._lock = threading.Lock()

    def next(self, at: float) -> int:
        """A new id for an object created at ``at`` (Unix seconds), strictly above every earlier one."""
        with self._lock:
            ms = max(int(at * 1000) - DISCORD_EPOCH_MS, 0)
            candidate = (ms << 22) | (next(self._counter) & 0xFFF)
            self._last = max(candidate, self._last + 1)
            return self._last


def snowflake_time(snowflake: int) -> float:
    """Unix seconds encoded in a snowflake."""
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000


def iso(at: float) -> str:
    """ISO-8601 UTC timestamp as Discord writes it (microseconds, ``+00:00``)."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds")


# --------------------------------------------------------------------------------------------------
# Users, roles, members, channels, guilds
# --------------------------------------------------------------------------------------------------


def user_payload(user_id: int, username: str, *, bot: bool = False) -> JsonObj:
    """A user object (``id, username, discriminator, avatar`` are read with ``[]`` by discord.py)."""
    out: JsonObj = {
        "id": str(user_id),
        "username": username,
        "discriminator": "0",
        "global_name": None if bot else username.capitalize(),
        "avatar": None,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
    }
    if bot:
        out["bot"] = True
    return out


def role_payload(
    role_id: int, name: str, permissions: int, *, position: int = 0, managed: bool = False
) -> JsonObj:
    """A role object; ``permissions`` is a decimal string as Discord sends it."""
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(int(permissions)),
        "managed": managed,
        "mentionable": False,
        "flags": 0,
    }


def member_payload(
    user: JsonObj, role_ids: Iterable[int], *, joined_at: float, permissions: int | None = None
) -> JsonObj:
    """A guild member; ``flags`` is required by discord.py, ``permissions`` only appears in interactions."""
    out: JsonObj = {
        "user": user,
        "nick": None,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in role_ids],
        "joined_at": iso(joined_at),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if permissions is not None:
        out["permissions"] = str(int(permissions))
    return out


def overwrite_payload(target_id: int, *, member: bool, allow: int = 0, deny: int = 0) -> JsonObj:
    """A permission overwrite (type 0 role, 1 member)."""
    return {"id": str(target_id), "type": 1 if member else 0, "allow": str(allow), "deny": str(deny)}


def text_channel_payload(
    channel_id: int,
    guild_id: int,
    name: str,
    *,
    position: int,
    overwrites: Sequence[JsonObj] = (),
    topic: str | None = None,
    last_message_id: int | None = None,
) -> JsonObj:
    """A GUILD_TEXT channel."""
    return {
        "id": str(channel_id),
        "type": int(ChannelType.GUILD_TEXT),
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": list(overwrites),
        "parent_id": None,
        "topic": topic,
        "nsfw": False,
        "rate_limit_per_user": 0,
        "default_auto_archive_duration": 1440,
        "last_message_id": str(last_message_id) if last_message_id else None,
        "flags": 0,
    }


def thread_payload(
    thread_id: int,
    guild_id: int,
    parent_id: int,
    *,
    owner_id: int,
    name: str,
    thread_type: int,
    archived: bool,
    locked: bool,
    auto_archive_duration: int,
    archive_timestamp: float,
    created_at: float,
    message_count: int,
    member_count: int,
    invitable: bool = True,
    rate_limit_per_user: int = 0,
    last_message_id: int | None = None,
) -> JsonObj:
    """A thread channel (type 11 public, 12 private) with ``thread_metadata``."""
    metadata: JsonObj = {
        "archived": archived,
        "auto_archive_duration": auto_archive_duration,
        "archive_timestamp": iso(archive_timestamp),
        "locked": locked,
        "create_timestamp": iso(created_at),
    }
    if thread_type == ChannelType.PRIVATE_THREAD:
        metadata["invitable"] = invitable
    return {
        "id": str(thread_id),
        "type": thread_type,
        "guild_id": str(guild_id),
        "parent_id": str(parent_id),
        "owner_id": str(owner_id),
        "name": name,
        "last_message_id": str(last_message_id) if last_message_id else None,
        "rate_limit_per_user": rate_limit_per_user,
        "message_count": message_count,
        "member_count": member_count,
        "total_message_sent": message_count,
        "thread_metadata": metadata,
        "flags": 0,
    }


def guild_create_payload(
    guild_id: int,
    name: str,
    *,
    owner_id: int,
    roles: Sequence[JsonObj],
    channels: Sequence[JsonObj],
    members: Sequence[JsonObj],
    threads: Sequence[JsonObj] = (),
    joined_at: float,
) -> JsonObj:
    """GUILD_CREATE's ``d``; ``member_count == len(members)`` so discord.py never asks to chunk."""
    return {
        "id": str(guild_id),
        "name": name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "features": [],
        "mfa_level": 0,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "emojis": [],
        "stickers": [],
        "roles": list(roles),
        "joined_at": iso(joined_at),
        "large": False,
        "unavailable": False,
        "member_count": len(members),
        "voice_states": [],
        "members": list(members),
        "channels": list(channels),
        "threads": list(threads),
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "lazy": True,
    }


def partial_guild_payload(guild_id: int) -> JsonObj:
    """The partial ``guild`` object inside interactions."""
    return {"id": str(guild_id), "locale": "en-US", "features": []}


# --------------------------------------------------------------------------------------------------
# Login, gateway handshake
# --------------------------------------------------------------------------------------------------


def application_payload(
    application_id: int, name: str, owner: JsonObj, *, bot: JsonObj | None = None
) -> JsonObj:
    """``GET /oauth2/applications/@me`` (AppInfo reads ``icon, bot_public, verify_key`` ... with ``[]``)."""
    out: JsonObj = {
        "id": str(application_id),
        "name": name,
        "icon": None,
        "description": "Local Discord emulator application",
        "summary": "",
        "type": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "owner": owner,
        "team": None,
        "flags": 0,
        "flags_new": "0",
        "tags": [],
        "hook": True,
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "integration_types_config": {"0": {}},
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "eligible_oauth2_scopes": ["applications.commands", "bot"],
    }
    if bot is not None:
        out["bot"] = bot
    return out


def gateway_payload(url: str) -> JsonObj:
    """``GET /gateway``."""
    return {"url": url}


def gateway_bot_payload(url: str, *, shards: int = 1) -> JsonObj:
    """``GET /gateway/bot`` (used by AutoShardedClient): ``shards`` is the recommended count."""
    return {
        "url": url,
        "shards": shards,
        "session_start_limit": {
            "total": 1000,
            "remaining": 999,
            "reset_after": 14_400_000,
            "max_concurrency": 1,
        },
    }


def ready_payload(
    user: JsonObj,
    guild_ids: Iterable[int],
    *,
    session_id: str,
    resume_gateway_url: str,
    application_id: int,
    shard: tuple[int, int] | None = None,
) -> JsonObj:
    """READY's ``d``: guilds start unavailable and arrive by GUILD_CREATE.

    ``shard`` ([shard_id, num_shards]) is echoed only when IDENTIFY sent one, as Discord does.
    """
    payload: JsonObj = {
        "v": API_VERSION,
        "user": {**user, "verified": True, "mfa_enabled": False, "email": None},
        "user_settings": {},
        "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "application": {"id": str(application_id), "flags": 0},
        "geo_ordered_rtc_regions": ["local"],
        "guild_join_requests": [],
        "auth_session_id_hash": "",
    }
    if shard is not None:
        payload["shard"] = list(shard)
    return payload


# --------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------


def attachment_payload(
    attachment_id: int,
    filename: str,
    *,
    size: int,
    url: str,
    content_type: str | None = None,
    description: str | None = None,
    ephemeral: bool = False,
) -> JsonObj:
    """An attachment (``id, filename, size, url, proxy_url`` are required by discord.py)."""
    out: JsonObj = {
        "id": str(attachment_id),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "flags": 0,
    }
    if content_type is not None:
        out["content_type"] = content_type
    if description is not None:
        out["description"] = description
    if ephemeral:
        out["ephemeral"] = True
    return out


def interaction_metadata_payload(
    interaction_id: int, interaction_type: int, user: JsonObj, *, guild_id: int, message_id: int | None = None
) -> JsonObj:
    """``message.interaction_metadata`` of a message created by an interaction response."""
    out: JsonObj = {
        "id": str(interaction_id),
        "type": interaction_type,
        "user": user,
        "authorizing_integration_owners": {"0": str(guild_id)},
    }
    if message_id is not None:
        out["interacted_message_id"] = str(message_id)
    return out


def message_payload(
    message_id: int,
    channel_id: int,
    *,
    guild_id: int | None,
    author: JsonObj,
    content: str = "",
    created_at: float,
    edited_at: float | None = None,
    embeds: Sequence[JsonObj] = (),
    components: Sequence[JsonObj] = (),
    attachments: Sequence[JsonObj] = (),
    mentions: Sequence[JsonObj] = (),
    mention_roles: Sequence[int] = (),
    mention_everyone: bool = False,
    flags: int = 0,
    nonce: str | int | None = None,
    message_type: int = MessageType.DEFAULT,
    webhook_id: int | None = None,
    application_id: int | None = None,
    interaction_metadata: JsonObj | None = None,
    thread: JsonObj | None = None,
    tts: bool = False,
) -> JsonObj:
    """A message; every list key is present because discord.py leaves ``__slots__`` unset otherwise."""
    out: JsonObj = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "type": int(message_type),
        "content": content,
        "author": author,
        "timestamp": iso(created_at),
        "edited_timestamp": iso(edited_at) if edited_at is not None else None,
        "tts": tts,
        "mention_everyone": mention_everyone,
        "mentions": list(mentions),
        "mention_roles": [str(r) for r in mention_roles],
        "mention_channels": [],
        "attachments": list(attachments),
        "embeds": list(embeds),
        "components": list(components),
        "reactions": [],
        "pinned": False,
        "flags": flags,
        "position": 0,
    }
    if guild_id is not None:
        out["guild_id"] = str(guild_id)
    if nonce is not None:
        out["nonce"] = nonce
    if webhook_id is not None:
        out["webhook_id"] = str(webhook_id)
    if application_id is not None:
        out["application_id"] = str(application_id)
    if interaction_metadata is not None:
        out["interaction_metadata"] = interaction_metadata
    if thread is not None:
        out["thread"] = thread
    return out


# --------------------------------------------------------------------------------------------------
# Interactions
# --------------------------------------------------------------------------------------------------


def command_option_payload(name: str, value: object, option_type: int) -> JsonObj:
    """A leaf option in a chat-input interaction (attachments and snowflakes travel as strings)."""
    if option_type in (OptionType.ATTACHMENT, OptionType.USER, OptionType.CHANNEL, OptionType.ROLE):
        value = str(value)
    return {"name": name, "type": int(option_type), "value": value}


def chat_input_data_payload(
    command_id: int,
    name: str,
    options: Sequence[JsonObj],
    *,
    guild_id: int | None,
    resolved: JsonObj | None = None,
) -> JsonObj:
    """``data`` of an APPLICATION_COMMAND interaction (discord.py looks commands up by name + guild_id)."""
    out: JsonObj = {"id": str(command_id), "name": name, "type": 1, "options": list(options)}
    if guild_id is not None:
        out["guild_id"] = str(guild_id)
    if resolved:
        out["resolved"] = resolved
    return out


def message_command_data_payload(
    command_id: int, name: str, target: JsonObj, *, guild_id: int | None
) -> JsonObj:
    """``data`` of a MESSAGE context-menu command (type 3): the target and its resolved message."""
    out: JsonObj = {
        "id": str(command_id),
        "name": name,
        "type": 3,
        "target_id": target["id"],
        "resolved": {"messages": {target["id"]: target}},
    }
    if guild_id is not None:
        out["guild_id"] = str(guild_id)
    return out


def modal_submit_data_payload(custom_id: str, components: Sequence[JsonObj]) -> JsonObj:
    """``data`` of a MODAL_SUBMIT interaction: the modal's custom id and its fields' values."""
    return {"custom_id": custom_id, "components": list(components)}


def component_data_payload(custom_id: str, component_type: int = 2) -> JsonObj:
    """``data`` of a MESSAGE_COMPONENT interaction (button click)."""
    return {"custom_id": custom_id, "component_type": component_type}


def interaction_payload(
    interaction_id: int,
    *,
    application_id: int,
    interaction_type: int,
    token: str,
    data: JsonObj,
    guild_id: int,
    channel: JsonObj,
    member: JsonObj,
    app_permissions: int,
    attachment_size_limit: int,
    message: JsonObj | None = None,
    locale: str = "en-US",
) -> JsonObj:
    """INTERACTION_CREATE's ``d``; ``channel`` must be an object, top-level ``channel_id`` is ignored."""
    out: JsonObj = {
        "id": str(interaction_id),
        "application_id": str(application_id),
        "type": interaction_type,
        "data": data,
        "guild": partial_guild_payload(guild_id),
        "guild_id": str(guild_id),
        "channel": channel,
        "channel_id": channel["id"],
        "member": member,
        "token": token,
        "version": 1,
        "app_permissions": str(int(app_permissions)),
        "locale": locale,
        "guild_locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "authorizing_integration_owners": {"0": str(guild_id)},
        "context": 0,
        "attachment_size_limit": attachment_size_limit,
    }
    if message is not None:
        out["message"] = message
    return out


def callback_response_payload(
    interaction_id: int,
    interaction_type: int,
    callback_type: int,
    *,
    message: JsonObj | None,
    loading: bool = False,
    ephemeral: bool = False,
) -> JsonObj:
    """The 200 body of ``POST /interactions/{id}/{token}/callback?with_response=1``.

    Per the spec only message (4) and update (7) responses carry a ``resource``; a deferred response
    (5) names its loading message in ``interaction.response_message_id``.
    """
    inner: JsonObj = {"id": str(interaction_id), "type": interaction_type}
    if message is not None:
        inner["response_message_id"] = message["id"]
        inner["response_message_loading"] = loading
        inner["response_message_ephemeral"] = ephemeral
    out: JsonObj = {"interaction": inner}
    if message is not None and callback_type in (
        CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
        CallbackType.UPDATE_MESSAGE,
    ):
        out["resource"] = {"type": callback_type, "message": message}
    return out


def application_command_payload(
    command: Mapping[str, Any], *, command_id: int, application_id: int, guild_id: int | None, version: int
) -> JsonObj:
    """A registered command as Discord echoes it back from a bulk overwrite (nulls replaced by defaults)."""
    defaults: JsonObj = {
        "type": 1,
        "description": "",
        "default_member_permissions": None,
        "dm_permission": True,
        "nsfw": False,
        "contexts": None,
        "integration_types": [0],
    }
    given = {k: v for k, v in command.items() if v is not None}
    out: JsonObj = {
        **defaults,
        **given,
        "id": str(command_id),
        "application_id": str(application_id),
        "version": str(version),
    }
    if out["default_member_permissions"] is not None:
        out["default_member_permissions"] = str(out["default_member_permissions"])
    if guild_id is not None:
        out["guild_id"] = str(guild_id)
    return out


def error_payload(code: int, message: str, errors: JsonObj | None = None) -> JsonObj:
    """Discord's JSON error body."""
    out: JsonObj = {"message": message, "code": code}
    if errors is not None:
        out["errors"] = errors
    return out


def rate_limit_payload(retry_after: float, *, is_global: bool) -> JsonObj:
    """The 429 body."""
    return {
        "message": "You are being rate limited.",
        "retry_after": round(retry_after, 3),
        "global": is_global,
        "code": 0,  # required by the spec's RatelimitedResponse (an Error); discord.py ignores it
    }
