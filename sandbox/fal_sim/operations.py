"""Public helpers for in-process tests: release, finish or fail requests, rotate the signing key,
change knobs, wait for changes, and render what the status route answers.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from dataclasses import fields, replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sandbox.fal_sim.config import SimConfig, SimFaults, coerce_knob
from sandbox.fal_sim.constants import ERROR_TYPES
from sandbox.fal_sim.records import QueueRequest, QueueStatus, RecordedWebhook
from sandbox.fal_sim.scheduler import SchedulerLayer
from sandbox.fal_sim.signing import jwks_for
from sandbox.sim_common.waiting import wait_until


class OperationsLayer(SchedulerLayer):
    """What in-process tests (and the routes above) call to drive and read the simulator."""

    def release(self, request_id: str) -> None:
        """Let a request held by ``hold_jobs`` or ``stuck_queued`` go on."""
        self.requests[request_id].released.set()
        self._kick()

    def release_all(self) -> None:
        """Release every held or stuck request."""
        for req in self.requests.values():
            req.released.set()
        self._kick()

    def finish_now(self, request_id: str) -> bool:
        """Complete a request successfully right now; False if it already completed."""
        req = self.requests[request_id]
        if req.done:
            return False
        self._stop_run(req)
        self._succeed(req)
        return True

    def fail_now(self, request_id: str, error_type: str = "runner_server_error") -> bool:
        """Complete a request with ``error_type`` (any section 1.8 code) right now; False if done."""
        if error_type not in ERROR_TYPES:
            raise ValueError(f"unknown error type {error_type!r}")
        req = self.requests[request_id]
        if req.done:
            return False
        self._stop_run(req)
        self._fail_with(req, error_type)
        return True

    def rotate_signing_key(self, new_key: Ed25519PrivateKey, *, keep_old: bool = True) -> None:
        """Sign with ``new_key`` from now on; the JWKS lists it first (and the old keys if ``keep_old``)."""
        public = new_key.public_key()
        self.signing_key = new_key
        self.jwks_keys = [public, *self.jwks_keys] if keep_old else [public]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS document as served now."""
        return jwks_for(self.jwks_keys, padded=self.faults.jwks_padded)

    def update_faults(self, changes: Mapping[str, object]) -> None:
        """Merge ``changes`` into ``faults`` after type checks; ValueError on unknown keys or bad types."""
        known = {f.name for f in fields(SimFaults)}
        checked: dict[str, object] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault knob {name!r}")
            checked[name] = coerce_knob(name, getattr(self.faults, name), value)
        for name, value in checked.items():
            setattr(self.faults, name, value)
        self._kick()

    def update_config(self, changes: Mapping[str, object]) -> None:
        """Change config fields at run time (not ``signing_key``); ValueError on unknown or bad values."""
        known = {f.name for f in fields(SimConfig)} - {"signing_key"}
        checked: dict[str, object] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown config field {name!r}")
            checked[name] = coerce_knob(name, getattr(self.config, name), value)
        self.config = replace(self.config, **checked)  # type: ignore[arg-type]
        self._kick()

    async def wait_for_status(
        self, request_id: str, *statuses: QueueStatus, within: float = 5.0
    ) -> QueueRequest:
        """Wait until the request reaches one of ``statuses``; TimeoutError after ``within`` s."""
        req = self.requests[request_id]
        await wait_until(req, lambda: req.status in statuses, within)
        return req

    async def wait_for_webhooks(self, count: int, within: float = 5.0) -> list[RecordedWebhook]:
        """Wait until at least ``count`` webhook attempts were recorded; return them all."""
        async with asyncio.timeout(within):
            while len(self.webhooks) < count:
                event = self._webhooks_changed
                await event.wait()
        return list(self.webhooks)

    def render_status(self, req: QueueRequest, with_logs: bool = False) -> dict[str, object]:
        """The status answer body for ``req`` as it is now."""
        body: dict[str, object] = {"status": str(req.status), "request_id": req.id, **req.urls()}
        if req.status is QueueStatus.IN_QUEUE:
            body["queue_position"] = self._waiting.index(req) if req in self._waiting else 0
            return body
        body["logs"] = copy.deepcopy(req.logs) if with_logs else None
        if req.status is QueueStatus.COMPLETED:
            metrics: dict[str, object] = {}
            if req.succeeded and req.inference_time is not None:
                metrics["inference_time"] = round(req.inference_time, 3)
            body["metrics"] = metrics
            if req.error is not None and req.error_on_status:
                body["error"] = req.error
                body["error_type"] = req.error_type
        return body
