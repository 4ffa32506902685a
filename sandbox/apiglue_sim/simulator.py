"""The simulator, put together from its layers, and its aiohttp app.

Each layer is a class over one shared state (``state.GlueState``) that builds on the layers whose
methods it calls, so every call is one mypy can check: webhooks, the job life cycle, the operations
in-process tests call, the server plumbing, the submit, jobs and media routes and the control API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import ClientSession, ClientTimeout, web

from sandbox.apiglue_sim.constants import CLIENT_MAX_SIZE
from sandbox.apiglue_sim.control import ControlLayer
from sandbox.apiglue_sim.jobs_routes import JobsRoutesLayer
from sandbox.apiglue_sim.media import MediaLayer
from sandbox.apiglue_sim.records import RequestType
from sandbox.apiglue_sim.submit import SubmitLayer


class ApiGlueSimulator(ControlLayer, SubmitLayer, JobsRoutesLayer, MediaLayer):
    """In-memory API Glue Pika web API: jobs, media, webhooks and fault knobs."""

    def make_app(self) -> web.Application:
        """Build the aiohttp application (routes, middlewares, outbound ClientSession lifecycle)."""
        app = web.Application(
            middlewares=[self._record_middleware(), self._api_middleware()],
            client_max_size=CLIENT_MAX_SIZE,
        )
        app.cleanup_ctx.append(self._lifecycle_ctx)
        router = app.router
        for request_type in RequestType:
            router.add_post(f"/web/{request_type}", self._submit_handler(request_type))
        router.add_get("/web/jobs/{job_id}", self._get_job)
        router.add_get("/videos/{video_id}/{filename}", self._video)
        router.add_get("/images/{video_id}/{filename}", self._image)
        router.add_get("/_sim/jobs", self._sim_jobs)
        router.add_get("/_sim/requests", self._sim_requests)
        router.add_get("/_sim/callbacks", self._sim_callbacks)
        router.add_get("/_sim/faults", self._sim_get_faults)
        router.add_post("/_sim/faults", self._sim_post_faults)
        router.add_post("/_sim/jobs/{job_id}/{action}", self._sim_job_action)
        return app

    async def _lifecycle_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        # One shared session for all webhooks and image fetches, owned by the app.
        self._session = ClientSession(timeout=ClientTimeout(total=self.config.callback_timeout))
        try:
            yield
        finally:
            await self._stop_background()
