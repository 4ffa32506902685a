"""The simulator's state, shared by all its layers: jobs, records, ids and background tasks."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Coroutine

from aiohttp import ClientSession

from sandbox.apiglue_sim.config import SimConfig, SimFaults
from sandbox.apiglue_sim.constants import SAMPLE_VIDEO
from sandbox.apiglue_sim.records import ImageFetch, RecordedCallback, RecordedRequest, SimJob, VideoStatus


class GlueState:
    """Everything one simulator holds; the layers above add behaviour to it."""

    def __init__(self, config: SimConfig | None = None) -> None:
        """Create a simulator; nothing is served until ``make_app`` is run by an aiohttp runner."""
        self.config: SimConfig = config if config is not None else SimConfig()
        self.faults = SimFaults()
        self.jobs: dict[str, SimJob] = {}
        self.requests: list[RecordedRequest] = []
        self.callbacks_sent: list[RecordedCallback] = []
        self.image_fetches: list[ImageFetch] = []
        self.video = SAMPLE_VIDEO.read_bytes()
        self._by_result_url: dict[str, SimJob] = {}
        self._rng = random.Random(self.config.random_seed)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: ClientSession | None = None

    def executing_job_ids(self) -> list[str]:
        """Ids of jobs whose video is queued or pending."""
        return [j.id for j in self.jobs.values() if j.is_executing]

    def job_for_result_url(self, url: str) -> SimJob | None:
        """The finished job whose ``resultUrl`` is ``url``, if this simulator served it."""
        return self._by_result_url.get(url)

    def render(self, job: SimJob) -> dict[str, object]:
        """The job as ``GET /web/jobs/{id}`` shows it now (fault knobs on the status applied)."""
        return job.to_json(self._status_text(job))

    def _status_text(self, job: SimJob) -> str | None:
        if job.status is VideoStatus.PENDING and self.faults.running_status:
            return self.faults.running_status
        return None

    def _spawn(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        # Keep a strong reference so the task is not garbage-collected, and to cancel it on cleanup.
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _new_id(self) -> str:
        while True:
            new = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            if new not in self.jobs:
                return new
