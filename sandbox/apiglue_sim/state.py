"""The simulator's state, shared by all its layers: jobs, records, ids and background tasks."""

from __future__ import annotations

import random
import uuid

from sandbox.apiglue_sim.config import SimConfig, SimFaults
from sandbox.apiglue_sim.constants import SAMPLE_VIDEO
from sandbox.apiglue_sim.records import ImageFetch, RecordedCallback, RecordedRequest, SimJob, VideoStatus
from sandbox.sim_common.background import BackgroundWork


class GlueState(BackgroundWork):
    """Everything one simulator holds; the layers above add behaviour to it."""

    def __init__(self, config: SimConfig | None = None) -> None:
        """Create a simulator; nothing is served until ``make_app`` is run by an aiohttp runner."""
        super().__init__()
        self.config: SimConfig = config if config is not None else SimConfig()
        self.faults = SimFaults()
        self.jobs: dict[str, SimJob] = {}
        self.requests: list[RecordedRequest] = []
        self.callbacks_sent: list[RecordedCallback] = []
        self.image_fetches: list[ImageFetch] = []
        self.video = SAMPLE_VIDEO.read_bytes()
        self._by_result_url: dict[str, SimJob] = {}
        self._rng = random.Random(self.config.random_seed)

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

    def _new_id(self) -> str:
        while True:
            new = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            if new not in self.jobs:
                return new
