"""Public helpers for in-process tests: release, complete, fail or cancel jobs, change knobs, wait."""

from __future__ import annotations

from collections.abc import Mapping

from sandbox.sim_common.knobs import set_knobs
from sandbox.sim_common.waiting import wait_until
from sandbox.useapi_sim.config import coerce_fault
from sandbox.useapi_sim.constants import ERR_JOB_FAILED
from sandbox.useapi_sim.lifecycle import LifecycleLayer
from sandbox.useapi_sim.records import JobStatus, SimJob


class OperationsLayer(LifecycleLayer):
    """What in-process tests (and the routes above) call to drive and read the simulator."""

    def release(self, jobid: str) -> None:
        """Let a job held by ``hold_jobs`` finish."""
        self.jobs[jobid].release_event.set()

    def release_all(self) -> None:
        """Release every held job."""
        for job in self.jobs.values():
            job.release_event.set()

    def complete_now(self, jobid: str) -> bool:
        """Finish an executing job as completed immediately; False if it is not executing."""
        job = self.jobs[jobid]
        if not job.is_executing:
            return False
        self._stop_lifecycle(job)
        self._complete(job)
        return True

    def fail_now(self, jobid: str, error: str = ERR_JOB_FAILED, details: str | None = None) -> bool:
        """Finish an executing job as failed immediately; False if it is not executing."""
        job = self.jobs[jobid]
        if not job.is_executing:
            return False
        self._stop_lifecycle(job)
        self._fail(job, error, details or "Simulated failure requested by test")
        return True

    def cancel(self, jobid: str) -> bool:
        """Cancel an executing job (status cancelled, callback sent); False if it is not executing."""
        job = self.jobs[jobid]
        if not job.is_executing:
            return False
        self._stop_lifecycle(job)
        self._set_status(job, JobStatus.CANCELLED)
        return True

    def update_faults(self, changes: Mapping[str, object]) -> None:
        """Merge ``changes`` into ``faults`` after type checks; ValueError on unknown keys or bad types."""
        set_knobs(self.faults, changes, coerce_fault)

    async def wait_for_status(self, jobid: str, *statuses: JobStatus, within: float = 5.0) -> SimJob:
        """Wait until the job reaches one of ``statuses``; TimeoutError after ``within`` seconds."""
        job = self.jobs[jobid]
        await wait_until(job, lambda: job.status in statuses, within)
        return job
