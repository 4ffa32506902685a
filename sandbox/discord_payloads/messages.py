"""Messages and what they carry: attachments and the metadata of the interaction that made them."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.discord_payloads.constants import JsonObj, MessageType
from sandbox.discord_payloads.snowflakes import iso


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
