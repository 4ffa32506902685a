"""A protocol-level local stand-in for Discord that the real discord.py client connects to.

One aiohttp app on 127.0.0.1 serves the gateway websocket (``/gateway``: HELLO, heartbeats, IDENTIFY,
READY, GUILD_CREATE, RESUME, dispatches; one session per shard, each hearing its guilds), the REST routes discord.py 2.7 uses (``/api/v10/...``), a CDN
for attachment bytes (``/cdn/attachments/<id>/<filename>``) and a small control API (``/_emu/...``).

It enforces what Discord enforces and fails loudly otherwise: every breach (late or double ack, dead
interaction token, oversized content/embeds/components/files, malformed bodies per Discord's OpenAPI
spec, unknown routes, bad tokens) is answered with Discord's error body *and* appended to
``violations``, which tests assert is empty. Every REST call is recorded in ``calls``.

Deliberately independent: it imports nothing from the engine (``bot``/``cogs``) and nothing from
discord.py, so a misunderstanding of Discord in the bot cannot be mirrored (and hidden) here.
Facts it relies on: docs/discord.md (sections 8-9 for discord.py's needs, 1-7 for Discord's limits,
10 for sharding).

Run it standalone with ``python -m sandbox.discord_emu --port 0``; it prints its URLs as JSON.

The package's modules, from the bottom up: ``constants`` and ``values``; ``errors``, ``spec`` (validation
against the OpenAPI spec), ``components``, ``message_checks`` and ``command_checks`` (Discord's limits by
hand); ``config`` and ``records`` (what tests set and read), ``routing`` and ``sessions``; the emulator's
layers over ``state`` (``events``, ``channels``, ``guilds``, ``messages``, ``gateway``, ``member_actions``,
``queries``, ``ratelimits``, ``server``, the ``rest_*`` route groups, ``control``), put together in
``emulator``; ``runner`` serves it.
"""

from sandbox.discord_emu.config import EmuConfig, EmuFaults, EmuGuild
from sandbox.discord_emu.emulator import DiscordEmulator
from sandbox.discord_emu.records import (
    EmuAttachment,
    EmuChannel,
    EmuInteraction,
    EmuMessage,
    EmuResponse,
    GatewayRecord,
    MessageSource,
    RecordedCall,
    RecordedFile,
)
from sandbox.discord_emu.runner import RunningEmulator, start_emulator
from sandbox.discord_emu.sessions import ShardSession
from sandbox.discord_emu.values import shard_of

__all__ = [
    "DiscordEmulator",
    "EmuAttachment",
    "EmuChannel",
    "EmuConfig",
    "EmuFaults",
    "EmuGuild",
    "EmuInteraction",
    "EmuMessage",
    "EmuResponse",
    "GatewayRecord",
    "MessageSource",
    "RecordedCall",
    "RecordedFile",
    "RunningEmulator",
    "ShardSession",
    "shard_of",
    "start_emulator",
]
