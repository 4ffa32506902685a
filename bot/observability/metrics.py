"""Prometheus metrics for GET /metrics: jobs by state and outcome, latency, upstream, Discord, callbacks.

Each Metrics owns its own CollectorRegistry (never prometheus_client's global one), so several
engines in one process (the tests start many) never share or clash over series. Job counts come
from SQLite at scrape time: the database is the truth, and a restart does not reset them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from yarl import URL

from bot.domain.jobs import TERMINAL_STATES, JobState

# The classic text format (0.0.4); prometheus-client's "latest" (1.0.0) is the same bytes for our
# names, but every Prometheus version understands this one.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Video generation takes tens of seconds to many minutes; the last bound is the default job timeout.
LATENCY_BUCKETS = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1200.0, 1800.0)

OUTCOMES = tuple(sorted(state.value for state in TERMINAL_STATES))
POST_KINDS = ("result", "notice", "status")
CALLBACK_RESULTS = (
    "accepted",
    "unknown_token",
    "bad_request",
    "bad_signature",
    "too_large",
    "unsupported_type",
    "throttled",
)


@dataclass(frozen=True)
class JobGauges:
    """The job counts /metrics shows, read from the store at each scrape."""

    by_state: Mapping[JobState, int]
    queue_depth: int


class Metrics:
    """Every pikabot metric family, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._add_job_metrics(self.registry)
        self._add_upstream_metrics(self.registry)
        self._add_discord_metrics(self.registry)
        # Known label values start at 0, so rate() and absent-series alerts work from the first scrape.
        for state in JobState:
            self.jobs.labels(state=state.value)
        for outcome in OUTCOMES:
            self.jobs_finished.labels(outcome=outcome)
        for kind in POST_KINDS:
            self.discord_posts.labels(kind=kind)
        for result in CALLBACK_RESULTS:
            self.callbacks.labels(result=result)

    def _add_job_metrics(self, r: CollectorRegistry) -> None:
        """Jobs by state, the queue, outcomes, and the time to a video."""
        self.jobs = Gauge("pikabot_jobs", "Jobs in SQLite by state.", ["state"], registry=r)
        self.queue_depth = Gauge(
            "pikabot_queue_depth", "Queued jobs waiting for a slot (held ones excluded).", registry=r
        )
        self.jobs_finished = Counter(
            "pikabot_jobs_finished",
            "Jobs that reached a terminal state, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.submit_to_video = Histogram(
            "pikabot_submit_to_video_seconds",
            "From a member's request to the video posted in Discord.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def _add_upstream_metrics(self, r: CollectorRegistry) -> None:
        """Calls to the upstream video APIs, their errors, and the lost-callback listings."""
        self.upstream_requests = Counter(
            "pikabot_upstream_requests",
            "Calls to an upstream video API, by answer status (ok, an HTTP status, or none).",
            ["provider", "operation", "status"],
            registry=r,
        )
        self.upstream_errors = Counter(
            "pikabot_upstream_errors",
            "Failed upstream calls, by error kind.",
            ["provider", "operation", "kind"],
            registry=r,
        )
        self.upstream_listings = Counter(
            "pikabot_upstream_listings",
            "Requests listing the jobs an upstream still runs (at most one per provider per poll "
            "interval, callbacks on): what finding lost callbacks costs.",
            ["provider", "status"],
            registry=r,
        )
        self.listing_confirms = Counter(
            "pikabot_listing_confirms",
            "Running jobs that left the upstream's executing list before their callback was handled "
            "(lost or late), confirmed at once.",
            ["provider"],
            registry=r,
        )

    def _add_discord_metrics(self, r: CollectorRegistry) -> None:
        """Discord's REST requests, 429s and posts, and the callbacks we were sent."""
        self.discord_requests = Counter(
            "pikabot_discord_requests",
            "Requests to Discord's REST API, by route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.discord_rate_limited = Counter(
            "pikabot_discord_rate_limited", "Discord answers 429, by route template.", ["route"], registry=r
        )
        self.discord_posts = Counter(
            "pikabot_discord_posts", "Messages posted or edited in Discord, by kind.", ["kind"], registry=r
        )
        self.callbacks = Counter(
            "pikabot_callbacks",
            "Upstream callback requests, by how they were answered.",
            ["result"],
            registry=r,
        )

    def job_finished(self, outcome: str) -> None:
        """Count a job reaching a terminal state (delivered, failed, moderated, cancelled, expired)."""
        self.jobs_finished.labels(outcome=outcome).inc()

    def video_delivered(self, seconds: float) -> None:
        """Record the time from a member's request to their video posted."""
        self.submit_to_video.observe(max(0.0, seconds))

    def upstream_request(self, provider: str, operation: str, status: str) -> None:
        """Count one upstream call and how it was answered ("ok", "404", "none", ...)."""
        self.upstream_requests.labels(provider=provider, operation=operation, status=status).inc()

    def upstream_error(self, provider: str, operation: str, kind: str) -> None:
        """Count one failed upstream call by ErrorKind value."""
        self.upstream_errors.labels(provider=provider, operation=operation, kind=kind).inc()

    def upstream_listing(self, provider: str, ok: bool) -> None:
        """Count one request for the list of jobs `provider` still runs ("ok" or "error")."""
        self.upstream_listings.labels(provider=provider, status="ok" if ok else "error").inc()

    def listing_confirm(self, provider: str) -> None:
        """Count a running job that left `provider`'s executing list and was confirmed from it."""
        self.listing_confirms.labels(provider=provider).inc()

    def discord_request(self, method: str, route: str, status: str) -> None:
        """Count one request to Discord (route must already be a template, see discord_route)."""
        self.discord_requests.labels(method=method, route=route, status=status).inc()
        if status == "429":
            self.discord_rate_limited.labels(route=route).inc()

    def discord_post(self, kind: str) -> None:
        """Count a message pikabot posted or edited in Discord: result, notice or status."""
        self.discord_posts.labels(kind=kind).inc()

    def callback(self, result: str) -> None:
        """Count one callback request by result (accepted, unknown_token, throttled, ...)."""
        self.callbacks.labels(result=result).inc()

    def render(self, gauges: JobGauges) -> bytes:
        """Set the job gauges from the counts given (read from the store by the caller), then the
        whole registry in Prometheus text format."""
        for state in JobState:
            self.jobs.labels(state=state.value).set(gauges.by_state.get(state, 0))
        self.queue_depth.set(gauges.queue_depth)
        return generate_latest(self.registry)


# -- Discord REST requests --------------------------------------------------------------------

_API_PREFIX = re.compile(r"^/api(?:/v\d+)?(?=/|$)")
# A path segment kept verbatim: a lowercase route word (channels, bulk-delete, @me, @original).
# Anything else (ids, tokens, emoji, file names, invite codes) becomes a placeholder.
_ROUTE_WORD = re.compile(r"@?[a-z]+(?:[-_][a-z]+)*")
_MAX_WORD = 32  # Discord's route words are short; tokens are 68+ characters
_TOKEN_PARENTS = frozenset({"webhooks", "interactions"})


def discord_route(url: URL | str) -> str:
    """A low-cardinality route template for a Discord URL: ids become {id}, tokens {token}, no query."""
    path = _API_PREFIX.sub("", URL(url).path)
    parts = [part for part in path.split("/") if part]
    route: list[str] = []
    for index, part in enumerate(parts):
        if part.isdigit():
            route.append("{id}")
        elif index >= 2 and parts[index - 2] in _TOKEN_PARENTS and parts[index - 1].isdigit():
            # /webhooks/{id}/{token}/... and /interactions/{id}/{token}/callback: a secret.
            route.append("{token}")
        elif len(part) <= _MAX_WORD and _ROUTE_WORD.fullmatch(part):
            route.append(part)
        else:
            route.append("{param}")
    return "/" + "/".join(route)


def discord_trace_config(metrics: Metrics) -> aiohttp.TraceConfig:
    """An aiohttp TraceConfig counting Discord requests; pass it as discord.Client(http_trace=...)."""
    trace = aiohttp.TraceConfig()

    async def on_request_end(
        session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        metrics.discord_request(params.method.upper(), discord_route(params.url), str(params.response.status))

    async def on_request_exception(
        session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestExceptionParams
    ) -> None:
        metrics.discord_request(params.method.upper(), discord_route(params.url), "error")

    trace.on_request_end.append(on_request_end)
    trace.on_request_exception.append(on_request_exception)
    return trace
