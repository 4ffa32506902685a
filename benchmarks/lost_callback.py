"""Lost callbacks: from upstream completion to the video posted, with every callback dropped.

The floor is the same jobs with callbacks working, measured in the same run. The cost is what the
executing list adds on top of the callback path (submit + one fetch per job), per account per poll
interval. `python benchmarks/run.py --only lost_callback` runs this alone.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from pathlib import Path

from benchmarks.figures import Row, summary
from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from sandbox.useapi_sim import SimConfig
from tests.helpers.engine import Engine, is_job_fetch, is_listing, start_engine

INTERVAL = 2.0  # poll_interval for this figure (production default 15 s; the bound scales with it)
JOBS = 12
STAGGER = 0.37  # seconds between submits, so completions fall at every phase of the listing cycle


async def run_jobs(tmp: Path, *, drop: bool) -> tuple[Engine, list[float]]:
    """Run JOBS jobs; each one's milliseconds from upstream completion to its delivery."""
    sim = SimConfig(job_started_delay=0.05, job_progress_delay=0.3, job_complete_delay=1.0)
    engine = await start_engine(
        tmp, callbacks=True, max_jobs=10, poll_interval=INTERVAL, callback_grace=600, sim_config=sim
    )
    engine.sim.sim.faults.drop_callbacks = drop
    for n in range(JOBS):
        await engine.service.submit(JobRequest(JobKind.CREATE, n, Origin(1, 2), f"lost callback {n}"))
        await asyncio.sleep(STAGGER)
    jobs = await engine.wait_all_terminal(timeout=120)
    latencies = []
    for job in jobs:
        if job.state is not JobState.DELIVERED or job.upstream_id is None:
            continue
        done_upstream = engine.sim.sim.jobs[job.upstream_id].updated.timestamp()
        delivered = next(e.at for e in await engine.store.events(job.id) if e.to_state is JobState.DELIVERED)
        latencies.append((delivered - done_upstream) * 1000)
    return engine, latencies


def extra_per_interval(engine: Engine, accounts: int) -> list[float]:
    """Requests beyond the callback path (listings, second fetches), per account, per interval window."""
    requests = engine.sim.sim.requests
    listings = sorted(r.at for r in requests if is_listing(r))
    fetches = sum(is_job_fetch(r) for r in requests)
    second_fetches = max(0, fetches - JOBS)  # the callback path fetches each job once too
    if not listings:
        return [float(second_fetches)]
    # Fixed windows one interval long, from half an interval before the first listing.
    origin = listings[0] - INTERVAL / 2
    windows = [0.0] * (math.floor((listings[-1] - origin) / INTERVAL) + 1)
    for at in listings:
        windows[math.floor((at - origin) / INTERVAL)] += 1
    windows[-1] += second_fetches  # counted against the worst case, not spread out
    return [count / accounts for count in windows]


async def bench_lost_callback(tmp: Path) -> list[Row]:
    """Callbacks dropped: completion to video within 2 x poll_interval + 1 s, <= 1 extra request/interval."""
    floor_engine, floor_latencies = await run_jobs(tmp / "lost-floor", drop=False)
    await floor_engine.stop()
    engine, latencies = await run_jobs(tmp / "lost-dropped", drop=True)
    try:
        bound = (2 * INTERVAL + 1) * 1000
        median, p99, top = summary(latencies)
        rows = [
            Row(
                f"lost callback: completion to video, poll {INTERVAL:g} s",
                "ms",
                median,
                p99,
                top,
                statistics.median(floor_latencies),
                f"<= {bound:g} ms",
                top <= bound,
            )
        ]
        extra = extra_per_interval(engine, accounts=1)
        median, p99, top = summary(extra)
        rows.append(
            Row(
                "lost callback: extra requests/account/interval",
                "req",
                median,
                p99,
                top,
                None,
                "<= 1",
                top <= 1,
            )
        )
        return rows
    finally:
        await engine.stop()
