"""The callback load balancer stand-in: round robin, and a dead backend costs no request."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from sandbox.balancer import start_balancer
from sandbox.serving import bind
from sandbox.stack import free_port


async def _backend(name: str) -> tuple[web.AppRunner, str]:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"backend": name, "path": request.path_qs, "body": await request.text()})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner, port = await bind(app, "127.0.0.1", 0)
    return runner, f"http://127.0.0.1:{port}"


async def test_requests_go_round_robin_and_skip_a_dead_backend() -> None:
    (one, one_url), (two, two_url) = await _backend("one"), await _backend("two")
    dead_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    running = await start_balancer([one_url, dead_url, two_url])
    try:
        async with aiohttp.ClientSession() as session:
            seen = []
            for n in range(4):
                async with session.post(f"{running.base_url}/callbacks/x/{n}?a=1", data=b"hi") as resp:
                    assert resp.status == 200
                    body = await resp.json()
                    assert body["path"] == f"/callbacks/x/{n}?a=1" and body["body"] == "hi"
                    seen.append(body["backend"])
        assert seen == ["one", "two", "one", "two"]
        assert running.balancer.served[dead_url] == 0
    finally:
        await running.close()
        await one.cleanup()
        await two.cleanup()
