"""Serving a simulator on a real socket, and the command line (``python -m sandbox.useapi_sim``)."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from sandbox.serving import Served, bind_simulator, listen_arguments, serve_until_stopped
from sandbox.useapi_sim.config import SimConfig
from sandbox.useapi_sim.simulator import UseapiSimulator


@dataclass
class RunningSimulator(Served):
    """A simulator served on a real socket; ``base_url`` is what an API client is configured with."""

    sim: UseapiSimulator

    @property
    def base_url(self) -> str:
        """``http://host:port/v1/``, the stand-in for ``https://api.useapi.net/v1/``."""
        return f"{self.root_url}/v1/"


async def start_simulator(
    config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Serve a new simulator on ``host:port`` (0 = a free port) and return a handle to it."""
    sim = UseapiSimulator(config)
    runner, bound_port = await bind_simulator(sim, host, port)
    return RunningSimulator(sim=sim, runner=runner, host=host, port=bound_port)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="useapi.net Pika v1 simulator")
    listen_arguments(parser)
    parser.add_argument("--token", default=SimConfig.api_token, help="valid bearer token")
    parser.add_argument("--started-delay", type=float, default=SimConfig.job_started_delay)
    parser.add_argument("--progress-delay", type=float, default=SimConfig.job_progress_delay)
    parser.add_argument("--complete-delay", type=float, default=SimConfig.job_complete_delay)
    parser.add_argument("--seed", type=int, default=None, help="random seed for ids and account choice")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    config = SimConfig(
        api_token=args.token,
        job_started_delay=args.started_delay,
        job_progress_delay=args.progress_delay,
        job_complete_delay=args.complete_delay,
        random_seed=args.seed,
    )
    running = await start_simulator(config, host=args.host, port=args.port)
    await serve_until_stopped(running, running.base_url)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: serve until SIGINT/SIGTERM, printing the base URL first."""
    asyncio.run(_serve(_parse_args(argv)))
