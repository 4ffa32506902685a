"""Fixtures for the API Glue simulator tests: a served simulator and a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.sandbox.apiglue_sim.helpers import PNG, Api, Receiver, fast_config, serve


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with serve(fast_config()) as api:
        yield api


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    runner = web.AppRunner(app)
    rec = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        rec.bodies.append(body)
        rec.content_types.append(request.headers["Content-Type"])
        rec.queue.put_nowait(body)
        return web.Response(text="ok")

    async def image(_request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    app.router.add_post("/callbacks/apiglue/s3cr3t", hook)
    app.router.add_get("/img/pic.png", image)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    root = f"http://127.0.0.1:{runner.addresses[0][1]}"
    rec.url, rec.image_url = f"{root}/callbacks/apiglue/s3cr3t", f"{root}/img/pic.png"
    yield rec
    await runner.cleanup()
