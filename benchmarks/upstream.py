"""Upstream economy (requests per finished job), event-loop lag under upstream faults, a full account."""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks.figures import Row, summary
from benchmarks.lag import lag_probe
from bot.domain.jobs import JobKind, JobRequest, Origin
from sandbox.useapi_sim import SimConfig
from tests.helpers.engine import start_engine


async def bench_economy(tmp: Path) -> list[Row]:
    """Upstream requests per finished job, with callbacks and polling-only."""
    rows: list[Row] = []
    for callbacks in (True, False):
        sim = SimConfig(job_started_delay=0.05, job_progress_delay=0.5, job_complete_delay=1.5)
        engine = await start_engine(
            tmp / f"eco-{callbacks}", callbacks=callbacks, max_jobs=10, poll_interval=1.0, sim_config=sim
        )
        try:
            for n in range(20):
                await engine.service.submit(JobRequest(JobKind.CREATE, n, Origin(1, 2), f"economy {n}"))
            await engine.wait_all_terminal(timeout=60)
            per_job: dict[str, int] = {}
            upstream_ids = {j.upstream_id: j.id for j in await engine.store.all_jobs()}
            for request in engine.sim.sim.requests:
                key = request.fields.get("replyRef") or str(
                    upstream_ids.get(request.query.get("jobid", ""), "")
                )
                if key:
                    per_job[key] = per_job.get(key, 0) + 1
            counts = [float(v) for v in per_job.values()]
            median, p99, top = summary(counts)
            duration = 2.05  # the simulated job's length in seconds
            if callbacks:
                rows.append(
                    Row(
                        "upstream requests per job, callbacks",
                        "req",
                        median,
                        p99,
                        top,
                        None,
                        "<= 2",
                        top <= 2,
                    )
                )
            else:
                bound = 1 + duration / 1.0 + 1  # + the final GET that sees "completed"
                rows.append(
                    Row(
                        "upstream requests per job, polling 1 s",
                        "req",
                        median,
                        p99,
                        top,
                        None,
                        f"<= {bound:.1f}",
                        top <= bound,
                    )
                )
        finally:
            await engine.stop()
    return rows


async def bench_fault_lag(tmp: Path) -> list[Row]:
    """Event-loop lag while upstream answers 5xx, HTML pages, truncated JSON and 5 MiB bodies."""
    engine = await start_engine(tmp / "lag", callbacks=False, max_jobs=10, poll_interval=1.0)
    faults = engine.sim.sim.faults
    try:
        async with lag_probe() as lag:
            for n in range(40):
                await engine.service.submit(JobRequest(JobKind.CREATE, n, Origin(1, 2), f"fault {n}"))
            for step in (
                {"submit_status": 503},
                {"submit_html_error": True},
                {"huge_body": True},
                {"malformed_json": True},
            ):
                for key in ("submit_status", "submit_html_error", "huge_body", "malformed_json"):
                    setattr(faults, key, None if key == "submit_status" else False)
                for key, value in step.items():
                    setattr(faults, key, value)
                await asyncio.sleep(1.5)
            faults.submit_status = None
            faults.submit_html_error = faults.huge_body = faults.malformed_json = False
            await asyncio.sleep(2.0)
        median, p99, top = summary(lag)
        return [
            Row("event-loop lag under upstream faults", "ms", median, p99, top, None, "p99 < 50 ms", p99 < 50)
        ]
    finally:
        await engine.stop()


async def bench_busy(tmp: Path) -> list[Row]:
    """An account full for a while: submit attempts per job per busy_min window (production: 10 s)."""
    from bot.domain.retry import RetryPolicy

    policy = RetryPolicy().scaled(0.05)  # 0.5-1.5 s instead of 10-30 s, same shape
    engine = await start_engine(tmp / "busy", max_jobs=3, policy=policy)
    try:
        engine.sim.sim.faults.external_executing = {"1183508299895820390": 3}
        for n in range(20):
            await engine.service.submit(JobRequest(JobKind.CREATE, n, Origin(1, 2), f"busy {n}"))
        window = 10.0
        await asyncio.sleep(window)
        refused = [r for r in engine.sim.sim.requests if r.status == 429]
        per_job: dict[str, list[float]] = {}
        for request in refused:
            per_job.setdefault(request.fields.get("replyRef", ""), []).append(request.at)
        # Attempts per job per busy_min (the shortest wait useapi asks for), scaled back to production.
        rates = [len(times) / (window / policy.busy_min) for times in per_job.values()]
        median, p99, top = summary(rates or [0.0])
        engine.sim.sim.faults.external_executing = {}
        await engine.wait_all_terminal(timeout=60)
        return [Row("account full: submits per job per 10 s", "n", median, p99, top, None, "<= 1", top <= 1)]
    finally:
        await engine.stop()
