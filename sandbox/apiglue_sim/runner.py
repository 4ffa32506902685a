"""Serving a simulator on a real socket, and the command line (``python -m sandbox.apiglue_sim``)."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from sandbox.apiglue_sim.config import SimConfig
from sandbox.apiglue_sim.simulator import ApiGlueSimulator
from sandbox.serving import Served, bind_simulator, listen_arguments, serve_until_stopped


@dataclass
class RunningGlueSimulator(Served):
    """A simulator served on a real socket; ``base_url`` is what an API client is configured with."""

    sim: ApiGlueSimulator

    @property
    def base_url(self) -> str:
        """The stand-in for ``https://api.pikapikapika.io``: the root, as API Glue paths start at /web/."""
        return self.root_url


async def start_simulator(
    config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningGlueSimulator:
    """Serve a new simulator on ``host:port`` (0 = a free port) and return a handle to it."""
    sim = ApiGlueSimulator(config)
    runner, bound_port = await bind_simulator(sim, host, port)
    return RunningGlueSimulator(sim=sim, runner=runner, host=host, port=bound_port)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="API Glue Pika web API simulator")
    listen_arguments(parser)
    parser.add_argument("--token", default=SimConfig.api_token, help="valid bearer token")
    parser.add_argument("--queued-delay", type=float, default=SimConfig.queued_delay)
    parser.add_argument("--progress-delay", type=float, default=SimConfig.progress_delay)
    parser.add_argument("--max-concurrent", type=int, default=SimConfig.max_concurrent)
    parser.add_argument("--seed", type=int, default=None, help="random seed for ids and video seeds")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    config = SimConfig(
        api_token=args.token,
        queued_delay=args.queued_delay,
        progress_delay=args.progress_delay,
        max_concurrent=args.max_concurrent,
        random_seed=args.seed,
    )
    running = await start_simulator(config, host=args.host, port=args.port)
    await serve_until_stopped(running, running.base_url)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: serve until SIGINT/SIGTERM, printing the base URL first."""
    asyncio.run(_serve(_parse_args(argv)))
