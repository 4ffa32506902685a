"""Webhooks (section 2): the body, signed delivery with retries, and the record of every attempt."""

from __future__ import annotations

import asyncio
import copy
import time

from aiohttp import ClientTimeout
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sandbox.fal_sim.records import QueueRequest, RecordedWebhook
from sandbox.fal_sim.signing import serialize_webhook_body, webhook_headers
from sandbox.fal_sim.state import FalState
from sandbox.fal_sim.values import is_loopback
from sandbox.sim_common.delivery import post_once


class WebhooksLayer(FalState):
    """Webhook building, delivery and recording."""

    def webhook_body(self, req: QueueRequest) -> dict[str, object]:
        """The section 2.2 webhook body for a completed request."""
        ok = req.result_status == 200
        body: dict[str, object] = {
            "request_id": req.id,
            "gateway_request_id": req.gateway_request_id or req.id,
            "status": "OK" if ok else "ERROR",
            "payload": copy.deepcopy(req.result_body),
            "error": None if ok else f"Invalid status code: {req.result_status}",
        }
        if self.faults.webhook_payload_error:
            body["payload"] = None
            body["payload_error"] = (
                "Response payload is not JSON serializable. Either return a JSON serializable object "
                "or use the queue endpoint to retrieve the response."
            )
        return body

    def _schedule_webhook(self, req: QueueRequest) -> None:
        if not req.webhook_url or self.faults.drop_webhooks:
            return
        # The body is taken now, so a late webhook still carries the state it announces.
        body = serialize_webhook_body(self.webhook_body(req))
        copies = 1 + max(0, self.faults.duplicate_webhooks)
        self._spawn(self._deliver(req, req.webhook_url, body, copies, self.faults.webhook_delay))

    async def _deliver(self, req: QueueRequest, url: str, body: bytes, copies: int, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        for _ in range(copies):
            if not await self._deliver_once(req, url, body):
                return

    async def _deliver_once(self, req: QueueRequest, url: str, body: bytes) -> bool:
        """POST with retries on non-2xx and connection errors; True once a 2xx came back."""
        cfg = self.config
        attempts = max(1, cfg.webhook_attempts)
        if not (is_loopback(url) or cfg.allow_external_webhooks):
            # Never leave 127.0.0.1 unless told to: record the one attempt that was not made.
            self._record_webhook(req, url, 1, {}, body, None, "not sent: webhook host is not loopback")
            return False
        for attempt in range(1, attempts + 1):
            timestamp = int(time.time() + self.faults.webhook_timestamp_skew)
            key = Ed25519PrivateKey.generate() if self.faults.webhook_bad_signature else self.signing_key
            headers = webhook_headers(key, req.id, cfg.user_id, timestamp, body)
            timeout = ClientTimeout(total=cfg.webhook_timeout)
            http_status, error = await post_once(
                self._session, url, body, headers, client_timeout=timeout, allow_redirects=False
            )
            self._record_webhook(req, url, attempt, headers, body, http_status, error)
            if http_status is not None and 200 <= http_status < 300:
                return True
            if attempt < attempts:
                await asyncio.sleep(cfg.webhook_backoff * 2 ** (attempt - 1))
        return False

    def _record_webhook(
        self,
        req: QueueRequest,
        url: str,
        attempt: int,
        headers: dict[str, str],
        body: bytes,
        http_status: int | None,
        error: str | None,
    ) -> None:
        status = "OK" if req.result_status == 200 else "ERROR"
        self.webhooks.append(
            RecordedWebhook(
                url, req.id, attempt, status, headers, body.decode(), http_status, error, time.time()
            )
        )
        self._webhooks_changed.set()
        self._webhooks_changed = asyncio.Event()
