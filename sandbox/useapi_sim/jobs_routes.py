"""The jobs routes: ``GET /v1/pika/jobs/``, one job by ``jobid``, and cancel."""

from __future__ import annotations

from aiohttp import web

from sandbox.useapi_sim.constants import ERR_NO_JOBID, HUGE_BODY_BYTES
from sandbox.useapi_sim.errors import api_error
from sandbox.useapi_sim.operations import OperationsLayer
from sandbox.useapi_sim.records import JobStatus, SimJob
from sandbox.useapi_sim.server import ServerLayer


class JobsRoutesLayer(ServerLayer, OperationsLayer):
    """Jobs handlers."""

    async def _jobs_root(self, request: web.Request) -> web.StreamResponse:
        if "jobid" in request.query:
            return await self._get_job(request)
        status = self.faults.jobs_list_status
        if status is not None:
            raise api_error(status, f"Simulated failure {status} of the jobs list")
        # Contract: every jobid executing under this token, across its accounts, foreign ones included.
        foreign = [jid for channel in self.faults.external_executing for jid in self._foreign_ids(channel)]
        return self._reply(self.executing_jobids() + foreign)

    async def _get_job(self, request: web.Request) -> web.StreamResponse:
        job = self._job_from_query(request)
        payload = job.to_json()
        if self.faults.huge_body:
            payload["embeds"] = [{"type": "rich", "description": "x" * HUGE_BODY_BYTES}]
        return self._reply(payload)

    async def _cancel_job(self, request: web.Request) -> web.StreamResponse:
        job = self._job_from_query(request)
        if job.status is not JobStatus.CANCELLED and not self.cancel(job.jobid):
            # UNCONFIRMED text: the docs list no error for a job that already ended.
            raise api_error(
                400, f"Job {job.jobid} status is {job.status}, only executing jobs can be cancelled"
            )
        return self._reply({"jobid": job.jobid, "status": str(JobStatus.CANCELLED), "code": 200})

    def _job_from_query(self, request: web.Request) -> SimJob:
        jobid = request.query.get("jobid", "").strip()
        if not jobid:
            raise api_error(400, ERR_NO_JOBID)
        job = self.jobs.get(jobid)
        if job is None:
            raise api_error(404, f"Unable to locate job {jobid}")
        return job
