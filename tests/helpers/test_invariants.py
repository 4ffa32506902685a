"""The invariant checker itself: it must catch each kind of violation, naming the job."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.store import Database, JobStore, JobUpdate
from sandbox.discord_emu import DiscordEmulator, EmuConfig
from sandbox.discord_emu.records import EmuMessage, MessageSource
from sandbox.sim_common.recording import RequestHead
from sandbox.useapi_sim import SimConfig, UseapiSimulator
from sandbox.useapi_sim.records import RecordedRequest
from tests.helpers.invariants import InvariantError, assert_invariants, find_violations


async def make_db(path: Path) -> JobStore:
    db = await Database.open(path)
    return JobStore(db)


async def test_a_clean_history_passes(tmp_path: Path) -> None:
    """queued -> submitting -> running -> completed -> delivered, told: no violation."""
    store = await make_db(tmp_path / "a.sqlite3")
    job = await store.insert(JobRequest(JobKind.CREATE, 1, Origin(1, 2), "x"), 1.0)
    for state in (JobState.SUBMITTING, JobState.RUNNING, JobState.COMPLETED):
        await store.transition(
            job.id, state, 2.0, JobUpdate(callback_token_hash="h" if state is JobState.SUBMITTING else None)
        )
    await store.transition(job.id, JobState.DELIVERED, 3.0, JobUpdate(notified=True))
    await store.db.close()
    assert_invariants(tmp_path / "a.sqlite3")


async def test_each_violation_is_named(tmp_path: Path) -> None:
    """A stuck job (I1), an untold failure (I1), an illegal move (I3) and a live token (I4) are all found."""
    path = tmp_path / "b.sqlite3"
    store = await make_db(path)
    stuck = await store.insert(JobRequest(JobKind.CREATE, 1, Origin(1, 2), "stuck"), 1.0)
    untold = await store.insert(JobRequest(JobKind.CREATE, 1, Origin(1, 2), "untold"), 1.0)
    await store.transition(untold.id, JobState.FAILED, 2.0)
    await store.db.close()
    with sqlite3.connect(path) as conn:
        # Forge what pikabot's store would never write: a backwards move and a token on a finished job.
        conn.execute("UPDATE jobs SET state = 'running' WHERE id = ?", (untold.id,))
        conn.execute(
            "UPDATE jobs SET state = 'failed', callback_token_hash = 'live' WHERE id = ?", (untold.id,)
        )
    rules = {(v.rule, v.job_id) for v in find_violations(path)}
    assert ("I1", stuck.id) in rules
    assert ("I1", untold.id) in rules
    assert ("I3", untold.id) in rules
    assert ("I4", untold.id) in rules
    with pytest.raises(InvariantError, match=f"job {stuck.id}: still queued"):
        assert_invariants(path)


async def delivered_and_failed(path: Path) -> tuple[int, int]:
    """Two finished, told jobs: one delivered, one failed."""
    store = await make_db(path)
    ids = []
    for target in (JobState.DELIVERED, JobState.FAILED):
        job = await store.insert(JobRequest(JobKind.CREATE, 1, Origin(1, 2), "x"), 1.0)
        if target is JobState.DELIVERED:
            for state in (JobState.SUBMITTING, JobState.RUNNING, JobState.COMPLETED):
                await store.transition(job.id, state, 2.0)
        await store.transition(job.id, target, 3.0, JobUpdate(notified=True))
        ids.append(job.id)
    await store.db.close()
    return ids[0], ids[1]


def post(emu: DiscordEmulator, nonce: str | None, footer: str | None = None) -> None:
    """A public bot message with `nonce` (and a status embed footer), as the bot would post it."""
    message_id = len(emu.messages) + 1
    embeds = [{"footer": {"text": footer}}] if footer else []
    emu.messages[message_id] = EmuMessage(
        message_id, 2, emu.config.bot_user_id, MessageSource.BOT, 1.0, embeds=embeds, nonce=nonce
    )


async def test_discord_and_upstream_violations_are_named(tmp_path: Path) -> None:
    """Told but nothing in Discord (I1), two results, two notices or two status messages (I2), and
    two submits upstream accepted (I3) are each found, against the stand-ins' own records."""
    path = tmp_path / "c.sqlite3"
    delivered, failed = await delivered_and_failed(path)
    emu, sim = DiscordEmulator(EmuConfig()), UseapiSimulator(SimConfig())
    assert {(v.rule, v.job_id) for v in find_violations(path, emu, sim)} == {
        ("I1", delivered),
        ("I1", failed),
    }  # marked told, but Discord shows nothing
    post(emu, f"pkr{delivered}")
    post(emu, f"pkn{failed}")
    post(emu, None, f"job {delivered} · useapi.net")
    assert find_violations(path, emu, sim) == []
    post(emu, f"pkr{delivered}")
    post(emu, f"pkn{failed}")
    post(emu, f"pks{failed}", f"job {failed} · useapi.net")
    post(emu, f"pks{failed}", f"job {failed} · useapi.net")
    for _ in range(2):
        head = RequestHead("POST", "/v1/pika/create", {}, {}, "multipart/form-data")
        sim.requests.append(RecordedRequest(**vars(head), fields={"replyRef": str(delivered)}, status=200))
    found = {(v.rule, v.job_id, v.detail) for v in find_violations(path, emu, sim)}
    assert found == {
        ("I2", delivered, "2 results and 0 notices posted"),
        ("I2", failed, "0 results and 2 notices posted"),
        ("I2", failed, "2 status messages posted"),
        ("I3", delivered, "upstream accepted 2 submits"),
    }
