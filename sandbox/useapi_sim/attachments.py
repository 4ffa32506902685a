"""Attachments: the Discord-CDN-like result video, its signed URLs (docs/useapi-pika.md 1.11) and its route."""

from __future__ import annotations

import hashlib
import hmac
import time

from aiohttp import web

from sandbox.useapi_sim.constants import CDN_GONE
from sandbox.useapi_sim.records import SimJob
from sandbox.useapi_sim.state import UseapiState


class AttachmentsLayer(UseapiState):
    """Signed attachment URLs and the handler that serves them."""

    def _sign(self, channel: str, message: str, filename: str, ex: str, is_: str) -> str:
        msg = f"{channel}/{message}/{filename}|{ex}|{is_}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def _attachment_urls(self, job: SimJob, filename: str) -> tuple[str, str]:
        issued = int(time.time())
        ex, is_ = f"{issued + int(self.config.attachment_ttl):x}", f"{issued:x}"
        hm = self._sign(job.channel, job.message_id, filename, ex, is_)
        tail = f"attachments/{job.channel}/{job.message_id}/{filename}?ex={ex}&is={is_}&hm={hm}&"
        return f"{job.public_base}/{tail}", f"{job.public_base}/proxy/{tail}"

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        channel, message, filename = (request.match_info[k] for k in ("channel", "message", "filename"))
        known = any(
            j.channel == channel
            and j.message_id == message
            and any(a.filename == filename for a in j.attachments)
            for j in self.jobs.values()
        )
        if not known:
            return web.Response(status=404, text="Not Found")
        ex, is_, hm = (request.query.get(k, "") for k in ("ex", "is", "hm"))
        valid = bool(ex) and hmac.compare_digest(hm, self._sign(channel, message, filename, ex, is_))
        # Signed Discord CDN URLs answer 404 once `ex` has passed or when the signature is wrong.
        if self.faults.expire_attachments or not valid or int(ex, 16) < time.time():
            return web.Response(status=404, text=CDN_GONE)
        return web.Response(body=self.video, content_type="video/mp4")
