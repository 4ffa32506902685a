"""SettingsStore: per-guild settings in SQLite (defaults, round trip, reopen, alerts channels)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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


async def test_a_guild_without_settings_gets_the_defaults(tmp_path: Path) -> None:
    """No row: open to everyone everywhere."""
    db = await Database.open(tmp_path / "s.sqlite3")
    try:
        assert await SettingsStore(db).get(1) == GuildSettings()
    finally:
        await db.close()


async def test_round_trip_and_update_per_guild(tmp_path: Path) -> None:
    """What is stored is read back; a second update replaces it; other guilds are untouched."""
    db = await Database.open(tmp_path / "s.sqlite3")
    try:
        store = SettingsStore(db)
        await store.update(1, 10.0, FULL)
        assert await store.get(1) == FULL
        assert await store.get(2) == GuildSettings()
        smaller = GuildSettings(banned_words=("gore",))
        await store.update(1, 11.0, smaller)
        assert await store.get(1) == smaller
        async with db.conn.execute("SELECT COUNT(*), MAX(updated_at) FROM guild_settings") as cursor:
            row = await cursor.fetchone()
        assert row is not None and tuple(row) == (1, 11.0)
    finally:
        await db.close()


async def test_settings_survive_reopening_the_file(tmp_path: Path) -> None:
    """A restart (a new connection on the same file) reads the same settings."""
    path = tmp_path / "s.sqlite3"
    db = await Database.open(path)
    await SettingsStore(db).update(1, 10.0, FULL)
    await db.close()
    db = await Database.open(path)
    try:
        assert await SettingsStore(db).get(1) == FULL
    finally:
        await db.close()


async def test_a_change_by_another_connection_is_seen_at_once(tmp_path: Path) -> None:
    """Nothing is cached: a write from another process (here a plain sqlite3 connection) shows up."""
    path = tmp_path / "s.sqlite3"
    db = await Database.open(path)
    try:
        store = SettingsStore(db)
        await store.update(1, 10.0, GuildSettings())
        with sqlite3.connect(path) as other:
            other.execute("UPDATE guild_settings SET settings_json = ? WHERE guild_id = 1", (FULL.to_json(),))
        assert await store.get(1) == FULL
    finally:
        await db.close()


async def test_unreadable_row_falls_back_to_the_defaults(tmp_path: Path) -> None:
    """A hand-edited row of the wrong shape does not break every command: defaults, logged."""
    path = tmp_path / "s.sqlite3"
    db = await Database.open(path)
    try:
        with sqlite3.connect(path) as other:
            other.execute(
                "INSERT INTO guild_settings VALUES (1, ?, 0)", ('{"allowed_channel_ids": "everywhere"}',)
            )
        assert await SettingsStore(db).get(1) == GuildSettings()
    finally:
        await db.close()


async def test_invalid_json_is_refused_by_the_schema(tmp_path: Path) -> None:
    """The table only takes valid JSON."""
    path = tmp_path / "s.sqlite3"
    db = await Database.open(path)
    await db.close()
    with sqlite3.connect(path) as other, pytest.raises(sqlite3.IntegrityError):
        other.execute("INSERT INTO guild_settings VALUES (1, 'not json', 0)")


async def test_alert_channels_across_guilds(tmp_path: Path) -> None:
    """Every guild's alerts channel, and none for guilds without one."""
    db = await Database.open(tmp_path / "s.sqlite3")
    try:
        store = SettingsStore(db)
        assert await store.alert_channels() == []
        await store.update(1, 1.0, FULL)
        await store.update(2, 1.0, GuildSettings())
        await store.update(3, 1.0, GuildSettings(alerts_channel_id=7))
        assert await store.alert_channels() == [900000000000000202, 7]
    finally:
        await db.close()
