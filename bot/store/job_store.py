"""JobStore: every SQL statement pikabot runs against the jobs tables, one method per query (those
that store new jobs in bot.store.admission, those for limits and budgets in bot.store.limit_queries)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

from bot.domain.jobs import (
    TERMINAL_STATES,
    IllegalTransition,
    InputFile,
    Job,
    JobState,
    predecessors,
)
from bot.observability.logsetup import job_extra
from bot.store.admission import Admissions
from bot.store.backend import Database
from bot.store.callback_tokens import CallbackTarget
from bot.store.fair_queue import FAIR_ORDER, FAIR_QUEUE
from bot.store.job_rows import JobEvent, JobUpdate, StateCount, assignments, row_to_job
from bot.store.leases import LEASE_FREE, PLACE_FREE, LeaseOwner, Leases
from bot.store.limit_queries import LimitQueries
from bot.store.report_queries import ReportQueries
from bot.store.rows import Row, Rows

log = logging.getLogger(__name__)

# Once a job is completed or terminal, its callback capability is spent (I4 in the fault suite).
_SPENDS_TOKEN = TERMINAL_STATES | {JobState.COMPLETED}


class JobStore(Admissions, LimitQueries, ReportQueries):
    """The query object: all SQL for jobs lives here, written once for every backend (due-work
    queries skip jobs others lease). New jobs are stored by Admissions; the limits' and budgets'
    queries are LimitQueries', and what members and operators read (job lists, counts, recent
    outcomes) ReportQueries'."""

    def __init__(self, db: Database, owner: LeaseOwner | None = None) -> None:
        self.db = db
        self.leases = Leases(db, owner or LeaseOwner())
        # Null-safe equality (guild_id is NULL in DMs), spelled as the backend spells it.
        self._same = db.dialect.same

    async def _fetch(self, sql: str, params: Sequence[object] = ()) -> Rows:
        return await self.db.fetch(sql, params)

    async def _fetch_one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        return await self.db.fetch_one(sql, params)

    def _observe(self) -> Callable[[Rows], None] | None:
        """The token mirror's hook for committed jobs rows, on a backend that keeps one."""
        tokens = self.db.callback_tokens
        return tokens.observe if tokens is not None else None

    async def get(self, job_id: int) -> Job | None:
        """One job by id."""
        row = await self._fetch_one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return row_to_job(row) if row else None

    async def inputs(self, job_id: int) -> tuple[InputFile, ...]:
        """The input images stored with a job."""
        rows = await self._fetch(
            "SELECT field, filename, content_type, data, url FROM job_inputs WHERE job_id = ? ORDER BY field",
            (job_id,),
        )
        return tuple(
            InputFile(r["field"], r["filename"], r["content_type"], bytes(r["data"]), r["url"]) for r in rows
        )

    async def copy_inputs(self, source_job_id: int, target_job_id: int) -> None:
        """Give a retried job the same input images as its parent."""
        await self.db.execute(
            "INSERT INTO job_inputs (job_id, field, filename, content_type, size, data, url) "
            "SELECT CAST(? AS BIGINT), field, filename, content_type, size, data, url FROM job_inputs "
            "WHERE job_id = ?",
            (target_job_id, source_job_id),
        )

    async def transition(
        self,
        job_id: int,
        target: JobState,
        now: float,
        update: JobUpdate | None = None,
        *,
        expected: Iterable[JobState] | None = None,
    ) -> Job | None:
        """Compare-and-set the state; None when the job was not in an allowed prior state.

        `expected` narrows the legal predecessors (e.g. only RUNNING -> COMPLETED from a poll);
        a state outside the state machine's predecessors raises IllegalTransition.
        """
        legal = predecessors(target)
        allowed = legal if expected is None else frozenset(expected)
        if not allowed <= legal:
            raise IllegalTransition(job_id, next(iter(allowed - legal)), target)
        columns, values = assignments(update or JobUpdate())
        columns += ["state = ?", "updated_at = ?"]
        values += [target.value, now]
        if target.terminal:
            columns.append("finished_at = ?")
            values.append(now)
        if target in _SPENDS_TOKEN:
            columns.append("callback_token_hash = NULL")
        placeholders = ",".join("?" for _ in allowed)
        sql = f"UPDATE jobs SET {', '.join(columns)} WHERE id = ? AND state IN ({placeholders}) RETURNING *"
        rows = await self.db.write_returning(
            sql, (*values, job_id, *(s.value for s in allowed)), self._observe()
        )
        if not rows:
            return None
        job = row_to_job(rows[0])
        # One line per transition, carrying job and guild (JSON logs make them fields).
        log.info("job %s is now %s", job.id, target.value, extra=job_extra(job.id, job.origin.guild_id))
        return job

    async def update(self, job_id: int, expected: JobState, now: float, update: JobUpdate) -> Job | None:
        """Change columns of a job that is still in `expected`; None if it has moved on."""
        columns, values = assignments(update)
        if not columns:
            return await self.get(job_id)
        columns.append("updated_at = ?")
        values.append(now)
        sql = f"UPDATE jobs SET {', '.join(columns)} WHERE id = ? AND state = ? RETURNING *"
        rows = await self.db.write_returning(sql, (*values, job_id, expected.value), self._observe())
        return row_to_job(rows[0]) if rows else None

    async def delete_inputs(self, job_id: int) -> None:
        """Drop a finished job's input images (they were only kept to survive restarts).

        An input known by URL keeps its URL (a few bytes), so a Retry can send it again.
        """
        async with self.db.transaction() as session:
            await session.execute("DELETE FROM job_inputs WHERE job_id = ? AND url IS NULL", (job_id,))
            await session.execute("UPDATE job_inputs SET data = ?, size = 0 WHERE job_id = ?", (b"", job_id))

    async def due_queued(self, now: float, limit: int) -> list[Job]:
        """Queued jobs whose wait is over, in fair (round-robin by owner) order."""
        sql = (
            FAIR_QUEUE
            + """SELECT jobs.* FROM q JOIN jobs ON jobs.id = q.id
                 WHERE q.next_attempt_at <= ? AND """
            + LEASE_FREE
            + " ORDER BY "
            + FAIR_ORDER
            + " LIMIT ?"
        )
        rows = await self._fetch(sql, (now, self.leases.name, now, limit))
        return [row_to_job(r) for r in rows]

    async def queue_position(self, job_id: int) -> int | None:
        """1-based place of a queued job in the fair order; None if it is not queued."""
        sql = (
            FAIR_QUEUE
            + ", ranked AS (SELECT q.id, ROW_NUMBER() OVER (ORDER BY "
            + FAIR_ORDER
            + ") AS pos FROM q) SELECT pos FROM ranked WHERE id = ?"
        )
        row = await self._fetch_one(sql, (job_id,))
        return int(row[0]) if row else None

    async def queued_in_order(self, limit: int) -> list[Job]:
        """The first `limit` queued jobs in fair order: position n is index n-1."""
        sql = (
            FAIR_QUEUE
            + "SELECT jobs.* FROM q JOIN jobs ON jobs.id = q.id ORDER BY "
            + FAIR_ORDER
            + " LIMIT ?"
        )
        rows = await self._fetch(sql, (limit,))
        return [row_to_job(row) for row in rows]

    async def due(self, state: JobState, now: float, limit: int) -> list[Job]:
        """Jobs in `state` whose next attempt time has come (reconcile; deliver once placed)."""
        rows = await self._fetch(
            "SELECT * FROM jobs WHERE state = ? AND next_attempt_at <= ? AND (placed = 1 OR state != 'completed') "
            f"AND {LEASE_FREE} ORDER BY next_attempt_at LIMIT ?",
            (state.value, now, self.leases.name, now, limit),
        )
        return [row_to_job(r) for r in rows]

    async def unplaced(self, created_before: float, now: float, limit: int) -> list[Job]:
        """Jobs whose status message and thread are not posted (nor being posted) yet, oldest first."""
        rows = await self._fetch(
            f"SELECT * FROM jobs WHERE placed = 0 AND created_at < ? AND {PLACE_FREE} "
            "ORDER BY created_at LIMIT ?",
            (created_before, self.leases.name, now, limit),
        )
        return [row_to_job(r) for r in rows]

    async def place(
        self, job_id: int, now: float, *, thread_id: int | None, status_message_id: int | None
    ) -> Job | None:
        """Record where a job's status message and thread are, once: None if it was placed already."""
        rows = await self.db.write_returning(
            """UPDATE jobs SET placed = 1, thread_id = COALESCE(?, thread_id),
                               status_message_id = COALESCE(?, status_message_id), updated_at = ?
               WHERE id = ? AND placed = 0 RETURNING *""",
            (thread_id, status_message_id, now, job_id),
        )
        return row_to_job(rows[0]) if rows else None

    async def place_tried(self, job_id: int, now: float) -> None:
        """Note that the job's status message is being sent: if placing is cut short (a crash), the
        next attempt looks for that message before sending another."""
        await self.db.write_returning(
            "UPDATE jobs SET place_tried_at = ? WHERE id = ? AND placed = 0 RETURNING id", (now, job_id)
        )

    async def due_for_poll(self, now: float, limit: int) -> list[Job]:
        """Running jobs whose next poll time has come."""
        rows = await self._fetch(
            f"SELECT * FROM jobs WHERE state = 'running' AND next_poll_at <= ? AND {LEASE_FREE} "
            "ORDER BY next_poll_at LIMIT ?",
            (now, self.leases.name, now, limit),
        )
        return [row_to_job(r) for r in rows]

    async def running_on(self, account: str) -> list[Job]:
        """Running jobs on one upstream account."""
        rows = await self._fetch("SELECT * FROM jobs WHERE state = 'running' AND account = ?", (account,))
        return [row_to_job(r) for r in rows]

    async def running_of(self, provider: str) -> list[Job]:
        """Running jobs of one provider, on any account (checked against its executing list)."""
        rows = await self._fetch("SELECT * FROM jobs WHERE state = 'running' AND provider = ?", (provider,))
        return [row_to_job(r) for r in rows]

    async def overdue(self, cutoff: float, limit: int) -> list[Job]:
        """Submitting or running jobs sent upstream before `cutoff` (candidates for expiry)."""
        rows = await self._fetch(
            """SELECT * FROM jobs WHERE state IN ('submitting', 'running')
               AND COALESCE(submitted_at, created_at) < ? LIMIT ?""",
            (cutoff, limit),
        )
        return [row_to_job(r) for r in rows]

    async def needing_notice(self, now: float, limit: int) -> list[Job]:
        """Terminal jobs that ended without a result and whose member has not been told yet."""
        rows = await self._fetch(
            """SELECT * FROM jobs WHERE state IN ('failed', 'moderated', 'cancelled', 'expired')
               AND notified = 0 AND placed = 1 AND next_attempt_at <= ? AND """
            + LEASE_FREE
            + " ORDER BY next_attempt_at LIMIT ?",
            (now, self.leases.name, now, limit),
        )
        return [row_to_job(r) for r in rows]

    async def by_callback_token(self, token_hash: str) -> Job | None:
        """The job a callback capability belongs to, if it is still live."""
        row = await self._fetch_one("SELECT * FROM jobs WHERE callback_token_hash = ?", (token_hash,))
        return row_to_job(row) if row else None

    async def callback_target(self, token_hash: str) -> CallbackTarget | None:
        """The job a live callback capability belongs to.

        On SQLite from the in-memory mirror (no SQL, except at most once per second to see whether
        another connection wrote); on PostgreSQL, where other processes issue and spend tokens all
        the time, from the table itself: one lookup on its unique index.
        """
        tokens = self.db.callback_tokens
        if tokens is None:
            row = await self._fetch_one(
                "SELECT id, provider FROM jobs WHERE callback_token_hash = ?", (token_hash,)
            )
            return CallbackTarget(int(row[0]), str(row[1])) if row else None
        if tokens.due():
            await self.db.sync_callback_tokens()
        return tokens.get(token_hash)

    async def by_upstream_id(self, provider: str, upstream_id: str) -> Job | None:
        """The job that an upstream job id belongs to."""
        row = await self._fetch_one(
            "SELECT * FROM jobs WHERE provider = ? AND upstream_id = ?", (provider, upstream_id)
        )
        return row_to_job(row) if row else None

    async def unfinished(self) -> list[Job]:
        """Every job that is not terminal, oldest first (recovery after a restart)."""
        rows = await self._fetch(
            "SELECT * FROM jobs WHERE state NOT IN "
            "('delivered', 'failed', 'moderated', 'cancelled', 'expired') ORDER BY id"
        )
        return [row_to_job(r) for r in rows]

    async def count_by_state(self) -> list[StateCount]:
        """How many jobs are in each state."""
        rows = await self._fetch("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        return [StateCount(JobState(r[0]), int(r[1])) for r in rows]

    async def events(self, job_id: int) -> list[JobEvent]:
        """The recorded state history of one job, oldest first."""
        rows = await self._fetch(
            "SELECT job_id, from_state, to_state, at FROM job_events WHERE job_id = ? ORDER BY id", (job_id,)
        )
        return [JobEvent(r[0], JobState(r[1]) if r[1] else None, JobState(r[2]), float(r[3])) for r in rows]

    async def all_jobs(self) -> list[Job]:
        """Every job (tests, invariant checks, admin tools)."""
        rows = await self._fetch("SELECT * FROM jobs ORDER BY id")
        return [row_to_job(r) for r in rows]

    async def integrity_ok(self) -> bool:
        """The backend's own consistency check passes (SQLite: PRAGMA integrity_check)."""
        return await self.db.integrity_ok()

    async def get_meta(self, key: str) -> str | None:
        """A stored installation fact."""
        row = await self._fetch_one("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def set_meta(self, key: str, value: str) -> None:
        """Store an installation fact."""
        await self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def replace_meta(self, key: str, expected: str | None, value: str) -> bool:
        """Compare-and-set an installation fact: store `value` only if the fact is still `expected`
        (None: still absent). Processes sharing the database read, change and write it safely."""
        if expected is None:
            sql = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING key"
            return bool(await self.db.write_returning(sql, (key, value)))
        sql = "UPDATE meta SET value = ? WHERE key = ? AND value = ? RETURNING key"
        return bool(await self.db.write_returning(sql, (value, key, expected)))

    async def ping(self) -> None:
        """A trivial query, for health checks."""
        await self._fetch("SELECT 1")
