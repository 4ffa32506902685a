"""The Delivery interface: how a finished (or failed) job reaches its member.

The engine calls it; the Discord implementation posts into the job's thread. Implementations must
be idempotent per job (a crash between "posted" and "recorded" leads to a second call for the same
job), which Discord's implementation gets from a nonce derived from the job id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.domain.jobs import Job, VideoResult


@dataclass(frozen=True)
class DeliveryReceipt:
    """What the delivery produced: the Discord message id, when there is one."""

    message_id: int | None = None


@dataclass(frozen=True)
class JobPlacement:
    """Where a job's status message and thread ended up; None for what could not be posted."""

    thread_id: int | None = None
    status_message_id: int | None = None


@dataclass(eq=False)
class DeliveryError(Exception):
    """Delivery failed. `permanent` means trying again cannot help (e.g. the thread is gone)."""

    message: str
    permanent: bool = False

    def __str__(self) -> str:
        return self.message


class Delivery(Protocol):
    """Where results, notices and progress go."""

    async def deliver_result(self, job: Job, video: VideoResult) -> DeliveryReceipt:
        """Post the finished video for `job`; raises DeliveryError."""
        ...

    async def deliver_notice(self, job: Job) -> DeliveryReceipt:
        """Tell the member that `job` ended without a video (failed, moderated, cancelled, expired)."""
        ...

    async def place_job(self, job: Job, queue_position: int | None, eta: float | None) -> JobPlacement:
        """Post the job's status message (and thread) as Discord's limits allow; never blocks the work."""
        ...

    async def find_placement(self, job: Job) -> JobPlacement | None:
        """The status message (and thread) an earlier, cut-short `place_job` for `job` posted; None
        if there is none to be found (then `place_job` posts one)."""
        ...

    async def job_placed(self, job: Job) -> None:
        """The placement is recorded: tell the member where to follow the job (best effort)."""
        ...

    async def job_changed(self, job: Job, queue_position: int | None, eta: float | None = None) -> None:
        """Best-effort progress display (state, queue position and ETA in seconds, upstream progress)."""
        ...

    async def alert_admins(self, text: str) -> None:
        """Tell the servers' admins about an operational problem (an account refused us). Best effort."""
        ...

    async def alert_guild_admins(self, guild_id: int, text: str) -> None:
        """Tell one server's admins about that server alone (its daily budget). Best effort."""
        ...
