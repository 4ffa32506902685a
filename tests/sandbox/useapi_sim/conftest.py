"""Fixtures for the useapi.net simulator tests: a served simulator and a callback receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from sandbox.useapi_sim import start_simulator
from tests.sandbox.useapi_sim.helpers import Api, Receiver, fast_config


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with await start_simulator(fast_config()) as running, aiohttp.ClientSession() as http:
        yield Api(running, http)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    runner = web.AppRunner(app)
    rec = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        rec.bodies.append(body)
        rec.content_types.append(request.content_type)
        rec.queue.put_nowait(body)
        return web.Response(text="ok")

    app.router.add_post("/hook/s3cr3t", hook)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook/s3cr3t"
    yield rec
    await runner.cleanup()
