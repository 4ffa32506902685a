"""Three `pikabot run` processes on one PostgreSQL: a burst of 150 jobs, one process killed with
SIGKILL and another stopped with SIGTERM mid-way, and every job still delivered exactly once.

Each process holds one gateway shard of three (a guild per shard), its own callback port behind one
load balancer and its own media folder, as on three machines; they share the database only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from sandbox.discord_emu import DiscordEmulator, EmuConfig, shard_of
from tests.helpers.cluster import ACCOUNTS, CHANNELS, EXTRA_GUILDS, Cluster, accounts_sim, cluster_emulator
from tests.helpers.invariants import assert_invariants

SHARDS = 3
JOBS = 150
MEMBERS = 30
SLOTS = 10
# A job runs upstream longer than a lease, as Pika's do (30 s and more against the default 30 s
# lease): a job whose process died is then still running upstream when another process takes it
# over, and useapi.net's replyRef search finds it.
LEASE = 3.0
JOB_SECONDS = LEASE + 1.0


def accepted_submits(cluster: Cluster) -> dict[str, int]:
    """How many submits upstream accepted (200), per replyRef."""
    counts: dict[str, int] = {}
    for request in cluster.simulator.sim.requests:
        if request.method == "POST" and request.status == 200 and "replyRef" in request.fields:
            counts[request.fields["replyRef"]] = counts.get(request.fields["replyRef"], 0) + 1
    return counts


@contextlib.asynccontextmanager
async def peak_executing(cluster: Cluster) -> AsyncIterator[dict[str, int]]:
    """The most jobs upstream ran at once on each account, sampled while the block runs."""
    peak = dict.fromkeys(ACCOUNTS, 0)

    async def sample() -> None:
        while True:
            for account in ACCOUNTS:
                peak[account] = max(peak[account], len(cluster.simulator.sim.executing_jobids(account)))
            await asyncio.sleep(0.005)

    task = asyncio.create_task(sample())
    try:
        yield peak
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def send_burst(emu: DiscordEmulator) -> None:
    """`JOBS` /pika create over the members and channels, ten at a time, each acknowledged."""
    interactions = []
    for n in range(JOBS):
        member, channel = 101 + n % MEMBERS, CHANNELS[n % len(CHANNELS)]
        interactions.append(await emu.slash(member, channel, "pika", "create", {"prompt": f"scene {n}"}))
        if n % 10 == 9:
            await asyncio.sleep(0.05)
    for interaction in interactions:
        await emu.wait_acked(interaction, timeout=15)


async def test_three_processes_survive_a_kill_and_a_stop_mid_burst(tmp_path: Path, postgres_url: str) -> None:
    assert sorted(shard_of(g, SHARDS) for g in (EmuConfig.guild_id, *(e.guild_id for e in EXTRA_GUILDS))) == [
        0,
        1,
        2,
    ]
    cluster = await Cluster.start(
        tmp_path,
        postgres_url,
        nodes=SHARDS,
        accounts=tuple((a, SLOTS) for a in ACCOUNTS),
        sim_config=accounts_sim(SLOTS, JOB_SECONDS),
        emu_config=cluster_emulator(MEMBERS),
        lease=LEASE,
    )
    emu = cluster.emulator.emu
    try:
        for node in cluster.nodes:
            await cluster.launch(node)
        async with peak_executing(cluster) as peak:
            await send_burst(emu)
            await cluster.wait_accepted(JOBS, timeout=15)  # every command is a stored job
            # Mid-burst: most jobs are queued, some submitting or running, a few posted.
            doomed, stopped, survivor = cluster.nodes
            await cluster.kill(doomed)
            await asyncio.sleep(0.5)
            assert await cluster.terminate(stopped) == 0
            snapshot = await cluster.settle(JOBS, timeout=60)
        assert survivor.alive
        # Every job upstream took is posted. The only other ending allowed: the killed process had
        # claimed the job but died before its request reached upstream; the job is then failed as
        # "outcome unknown" (told, never sent again: it cannot be told apart from a sent one).
        sent = {ref for ref, count in accepted_submits(cluster).items() if count}
        undelivered = await cluster.job_details("state != 'delivered'")
        never_sent = [
            j for j in undelivered if j["error_code"] == "outcome_unknown" and str(j["id"]) not in sent
        ]
        assert undelivered == never_sent, "\n".join(map(str, undelivered))
        assert len(never_sent) <= SLOTS * len(ACCOUNTS)  # at most the killed process's submits in flight
        assert all(j["state"] == "delivered" for j in snapshot.jobs if str(j["id"]) in sent)
        # I1-I4 over the shared store, the emulator's messages and upstream's submits: every job
        # delivered exactly once, told once, submitted once, by legal moves only.
        assert_invariants(snapshot, emu, cluster.simulator.sim)
        assert emu.violations == [], emu.violations
        assert max(peak.values()) <= SLOTS, peak  # no account over its slots, over all processes
        assert not [r for r in cluster.simulator.sim.requests if r.status == 429]  # never refused as full
        # The survivor took over: it posted results for jobs the other two had accepted.
        assert "delivered" in survivor.log()
        assert cluster.balancer.balancer.served, "no callback went through the load balancer"
    finally:
        await cluster.close()
