"""Callbacks: posting a job's state to its ``replyUrl`` and recording every attempt."""

from __future__ import annotations

import asyncio
import time

from sandbox.sim_common.delivery import post_once
from sandbox.useapi_sim.constants import dumps
from sandbox.useapi_sim.records import RecordedCallback, SimJob
from sandbox.useapi_sim.state import UseapiState


class CallbacksLayer(UseapiState):
    """Callback scheduling and delivery."""

    def _schedule_callback(self, job: SimJob) -> None:
        if not job.reply_url or self.faults.drop_callbacks:
            return
        copies = 1 + max(0, self.faults.duplicate_callbacks)
        self._spawn(self._deliver(job, job.reply_url, job.to_json(), copies, self.faults.late_callback_delay))

    async def _deliver(
        self, job: SimJob, url: str, payload: dict[str, object], copies: int, delay: float
    ) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        # The lock keeps one job's callbacks in the order its states happened.
        async with job.callback_lock:
            for _ in range(copies):
                await self._post_callback(url, payload)

    async def _post_callback(self, url: str, payload: dict[str, object]) -> None:
        http_status, error = await post_once(
            self._session, url, dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        self.callbacks_sent.append(
            RecordedCallback(
                url, str(payload["jobid"]), str(payload["status"]), http_status, error, time.time()
            )
        )
