"""Metrics exposition: every family parses, counters move, and gauges follow the jobs in SQLite."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.observability.metrics import LATENCY_BUCKETS, Metrics
from bot.store import JobStore
from tests.helpers.engine import start_engine
from tests.helpers.metrics import gauges, store, value

__all__ = ["store"]  # fixtures shared from the helpers module


FAMILIES = {
    "pikabot_jobs": "gauge",
    "pikabot_queue_depth": "gauge",
    "pikabot_jobs_finished": "counter",
    "pikabot_submit_to_video_seconds": "histogram",
    "pikabot_upstream_requests": "counter",
    "pikabot_upstream_errors": "counter",
    "pikabot_discord_requests": "counter",
    "pikabot_discord_rate_limited": "counter",
    "pikabot_discord_posts": "counter",
    "pikabot_callbacks": "counter",
}


# -- exposition and counters ------------------------------------------------------------------


async def test_exposition_parses_with_every_family(store: JobStore) -> None:
    """A fresh registry renders every family with its type; known label values start at 0."""
    text = (Metrics().render(await gauges(store))).decode()
    families = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert {name: families.get(name) for name in FAMILIES} == FAMILIES
    for state in JobState:
        assert f'pikabot_jobs{{state="{state.value}"}} 0.0' in text
    assert value(text, "pikabot_jobs_finished_total", outcome="delivered") == 0
    assert value(text, "pikabot_callbacks_total", result="throttled") == 0
    assert not any(name.startswith(("python_", "process_")) for name in families)


async def test_counters_and_histogram_move(store: JobStore) -> None:
    """Each recording method moves its own series, and registries of two engines stay apart."""
    metrics, other = Metrics(), Metrics()
    metrics.job_finished("delivered")
    metrics.job_finished("delivered")
    metrics.job_finished("moderated")
    metrics.video_delivered(42.0)
    metrics.video_delivered(1000.0)
    metrics.upstream_request("useapi", "submit", "ok")
    metrics.upstream_error("useapi", "fetch", "transient")
    metrics.discord_request("POST", "/channels/{id}/messages", "429")
    metrics.discord_post("result")
    metrics.callback("accepted")
    text = (metrics.render(await gauges(store))).decode()
    assert value(text, "pikabot_jobs_finished_total", outcome="delivered") == 2
    assert value(text, "pikabot_jobs_finished_total", outcome="moderated") == 1
    assert value(text, "pikabot_submit_to_video_seconds_count") == 2
    assert value(text, "pikabot_submit_to_video_seconds_sum") == 1042.0
    assert value(text, "pikabot_submit_to_video_seconds_bucket", le="45.0") == 1
    assert value(text, "pikabot_submit_to_video_seconds_bucket", le="1200.0") == 2
    assert LATENCY_BUCKETS[0] == 5.0 and LATENCY_BUCKETS[-1] == 1800.0
    assert (
        value(text, "pikabot_upstream_requests_total", provider="useapi", operation="submit", status="ok")
        == 1
    )
    assert (
        value(text, "pikabot_upstream_errors_total", provider="useapi", operation="fetch", kind="transient")
        == 1
    )
    assert (
        value(
            text,
            "pikabot_discord_requests_total",
            method="POST",
            route="/channels/{id}/messages",
            status="429",
        )
        == 1
    )
    assert value(text, "pikabot_discord_rate_limited_total", route="/channels/{id}/messages") == 1
    assert value(text, "pikabot_discord_posts_total", kind="result") == 1
    assert value(text, "pikabot_callbacks_total", result="accepted") == 1
    untouched = (other.render(await gauges(store))).decode()
    assert value(untouched, "pikabot_jobs_finished_total", outcome="delivered") == 0


# -- gauges from SQLite -----------------------------------------------------------------------


async def test_gauges_follow_jobs_in_sqlite(tmp_path: Path) -> None:
    """pikabot_jobs and pikabot_queue_depth are read from the database at every scrape."""
    engine = await start_engine(tmp_path, max_jobs=1)
    engine.sim.sim.faults.hold_jobs = True
    metrics = Metrics()

    async def scrape() -> str:
        return (metrics.render(await gauges(engine.store))).decode()

    try:
        for n in range(3):
            request = JobRequest(JobKind.CREATE, owner_id=n + 1, origin=Origin(1, 2), prompt=f"a boat {n}")
            await engine.service.submit(request)
        # Announced (its status message still to come) and queued all the same: the work never waits.
        await engine.service.submit(
            JobRequest(JobKind.CREATE, owner_id=9, origin=Origin(1, 2), prompt="an announced one"),
            announce=True,
        )
        await engine.wait_until(lambda jobs: any(j.state is JobState.RUNNING for j in jobs), timeout=5)
        text = await scrape()
        assert value(text, "pikabot_jobs", state="running") == 1
        assert value(text, "pikabot_jobs", state="queued") == 3
        assert value(text, "pikabot_queue_depth") == 3
        assert value(text, "pikabot_jobs", state="delivered") == 0
        engine.sim.sim.faults.hold_jobs = False
        engine.sim.sim.release_all()
        await engine.wait_all_terminal(timeout=30)
        text = await scrape()
        assert value(text, "pikabot_jobs", state="delivered") == 4
        assert value(text, "pikabot_jobs", state="queued") == 0
        assert value(text, "pikabot_jobs", state="running") == 0
        assert value(text, "pikabot_queue_depth") == 0
    finally:
        await engine.stop()
