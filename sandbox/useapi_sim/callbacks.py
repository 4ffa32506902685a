"""Callbacks: posting a job's state to its ``replyUrl`` and recording every attempt."""

from __future__ import annotations

import functools
import time

from sandbox.sim_common.delivery import deliver_in_order, post_once
from sandbox.useapi_sim.constants import dumps
from sandbox.useapi_sim.records import RecordedCallback, SimJob
from sandbox.useapi_sim.state import UseapiState


class CallbacksLayer(UseapiState):
    """Callback scheduling and delivery."""

    def _schedule_callback(self, job: SimJob) -> None:
        if not job.reply_url or self.faults.drop_callbacks:
            return
        copies = 1 + max(0, self.faults.duplicate_callbacks)
        post = functools.partial(self._post_callback, job.reply_url, job.to_json())
        self._spawn(deliver_in_order(job.callback_lock, self.faults.late_callback_delay, copies, post))

    async def _post_callback(self, url: str, payload: dict[str, object]) -> None:
        http_status, error = await post_once(
            self._session, url, dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        self.callbacks_sent.append(
            RecordedCallback(
                url, str(payload["jobid"]), str(payload["status"]), http_status, error, time.time()
            )
        )
