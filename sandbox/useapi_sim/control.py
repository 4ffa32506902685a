"""The control API under ``/_sim/`` (no auth): what out-of-process tests use to drive and read the simulator."""

from __future__ import annotations

import contextlib

from aiohttp import web

from sandbox.sim_common.control import knobs_response, post_knobs, records_response
from sandbox.useapi_sim.constants import ERR_JOB_FAILED, dumps
from sandbox.useapi_sim.operations import OperationsLayer


class ControlLayer(OperationsLayer):
    """``/_sim/`` handlers."""

    async def _sim_jobs(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response([j.to_json() for j in self.jobs.values()], dumps=dumps)

    async def _sim_requests(self, _request: web.Request) -> web.StreamResponse:
        return records_response(self.requests)

    async def _sim_callbacks(self, _request: web.Request) -> web.StreamResponse:
        return records_response(self.callbacks_sent)

    async def _sim_get_faults(self, _request: web.Request) -> web.StreamResponse:
        return knobs_response(self.faults)

    async def _sim_post_faults(self, request: web.Request) -> web.StreamResponse:
        return await post_knobs(request, self.faults, self.update_faults)

    async def _sim_job_action(self, request: web.Request) -> web.StreamResponse:
        jobid, action = request.match_info["jobid"], request.match_info["action"]
        if jobid not in self.jobs:
            return web.json_response({"error": f"Unable to locate job {jobid}"}, status=404)
        if action == "release":
            self.release(jobid)
            return web.json_response(self.jobs[jobid].to_json(), dumps=dumps)
        if action == "fail":
            body: object = {}
            if request.can_read_body:
                with contextlib.suppress(ValueError):
                    body = await request.json()
            error = body.get("error", ERR_JOB_FAILED) if isinstance(body, dict) else ERR_JOB_FAILED
            details = body.get("errorDetails") if isinstance(body, dict) else None
            done = self.fail_now(jobid, str(error), str(details) if details is not None else None)
        elif action == "complete":
            done = self.complete_now(jobid)
        elif action == "cancel":
            done = self.cancel(jobid)
        else:
            return web.json_response({"error": f"unknown action {action}"}, status=400)
        if not done:
            return web.json_response({"error": f"job {jobid} is not executing"}, status=409)
        return web.json_response(self.jobs[jobid].to_json(), dumps=dumps)
