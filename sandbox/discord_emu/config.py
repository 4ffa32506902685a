"""What a test configures: the emulated application and its guilds (EmuConfig, EmuGuild) and the fault
knobs (EmuFaults).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.discord_emu.constants import MiB


def _default_members() -> dict[int, str]:
    return {101: "alice", 102: "bob", 103: "carol", 104: "mod"}


@dataclass(frozen=True)
class EmuGuild:
    """A further guild the bot is in, beside EmuConfig's own: one text channel and the same members.

    Its roles are @everyone (the guild's id), Moderator (``guild_id + 1``) and the bot's managed role
    (``guild_id + 2``); the roles tests add with ``add_role`` exist only in the first guild.
    """

    guild_id: int
    name: str
    text_channel_id: int
    text_channel_name: str = "generate"


@dataclass
class EmuConfig:
    """The emulated application, guild and Discord's limits; defaults match the docs."""

    application_id: int = 900000000000000001
    bot_user_id: int = 900000000000000001
    bot_name: str = "pikabot"
    bot_token: str = "emu-bot-token"  # noqa: S105 - a fake token the emulator accepts
    guild_id: int = 900000000000000100
    guild_name: str = "Pika Sandbox"
    owner_id: int = 100
    text_channel_id: int = 900000000000000200
    text_channel_name: str = "generate"
    community_channel_id: int = 900000000000000201
    community_channel_name: str = "community"
    moderator_role_id: int = 900000000000000300
    bot_role_id: int = 900000000000000301
    members: dict[int, str] = field(default_factory=_default_members)
    moderator_ids: frozenset[int] = frozenset({104})
    attachment_size_limit: int = 10 * MiB
    max_request_size: int = 25 * MiB
    ack_deadline: float = 3.0
    token_ttl: float = 900.0
    global_rate: int = 50
    channel_rate: tuple[int, float] = (5, 5.0)
    nonce_window: float = 300.0
    heartbeat_interval_ms: int = 41250
    #: Privileged intents the application is approved for (IDENTIFY asking for others gets close 4014).
    privileged_intents: int = 0
    #: slash() refuses commands the bot never synced (Discord's client would not offer them).
    require_registered_commands: bool = True
    #: Discord's OpenAPI spec (plain or .gz); defaults to the copy shipped in sandbox/assets.
    openapi_path: Path | None = None
    #: ``http://host:port`` used in CDN URLs; start_emulator fills it in, else the first request does.
    public_base_url: str = ""
    #: Guilds beyond ``guild_id`` (e.g. one whose id falls on another shard).
    extra_guilds: tuple[EmuGuild, ...] = ()
    #: ``GET /gateway/bot``'s recommended number of shards.
    recommended_shards: int = 1
    #: Discord's cap on guilds per gateway session; an IDENTIFY that would hold more is closed 4011.
    max_guilds_per_session: int = 2500
    #: Large-bot sharding: the shard count must be a multiple of this, or IDENTIFY is closed 4010.
    shard_multiple: int = 1


@dataclass
class EmuFaults:
    """Fault injection knobs; counters are consumed one per affected request."""

    #: Next N ``POST /channels/{id}/messages`` answer a route-scoped 429 (discord.py retries them).
    rate_limit_next: int = 0
    #: Next N bot-token requests answer a global 429.
    global_429_next: int = 0
    #: Next N channel message creates store the message, then answer 500 (the client retries).
    server_error_after_store_next: int = 0
    #: ``retry_after`` (seconds) of injected 429s.
    retry_after: float = 0.2
    #: Seconds every interaction follow-up takes to answer (a slow Discord; results beat their thread).
    followup_delay: float = 0.0
    _drop: Callable[[int], None] | None = field(default=None, repr=False, compare=False)

    def drop_gateway(self, shard: int = 0) -> None:
        """Close the bot's websocket (on ``shard``) with 4000; discord.py reconnects and RESUMEs."""
        if self._drop is None:
            raise RuntimeError("faults are not attached to an emulator")
        self._drop(shard)
