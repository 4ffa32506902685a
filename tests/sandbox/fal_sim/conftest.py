"""Fixtures for the fal.ai simulator tests: a served simulator and a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.sandbox.fal_sim.helpers import PNG, Api, Receiver, fast_config, serve


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with serve(fast_config()) as api:
        yield api


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def hook(request: web.Request) -> web.Response:
        item = (dict(request.headers), await request.read())
        rec.deliveries.append(item)
        status = rec.answers.pop(0) if rec.answers else 200
        if status == 200:
            rec.queue.put_nowait(item)
        return web.Response(status=status, text="ok" if status == 200 else "nope")

    async def image(_request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def text(_request: web.Request) -> web.Response:
        return web.Response(text="not an image")

    app = web.Application()
    app.router.add_post("/fal/webhook", hook)
    app.router.add_get("/img/pic.png", image)
    app.router.add_get("/img/page.html", text)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.root = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield rec
    await runner.cleanup()
