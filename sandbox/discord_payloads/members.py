"""Users, roles and guild members."""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.discord_payloads.constants import JsonObj
from sandbox.discord_payloads.snowflakes import iso


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
