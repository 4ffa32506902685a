"""Payload factories for the Discord emulator: the JSON objects Discord sends, field for field.

Every object the emulator puts on the wire (REST responses and gateway dispatches) is built here, and
each factory is round-tripped through discord.py's own constructors in the tests, because discord.py
reads many keys with ``data[...]``: a missing ``attachment_size_limit`` or member ``flags`` kills the
bot with a ``KeyError`` inside the gateway parser (docs/discord.md, section 9).

Like the emulator, this package imports nothing from the rest of the project and nothing from discord.py.

The package's modules, from the bottom up: ``constants`` (permission bits, type and flag enums) and
``snowflakes`` (ids and timestamps); then one module per kind of object: ``members`` (users, roles,
members), ``guilds`` (guilds, channels, threads), ``login`` (application, gateway, READY),
``messages`` (messages, attachments), ``interactions`` (interactions, callback responses, registered
commands) and ``errors`` (error and 429 bodies).
"""

from sandbox.discord_payloads.constants import (
    API_VERSION,
    BOT_ROLE_PERMS,
    DISCORD_EPOCH_MS,
    EVERYONE_PERMS,
    MODERATOR_PERMS,
    CallbackType,
    ChannelType,
    InteractionType,
    JsonObj,
    MessageFlag,
    MessageType,
    OptionType,
    Perm,
)
from sandbox.discord_payloads.errors import (
    error_payload,
    rate_limit_payload,
)
from sandbox.discord_payloads.guilds import (
    guild_create_payload,
    overwrite_payload,
    partial_guild_payload,
    text_channel_payload,
    thread_payload,
)
from sandbox.discord_payloads.interactions import (
    application_command_payload,
    callback_response_payload,
    chat_input_data_payload,
    command_option_payload,
    component_data_payload,
    interaction_payload,
    message_command_data_payload,
    modal_submit_data_payload,
)
from sandbox.discord_payloads.login import (
    application_payload,
    gateway_bot_payload,
    gateway_payload,
    ready_payload,
)
from sandbox.discord_payloads.members import (
    member_payload,
    role_payload,
    user_payload,
)
from sandbox.discord_payloads.messages import (
    attachment_payload,
    interaction_metadata_payload,
    message_payload,
)
from sandbox.discord_payloads.snowflakes import (
    SnowflakeGen,
    iso,
    snowflake_time,
)

__all__ = [
    "API_VERSION",
    "BOT_ROLE_PERMS",
    "DISCORD_EPOCH_MS",
    "EVERYONE_PERMS",
    "MODERATOR_PERMS",
    "CallbackType",
    "ChannelType",
    "InteractionType",
    "JsonObj",
    "MessageFlag",
    "MessageType",
    "OptionType",
    "Perm",
    "SnowflakeGen",
    "application_command_payload",
    "application_payload",
    "attachment_payload",
    "callback_response_payload",
    "chat_input_data_payload",
    "command_option_payload",
    "component_data_payload",
    "error_payload",
    "gateway_bot_payload",
    "gateway_payload",
    "guild_create_payload",
    "interaction_metadata_payload",
    "interaction_payload",
    "iso",
    "member_payload",
    "message_command_data_payload",
    "message_payload",
    "modal_submit_data_payload",
    "overwrite_payload",
    "partial_guild_payload",
    "rate_limit_payload",
    "ready_payload",
    "role_payload",
    "snowflake_time",
    "text_channel_payload",
    "thread_payload",
    "user_payload",
]
