"""Serving a simulator on a real socket, and the command line (``python -m sandbox.fal_sim``)."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from sandbox.fal_sim.config import SimConfig
from sandbox.fal_sim.simulator import FalSimulator
from sandbox.serving import Served, bind_simulator, listen_arguments, serve_until_stopped


@dataclass
class RunningFalSimulator(Served):
    """A simulator served on a real socket; ``base_url`` stands in for the queue, REST and CDN hosts."""

    sim: FalSimulator

    @property
    def base_url(self) -> str:
        """``http://host:port`` (no trailing slash): the queue, REST and CDN base URL at once."""
        return self.root_url

    @property
    def jwks_url(self) -> str:
        """Where the webhook public keys are served."""
        return f"{self.base_url}/.well-known/jwks.json"


async def start_simulator(
    config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningFalSimulator:
    """Serve a new simulator on ``host:port`` (0 = a free port) and return a handle to it."""
    sim = FalSimulator(config)
    runner, bound_port = await bind_simulator(sim, host, port, shutdown_timeout=1.0)
    return RunningFalSimulator(sim=sim, runner=runner, host=host, port=bound_port)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="fal.ai queue API simulator (Pika v2.2 models)")
    listen_arguments(parser)
    parser.add_argument("--key", default=SimConfig.key, help="valid 'key_id:key_secret'")
    parser.add_argument("--concurrency", type=int, default=SimConfig.concurrency)
    parser.add_argument("--queue-delay", type=float, default=SimConfig.queue_delay)
    parser.add_argument("--step-delay", type=float, default=SimConfig.step_delay)
    parser.add_argument("--seed", type=int, default=None, help="random seed for request ids")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    config = SimConfig(
        key=args.key,
        concurrency=args.concurrency,
        queue_delay=args.queue_delay,
        step_delay=args.step_delay,
        random_seed=args.seed,
    )
    running = await start_simulator(config, host=args.host, port=args.port)
    await serve_until_stopped(running, running.base_url)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: serve until SIGINT/SIGTERM, printing the base URL first."""
    asyncio.run(_serve(_parse_args(argv)))
