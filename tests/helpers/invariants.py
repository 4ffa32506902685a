"""The fault suite's invariants, checked over the SQLite file and the stand-ins' records.

I1 no lost job: every job is terminal and its member was told (a result or exactly one notice).
I2 no duplicate post: at most one result message, one notice and one status message per job in
   Discord.
I3 monotonic state: the recorded history follows legal transitions only; upstream accepted at most
   one submit per job (a Retry is a new job with its own id).
I4 PRAGMA integrity_check is ok; no callback token is still valid for a completed or finished job.

The checker reads the database with the sqlite3 module (or asyncpg) directly, not through pikabot's store, so a
bug in the store cannot hide a violation. It fails loudly, naming every offending job.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.jobs import TERMINAL_STATES, JobState, can_transition
from sandbox.discord_emu import DiscordEmulator
from sandbox.useapi_sim import UseapiSimulator


@dataclass(frozen=True)
class Violation:
    """One broken invariant."""

    rule: str
    job_id: int | None
    detail: str

    def __str__(self) -> str:
        where = f"job {self.job_id}" if self.job_id is not None else "database"
        return f"{self.rule} {where}: {self.detail}"


class InvariantError(AssertionError):
    """The invariants do not hold; the message lists every violation."""


@dataclass(frozen=True)
class StoreSnapshot:
    """What the checker reads from a store: its integrity verdict, the jobs and their history."""

    integrity: str
    jobs: Sequence[Mapping[str, Any]]
    events: Sequence[Mapping[str, Any]]


_JOBS = "SELECT id, state, notified, callback_token_hash, interaction_id FROM jobs ORDER BY id"
_STATUS_FOOTER = re.compile(r"job (\d+) ·")
_EVENTS = "SELECT job_id, from_state, to_state FROM job_events ORDER BY id"


def snapshot_sqlite(db_path: Path) -> StoreSnapshot:
    """Read an SQLite store with the sqlite3 module."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        check = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        return StoreSnapshot(check, conn.execute(_JOBS).fetchall(), conn.execute(_EVENTS).fetchall())
    finally:
        conn.close()


async def read_postgres(url: str, *queries: str) -> list[list[dict[str, Any]]]:
    """The rows of each query, read with asyncpg directly on one connection."""
    import asyncpg  # only the PostgreSQL tests need it

    conn = await asyncpg.connect(url)
    try:
        return [[dict(row) for row in await conn.fetch(query)] for query in queries]
    finally:
        await conn.close()


async def snapshot_postgres(url: str) -> StoreSnapshot:
    """Read a PostgreSQL store (PostgreSQL checks its own pages: its integrity counts as "ok")."""
    jobs, events = await read_postgres(url, _JOBS, _EVENTS)
    return StoreSnapshot("ok", jobs, events)


def find_violations(
    db: Path | StoreSnapshot,
    emulator: DiscordEmulator | None = None,
    simulator: UseapiSimulator | None = None,
) -> list[Violation]:
    """Every violation of I1-I4 in the store (and in the stand-ins' records when given)."""
    found: list[Violation] = []
    snapshot = db if isinstance(db, StoreSnapshot) else snapshot_sqlite(db)
    if snapshot.integrity != "ok":
        found.append(Violation("I4", None, f"integrity_check says {snapshot.integrity!r}"))
    history: dict[int, list[tuple[str | None, str]]] = {}
    for event in snapshot.events:
        history.setdefault(event["job_id"], []).append((event["from_state"], event["to_state"]))
    posted = _posted_in(emulator) if emulator is not None else None
    accepted = _accepted_submits(simulator) if simulator is not None else Counter[str]()
    for job in snapshot.jobs:
        job_id, state = job["id"], JobState(job["state"])
        found += _told_violations(job, state, posted)
        if accepted[str(job_id)] > 1:
            found.append(Violation("I3", job_id, f"upstream accepted {accepted[str(job_id)]} submits"))
        found += _history_violations(job_id, history.get(job_id, []))
        if job["callback_token_hash"] is not None and (
            state in TERMINAL_STATES or state is JobState.COMPLETED
        ):
            found.append(Violation("I4", job_id, f"callback token still valid while {state.value}"))
    return found


@dataclass
class _Posted:
    """What the emulator shows of each job: results, public notices, status messages, and the
    members' private answers by interaction."""

    results: Counter[int] = field(default_factory=Counter)
    notices: Counter[int] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    private: dict[int, list[str]] = field(default_factory=dict)


