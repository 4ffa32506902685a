"""The callback server: valid callbacks per second and their latency, against a bare aiohttp floor."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from benchmarks.figures import Row, summary
from benchmarks.lag import lag_probe
from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from tests.helpers.engine import start_engine


async def bench_callbacks(tmp: Path) -> list[Row]:
    """Valid callbacks per second and their latency, 8 concurrent connections on loopback."""
    engine = await start_engine(tmp / "cb", callback_grace=600, max_jobs=10)
    engine.sim.sim.faults.hold_jobs = True
    engine.sim.sim.faults.drop_callbacks = True
    try:
        for n in range(10):
            await engine.service.submit(JobRequest(JobKind.CREATE, n, Origin(1, 2), f"bench {n}"))
        await engine.wait_until(lambda jobs: all(j.state is JobState.RUNNING for j in jobs), timeout=20)
        urls = [r.fields["replyUrl"] for r in engine.sim.sim.requests if r.method == "POST"]
        latencies: list[float] = []
        total = 4000
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as session,
            lag_probe() as lag,
        ):

            async def worker(k: int) -> None:
                for n in range(total // 8):
                    t0 = time.perf_counter()
                    async with session.post(
                        urls[(k + n) % len(urls)], json={"jobid": "x", "status": "progress"}
                    ) as r:
                        await r.read()
                        assert r.status == 200
                    latencies.append((time.perf_counter() - t0) * 1000)

            start = time.perf_counter()
            await asyncio.gather(*(worker(k) for k in range(8)))
            elapsed = time.perf_counter() - start
        # Floor: the same load against a bare aiohttp handler that only answers 200.
        floor = await bare_server_rate(total)
        rate = total / elapsed
        median, p99, top = summary(latencies)
        l_median, l_p99, l_max = summary(lag)
        return [
            Row(
                "callbacks: requests per second",
                "/s",
                rate,
                rate,
                rate,
                floor,
                ">=0.5x floor",
                rate >= 0.5 * floor,
            ),
            Row("callbacks: latency", "ms", median, p99, top, None, "p99 < 50 ms", p99 < 50),
            Row(
                "callbacks: event-loop lag meanwhile",
                "ms",
                l_median,
                l_p99,
                l_max,
                None,
                "p99 < 50 ms",
                l_p99 < 50,
            ),
        ]
    finally:
        await engine.stop()


async def bare_server_rate(total: int) -> float:
    """Requests per second a do-nothing aiohttp server answers with the same client."""
    from aiohttp import web

    async def ok(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/x", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as session:

            async def worker() -> None:
                for _ in range(total // 8):
                    async with session.post(f"http://127.0.0.1:{port}/x", json={"jobid": "x"}) as r:
                        await r.read()

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(8)))
            return total / (time.perf_counter() - start)
    finally:
        await runner.cleanup()
