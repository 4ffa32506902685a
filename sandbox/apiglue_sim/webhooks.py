"""Webhooks: posting a job's state to its ``webhookOverride`` and recording every attempt."""

from __future__ import annotations

import functools
import time

from sandbox.apiglue_sim.constants import JSON_HEADERS, dumps
from sandbox.apiglue_sim.records import RecordedCallback, SimJob
from sandbox.apiglue_sim.state import GlueState
from sandbox.sim_common.delivery import deliver_in_order, post_once
from sandbox.sim_common.values import is_int


class WebhooksLayer(GlueState):
    """Webhook scheduling and delivery."""

    def _schedule_callback(self, job: SimJob) -> None:
        if not job.webhook_override or self.faults.drop_callbacks:
            return
        copies = 1 + max(0, self.faults.duplicate_callbacks)
        # The body is taken now, so a late webhook still carries the state it announces.
        payload = self.render(job)
        post = functools.partial(self._post_callback, job, job.webhook_override, payload)
        self._spawn(deliver_in_order(job.callback_lock, self.faults.late_callback_delay, copies, post))

    async def _post_callback(self, job: SimJob, url: str, payload: dict[str, object]) -> None:
        http_status, error = await post_once(self._session, url, dumps(payload).encode(), JSON_HEADERS)
        videos = payload["videos"]
        video = videos[0] if isinstance(videos, list) and videos else {}
        status = video.get("status") if isinstance(video, dict) else None
        progress = video.get("progress") if isinstance(video, dict) else None
        self.callbacks_sent.append(
            RecordedCallback(
                url,
                job.id,
                str(status),
                progress if is_int(progress) else 0,
                http_status,
                error,
                time.time(),
            )
        )
