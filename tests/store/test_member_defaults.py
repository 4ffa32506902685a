"""MemberDefaultsStore on both backends, and the defaults a job keeps with it."""

from __future__ import annotations

from bot.domain.jobs import JobKind, JobRequest, Origin
from bot.domain.member_defaults import MemberDefaults
from bot.store import Database, JobStore
from bot.store.member_defaults import MemberDefaultsStore

MINE = MemberDefaults(aspect_ratio="9:16", resolution="1080p", model="v2.2", negative="blur", ping=False)


async def test_defaults_round_trip_replace_and_clear(db_target: str) -> None:
    """None set: empty, ping on. Stored ones read back (after a reopen too), replaced, cleared."""
    db = await Database.open(db_target)
    try:
        store = MemberDefaultsStore(db)
        assert await store.get(900000000000000101) == MemberDefaults()
        await store.update(900000000000000101, 1.0, MINE)
        await store.update(102, 1.0, MemberDefaults(negative="text"))
    finally:
        await db.close()
    db = await Database.open(db_target)
    try:
        store = MemberDefaultsStore(db)
        assert await store.get(900000000000000101) == MINE
        await store.update(
            900000000000000101, 2.0, MINE.changed(MemberDefaults(aspect_ratio="1:1"), ping=True)
        )
        assert await store.get(900000000000000101) == MemberDefaults("1:1", "1080p", "v2.2", "blur", True)
        await store.clear(900000000000000101)
        assert await store.get(900000000000000101) == MemberDefaults()
        assert await store.get(102) == MemberDefaults(negative="text")
    finally:
        await db.close()


async def test_a_job_keeps_the_options_taken_from_defaults_and_its_ping(store: JobStore) -> None:
    """Which options came from the member's defaults and whether to ping are stored with the job."""
    origin = Origin(guild_id=1, channel_id=2, thread_id=None, interaction_id=3)
    request = JobRequest(
        JobKind.CREATE, 101, origin, "a fox", defaulted=frozenset({"negative", "aspect_ratio"}), ping=False
    )
    job = await store.insert(request, 1.0)
    stored = await store.get(job.id)
    assert stored is not None
    assert stored.defaulted == {"aspect_ratio", "negative"} and stored.ping is False
    plain = await store.insert(JobRequest(JobKind.CREATE, 101, origin, "a cat"), 1.0)
    assert plain.defaulted == frozenset() and plain.ping is True and plain.remix is False
    remix = await store.insert(
        JobRequest(JobKind.CREATE, 101, origin, "a dog", remix=True), 1.0, parent_id=job.id
    )
    assert remix.remix and remix.parent_id == job.id
