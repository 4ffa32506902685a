"""The simulator, put together from its layers, and its aiohttp app.

Each layer is a class over one shared state (``state.FalState``) that builds on the layers whose
methods it calls, so every call is one mypy can check: webhooks, the queue, the operations in-process
tests call, the server plumbing, the queue routes, the storage routes and the control API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import ClientSession, web

from sandbox.fal_sim.constants import CLIENT_MAX_SIZE
from sandbox.fal_sim.control import ControlLayer
from sandbox.fal_sim.queue_routes import QueueRoutesLayer
from sandbox.fal_sim.storage_routes import StorageRoutesLayer


class FalSimulator(ControlLayer, QueueRoutesLayer, StorageRoutesLayer):
    """In-memory fal queue + storage + webhooks for the Pika v2.2 models, with fault knobs."""

    def make_app(self) -> web.Application:
        """Build the aiohttp application (routes, middlewares, scheduler and outbound session)."""
        app = web.Application(
            middlewares=[self._record_middleware(), self._api_middleware()],
            client_max_size=CLIENT_MAX_SIZE,
        )
        app.cleanup_ctx.append(self._lifecycle_ctx)
        router = app.router
        router.add_get("/.well-known/jwks.json", self._jwks)
        router.add_post("/storage/auth/token", self._storage_token)
        router.add_post("/files/upload", self._upload)
        router.add_get("/files/{bucket}/{name}", self._file)
        router.add_get("/_sim/requests", self._sim_requests)
        router.add_get("/_sim/jobs", self._sim_jobs)
        router.add_get("/_sim/webhooks", self._sim_webhooks)
        router.add_get("/_sim/files", self._sim_files)
        router.add_get("/_sim/faults", self._sim_get_faults)
        router.add_post("/_sim/faults", self._sim_post_faults)
        router.add_get("/_sim/config", self._sim_get_config)
        router.add_post("/_sim/config", self._sim_post_config)
        router.add_post("/_sim/release", self._sim_release_all)
        router.add_post("/_sim/rotate-key", self._sim_rotate_key)
        router.add_post("/_sim/jobs/{request_id}/{action}", self._sim_job_action)
        router.add_get("/{owner}/{app}/requests/{request_id}/status", self._status)
        router.add_get("/{owner}/{app}/requests/{request_id}", self._result)
        router.add_put("/{owner}/{app}/requests/{request_id}/cancel", self._cancel)
        # Last: anything else is a submit (POST) or a 404.
        router.add_route("*", "/{model_id:.+}", self._catch_all)
        return app

    async def _lifecycle_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        # One shared session for webhooks and image downloads, owned by the app.
        self._session = ClientSession()
        self._wake = asyncio.Event()
        self._spawn(self._scheduler())
        try:
            yield
        finally:
            await self._stop_background()
