"""Serving an emulator on a real socket, from tests or the command line (``python -m sandbox.discord_emu``)."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import dataclass, replace

from sandbox.discord_emu.config import EmuConfig
from sandbox.discord_emu.constants import API_PREFIX
from sandbox.discord_emu.emulator import DiscordEmulator
from sandbox.serving import Served, bind, listen_arguments, serve_until_stopped


@dataclass
class RunningEmulator(Served):
    """An emulator served on a real socket; point discord.py at ``api_base_url`` and ``gateway_url``."""

    emu: DiscordEmulator

    @property
    def api_base_url(self) -> str:
        """The value for ``discord.http.Route.BASE``."""
        return f"{self.root_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """The value for ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def control_url(self) -> str:
        """Base of the ``/_emu/`` control API."""
        return f"{self.root_url}/_emu"

    async def close(self) -> None:
        """Close gateway connections and stop serving."""
        await self.emu.shutdown()
        await super().close()


async def start_emulator(
    config: EmuConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningEmulator:
    """Serve a new emulator on ``host:port`` (0 = a free port) and return a handle to it."""
    emu = DiscordEmulator(config)
    runner, bound_port = await bind(emu.make_app(), host, port, shutdown_timeout=1.0)
    emu.config = replace(emu.config, public_base_url=f"http://{host}:{bound_port}")
    return RunningEmulator(emu=emu, runner=runner, host=host, port=bound_port)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Local Discord emulator (gateway + REST v10)")
    listen_arguments(parser)
    parser.add_argument("--token", default=EmuConfig.bot_token, help="the bot token it accepts")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    running = await start_emulator(EmuConfig(bot_token=args.token), host=args.host, port=args.port)
    urls = {
        "api_base_url": running.api_base_url,
        "gateway_url": running.gateway_url,
        "control_url": running.control_url,
    }
    await serve_until_stopped(running, json.dumps(urls))


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: serve until SIGINT/SIGTERM, printing the URLs (JSON) first."""
    asyncio.run(_serve(_parse_args(argv)))
