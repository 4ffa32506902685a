"""Our own thin async client for fal.ai's queue API and storage (docs/fal-pika.md section 1).

Not the ``fal-client`` package: this is a few aiohttp calls with typed answers and one typed error,
so it fits the bot's event loop, never retries behind the caller's back, and works against the local
simulator (``sandbox/fal_sim/``) by pointing ``base_url`` and ``rest_base_url`` at it.

* ``submit`` → ``FalSubmission`` (keep its three URLs with the job: they are opaque, section 1.2),
* ``status`` → ``FalStatus``, ``result`` → ``FalVideo``, ``cancel`` → ``FalCancelOutcome``,
* ``upload`` → a public URL on fal's CDN (the two-step ``fal-cdn-v3`` upload of section 1.9).

Every failure is a ``FalError`` (HTTP status, ``error_type``, parsed ``detail`` list, ``retryable``
per section 1.8, ``ambiguous`` when a submit may have been received).  The API key is only ever sent
to the configured queue and REST origins, and never appears in errors, reprs or logs.

Apart from ``answers.py`` (the answer types and the one error) and ``transport.py`` (the HTTP
exchange that keeps the key where it belongs), this module imports nothing from the rest of the bot.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Literal

import aiohttp
from yarl import URL

from bot.providers.fal.answers import (
    FalCancelOutcome,
    FalError,
    FalState,
    FalStatus,
    FalSubmission,
    FalVideo,
    error_from,
    json_or_none,
    opt_int,
    opt_str,
    parse_expiry,
    parse_logs,
)
from bot.providers.fal.transport import FalTransport, origin_url

__all__ = ["CDN_URL", "QUEUE_URL", "REST_URL", "RESULT_HOSTS", "FalClient"]

QUEUE_URL: Final = "https://queue.fal.run"
REST_URL: Final = "https://rest.fal.ai"
CDN_URL: Final = "https://v3.fal.media"
#: The CDN hosts fal serves model outputs from (section 1.1): result videos are downloaded from them.
RESULT_HOSTS: Final = ("v3.fal.media", "v3b.fal.media", "v2.fal.media", "fal.media")

#: A storage token is renewed this long before its ``expires_at``.
TOKEN_MARGIN: Final = 30.0
_MODEL_ID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)+")


@dataclass(frozen=True)
class _CdnToken:
    token: str
    token_type: str
    base_url: str
    expires_at: float


# --------------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------------


class FalClient:
    """Queue API + storage client for one fal key; safe to share across tasks."""

    def __init__(
        self,
        base_url: str,
        key: str,
        session: aiohttp.ClientSession | None = None,
        *,
        rest_base_url: str = REST_URL,
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        upload_timeout: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Configure the client; with no ``session`` one is made on first use and closed by ``close``.

        :param base_url: the queue host, ``https://queue.fal.run`` in production.
        :param key: ``<key_id>:<key_secret>``; sent only to ``base_url`` and ``rest_base_url``.
        :param rest_base_url: where storage tokens come from, ``https://rest.fal.ai`` in production.
        :param request_timeout: total time for one queue call (connect included).
        """
        if not key or not key.strip():
            raise ValueError("a fal key is required")
        self.base_url = origin_url(base_url, "base_url")
        self.rest_base_url = origin_url(rest_base_url, "rest_base_url")
        self._http = FalTransport(
            key.strip(),
            session,
            origin=self.base_url,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
        )
        self.upload_timeout = upload_timeout
        self.clock = clock
        self._token: _CdnToken | None = None
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"FalClient(base_url={self.base_url!r}, rest_base_url={self.rest_base_url!r})"

    async def close(self) -> None:
        """Close the session if this client made it."""
        await self._http.close()

    async def __aenter__(self) -> FalClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ----- queue API ----------------------------------------------------------------------------

    async def submit(
        self,
        model_id: str,
        payload: Mapping[str, object],
        webhook_url: str | None = None,
        *,
        start_timeout: float | None = None,
        priority: Literal["normal", "low"] | None = None,
        no_retry: bool = False,
        max_queue_length: int | None = None,
    ) -> FalSubmission:
        """``POST {base_url}/{model_id}`` with ``payload`` as the body (section 1.3).

        :param webhook_url: sent as ``fal_webhook``; fal POSTs the signed result there.
        :param start_timeout: ``X-Fal-Request-Timeout``: fal gives up if the run has not started by then.
        :param max_queue_length: ``fal_max_queue_length``: 429 when that many requests already wait.
        :raises FalError: ``ambiguous`` when the request may have been received without an answer.
        """
        if not _MODEL_ID_RE.fullmatch(model_id):
            raise ValueError(f"not a fal model id: {model_id!r}")
        params: dict[str, str] = {}
        if webhook_url is not None:
            params["fal_webhook"] = webhook_url
        if max_queue_length is not None:
            params["fal_max_queue_length"] = str(max_queue_length)
        headers: dict[str, str] = {"Content-Type": "application/json"}
        if start_timeout is not None:
            headers["X-Fal-Request-Timeout"] = f"{start_timeout:g}"
        if priority is not None:
            headers["X-Fal-Queue-Priority"] = priority
        if no_retry:
            headers["X-Fal-No-Retry"] = "1"
        body = json.dumps(dict(payload)).encode()
        answer = await self._http.call(
            "POST", f"{self.base_url}/{model_id}", params=params, headers=headers, data=body, submit=True
        )
        if answer.status != 200:
            raise error_from(answer, self._http.scrub, submit=True)
        data = json_or_none(answer.raw)
        request_id = data.get("request_id") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(request_id, str) or not request_id:
            raise FalError(
                "submit answer has no request_id",
                status=answer.status,
                ambiguous=True,
                request_id=answer.request_id,
            )
        # fal_client rebuilds missing URLs from owner/app (section 1.2); so do we.
        owner_app = "/".join(model_id.split("/")[:2])
        fallback = f"{self.base_url}/{owner_app}/requests/{request_id}"
        return FalSubmission(
            request_id=request_id,
            status_url=opt_str(data.get("status_url")) or f"{fallback}/status",
            response_url=opt_str(data.get("response_url")) or fallback,
            cancel_url=opt_str(data.get("cancel_url")) or f"{fallback}/cancel",
            queue_position=opt_int(data.get("queue_position")),
            gateway_request_id=opt_str(data.get("gateway_request_id")),
        )

    async def status(self, status_url: str, logs: bool = False) -> FalStatus:
        """``GET status_url[?logs=1]``: 202 while queued or running, 200 once COMPLETED (section 1.4)."""
        self._http.check_origin(status_url)
        answer = await self._http.call("GET", status_url, params={"logs": "1" if logs else "0"})
        if answer.status not in (200, 202):
            raise error_from(answer, self._http.scrub)
        data = json_or_none(answer.raw)
        state_text = data.get("status") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(state_text, str):
            raise FalError(
                "malformed status answer", status=answer.status, retryable=True, request_id=answer.request_id
            )
        try:
            state = FalState(state_text)
        except ValueError:
            raise FalError(
                f"unknown queue status {state_text[:40]!r}",
                status=answer.status,
                request_id=answer.request_id,
            ) from None
        metrics = data.get("metrics")
        inference = metrics.get("inference_time") if isinstance(metrics, dict) else None
        error = data.get("error")
        return FalStatus(
            state=state,
            request_id=opt_str(data.get("request_id")),
            queue_position=opt_int(data.get("queue_position")),
            logs=parse_logs(data.get("logs")),
            error=self._http.scrub(error) if isinstance(error, str) else None,
            error_type=opt_str(data.get("error_type")),
            inference_time=float(inference)
            if isinstance(inference, int | float) and not isinstance(inference, bool)
            else None,
        )

    async def result(self, response_url: str) -> FalVideo:
        """``GET response_url``: the model output, or the failed job's own error status (section 1.5)."""
        self._http.check_origin(response_url)
        answer = await self._http.call("GET", response_url)
        if answer.status != 200:
            raise error_from(answer, self._http.scrub)
        data = json_or_none(answer.raw)
        video = data.get("video") if isinstance(data, dict) else None
        url = video.get("url") if isinstance(video, dict) else None
        if not isinstance(video, dict) or not isinstance(url, str) or not url:
            raise FalError("result has no video url", status=answer.status, request_id=answer.request_id)
        return FalVideo(
            url=url,
            content_type=opt_str(video.get("content_type")),
            file_name=opt_str(video.get("file_name")),
            file_size=opt_int(video.get("file_size")),
        )

    async def cancel(self, cancel_url: str) -> FalCancelOutcome:
        """``PUT cancel_url``: any 2xx requested, 400 already completed, 404 not found (section 1.6).

        A running request may still finish after ``REQUESTED``: keep polling.
        """
        self._http.check_origin(cancel_url)
        answer = await self._http.call("PUT", cancel_url)
        data = json_or_none(answer.raw)
        text = data.get("status") if isinstance(data, dict) else None
        if 200 <= answer.status < 300:
            # fal's own clients take any 2xx as accepted, whatever the body ("OK" with 200,
            # "CANCELLATION_REQUESTED" with 202, or none); only a body that says otherwise is heeded.
            if text in (FalCancelOutcome.ALREADY_COMPLETED, FalCancelOutcome.NOT_FOUND):
                return FalCancelOutcome(text)
            return FalCancelOutcome.REQUESTED
        if answer.status == 400 and text == FalCancelOutcome.ALREADY_COMPLETED:
            return FalCancelOutcome.ALREADY_COMPLETED
        if answer.status == 404 and text == FalCancelOutcome.NOT_FOUND:
            return FalCancelOutcome.NOT_FOUND
        raise error_from(answer, self._http.scrub)

    # ----- storage ------------------------------------------------------------------------------

    async def upload(
        self, data: bytes, content_type: str, filename: str, storage_base_url: str | None = None
    ) -> str:
        """Upload bytes to fal's CDN and return their public ``access_url`` (section 1.9).

        Step 1 gets a ``fal-cdn-v3`` token from ``rest_base_url`` (cached until ``expires_at``); step 2
        POSTs the raw bytes to ``{storage_base_url or token.base_url}/files/upload`` with that token
        (never with the key).  A 401/403 from step 2 renews the token once.
        """
        for attempt in (1, 2):
            token = await self._cdn_token(force=attempt == 2)
            base = (storage_base_url or token.base_url).rstrip("/")
            headers = {
                "Authorization": f"{token.token_type} {token.token}",
                "Content-Type": content_type or "application/octet-stream",
                "X-Fal-File-Name": filename,
                "Accept": "application/json",
            }
            answer = await self._http.call(
                "POST",
                f"{base}/files/upload",
                headers=headers,
                data=data,
                auth=False,
                total_timeout=self.upload_timeout,
            )
            if answer.status in (401, 403) and attempt == 1:
                continue
            if answer.status not in (200, 201):
                raise error_from(answer, self._http.scrub)
            body = json_or_none(answer.raw)
            access_url = body.get("access_url") if isinstance(body, dict) else None
            if not isinstance(access_url, str) or URL(access_url).scheme not in ("http", "https"):
                raise FalError("upload answer has no access_url", status=answer.status)
            return access_url
        raise AssertionError("unreachable")  # pragma: no cover

    async def _cdn_token(self, *, force: bool = False) -> _CdnToken:
        async with self._token_lock:
            now = self.clock()
            if not force and self._token is not None and now < self._token.expires_at - TOKEN_MARGIN:
                return self._token
            self._token = None
            answer = await self._http.call(
                "POST",
                f"{self.rest_base_url}/storage/auth/token",
                params={"storage_type": "fal-cdn-v3"},
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                data=b"{}",
            )
            if answer.status != 200:
                raise error_from(answer, self._http.scrub)
            data = json_or_none(answer.raw)
            if not isinstance(data, dict):
                raise FalError("malformed storage token answer", status=answer.status)
            token, token_type, base_url = data.get("token"), data.get("token_type"), data.get("base_url")
            if not isinstance(token, str) or not token:
                raise FalError("storage token answer has no token", status=answer.status)
            base = opt_str(base_url) or CDN_URL
            if URL(base).scheme not in ("http", "https"):
                raise FalError("storage token answer has a bad base_url", status=answer.status)
            fresh = _CdnToken(
                token=token,
                token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
                base_url=base,
                expires_at=parse_expiry(data.get("expires_at"), now),
            )
            self._token = fresh
            return fresh
