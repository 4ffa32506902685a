"""The simulator's state, shared by all its layers: what it stores and records, its queue, its tasks
and the events waiters wait on.
"""

from __future__ import annotations

import asyncio
import random
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sandbox.fal_sim.config import SimConfig, SimFaults
from sandbox.fal_sim.constants import SAMPLE_VIDEO
from sandbox.fal_sim.records import QueueRequest, QueueStatus, RecordedRequest, RecordedWebhook, StoredFile
from sandbox.fal_sim.signing import default_signing_key
from sandbox.fal_sim.values import iso_ms
from sandbox.sim_common.background import BackgroundWork


class FalState(BackgroundWork):
    """Everything one simulator holds; the layers above add behaviour to it."""

    def __init__(self, config: SimConfig | None = None) -> None:
        """Create a simulator; nothing is served until ``make_app`` is run by an aiohttp runner."""
        super().__init__()
        self.config: SimConfig = config if config is not None else SimConfig()
        self.faults = SimFaults()
        self.requests: dict[str, QueueRequest] = {}
        self.recorded: list[RecordedRequest] = []
        self.webhooks: list[RecordedWebhook] = []
        self.files: dict[str, StoredFile] = {}
        self.tokens: dict[str, float] = {}
        self.video = SAMPLE_VIDEO.read_bytes()
        self.signing_key: Ed25519PrivateKey = self.config.signing_key or default_signing_key()
        #: Public keys served in the JWKS (the signing key's first).
        self.jwks_keys: list[Ed25519PublicKey] = [self.signing_key.public_key()]
        self._waiting: list[QueueRequest] = []
        self._rng = random.Random(self.config.random_seed)
        self._wake = asyncio.Event()
        self._webhooks_changed = asyncio.Event()

    def position(self, request_id: str) -> int | None:
        """Requests ahead of this one in the queue; None when it is not waiting."""
        req = self.requests[request_id]
        return self._waiting.index(req) if req in self._waiting else None

    def running_ids(self) -> list[str]:
        """Ids of requests IN_PROGRESS."""
        return [r.id for r in self.requests.values() if r.status is QueueStatus.IN_PROGRESS]

    def waiting_ids(self) -> list[str]:
        """Ids of requests IN_QUEUE, in queue order."""
        return [r.id for r in self._waiting]

    def _kick(self) -> None:
        self._wake.set()

    def _notify(self, req: QueueRequest) -> None:
        req.changed.set()
        req.changed = asyncio.Event()

    def _log(self, req: QueueRequest, message: str, level: str = "INFO") -> None:
        req.logs.append(
            {"message": message, "level": level, "source": "USER", "timestamp": iso_ms(time.time())}
        )
        self._notify(req)
