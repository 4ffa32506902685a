"""Storing new jobs. A job is admitted (its member's limits and its guild's budgets checked, then
the job stored) in one transaction that takes turns per guild over every process, so two quick
commands, on one machine or on two, cannot both squeeze in under a limit or a budget."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.budget import Spend
from bot.domain.jobs import Job, JobRequest
from bot.domain.limits import MemberUsage
from bot.store.backend import Database, Dialect, Session
from bot.store.job_rows import row_to_job

# The key space of the per-guild admission locks (PostgreSQL's two-key advisory locks): "pikb".
_ADMISSION_LOCKS = 0x70696B62

# A job costs money once upstream took it (upstream_id is set), or while it may still get there.
# Refused requests are never stored; a job cancelled or failed before upstream took it costs nothing.
_BILLABLE = (
    "(state IN ('queued', 'submitting', 'running', 'completed', 'delivered') OR upstream_id IS NOT NULL)"
)


@dataclass(frozen=True)
class Standing:
    """What a member has going on in a guild, and (when budgets apply) what is spent there today."""

    usage: MemberUsage
    spend: Spend | None


#: Raises to refuse the job (nothing is stored then); returns to let it in.
AdmissionCheck = Callable[[Standing], None]


async def read_usage(
    reader: Database | Session, dialect: Dialect, guild_id: int | None, owner_id: int, since: float
) -> MemberUsage:
    """One member's unfinished jobs, jobs since `since`, and latest request, in one guild."""
    row = await reader.fetch_one(
        f"""SELECT
               SUM(CASE WHEN state NOT IN ('delivered', 'failed', 'moderated', 'cancelled', 'expired')
                   THEN 1 ELSE 0 END),
               SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END),
               MAX(created_at)
           FROM jobs WHERE guild_id {dialect.same} ? AND owner_id = ?""",
        (since, guild_id, owner_id),
    )
    assert row is not None
    return MemberUsage(in_flight=int(row[0] or 0), today=int(row[1] or 0), last_request_at=row[2])


async def read_spend(
    reader: Database | Session, dialect: Dialect, guild_id: int | None, owner_id: int, since: float
) -> Spend:
    """USD the guild, and the member in it, have spent on billable jobs created since `since`."""
    row = await reader.fetch_one(
        f"""SELECT COALESCE(SUM(cost_usd), 0),
                   COALESCE(SUM(CASE WHEN owner_id = ? THEN cost_usd ELSE 0 END), 0)
            FROM jobs WHERE guild_id {dialect.same} ? AND created_at >= ? AND {_BILLABLE}""",
        (owner_id, guild_id, since),
    )
    assert row is not None
    return Spend(guild_usd=float(row[0]), member_usd=float(row[1]))


class Admissions:
    """The queries that store new jobs, mixed into JobStore."""

    db: Database

    async def insert(
        self,
        request: JobRequest,
        now: float,
        *,
        parent_id: int | None = None,
        placed: bool = True,
    ) -> Job:
        """Store a new queued job and its input files in one transaction; `placed=False` when its
        status message and thread are still to be posted (its result then waits for them)."""
        async with self.db.transaction() as session:
            return await _insert(session, request, now, parent_id, placed)

    async def admit(
        self,
        request: JobRequest,
        now: float,
        check: AdmissionCheck,
        *,
        since: float,
        budgets: bool,
        parent_id: int | None = None,
        placed: bool = True,
    ) -> Job:
        """Store a new queued job if `check` lets it in, given the member's standing since `since`
        (with the spend when `budgets`); checked and stored atomically per guild over every process."""
        guild_id, owner_id = request.origin.guild_id, request.owner_id
        dialect = self.db.dialect
        async with self.db.transaction() as session:
            if dialect.key_lock is not None:
                # Without it, two transactions on PostgreSQL would each count the other's job as absent.
                # SQLite's write transactions (BEGIN IMMEDIATE) already run one at a time.
                key = f"guild:{guild_id}" if guild_id is not None else f"member:{owner_id}"
                await session.execute(dialect.key_lock, (_ADMISSION_LOCKS, key))
            usage = await read_usage(session, dialect, guild_id, owner_id, since)
            spend = await read_spend(session, dialect, guild_id, owner_id, since) if budgets else None
            check(Standing(usage, spend))
            return await _insert(session, request, now, parent_id, placed)


async def _insert(
    session: Session, request: JobRequest, now: float, parent_id: int | None, placed: bool
) -> Job:
    """The job's row and its input files, inside the caller's transaction."""
    row = await session.fetch_one(
        """INSERT INTO jobs (provider, kind, state, owner_id, guild_id, channel_id, thread_id,
                             interaction_id, upload_limit, prompt, options_json, params_json,
                             message_text, font, parent_id, next_attempt_at, created_at, updated_at,
                             cost_usd, placed, defaulted, ping, remix)
           VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           RETURNING *""",
        (
            request.provider,
            request.kind.value,
            request.owner_id,
            request.origin.guild_id,
            request.origin.channel_id,
            request.origin.thread_id,
            request.origin.interaction_id,
            request.origin.upload_limit,
            request.prompt,
            json.dumps(request.options.to_json(), sort_keys=True),
            json.dumps(request.params.to_json(), sort_keys=True),
            request.message_text,
            request.font,
            parent_id,
            now,
            now,
            now,
            request.cost_usd,
            int(placed),
            ",".join(sorted(request.defaulted)),
            int(request.ping),
            int(request.remix),
        ),
    )
    assert row is not None
    job = row_to_job(row)
    for item in request.inputs:
        await session.execute(
            "INSERT INTO job_inputs (job_id, field, filename, content_type, size, data, url) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job.id, item.form_field, item.filename, item.content_type, item.size, item.data, item.url),
        )
    return job
