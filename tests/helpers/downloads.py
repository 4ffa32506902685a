"""Shared by the download tests: the aiohttp test server app, its sample MP4, and download assertions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.engine.download_policy import DownloadError, DownloadErrorKind
from bot.engine.downloads import CHUNK_SIZE, VideoDownloader

MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 100
CAP = 64 * 1024
SIGNED_QUERY = "?ex=65a1b2c3&is=659f0000&hm=deadbeefsecretsignature&"


@dataclass
class ServerState:
    seen: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    sent: int = 0
    aborted: bool = False


@dataclass
class Srv:
    server: TestServer
    state: ServerState

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.server.port}{path}"


async def _stream(request: web.Request, state: ServerState, body_chunks: int | None) -> web.StreamResponse:
    """Chunked MP4-looking body with no Content-Length; endless unless body_chunks is given."""
    resp = web.StreamResponse(headers={"Content-Type": "video/mp4"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    chunk = b"\x00" * CHUNK_SIZE
    try:
        await resp.write(MP4)
        # Safety bound so a broken client can't make the test run forever.
        limit = body_chunks if body_chunks is not None else 1024
        for _ in range(limit):
            await resp.write(chunk)
            state.sent += len(chunk)
        await resp.write_eof()
    except ConnectionError:
        state.aborted = True
    except asyncio.CancelledError:
        # The test server cancels a handler whose client went away.
        state.aborted = True
        raise
    return resp


def make_app(state: ServerState) -> web.Application:
    """The download test server: fixed answers (`FIXED`) and the slow or endless ones driven by `state`."""

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        state.seen.append(request.path)
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.router.add_routes(FIXED)
    app.router.add_routes(_held_routes(state))
    return app


#: Answers that depend on nothing but the request.
FIXED = web.RouteTableDef()


@FIXED.get("/video.mp4")
async def _video(request: web.Request) -> web.Response:
    return web.Response(body=MP4, content_type="video/mp4")


@FIXED.get("/octet")
async def _octet(request: web.Request) -> web.Response:
    return web.Response(body=MP4, content_type="application/octet-stream")


@FIXED.get("/exact")
async def _exact_cap(request: web.Request) -> web.Response:
    return web.Response(body=MP4 + b"\x00" * (CAP - len(MP4)), content_type="video/mp4")


@FIXED.get("/redirect")
async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query.get("to", "/video.mp4"))


@FIXED.get("/chain/{n}")
async def _chain(request: web.Request) -> web.Response:
    n = int(request.match_info["n"])
    raise web.HTTPTemporaryRedirect(f"/chain/{n - 1}" if n > 0 else "/video.mp4")


@FIXED.get("/loop")
async def _loop(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/loop")


@FIXED.get("/big")
async def _big(request: web.Request) -> web.Response:
    return web.Response(body=MP4 + b"\x00" * (4 * CAP), content_type="video/mp4")


@FIXED.get("/status/{code}")
async def _status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="nope")


@FIXED.get("/html")
async def _html(request: web.Request) -> web.Response:
    return web.Response(body=MP4, content_type="text/html")


@FIXED.get("/garbage")
async def _garbage(request: web.Request) -> web.Response:
    return web.Response(body=b"<html>definitely not a video</html>", content_type="video/mp4")


@FIXED.get("/tiny")
async def _tiny(request: web.Request) -> web.Response:
    return web.Response(body=b"\x00\x00\x00", content_type="video/mp4")


def _held_routes(state: ServerState) -> web.RouteTableDef:
    """Answers that hang, dribble or never end until the test sets `state.release`."""
    routes = web.RouteTableDef()

    @routes.get("/endless")
    async def endless(request: web.Request) -> web.StreamResponse:
        return await _stream(request, state, None)

    @routes.get("/slow-headers")
    async def slow_headers(request: web.Request) -> web.Response:
        await asyncio.wait_for(state.release.wait(), 5)
        return web.Response(body=MP4, content_type="video/mp4")

    @routes.get("/slow-body")
    async def slow_body(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        await resp.prepare(request)
        await resp.write(MP4)
        await asyncio.wait_for(state.release.wait(), 5)
        return resp

    @routes.get("/dribble")
    async def dribble(request: web.Request) -> web.StreamResponse:
        # Each read finishes quickly, so only the total timeout can stop this.
        resp = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        await resp.prepare(request)
        await resp.write(MP4)
        try:
            while not state.release.is_set():
                await resp.write(b"\x00")
                await asyncio.sleep(0.02)
        except ConnectionError:
            pass
        return resp

    return routes


Factory = Callable[..., VideoDownloader]


async def expect(
    kind: DownloadErrorKind, coro: Awaitable[object], *, transient: bool | None = None
) -> DownloadError:
    with pytest.raises(DownloadError) as info:
        await coro
    assert info.value.kind is kind, info.value
    if transient is not None:
        assert info.value.transient is transient
    return info.value


def leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir()) if d.exists() else []
