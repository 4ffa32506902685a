"""The simulator, put together from its layers, and its aiohttp app.

Each layer is a class over one shared state (``state.UseapiState``) that builds on the layers whose
methods it calls, so every call is one mypy can check: callbacks, attachments, the job life cycle,
the operations in-process tests call, the server plumbing, the submit, jobs and account routes and
the control API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import ClientSession, ClientTimeout, web

from sandbox.useapi_sim.accounts import AccountsLayer
from sandbox.useapi_sim.constants import CLIENT_MAX_SIZE
from sandbox.useapi_sim.control import ControlLayer
from sandbox.useapi_sim.jobs_routes import JobsRoutesLayer
from sandbox.useapi_sim.submit import SubmitLayer
from sandbox.useapi_sim.validation import SPECS


class UseapiSimulator(ControlLayer, SubmitLayer, JobsRoutesLayer, AccountsLayer):
    """In-memory useapi.net Pika v1: jobs, accounts, callbacks and fault knobs."""

    def make_app(self) -> web.Application:
        """Build the aiohttp application (routes, middlewares, callback ClientSession lifecycle)."""
        app = web.Application(
            middlewares=[self._record_middleware(), self._api_middleware()],
            client_max_size=CLIENT_MAX_SIZE,
        )
        app.cleanup_ctx.append(self._lifecycle_ctx)
        router = app.router
        for spec in SPECS.values():
            router.add_post(f"/v1/pika/{spec.endpoint}", self._submit_handler(spec))
        router.add_get("/v1/pika/jobs", self._jobs_root)
        router.add_get("/v1/pika/jobs/", self._get_job)
        router.add_get("/v1/pika/jobs/cancel", self._cancel_job)
        router.add_get("/v1/pika/jobs/cancel/", self._cancel_job)
        router.add_get("/v1/pika/account", self._get_accounts)
        router.add_get("/v1/pika/account/{channel}", self._get_account)
        router.add_post("/v1/pika/account/{channel}", self._post_account)
        router.add_delete("/v1/pika/account/{channel}", self._delete_account)
        router.add_get("/attachments/{channel}/{message}/{filename}", self._attachment)
        router.add_get("/proxy/attachments/{channel}/{message}/{filename}", self._attachment)
        router.add_get("/_sim/jobs", self._sim_jobs)
        router.add_get("/_sim/requests", self._sim_requests)
        router.add_get("/_sim/callbacks", self._sim_callbacks)
        router.add_get("/_sim/faults", self._sim_get_faults)
        router.add_post("/_sim/faults", self._sim_post_faults)
        router.add_post("/_sim/jobs/{jobid}/{action}", self._sim_job_action)
        return app

    async def _lifecycle_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        # One shared session for all callbacks, owned by the app.
        self._session = ClientSession(timeout=ClientTimeout(total=self.config.callback_timeout))
        try:
            yield
        finally:
            await self._stop_background()
