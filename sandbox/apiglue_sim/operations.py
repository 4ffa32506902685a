"""Public helpers for in-process tests: release, finish or fail jobs, change knobs, wait."""

from __future__ import annotations

from collections.abc import Mapping

from sandbox.apiglue_sim.config import coerce_fault
from sandbox.apiglue_sim.constants import ERR_JOB_FAILED
from sandbox.apiglue_sim.lifecycle import LifecycleLayer
from sandbox.apiglue_sim.records import SimJob, VideoStatus
from sandbox.sim_common.knobs import set_knobs
from sandbox.sim_common.waiting import wait_until


class OperationsLayer(LifecycleLayer):
    """What in-process tests (and the routes above) call to drive and read the simulator."""

    def release(self, job_id: str) -> None:
        """Let a job held by ``hold_jobs`` or ``stuck_queued`` go on."""
        self.jobs[job_id].release_event.set()

    def release_all(self) -> None:
        """Release every held or stuck job."""
        for job in self.jobs.values():
            job.release_event.set()

    def finish_now(self, job_id: str) -> bool:
        """Finish an executing job immediately; False if it already ended."""
        job = self.jobs[job_id]
        if not job.is_executing:
            return False
        self._stop_lifecycle(job)
        self._finish(job)
        return True

    def fail_now(
        self, job_id: str, error: str = ERR_JOB_FAILED, status: VideoStatus = VideoStatus.ERROR
    ) -> bool:
        """End an executing job as ``error`` or ``failed`` immediately; False if it already ended."""
        if status not in (VideoStatus.ERROR, VideoStatus.FAILED):
            raise ValueError(f"{status} is not a failure status")
        job = self.jobs[job_id]
        if not job.is_executing:
            return False
        self._stop_lifecycle(job)
        self._fail(job, error, status)
        return True

    def update_faults(self, changes: Mapping[str, object]) -> None:
        """Merge ``changes`` into ``faults`` after type checks; ValueError on unknown keys or bad types."""
        set_knobs(self.faults, changes, coerce_fault)

    async def wait_for_status(self, job_id: str, *statuses: VideoStatus, within: float = 5.0) -> SimJob:
        """Wait until the job's video reaches one of ``statuses``; TimeoutError after ``within`` s."""
        job = self.jobs[job_id]
        await wait_until(job, lambda: job.status in statuses, within)
        return job