def _posted_in(emulator: DiscordEmulator) -> _Posted:
    """Count what the emulator holds for each job, deleted results included when the bot deleted them."""
    posted = _Posted(statuses=_status_messages(emulator))
    for message in emulator.messages.values():
        # A notice may also reach the member privately, as an ephemeral follow-up to their command.
        if message.ephemeral and not message.deleted and message.interaction_id is not None:
            posted.private.setdefault(message.interaction_id, []).append(message.content)
        # A result the bot itself deleted (the member pressed Delete) was delivered all the same.
        if (message.deleted and not message.deleted_by_bot) or not isinstance(message.nonce, str):
            continue
        if message.nonce.startswith("pkr") and message.nonce[3:].isdigit():
            posted.results[int(message.nonce[3:])] += 1
        elif message.nonce.startswith("pkn") and message.nonce[3:].isdigit():
            posted.notices[int(message.nonce[3:])] += 1
    return posted


def _accepted_submits(simulator: UseapiSimulator) -> Counter[str]:
    """Submits upstream accepted, by replyRef."""
    accepted = Counter[str]()
    for request in simulator.requests:
        if request.method == "POST" and request.status == 200 and "replyRef" in request.fields:
            accepted[request.fields["replyRef"]] += 1
    return accepted


def _told_violations(job: Mapping[str, Any], state: JobState, posted: _Posted | None) -> list[Violation]:
    """I1 (ended and told, in the store and in Discord) and I2 (at most one of each message)."""
    job_id = job["id"]
    found: list[Violation] = []
    if state not in TERMINAL_STATES:
        found.append(Violation("I1", job_id, f"still {state.value}"))
    elif not job["notified"]:
        found.append(Violation("I1", job_id, f"{state.value} but the member was never told"))
    if posted is None:
        return found
    results, notices, statuses = posted.results[job_id], posted.notices[job_id], posted.statuses[job_id]
    if state in TERMINAL_STATES:
        told = results if state is JobState.DELIVERED else notices
        if state is not JobState.DELIVERED and job["interaction_id"] is not None:
            told += sum(f"job {job_id} " in text for text in posted.private.get(job["interaction_id"], []))
        if told == 0 and job["notified"]:
            found.append(Violation("I1", job_id, f"{state.value}, marked told, but no message in Discord"))
    if results > 1 or notices > 1:
        found.append(Violation("I2", job_id, f"{results} results and {notices} notices posted"))
    if statuses > 1:
        found.append(Violation("I2", job_id, f"{statuses} status messages posted"))
    return found


def _history_violations(job_id: int, steps: list[tuple[str | None, str]]) -> list[Violation]:
    """I3: the recorded history starts queued, each move follows the last, and every move is legal."""
    found: list[Violation] = []
    if not steps or steps[0] != (None, JobState.QUEUED.value):
        found.append(Violation("I3", job_id, f"history does not start queued: {steps[:1]}"))
    for (_, after), (next_before, _) in itertools.pairwise(steps):
        if next_before != after:
            found.append(
                Violation("I3", job_id, f"history jumps from {after} to a move out of {next_before}")
            )
    for before, after in steps[1:]:
        if before is None or not can_transition(JobState(before), JobState(after)):
            found.append(Violation("I3", job_id, f"illegal move {before} -> {after}"))
    return found


def _status_messages(emulator: DiscordEmulator) -> Counter[int]:
    """Status messages per job: public bot messages whose embed footer starts "job N ·", posted as
    the member's follow-up (no nonce) or with the bot token (nonce pks<N>), not results or notices."""
    found = Counter[int]()
    for message in emulator.messages.values():
        if message.deleted or message.ephemeral or message.author_id != emulator.config.bot_user_id:
            continue
        if message.nonce is not None and not str(message.nonce).startswith("pks"):
            continue
        for embed in message.embeds:
            footer = _STATUS_FOOTER.match(str((embed.get("footer") or {}).get("text", "")))
            if footer is not None:
                found[int(footer.group(1))] += 1
    return found


def assert_invariants(
    db: Path | StoreSnapshot,
    emulator: DiscordEmulator | None = None,
    simulator: UseapiSimulator | None = None,
) -> None:
    """Raise InvariantError naming every violation, if there is any."""
    violations = find_violations(db, emulator, simulator)
    if violations:
        lines = "\n  ".join(str(v) for v in violations)
        raise InvariantError(f"{len(violations)} invariant violation(s):\n  {lines}")
