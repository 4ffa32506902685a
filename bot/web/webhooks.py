"""The webhook server: upstream callbacks (capability URLs), /healthz and /metrics.

A callback is only a hint: the service confirms it with a GET to upstream before acting, so a
forged, duplicated, stale or replayed body cannot change a job. Unknown and spent tokens get 404.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict

from aiohttp import web

from bot.engine.crashpoints import crashpoint
from bot.engine.service import JobService, callback_token_hash
from bot.observability.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 64 * 1024
_MAX_TOKEN_CHARS = 128  # ours are 43; anything much longer is not one of ours
_ACCEPTED = json.dumps({"ok": True}).encode()
SERVICE = web.AppKey("service", JobService)


class MissLimiter:
    """Per-IP budget for callbacks with unknown tokens: guessing capability URLs gets 429 quickly.

    A token bucket per address (burst `burst`, refilled at `per_minute`); only misses spend it, so a
    legitimate upstream delivering real callbacks is never slowed. Old entries are pruned.
    """

    def __init__(
        self, burst: int = 30, per_minute: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def blocked(self, address: str) -> bool:
        """True while `address` has no budget left."""
        return self._level(address) < 1.0

    def take(self, address: str) -> bool:
        """Spend one unit before the lookup (so concurrent guesses cannot all slip through); False if none left."""
        if self.blocked(address):
            return False
        self.miss(address)
        return True

    def refund(self, address: str) -> None:
        """Give the unit back: the token was a real one."""
        self._buckets[address] = (min(float(self.burst), self._level(address) + 1.0), self._clock())

    def miss(self, address: str) -> None:
        """Spend one unit of `address`'s budget."""
        self._buckets[address] = (self._level(address) - 1.0, self._clock())
        if len(self._buckets) > 10_000:
            self._prune()

    def _level(self, address: str) -> float:
        level, at = self._buckets.get(address, (float(self.burst), self._clock()))
        return min(float(self.burst), level + (self._clock() - at) * self.rate)

    def _prune(self) -> None:
        for address in [a for a in self._buckets if self._level(a) >= self.burst]:
            del self._buckets[address]


LIMITER = web.AppKey("limiter", MissLimiter)
METRICS = web.AppKey("metrics", Metrics)


def make_app(service: JobService, metrics: Metrics | None = None) -> web.Application:
    """The aiohttp application serving callbacks and health (and /metrics when `metrics` is given)."""
    # client_max_size makes aiohttp answer 413 itself for bodies that stream past the cap.
    app = web.Application(client_max_size=MAX_CALLBACK_BYTES)
    app[SERVICE] = service
    app[LIMITER] = MissLimiter()
    app.router.add_post("/callbacks/{provider}/{token}", _callback)
    app.router.add_get("/healthz", _healthz)
    if metrics is not None:
        app[METRICS] = metrics
        app.router.add_get("/metrics", _metrics)
    return app


async def _callback(request: web.Request) -> web.Response:
    metrics = request.app.get(METRICS)
    try:
        result, response = await _answer_callback(request)
    except Exception:
        if metrics is not None:
            metrics.callback("error")
        raise
    if metrics is not None:
        metrics.callback(result)
    return response


async def _answer_callback(request: web.Request) -> tuple[str, web.Response]:
    """The callback's answer and its result label for metrics."""
    service = request.app[SERVICE]
    provider = request.match_info["provider"]
    token = request.match_info["token"]
    if request.content_length is not None and request.content_length > MAX_CALLBACK_BYTES:
        return "too_large", _json({"error": f"body larger than {MAX_CALLBACK_BYTES} bytes"}, 413)
    limiter = request.app[LIMITER]
    address = request.remote or "unknown"
    if not limiter.take(address):
        return "throttled", _json({"error": "too many unknown callback URLs; slow down"}, 429)
    if provider not in service.providers or not token or len(token) > _MAX_TOKEN_CHARS:
        return "unknown_token", _json({"error": "not found"}, 404)
    # From the store's in-memory mirror of live tokens: a valid callback costs no SQLite round trip.
    target = await service.store.callback_target(callback_token_hash(token))
    if target is None or target.provider != provider:
        # Unknown, or spent because the job already finished: either way nothing to do.
        return "unknown_token", _json({"error": "not found"}, 404)
    limiter.refund(address)
    if (
        request.content_type.startswith("multipart/")
        or request.content_type == "application/x-www-form-urlencoded"
    ):
        # useapi.net posts the job as JSON; a form is not a callback (the exact header is undocumented,
        # so anything else is accepted as long as the body is a JSON object).
        return "unsupported_type", _json({"error": "send the job as a JSON body"}, 415)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return "too_large", _json({"error": f"body larger than {MAX_CALLBACK_BYTES} bytes"}, 413)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: absurdly nested JSON is refused like any other malformed body.
        return "bad_request", _json({"error": "body must be JSON"}, 400)
    if not isinstance(body, dict):
        return "bad_request", _json({"error": "body must be a JSON object"}, 400)
    upstream = service.providers[provider]
    refused = await upstream.authenticate_callback(request.headers, raw)
    if refused is not None:
        log.warning("callback for job %s refused: %s", target.job_id, refused)
        return "bad_signature", _json({"error": "signature check failed"}, 401)
    hint = upstream.callback_upstream_id(body)
    crashpoint("callback.received")
    await service.handle_callback(target.job_id, hint)
    # Encoded once: the accepted answer is the same every time and this is the hot path.
    return "accepted", web.Response(body=_ACCEPTED, content_type="application/json")


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render(await request.app[SERVICE].job_gauges())
    # The content type carries version and charset, which web.Response(content_type=...) refuses.
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _healthz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    database = "ok"
    try:
        await service.store.ping()
    except Exception as exc:  # the health endpoint reports, it does not crash
        database = f"error: {type(exc).__name__}"
    upstream = {name: asdict(provider.health) for name, provider in service.providers.items()}
    healthy = database == "ok"
    body: dict[str, object] = {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "upstream": upstream,
        "time": time.time(),
    }
    return _json(body, 200 if healthy else 503)


def _json(body: dict[str, object], status: int) -> web.Response:
    return web.json_response(body, status=status)


class WebhookServer:
    """Runs the app on host:port (AppRunner + TCPSite) and stops it."""

    def __init__(self, service: JobService, host: str, port: int, metrics: Metrics | None = None) -> None:
        self._app = make_app(service, metrics)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        """Bind and serve; `port` then holds the real port (useful with port 0)."""
        # A short shutdown timeout: callbacks are idempotent hints, upstream retries or we poll.
        self._runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else self._port
        log.info("webhook server listening on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
