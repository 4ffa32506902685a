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
from sandbox.discord_emu import EmuConfig, EmuGuild
from sandbox.postgres import PostgresCluster, PostgresNotInstalled, start_cluster
from sandbox.useapi_sim import DEFAULT_DISCORD, SimAccount, SimConfig
from tests.helpers.cluster import Cluster

JOBS = 120
ACCOUNTS = tuple(f"11835082998958204{n:02d}" for n in range(3))
SLOTS = 4
JOB_SECONDS = 3.0
GUILD = EmuConfig.guild_id
EXTRA = tuple(EmuGuild(GUILD + (n << 22), f"Guild {n}", 900000000000000210 + n) for n in (1, 2))
CHANNELS = (EmuConfig.text_channel_id, *(g.text_channel_id for g in EXTRA))
MEMBERS = {101 + n: f"member{n}" for n in range(40)}
IDEAL_PER_MINUTE = len(ACCOUNTS) * SLOTS / JOB_SECONDS * 60


def _sim() -> SimConfig:
    return SimConfig(
        job_started_delay=0.05,
        job_progress_delay=1.0,
        job_complete_delay=JOB_SECONDS - 0.05,
        accounts={a: SimAccount(discord=DEFAULT_DISCORD, max_jobs=SLOTS) for a in ACCOUNTS},
    )


async def jobs_per_minute(tmp: Path, postgres: PostgresCluster, processes: int) -> float:
    """Run the burst through `processes` processes; jobs finished per minute, first request to last video."""
    url = await postgres.create_database(f"cluster{processes}")
    cluster = await Cluster.start(
        tmp / f"processes{processes}",
        url,
        nodes=processes,
        accounts=tuple((a, SLOTS) for a in ACCOUNTS),
        sim_config=_sim(),
        emu_config=EmuConfig(members=MEMBERS, extra_guilds=EXTRA),
    )
    try:
        for node in cluster.nodes:
            await cluster.launch(node)
        emu = cluster.emulator.emu
        for n in range(JOBS):
            await emu.slash(101 + n % len(MEMBERS), CHANNELS[n % len(CHANNELS)], "pika", "create",
                            {"prompt": f"scene {n}"})  # fmt: skip
        await cluster.settle(JOBS, timeout=JOBS * JOB_SECONDS)
        first, last = await cluster.span()
        delivered = sum(j["state"] == "delivered" for j in (await cluster.snapshot()).jobs)
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
