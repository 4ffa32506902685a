"""Interactions (slash and context-menu commands, buttons, modals), their responses, registered commands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.discord_payloads.constants import CallbackType, JsonObj, OptionType
from sandbox.discord_payloads.guilds import partial_guild_payload


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
