"""Several processes on one PostgreSQL: jobs finished per minute with 1, 2 and 3 `pikabot run`
processes over the same upstream slots.

The slots are held constant (3 accounts x 4), and each job takes 3 s upstream, so the slots, not
Discord's limits, bound the run: if the relay never becomes the bottleneck, adding processes
neither helps nor hurts, and every figure sits near the slot-bound ideal.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks.figures import Row
from sandbox.postgres import PostgresCluster, PostgresNotInstalled, start_cluster
from tests.helpers.cluster import ACCOUNTS, CHANNELS, Cluster, accounts_sim, cluster_emulator

JOBS = 120
MEMBERS = 40
SLOTS = 4
JOB_SECONDS = 3.0
IDEAL_PER_MINUTE = len(ACCOUNTS) * SLOTS / JOB_SECONDS * 60


async def jobs_per_minute(tmp: Path, postgres: PostgresCluster, processes: int) -> float:
    """Run the burst through `processes` processes; jobs finished per minute, first request to last video."""
    url = await postgres.create_database(f"cluster{processes}")
    cluster = await Cluster.start(
        tmp / f"processes{processes}",
        url,
        nodes=processes,
        accounts=tuple((a, SLOTS) for a in ACCOUNTS),
        sim_config=accounts_sim(SLOTS, JOB_SECONDS),
        emu_config=cluster_emulator(MEMBERS),
    )
    try:
        for node in cluster.nodes:
            await cluster.launch(node)
        emu = cluster.emulator.emu
        for n in range(JOBS):
            await emu.slash(101 + n % MEMBERS, CHANNELS[n % len(CHANNELS)], "pika", "create",
                            {"prompt": f"scene {n}"})  # fmt: skip
        await cluster.settle(JOBS, timeout=JOBS * JOB_SECONDS)
        first, last = await cluster.span()
        delivered: int = sum(j["state"] == "delivered" for j in (await cluster.snapshot()).jobs)
        return delivered / (last - first) * 60
    finally:
        await cluster.close()


async def bench_cluster(tmp: Path) -> list[Row]:
    """Jobs finished per minute with 1, 2 and 3 processes; the floor is the slot-bound ideal."""
    try:
        postgres = await asyncio.to_thread(start_cluster)
    except PostgresNotInstalled as exc:
        print(f"bench_cluster skipped: {exc}")
        return []
    rows: list[Row] = []
    try:
        rates = [await jobs_per_minute(tmp, postgres, n) for n in (1, 2, 3)]
    finally:
        await asyncio.to_thread(postgres.stop)
    for processes, rate in enumerate(rates, start=1):
        rows.append(
            Row(
                f"cluster: {JOBS} jobs, {processes} process{'es' if processes > 1 else ''}",
                "jobs/min",
                rate,
                rate,
                rate,
                IDEAL_PER_MINUTE,
                ">= 0.9x 1 proc",
                rate >= 0.9 * rates[0],
            )
        )
    return rows


BENCHES = [bench_cluster]
