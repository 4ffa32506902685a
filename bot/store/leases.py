"""Leases: which process works on a job, so several processes can share one database.

A process claims a queued job and an upstream slot in one statement, and holds a lease on every job
it works on (submit, poll, reconcile, deliver, notify) or places in Discord. A lease lasts until
`until` unless its holder renews it; a process that dies leaves its jobs to the others once its
leases end, and a restarted process on the same machine frees its dead predecessor's at once.
"""

from __future__ import annotations

import enum
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field

from bot.domain.jobs import Job
from bot.observability.logsetup import job_extra
from bot.store.backend import Database
from bot.store.job_rows import row_to_job

log = logging.getLogger(__name__)


class Pipeline(enum.Enum):
    """The two things done to a job, each with its own lease: its work, and its place in Discord."""

    WORK = ("lease_owner", "lease_until")
    PLACEMENT = ("place_owner", "place_until")

    @property
    def owner_column(self) -> str:
        return self.value[0]

    @property
    def until_column(self) -> str:
        return self.value[1]


@dataclass(frozen=True)
class LeaseOwner:
    """One running process: its instance (machine) name, its pid and a random part.

    The random part keeps a recycled pid from inheriting a dead process's leases.
    """

    instance: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    nonce: str = field(default_factory=lambda: secrets.token_hex(4))

    def __str__(self) -> str:
        return f"{self.instance}/{self.pid}/{self.nonce}"

    @classmethod
    def parse(cls, text: str) -> LeaseOwner | None:
        """The owner a stored lease names, or None if it is not in our form."""
        instance, _, rest = text.rpartition("/")
        instance, _, pid = instance.rpartition("/")
        if not instance or not pid.isdigit():
            return None
        return cls(instance, int(pid), rest)


# The key space of the per-account claim locks (PostgreSQL's two-key advisory locks): ours, "pika".
_CLAIM_LOCKS = 0x70696B61

# The lease filter the due-work queries share: free, ours, or run out.
LEASE_FREE = "(lease_owner IS NULL OR lease_owner = ? OR lease_until <= ?)"
PLACE_FREE = "(place_owner IS NULL OR place_owner = ? OR place_until <= ?)"


class Leases:
    """Claims and leases of one process (`owner`) on the shared jobs table."""

    def __init__(self, db: Database, owner: LeaseOwner) -> None:
        self.db = db
        self.owner = owner
        self.name = str(owner)

    async def claim(self, job_id: int, account: str, max_jobs: int, now: float, until: float) -> Job | None:
        """queued -> submitting on `account`, only while the account runs fewer than `max_jobs` jobs
        (counted over every process), with this process's lease; None if either no longer holds.

        The count and the claim must see every other process's claims on the account: on SQLite one
        write transaction runs at a time; on PostgreSQL, where a statement's snapshot would not see a
        concurrent claim, claims on one account take turns under a transaction-scoped lock.
        """
        dialect = self.db.dialect
        async with self.db.transaction() as session:
            # The job first: a process that lost the race for it moves on instead of waiting.
            taken = await session.fetch_one(
                f"SELECT id FROM jobs WHERE id = ? AND state = 'queued'{dialect.skip_locked}", (job_id,)
            )
            if taken is None:
                return None
            if dialect.key_lock is not None:
                await session.execute(dialect.key_lock, (_CLAIM_LOCKS, account))
            rows = await session.fetch(
                """UPDATE jobs SET state = 'submitting', account = ?, submitted_at = ?, updated_at = ?,
                                   lease_owner = ?, lease_until = ?
                   WHERE id = ? AND state = 'queued'
                     AND (SELECT COUNT(*) FROM jobs busy
                          WHERE busy.account = ? AND busy.state IN ('submitting', 'running')) < ?
                   RETURNING *""",
                (account, now, now, self.name, until, job_id, account, max_jobs),
            )
        if not rows:
            return None
        job = row_to_job(rows[0])
        log.info("job %s is now submitting", job.id, extra=job_extra(job.id, job.origin.guild_id))
        return job

    async def acquire(self, job_id: int, pipeline: Pipeline, now: float, until: float) -> bool:
        """Take (or extend) the job's lease for `pipeline`; False while another process holds it."""
        owner, until_column = pipeline.owner_column, pipeline.until_column
        rows = await self.db.write_returning(
            f"""UPDATE jobs SET {owner} = ?, {until_column} = ?
                WHERE id = ? AND ({owner} IS NULL OR {owner} = ? OR {until_column} <= ?) RETURNING id""",
            (self.name, until, job_id, self.name, now),
        )
        return bool(rows)

    async def release(self, job_id: int, pipeline: Pipeline) -> None:
        """Give the job's lease back (if we still hold it), so any process may take the next step."""
        owner, until_column = pipeline.owner_column, pipeline.until_column
        await self.db.write_returning(
            f"UPDATE jobs SET {owner} = NULL, {until_column} = NULL WHERE id = ? AND {owner} = ? RETURNING id",
            (job_id, self.name),
        )

    async def renew(self, until: float) -> int:
        """Extend every lease this process holds (its heartbeat); how many there were."""
        renewed = 0
        for pipeline in Pipeline:
            rows = await self.db.write_returning(
                f"UPDATE jobs SET {pipeline.until_column} = ? WHERE {pipeline.owner_column} = ? RETURNING id",
                (until, self.name),
            )
            renewed += len(rows)
        return renewed

    async def take_turn(self, chore: str, now: float, next_at: float) -> bool:
        """Whether this process does a periodic chore now: True for the first process to ask once
        it is due, which makes it due again at `next_at` (for every process sharing the database)."""
        rows = await self.db.write_returning(
            """INSERT INTO meta (key, value) VALUES (?, ?)
               ON CONFLICT (key) DO UPDATE SET value = excluded.value
               WHERE CAST(meta.value AS DOUBLE PRECISION) <= ? RETURNING key""",
            (f"turn:{chore}", repr(next_at), now),
        )
        return bool(rows)

    async def holders(self) -> list[str]:
        """Every process that holds some lease."""
        rows = await self.db.fetch(
            "SELECT lease_owner FROM jobs WHERE lease_owner IS NOT NULL "
            "UNION SELECT place_owner FROM jobs WHERE place_owner IS NOT NULL"
        )
        return sorted(str(row[0]) for row in rows)

    async def free_all_of(self, holder: str) -> int:
        """Free every lease `holder` holds (it is known to be dead); how many there were."""
        freed = 0
        for pipeline in Pipeline:
            rows = await self.db.write_returning(
                f"UPDATE jobs SET {pipeline.owner_column} = NULL, {pipeline.until_column} = NULL "
                f"WHERE {pipeline.owner_column} = ? RETURNING id",
                (holder,),
            )
            freed += len(rows)
        return freed

    async def free_dead_local(self) -> int:
        """Free the leases of processes of this instance whose pid is gone (a restart here)."""
        freed = 0
        for holder in await self.holders():
            other = LeaseOwner.parse(holder)
            if other is None or other.instance != self.owner.instance or holder == self.name:
                continue
            if other.pid != self.owner.pid and _alive(other.pid):
                continue
            freed += await self.free_all_of(holder)
        return freed


def _alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
