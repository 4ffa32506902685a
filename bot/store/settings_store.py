"""SettingsStore: the per-guild settings, one JSON document per guild."""

from __future__ import annotations

import logging

from bot.domain.guild_settings import GuildSettings
from bot.store.backend import Database

log = logging.getLogger(__name__)


class SettingsStore:
    """Read and write guild settings. Nothing is cached: a read is one primary-key lookup, and another
    process (the CLI, a second bot) may change the settings at any time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, guild_id: int) -> GuildSettings:
        """A guild's settings; the defaults when it has none (or its row cannot be read)."""
        row = await self.db.fetch_one(
            "SELECT settings_json FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        if row is None:
            return GuildSettings()
        try:
            return GuildSettings.from_json(str(row[0]))
        except ValueError:
            # A row written by a newer pikabot or edited by hand: stay usable with the defaults, loudly.
            log.exception("guild %s: stored settings are unreadable; using the defaults", guild_id)
            return GuildSettings()

    async def update(self, guild_id: int, now: float, settings: GuildSettings) -> None:
        """Replace a guild's settings."""
        await self.db.execute(
            """INSERT INTO guild_settings (guild_id, settings_json, updated_at) VALUES (?, ?, ?)
               ON CONFLICT (guild_id) DO UPDATE SET settings_json = excluded.settings_json,
                   updated_at = excluded.updated_at""",
            (guild_id, settings.to_json(), now),
        )

    async def alert_channels_of(self, guild_id: int) -> tuple[int, ...]:
        """One guild's alerts channel, if its admins chose one."""
        return (await self.get(guild_id)).alert_channels()

    async def alert_channels(self) -> list[int]:
        """Every guild's alerts channel (where admins are told about upstream account problems)."""
        channel = self.db.dialect.json("settings_json", "alerts_channel_id")
        rows = await self.db.fetch(
            f"SELECT {channel} FROM guild_settings WHERE {channel} IS NOT NULL ORDER BY guild_id"
        )
        return [int(row[0]) for row in rows]
