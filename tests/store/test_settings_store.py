"""SettingsStore on both backends: defaults, round trip, reopen, other writers, alerts channels."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from bot.domain.guild_settings import GuildSettings, RoleLimits
from bot.store import Database
from bot.store.settings_store import SettingsStore

FULL = GuildSettings(
    community_channel_id=900000000000000201,
    allowed_channel_ids=frozenset({900000000000000200}),
    allowed_role_ids=frozenset({11, 12}),
    moderator_role_ids=frozenset({13}),
    banned_words=("gore", "red panda"),
    announce_results=True,
    alerts_channel_id=900000000000000202,
    role_limits={14: RoleLimits(in_flight=5, per_day=0)},
)


async def test_a_guild_without_settings_gets_the_defaults(db_target: str) -> None:
    """No row: open to everyone everywhere."""
    db = await Database.open(db_target)
    try:
        assert await SettingsStore(db).get(1) == GuildSettings()
    finally:
        await db.close()


async def test_round_trip_and_update_per_guild(db_target: str) -> None:
    """What is stored is read back; a second update replaces it; other guilds are untouched."""
    db = await Database.open(db_target)
    try:
        store = SettingsStore(db)
        await store.update(1, 10.0, FULL)
        assert await store.get(1) == FULL
        assert await store.get(2) == GuildSettings()
        smaller = GuildSettings(banned_words=("gore",))
        await store.update(1, 11.0, smaller)
        assert await store.get(1) == smaller
        row = await db.fetch_one("SELECT COUNT(*), MAX(updated_at) FROM guild_settings")
        assert row is not None and (row[0], row[1]) == (1, 11.0)
    finally:
        await db.close()


async def test_settings_survive_reopening_the_database(db_target: str) -> None:
    """A restart (a new connection to the same database) reads the same settings."""
    db = await Database.open(db_target)
    await SettingsStore(db).update(1, 10.0, FULL)
    await db.close()
    db = await Database.open(db_target)
    try:
        assert await SettingsStore(db).get(1) == FULL
    finally:
        await db.close()


async def test_a_change_by_another_connection_is_seen_at_once(db_target: str) -> None:
    """Nothing is cached: a write from another process (here another connection) shows up."""
    db = await Database.open(db_target)
    other = await Database.open(db_target)
    try:
        store = SettingsStore(db)
        await store.update(1, 10.0, GuildSettings())
        await other.execute(
            "UPDATE guild_settings SET settings_json = ? WHERE guild_id = 1", (FULL.to_json(),)
        )
        assert await store.get(1) == FULL
    finally:
        await other.close()
        await db.close()


async def test_unreadable_row_falls_back_to_the_defaults(db_target: str) -> None:
    """A hand-edited row of the wrong shape does not break every command: defaults, logged."""
    db = await Database.open(db_target)
    try:
        await db.execute(
            "INSERT INTO guild_settings VALUES (1, ?, 0)", ('{"allowed_channel_ids": "everywhere"}',)
        )
        assert await SettingsStore(db).get(1) == GuildSettings()
    finally:
        await db.close()


async def test_invalid_json_is_refused_by_the_schema(db_target: str) -> None:
    """The table only takes valid JSON (a CHECK constraint on both backends)."""
    db = await Database.open(db_target)
    try:
        with pytest.raises((sqlite3.IntegrityError, asyncpg.CheckViolationError)):
            await db.execute("INSERT INTO guild_settings VALUES (1, 'not json', 0)")
    finally:
        await db.close()


async def test_alert_channels_across_guilds(db_target: str) -> None:
    """Every guild's alerts channel, and none for guilds without one."""
    db = await Database.open(db_target)
    try:
        store = SettingsStore(db)
        assert await store.alert_channels() == []
        await store.update(1, 1.0, FULL)
        await store.update(2, 1.0, GuildSettings())
        await store.update(3, 1.0, GuildSettings(alerts_channel_id=7))
        assert await store.alert_channels() == [900000000000000202, 7]
        # One guild's own (budget alerts go there alone).
        assert await store.alert_channels_of(3) == (7,)
        assert await store.alert_channels_of(2) == ()
        assert await store.alert_channels_of(4) == ()  # no settings at all
    finally:
        await db.close()
