"""A SQLite database as a bot leaves it, filled through the real stores, with a row in every table:
the source for the ``pikabot db copy`` tests."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bot.domain.guild_settings import GuildSettings
from bot.domain.jobs import InputFile, JobKind, JobRequest, JobState, Origin, VideoResult
from bot.domain.member_defaults import MemberDefaults
from bot.store import Database, JobStore, JobUpdate
from bot.store.leases import Pipeline
from bot.store.member_defaults import MemberDefaultsStore
from bot.store.migrate import load_migrations
from bot.store.settings_store import SettingsStore

GUILD: Final = 1183508299895820390
CHANNEL: Final = 1183508299895820391
MEMBER: Final = 1183508299895820392
T0: Final = 1_700_000_000.0
DAY: Final = 1_699_920_000.0


@dataclass(frozen=True)
class Filled:
    """What the fill wrote that the tests look up by key."""

    job_ids: tuple[int, ...]
    deleted_id: int


async def fill(path: Path) -> Filled:
    """Jobs in several states (with inputs, history, a parent, a lapsed lease), settings, limits,
    budgets, member defaults, a budget alert and meta; the newest job deleted, as pruning would."""
    db = await Database.open(path)
    try:
        store = JobStore(db)
        job_ids = await _jobs(store)
        gone = await store.insert(JobRequest(JobKind.CREATE, MEMBER, _origin(), prompt="gone"), T0 + 50)
        await db.execute("DELETE FROM jobs WHERE id = ?", (gone.id,))
        settings = GuildSettings(alerts_channel_id=CHANNEL, banned_words=("gore",), announce_results=True)
        await SettingsStore(db).update(GUILD, T0, settings)
        await store.set_guild_limits(
            GUILD, T0, in_flight=2, per_day=10, cooldown=3.5, guild_budget_usd=5.0, member_budget_usd=1.25
        )
        await MemberDefaultsStore(db).update(
            MEMBER, T0, MemberDefaults(aspect_ratio="16:9", model="2.2", negative="blur", ping=False)
        )
        assert await store.claim_budget_alert(GUILD, DAY, 80, T0)
        await store.set_meta("command_tree", "sha256:abc")
        return Filled(job_ids, gone.id)
    finally:
        await db.close()


def _origin() -> Origin:
    return Origin(guild_id=GUILD, channel_id=CHANNEL)


async def _jobs(store: JobStore) -> tuple[int, ...]:
    image = InputFile(
        "image", "fox.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), url="https://x/f.png"
    )
    queued = await store.insert(
        JobRequest(
            JobKind.ANIMATE,
            MEMBER,
            _origin(),
            prompt="a fox",
            inputs=(image,),
            defaulted=frozenset({"model"}),
            ping=False,
        ),
        T0,
    )
    unplaced = await store.insert(
        JobRequest(JobKind.CREATE, MEMBER, _origin(), prompt="later"), T0 + 1, placed=False
    )
    running = await store.insert(JobRequest(JobKind.CREATE, MEMBER, _origin(), prompt="a cat"), T0 + 2)
    await store.transition(running.id, JobState.SUBMITTING, T0 + 3)
    update = JobUpdate(
        account="acct-1",
        upstream_id="up-1",
        callback_token_hash="ab" * 32,
        submitted_at=T0 + 4,
        next_poll_at=T0 + 9,
    )
    await store.transition(running.id, JobState.RUNNING, T0 + 4, update)
    # As a killed bot leaves it: a lease that ran out long ago is copied as it is, not refused.
    assert await store.leases.acquire(running.id, Pipeline.WORK, T0 + 4, T0 + 34)
    done = await store.insert(
        JobRequest(JobKind.GENERATE, MEMBER, _origin(), prompt="a bird", provider="fal", cost_usd=0.2), T0 + 5
    )
    await store.transition(done.id, JobState.SUBMITTING, T0 + 6)
    await store.transition(done.id, JobState.RUNNING, T0 + 7, JobUpdate(upstream_id="fal-1"))
    video = VideoResult("/media/1.mp4", 1234, "pika.mp4", "video/mp4", "https://v/1.mp4", seed=2**64 - 5)
    await store.transition(done.id, JobState.COMPLETED, T0 + 8, JobUpdate(video=video))
    await store.transition(done.id, JobState.DELIVERED, T0 + 9, JobUpdate(delivered_message_id=CHANNEL + 7))
    failed = await store.insert(JobRequest(JobKind.CREATE, MEMBER, _origin(), prompt="no"), T0 + 10)
    await store.transition(failed.id, JobState.SUBMITTING, T0 + 11)
    await store.transition(
        failed.id, JobState.FAILED, T0 + 12, JobUpdate(error_code="upstream_failed", error_message="nope")
    )
    remix = await store.insert(
        JobRequest(JobKind.CREATE, MEMBER, _origin(), prompt="yes", remix=True), T0 + 13, parent_id=failed.id
    )
    await store.transition(remix.id, JobState.CANCELLED, T0 + 14)
    return (queued.id, unplaced.id, running.id, done.id, failed.id, remix.id)


def write_outdated(path: Path) -> int:
    """A SQLite file one migration behind the latest, as an older pikabot left it; its version."""
    migrations = load_migrations("sqlite")[:-1]
    with sqlite3.connect(path) as conn:
        for migration in migrations:
            conn.executescript(migration.sql)
            conn.execute(f"PRAGMA user_version={migration.version:d}")
    conn.close()
    return migrations[-1].version


def table_names(path: Path) -> list[str]:
    """Every table of ours in a SQLite file (not SQLite's own)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        names = sorted(str(row[0]) for row in rows)
    conn.close()
    return names
