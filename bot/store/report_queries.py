"""The read-only queries behind what members and operators see: a member's jobs, the newest jobs,
recent run times and outcomes, spend, and the queue's depth; mixed into JobStore."""

from __future__ import annotations

from bot.domain.jobs import Job, JobState
from bot.store.backend import Database
from bot.store.job_rows import StateCount, row_to_job


class ReportQueries:
    """Queries for /pika jobs, /pika-admin status, `pikabot jobs` and the metrics."""

    db: Database

    async def member_jobs(
        self, owner_id: int, guild_id: int | None, limit: int, offset: int = 0
    ) -> list[Job]:
        """One member's jobs in one guild, newest first (for /pika jobs)."""
        rows = await self.db.fetch(
            f"SELECT * FROM jobs WHERE owner_id = ? AND guild_id {self.db.dialect.same} ? "
            "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (owner_id, guild_id, limit, offset),
        )
        return [row_to_job(row) for row in rows]

    async def newest(
        self, limit: int, *, state: JobState | None = None, owner_id: int | None = None
    ) -> list[Job]:
        """Jobs across every guild, newest first, optionally of one state and one owner (`jobs list`)."""
        # Fixed SQL: "IS NULL OR" keeps one statement for every combination of filters. The casts
        # tell PostgreSQL the type of a parameter that is only tested for NULL.
        state_value = state.value if state is not None else None
        rows = await self.db.fetch(
            "SELECT * FROM jobs WHERE (CAST(? AS TEXT) IS NULL OR state = ?) "
            "AND (CAST(? AS BIGINT) IS NULL OR owner_id = ?) ORDER BY created_at DESC, id DESC LIMIT ?",
            (state_value, state_value, owner_id, owner_id, limit),
        )
        return [row_to_job(row) for row in rows]

    async def member_job_count(self, owner_id: int, guild_id: int | None) -> int:
        """How many jobs a member has in one guild."""
        row = await self.db.fetch_one(
            f"SELECT COUNT(*) FROM jobs WHERE owner_id = ? AND guild_id {self.db.dialect.same} ?",
            (owner_id, guild_id),
        )
        return int(row[0]) if row else 0

    async def recent_run_times(self, limit: int) -> list[float]:
        """Seconds from submit to finish of the latest delivered jobs (queue ETAs, admin status)."""
        rows = await self.db.fetch(
            "SELECT finished_at - submitted_at FROM jobs WHERE state = 'delivered' AND submitted_at IS NOT NULL "
            "AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
            (limit,),
        )
        return [max(0.0, float(r[0])) for r in rows]

    async def video_times_since(self, since: float) -> list[float]:
        """Seconds from request to finished video of jobs delivered since `since`."""
        rows = await self.db.fetch(
            "SELECT finished_at - created_at FROM jobs WHERE state = 'delivered' AND finished_at >= ?",
            (since,),
        )
        return [max(0.0, float(r[0])) for r in rows]

    async def outcomes_since(self, since: float) -> list[StateCount]:
        """Jobs created since `since`, counted by state (the admin status's "today")."""
        rows = await self.db.fetch(
            "SELECT state, COUNT(*) FROM jobs WHERE created_at >= ? GROUP BY state ORDER BY state", (since,)
        )
        return [StateCount(JobState(r[0]), int(r[1])) for r in rows]

    async def spend_since(self, since: float) -> float:
        """USD of the jobs sent upstream since `since` (priced providers only)."""
        row = await self.db.fetch_one(
            "SELECT COALESCE(SUM(cost_usd), 0) FROM jobs WHERE submitted_at >= ? AND upstream_id IS NOT NULL",
            (since,),
        )
        return float(row[0]) if row else 0.0

    async def queue_depth(self) -> int:
        """Queued jobs waiting for a slot."""
        row = await self.db.fetch_one("SELECT COUNT(*) FROM jobs WHERE state = 'queued'")
        return int(row[0]) if row else 0

    async def oldest_queued(self) -> Job | None:
        """The queued job that has waited longest."""
        row = await self.db.fetch_one("SELECT * FROM jobs WHERE state = 'queued' ORDER BY created_at LIMIT 1")
        return row_to_job(row) if row else None

    async def active_by_account(self) -> dict[str, int]:
        """How many jobs hold (or may hold) an upstream slot, per account."""
        rows = await self.db.fetch(
            "SELECT account, COUNT(*) FROM jobs WHERE state IN ('submitting', 'running') GROUP BY account"
        )
        return {str(r[0]): int(r[1]) for r in rows if r[0] is not None}
