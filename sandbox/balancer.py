"""A round-robin HTTP load balancer on 127.0.0.1, standing in for nginx or a cloud balancer in front
of several pikabot processes' callback servers.

Each request goes to the next backend in turn; a backend that refuses the connection is skipped
for the next one, as nginx's `proxy_next_upstream error` does, so a dead process costs no callback.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from sandbox.serving import bind

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host", "content-length"})


@dataclass
class Balancer:
    """The backends and what each was sent."""

    backends: Sequence[str]
    served: Counter[str] = field(default_factory=Counter)
    _turns: itertools.cycle[int] = field(init=False)
    _session: aiohttp.ClientSession | None = None

    def __post_init__(self) -> None:
        self._turns = itertools.cycle(range(len(self.backends)))

    async def forward(self, request: web.Request) -> web.StreamResponse:
        """Send the request to the next backend that takes a connection; 502 if none does."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        for _ in range(len(self.backends)):
            backend = self.backends[next(self._turns)]
            try:
                async with self._session.request(
                    request.method, backend + request.path_qs, data=body, headers=headers
                ) as answer:
                    payload = await answer.read()
            except aiohttp.ClientConnectionError:
                continue
            self.served[backend] += 1
            return web.Response(status=answer.status, body=payload, content_type=answer.content_type)
        return web.Response(status=502, text="no backend took the connection")

    async def close(self) -> None:
        """Close the outgoing connections."""
        if self._session is not None:
            await self._session.close()


@dataclass
class RunningBalancer:
    """A balancer being served, and its address."""

    balancer: Balancer
    runner: web.AppRunner
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        """Stop serving and close the outgoing connections."""
        await self.runner.cleanup()
        await self.balancer.close()


async def start_balancer(backends: Sequence[str], port: int = 0) -> RunningBalancer:
    """Serve a balancer over `backends` (base URLs) on 127.0.0.1."""
    balancer = Balancer(backends)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", balancer.forward)
    runner, bound = await bind(app, "127.0.0.1", port, shutdown_timeout=5.0)
    return RunningBalancer(balancer, runner, bound)
