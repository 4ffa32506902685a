"""Plumbing the local stand-ins share: bind an aiohttp app on a port, and serve until a signal.

Like the stand-ins themselves, this imports nothing from pikabot's engine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from dataclasses import dataclass, replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

from aiohttp import web

if TYPE_CHECKING:
    from dataclasses import Field


class Closable(Protocol):
    """A running stand-in: it can be closed."""

    async def close(self) -> None:
        """Stop serving."""
        ...


class UrlConfig(Protocol):
    """A simulator's config dataclass: it knows the URL its answers point clients back to."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    public_base_url: str


C = TypeVar("C", bound=UrlConfig)


class Simulator(Protocol[C]):
    """What `bind_simulator` serves: an app factory with a config it may complete."""

    config: C

    def make_app(self) -> web.Application:
        """Build the aiohttp application."""
        ...


@dataclass
class Served:
    """A stand-in's app served on a real socket: where it listens, and closing it (also as
    ``async with``). Each stand-in's handle adds its own object and the URLs its clients take."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def root_url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        """Stop serving (and with it the stand-in's background work)."""
        await self.runner.cleanup()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def bind(
    app: web.Application, host: str, port: int, *, shutdown_timeout: float = 60.0
) -> tuple[web.AppRunner, int]:
    """Serve `app` on host:port (0 = a free port); return the runner and the port actually bound."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    return runner, int(runner.addresses[0][1])


async def bind_simulator(
    sim: Simulator[C], host: str, port: int, *, shutdown_timeout: float = 60.0
) -> tuple[web.AppRunner, int]:
    """`bind` the simulator's app; an unset ``public_base_url`` becomes the address actually bound."""
    runner, bound_port = await bind(sim.make_app(), host, port, shutdown_timeout=shutdown_timeout)
    if not sim.config.public_base_url:
        sim.config = replace(sim.config, public_base_url=f"http://{host}:{bound_port}")
    return runner, bound_port


async def wait_for_stop_signal() -> None:
    """Return on SIGINT or SIGTERM (the stand-ins' command lines serve until then)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def listen_arguments(parser: argparse.ArgumentParser) -> None:
    """--host and --port, as every stand-in's command line takes them."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")


async def serve_until_stopped(running: Closable, announce: str) -> None:
    """Print where the stand-in listens, serve until SIGINT/SIGTERM, then close it."""
    print(announce, flush=True)
    try:
        await wait_for_stop_signal()
    finally:
        await running.close()
