"""The discord.py Bot: setup_hook wires the engine and the cogs, close() unwinds them.

``create_bot`` picks the class: ``PikaBot`` holds Discord's whole gateway in one process, and
``ShardedPikaBot`` only the shards ``[discord] shard_ids`` names, so several processes share a bot.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import discord
import yarl
from discord.ext import commands

from bot.config import Settings
from bot.discord.community import CommunityBoard
from bot.discord.delivery import DiscordDelivery
from bot.discord.errors import PikaTree
from bot.domain.retry import RetryPolicy
from bot.observability.metrics import Metrics, discord_trace_config
from bot.providers.registry import routes_from
from bot.runtime import Runtime

log = logging.getLogger(__name__)

EXTENSIONS = ("cogs.pika", "cogs.admin")
_SYNC_KEY = "command_tree_hash"

# Exactly what the bot does in a channel, nothing more: read it, post status and results, start
# threads and post in them, embed and attach. Used for the invite URL and checked per command.
REQUIRED_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    attach_files=True,
    # Only to find its own status message after a crash cut placing short, rather than post another.
    read_message_history=True,
)


def point_discord_at(api_base_url: str, gateway_url: str) -> None:
    """Send discord.py's REST and gateway traffic to another host (a proxy, the local emulator).

    discord.py reads both from class attributes; the interaction webhook adapter uses the same Route.
    """
    if api_base_url:
        discord.http.Route.BASE = api_base_url.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def invite_url(application_id: int) -> str:
    """The OAuth2 URL that adds the bot with exactly REQUIRED_PERMISSIONS and slash commands."""
    return discord.utils.oauth_url(
        application_id, permissions=REQUIRED_PERMISSIONS, scopes=("bot", "applications.commands")
    )


# pikabot never joins voice; don't warn at every start that voice libraries are missing.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class PikaBot(commands.Bot):
    """pikabot's client. The engine (store, scheduler, webhook server) starts in setup_hook."""

    runtime: Runtime

    def __init__(
        self,
        settings: Settings,
        *,
        policy: RetryPolicy | None = None,
        status_interval: float = 3.0,
        engine: bool = True,
        **options: Any,
    ) -> None:
        # Slash commands need no privileged intents: no members, no message content.
        intents = discord.Intents.none()
        intents.guilds = True
        self.metrics = Metrics()  # before the Client: discord.py takes the trace config at construction
        super().__init__(
            http_trace=discord_trace_config(self.metrics),
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            tree_cls=PikaTree,  # one table-driven answer to every command's error
            max_messages=None,
            **options,
        )
        self.settings = settings
        self.routes = routes_from(settings)  # which provider each routed command goes to, `auto` resolved
        self._policy = policy
        self._with_engine = engine  # False for `pikabot sync`: commands only, no store or servers
        self.delivery = DiscordDelivery(self, status_interval=status_interval, metrics=self.metrics)

    async def setup_hook(self) -> None:
        """Engine first (so buttons clicked at once find the store), then cogs, then a gated sync."""
        if self._with_engine:
            self.runtime = await Runtime.start(
                self.settings, self.delivery, policy=self._policy, metrics=self.metrics
            )
            log.info("recovered after start: %s", self.runtime.recovery)
            # Account alerts go to every alerts channel admins chose in /pika-admin settings.
            self.delivery.alert_channels = self.runtime.guild_settings.alert_channels
            # Budget alerts concern one guild: only its own alerts channel hears them.
            self.delivery.guild_alert_channels = self.runtime.guild_settings.alert_channels_of
            # Results announced in, and listed by a digest in, each community channel (half the status
            # pace: the digest shares that channel's edit budget with the status messages posted there).
            self.delivery.community = CommunityBoard(
                self,
                self.runtime.guild_settings,
                self.runtime.store,
                self.delivery.pacer,
                interval=2 * self.delivery.status_interval,
            ).video_posted
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self._with_engine:
            await self._sync_here()
            if self.application_id is not None:
                log.info("invite pikabot with: %s", invite_url(self.application_id))

    async def _sync_here(self) -> None:
        """Sync the commands from this process only if it is the one chosen to (``sync_commands``)."""
        if self.settings.discord.syncs_commands:
            await self.sync_if_changed()
        else:
            # Every process runs the same tree; N of them syncing would race for one rate limit.
            log.info("slash commands are synced by the process holding shard 0, not this one")

    def command_tree_hash(self) -> str:
        """A digest of the commands as Discord would receive them."""
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands()]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    async def sync_if_changed(self) -> bool:
        """Sync global commands only when the tree differs from the last sync (creates are rate limited)."""
        digest = self.command_tree_hash()
        if await self.runtime.store.get_meta(_SYNC_KEY) == digest:
            return False
        await self.tree.sync()
        await self.runtime.store.set_meta(_SYNC_KEY, digest)
        log.info("slash commands synced (tree changed)")
        return True

    async def close(self) -> None:
        """Stop the engine (state is in SQLite), then disconnect."""
        runtime = getattr(self, "runtime", None)
        if runtime is not None:
            await runtime.stop()
        await self.delivery.close()  # while the HTTP session is still open
        await super().close()


class ShardedPikaBot(PikaBot, commands.AutoShardedBot):
    """PikaBot on some of Discord's gateway shards; REST (posts, edits, threads) reaches every guild.

    discord.py's cache then holds only this process's guilds, so nothing that posts for a job may
    depend on the guild being cached (the job may come from another process's shard).
    """


def create_bot(settings: Settings, **options: Any) -> PikaBot:
    """The bot for this process: sharded as ``[discord] shard_count / shard_ids`` say, else whole."""
    config = settings.discord
    if not config.sharded:
        return PikaBot(settings, **options)
    # discord.py runs every shard of the count when shard_ids is None, and wants a list otherwise.
    shard_ids = list(config.shard_ids) or None
    log.info("gateway shards %s of %d", shard_ids or "all", config.shard_count)
    return ShardedPikaBot(settings, shard_count=config.shard_count, shard_ids=shard_ids, **options)
