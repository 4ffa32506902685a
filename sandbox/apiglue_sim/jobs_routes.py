"""``GET /web/jobs/{id}``: a job and its video as they are now."""

from __future__ import annotations

from aiohttp import web

from sandbox.apiglue_sim.constants import ERR_NOT_FOUND, HUGE_BODY_BYTES
from sandbox.apiglue_sim.errors import api_error, phrase
from sandbox.apiglue_sim.server import ServerLayer


class JobsRoutesLayer(ServerLayer):
    """The job poll handler."""

    async def _get_job(self, request: web.Request) -> web.StreamResponse:
        if self.faults.poll_status is not None:
            status = self.faults.poll_status
            return self._reply({"error": phrase(status), "code": status}, status)
        job = self.jobs.get(request.match_info["job_id"])
        if job is None:
            raise api_error(404, ERR_NOT_FOUND)
        payload = self.render(job)
        if self.faults.huge_body:
            payload["padding"] = "x" * HUGE_BODY_BYTES
        return self._reply(payload)
