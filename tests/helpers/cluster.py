"""Several `pikabot run` processes sharing one PostgreSQL database, one sharded Discord emulator, one
upstream simulator, and a load balancer in front of their callback servers: the set-up the README's
"Running on several machines" describes, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.balancer import RunningBalancer, start_balancer
from sandbox.discord_emu import EmuConfig, EmuGuild, RunningEmulator, start_emulator
from sandbox.stack import free_port
from sandbox.useapi_sim import DEFAULT_DISCORD, RunningSimulator, SimAccount, SimConfig, start_simulator
from tests.helpers.invariants import StoreSnapshot, read_postgres, snapshot_postgres

#: Three upstream accounts, and three guilds whose ids fall on shards 0, 1 and 2 of three.
ACCOUNTS = tuple(f"11835082998958204{n:02d}" for n in range(3))
EXTRA_GUILDS = tuple(
    EmuGuild(EmuConfig.guild_id + (n << 22), f"Guild {n}", 900000000000000210 + n) for n in (1, 2)
)
CHANNELS = (EmuConfig.text_channel_id, *(g.text_channel_id for g in EXTRA_GUILDS))


def accounts_sim(slots: int, job_seconds: float) -> SimConfig:
    """The simulator with ACCOUNTS of `slots` each, a job taking `job_seconds` upstream."""
    return SimConfig(
        job_started_delay=0.05,
        job_progress_delay=min(1.0, job_seconds / 3),
        job_complete_delay=job_seconds - 0.05,
        accounts={a: SimAccount(discord=DEFAULT_DISCORD, max_jobs=slots) for a in ACCOUNTS},
    )


def cluster_emulator(members: int) -> EmuConfig:
    """The emulator with the three guilds and `members` members (ids 101…)."""
    return EmuConfig(members={101 + n: f"member{n}" for n in range(members)}, extra_guilds=EXTRA_GUILDS)


TERMINAL = frozenset({"delivered", "failed", "moderated", "cancelled", "expired"})
_UNSETTLED = "state NOT IN ('delivered', 'failed', 'moderated', 'cancelled', 'expired') OR notified = 0"


@dataclass
class Node:
    """One bot process: its shard, its own callback port, its own media folder."""

    name: str
    shard_id: int
    port: int
    config: Path
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def log(self) -> str:
        """What the process wrote to its log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Cluster:
    """The stand-ins in this test process, the bots in child processes."""

    tmp_path: Path
    database_url: str
    emulator: RunningEmulator
    simulator: RunningSimulator
    balancer: RunningBalancer
    nodes: list[Node] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        tmp_path: Path,
        database_url: str,
        *,
        nodes: int,
        accounts: Sequence[tuple[str, int]],
        sim_config: SimConfig,
        emu_config: EmuConfig,
        lease: float = 3.0,
    ) -> Cluster:
        """Start the stand-ins and write each node's config (the nodes start with `launch`)."""
        emulator = await start_emulator(emu_config)
        simulator = await start_simulator(sim_config)
        ports = [free_port() for _ in range(nodes)]
        balancer = await start_balancer([f"http://127.0.0.1:{port}" for port in ports])
        cluster = cls(tmp_path, database_url, emulator, simulator, balancer)
        for shard_id, port in enumerate(ports):
            name = f"node{shard_id}"
            folder = tmp_path / name
            folder.mkdir(parents=True)
            config = folder / "config.toml"
            config.write_text(cluster._config(shard_id, nodes, port, folder, accounts, lease))
            cluster.nodes.append(Node(name, shard_id, port, config, folder / "bot.log"))
        return cluster

    def _config(
        self,
        shard_id: int,
        shards: int,
        port: int,
        folder: Path,
        accounts: Sequence[tuple[str, int]],
        lease: float,
    ) -> str:
        account_lines = "".join(
            f'[[useapi.accounts]]\nchannel = "{channel}"\nmax_jobs = {slots}\n' for channel, slots in accounts
        )
        return f"""
[discord]
api_base_url = "{self.emulator.api_base_url}"
gateway_url = "{self.emulator.gateway_url}"
shard_count = {shards}
shard_ids = [{shard_id}]
[useapi]
base_url = "{self.simulator.base_url}"
{account_lines}
[callbacks]
listen = "127.0.0.1:{port}"
public_url = "{self.balancer.base_url}"
[jobs]
poll_interval = 1
callback_grace = 2
lease = {lease}
instance = "node{shard_id}"
[downloads]
allowed_hosts = ["127.0.0.1"]
dir = "{folder / "media"}"
[database]
url = "{self.database_url}"
[limits]
in_flight = 100
per_day = 0
cooldown = 0
"""

    async def launch(self, node: Node) -> None:
        """Start one node and wait until its shard is connected."""
        env = {
            **os.environ,
            "DISCORD_TOKEN": self.emulator.emu.config.bot_token,
            "USEAPI_TOKEN": self.simulator.sim.config.api_token,
            "PIKABOT_RETRY_SCALE": "0.05",
        }
        with node.log_path.open("ab") as log_file:
            node.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(node.config), "--log-level", "DEBUG",
                env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
            )  # fmt: skip
        ready = asyncio.create_task(self.emulator.emu.wait_ready(timeout=30, shard=node.shard_id))
        assert node.process is not None
        exited = asyncio.create_task(node.process.wait())
        await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        if not ready.done() or ready.exception() is not None:
            ready.cancel()
            await asyncio.gather(ready, return_exceptions=True)
            raise AssertionError(f"{node.name} did not connect its shard:\n{node.log()[-4000:]}")

    async def kill(self, node: Node) -> None:
        """kill -9 one node."""
        if node.alive:
            assert node.process is not None
            node.process.kill()
            await node.process.wait()

    async def terminate(self, node: Node, grace: float = 30) -> int:
        """SIGTERM one node and return its exit code."""
        assert node.process is not None
        if node.alive:
            node.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(node.process.wait(), grace)

    async def snapshot(self) -> StoreSnapshot:
        """The shared store as the invariant checker reads it."""
        return await snapshot_postgres(self.database_url)

    async def wait_accepted(self, count: int, timeout: float) -> None:
        """Wait until `count` jobs are stored (a command is accepted once its job row is committed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len((await self.snapshot()).jobs) < count:
            if loop.time() > deadline:
                raise AssertionError(
                    f"only {len((await self.snapshot()).jobs)} of {count} commands became jobs"
                )
            await asyncio.sleep(0.05)

    async def settle(self, expected_jobs: int, timeout: float) -> StoreSnapshot:
        """Wait until `expected_jobs` jobs exist and every one ended with its member told."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            snapshot = await self.snapshot()
            jobs = snapshot.jobs
            if len(jobs) >= expected_jobs and all(j["state"] in TERMINAL and j["notified"] for j in jobs):
                return snapshot
            if loop.time() > deadline:
                raise AssertionError(f"{len(jobs)} jobs; unsettled: {await self.job_details(_UNSETTLED)}")
            await asyncio.sleep(0.2)

    async def span(self) -> tuple[float, float]:
        """When the first job was asked for and when the last one ended."""
        ((row,),) = await read_postgres(
            self.database_url, "SELECT MIN(created_at) AS a, MAX(finished_at) AS b FROM jobs"
        )
        return float(row["a"]), float(row["b"])

    async def job_details(self, where: str) -> list[dict[str, object]]:
        """Rows of the jobs matching `where`, with what explains where each one is (for failures)."""
        (rows,) = await read_postgres(
            self.database_url,
            "SELECT id, state, notified, placed, lease_owner, lease_until, place_owner, upstream_id, callback_hint, "
            "attempts, next_attempt_at, next_poll_at, error_code, error_message, progress, "
            f"extract(epoch from now()) AS now FROM jobs WHERE {where} ORDER BY id LIMIT 20",
        )
        return list(rows)

    async def close(self) -> None:
        """Kill what still runs and stop the stand-ins."""
        for node in self.nodes:
            await self.kill(node)
        await self.balancer.close()
        await self.emulator.close()
        await self.simulator.close()
