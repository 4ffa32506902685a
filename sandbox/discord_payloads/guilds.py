"""Guilds, text channels, threads and channel permission overwrites."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.discord_payloads.constants import ChannelType, JsonObj
from sandbox.discord_payloads.snowflakes import iso


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
