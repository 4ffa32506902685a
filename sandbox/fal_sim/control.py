"""The control API under ``/_sim/`` (no auth): what out-of-process tests use to drive and read the simulator."""

from __future__ import annotations

from dataclasses import asdict, fields

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sandbox.fal_sim.config import SimConfig
from sandbox.fal_sim.constants import ERR_REQUEST_NOT_FOUND, dumps
from sandbox.fal_sim.operations import OperationsLayer
from sandbox.fal_sim.records import QueueRequest
from sandbox.fal_sim.server import ServerLayer, json_object
from sandbox.sim_common.control import knobs_response, records_response


class ControlLayer(ServerLayer, OperationsLayer):
    """``/_sim/`` handlers."""

    def _sim_job_json(self, req: QueueRequest) -> dict[str, object]:
        return {
            "request_id": req.id,
            "model_id": req.model_id,
            "status": str(req.status),
            "queue_position": self.position(req.id),
            "attempts": req.attempts,
            "gateway_request_id": req.gateway_request_id,
            "input": req.input,
            "arguments": req.arguments,
            "webhook_url": req.webhook_url,
            "priority": req.priority,
            "cancel_requested": req.cancel_requested,
            "error": req.error,
            "error_type": req.error_type,
            "result_status": req.result_status,
            "result": req.result_body,
            "image_fetches": [asdict(f) for f in req.image_fetches],
        }

    async def _sim_jobs(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response([self._sim_job_json(r) for r in self.requests.values()], dumps=dumps)

    async def _sim_requests(self, _request: web.Request) -> web.StreamResponse:
        return records_response(self.recorded)

    async def _sim_webhooks(self, _request: web.Request) -> web.StreamResponse:
        return records_response(self.webhooks)

    async def _sim_files(self, _request: web.Request) -> web.StreamResponse:
        files = [
            {"path": f.path, "content_type": f.content_type, "file_name": f.file_name, "size": len(f.data)}
            for f in self.files.values()
        ]
        return web.json_response(files, dumps=dumps)

    async def _sim_get_faults(self, _request: web.Request) -> web.StreamResponse:
        return knobs_response(self.faults)

    async def _sim_post_faults(self, request: web.Request) -> web.StreamResponse:
        body = await json_object(request)
        try:
            self.update_faults(body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return knobs_response(self.faults)

    def _config_json(self) -> dict[str, object]:
        return {f.name: getattr(self.config, f.name) for f in fields(SimConfig) if f.name != "signing_key"}

    async def _sim_get_config(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response(self._config_json(), dumps=dumps)

    async def _sim_post_config(self, request: web.Request) -> web.StreamResponse:
        body = await json_object(request)
        try:
            self.update_config(body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(self._config_json(), dumps=dumps)

    async def _sim_release_all(self, _request: web.Request) -> web.StreamResponse:
        self.release_all()
        return web.json_response({"released": len(self.requests)})

    async def _sim_rotate_key(self, request: web.Request) -> web.StreamResponse:
        body = await json_object(request)
        seed = body.get("seed")
        try:
            key = (
                Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
                if isinstance(seed, str)
                else Ed25519PrivateKey.generate()
            )
        except ValueError as exc:
            return web.json_response({"error": f"bad seed: {exc}"}, status=400)
        self.rotate_signing_key(key, keep_old=body.get("keep_old", True) is not False)
        return web.json_response(self.jwks())

    async def _sim_job_action(self, request: web.Request) -> web.StreamResponse:
        request_id, action = request.match_info["request_id"], request.match_info["action"]
        if request_id not in self.requests:
            return web.json_response({"error": ERR_REQUEST_NOT_FOUND}, status=404)
        if action == "release":
            self.release(request_id)
            return web.json_response(self._sim_job_json(self.requests[request_id]), dumps=dumps)
        if action == "finish":
            done = self.finish_now(request_id)
        elif action == "fail":
            body = await json_object(request)
            try:
                done = self.fail_now(request_id, str(body.get("error_type", "runner_server_error")))
            except ValueError as exc:
                return web.json_response({"error": str(exc)}, status=400)
        else:
            return web.json_response({"error": f"unknown action {action}"}, status=400)
        if not done:
            return web.json_response({"error": f"request {request_id} already completed"}, status=409)
        return web.json_response(self._sim_job_json(self.requests[request_id]), dumps=dumps)
