"""The control API under ``/_sim/`` (no auth): what out-of-process tests use to drive and read the simulator."""

from __future__ import annotations

import contextlib

from aiohttp import web

from sandbox.apiglue_sim.constants import ERR_JOB_FAILED, ERR_NOT_FOUND, dumps
from sandbox.apiglue_sim.operations import OperationsLayer
from sandbox.apiglue_sim.records import VideoStatus
from sandbox.sim_common.control import knobs_response, post_knobs, records_response


class ControlLayer(OperationsLayer):
    """``/_sim/`` handlers."""

    async def _sim_jobs(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response([self.render(j) for j in self.jobs.values()], dumps=dumps)

    async def _sim_requests(self, _request: web.Request) -> web.StreamResponse:
        return records_response(self.requests)

    async def _sim_callbacks(self, _request: web.Request) -> web.StreamResponse:
        return records_response(self.callbacks_sent)

    async def _sim_get_faults(self, _request: web.Request) -> web.StreamResponse:
        return knobs_response(self.faults)

    async def _sim_post_faults(self, request: web.Request) -> web.StreamResponse:
        return await post_knobs(request, self.faults, self.update_faults)

    async def _sim_job_action(self, request: web.Request) -> web.StreamResponse:
        job_id, action = request.match_info["job_id"], request.match_info["action"]
        if job_id not in self.jobs:
            return web.json_response({"error": ERR_NOT_FOUND}, status=404)
        if action == "release":
            self.release(job_id)
            return web.json_response(self.render(self.jobs[job_id]), dumps=dumps)
        if action == "fail":
            body: object = {}
            if request.can_read_body:
                with contextlib.suppress(ValueError):
                    body = await request.json()
            opts = body if isinstance(body, dict) else {}
            try:
                status = VideoStatus(str(opts.get("status", VideoStatus.ERROR)))
                done = self.fail_now(job_id, str(opts.get("error", ERR_JOB_FAILED)), status)
            except ValueError as exc:
                return web.json_response({"error": str(exc)}, status=400)
        elif action == "finish":
            done = self.finish_now(job_id)
        else:
            return web.json_response({"error": f"unknown action {action}"}, status=400)
        if not done:
            return web.json_response({"error": f"job {job_id} already ended"}, status=409)
        return web.json_response(self.render(self.jobs[job_id]), dumps=dumps)
