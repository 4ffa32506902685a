"""The simulator's state, shared by all its layers: jobs, accounts, records, ids and background tasks."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime

from sandbox.sim_common.background import BackgroundWork
from sandbox.useapi_sim.config import SimAccount, SimConfig, SimFaults
from sandbox.useapi_sim.constants import DISCORD_EPOCH_MS, SAMPLE_VIDEO
from sandbox.useapi_sim.records import RecordedCallback, RecordedRequest, SimJob


class UseapiState(BackgroundWork):
    """Everything one simulator holds; the layers above add behaviour to it."""

    def __init__(self, config: SimConfig | None = None) -> None:
        """Create a simulator; nothing is served until ``make_app`` is run by an aiohttp runner."""
        super().__init__()
        self.config: SimConfig = config if config is not None else SimConfig()
        self.faults = SimFaults()
        # Copied so that account POST/DELETE never mutates the caller's config object.
        self.accounts: dict[str, SimAccount] = {k: replace(v) for k, v in self.config.accounts.items()}
        self.jobs: dict[str, SimJob] = {}
        self.requests: list[RecordedRequest] = []
        self.callbacks_sent: list[RecordedCallback] = []
        self.video = SAMPLE_VIDEO.read_bytes()
        self._rng = random.Random(self.config.random_seed)
        self._secret = self._rng.randbytes(16)
        self._snowflake_seq = 0

    def executing_jobids(self, channel: str | None = None) -> list[str]:
        """Jobids now in created/started/progress, optionally for one channel."""
        return [
            j.jobid
            for j in self.jobs.values()
            if j.is_executing and (channel is None or j.channel == channel)
        ]

    def _new_jobid(self, now: datetime) -> str:
        while True:
            jobid = f"j{now:%m%d%H%M%S}{now.microsecond // 1000:03d}{self._rng.randrange(10**7):07d}"
            if jobid not in self.jobs:
                return jobid

    def _snowflake(self, now: datetime) -> str:
        self._snowflake_seq = (self._snowflake_seq + 1) & 0x3FFFFF
        millis = int(now.timestamp() * 1000) - DISCORD_EPOCH_MS
        return str((millis << 22) | self._snowflake_seq)

    def _busy(self, channel: str) -> int:
        return len(self.executing_jobids(channel)) + self.faults.external_executing.get(channel, 0)

    def _executing_with_external(self, channel: str) -> list[str]:
        return self.executing_jobids(channel) + self._foreign_ids(channel)

    def _foreign_ids(self, channel: str) -> list[str]:
        # Foreign jobs (other clients of the same account) show up only as ids: in the 429 body and
        # in the executing list, never as job records.
        foreign = self.faults.external_executing.get(channel, 0)
        return [f"j{channel[-6:]}external{i:04d}" for i in range(foreign)]
