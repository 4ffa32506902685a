"""Fixtures of the download tests: a real aiohttp server, a downloader factory, a byte counter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.abc import AbstractResolver
from pytest_aiohttp import AiohttpServer

from bot.engine.download_policy import DownloadPolicy
from bot.engine.downloads import VideoDownloader
from tests.helpers.downloads import CAP, Factory, ServerState, Srv, make_app


@pytest.fixture
async def srv(aiohttp_server: AiohttpServer) -> AsyncIterator[Srv]:
    state = ServerState()
    server = await aiohttp_server(make_app(state))
    yield Srv(server, state)
    # Let parked handlers finish before the server shuts down.
    state.release.set()


@pytest.fixture
async def make() -> AsyncIterator[Factory]:
    made: list[VideoDownloader] = []

    def factory(*hosts: str, resolver: AbstractResolver | None = None, **policy: float) -> VideoDownloader:
        kwargs: dict[str, float] = {"connect_timeout": 2, "read_timeout": 2, "total_timeout": 5}
        kwargs.update(policy)
        d = VideoDownloader(
            DownloadPolicy(allowed_hosts=frozenset(hosts), max_bytes=CAP, **kwargs),  # type: ignore[arg-type]
            resolver=resolver,
        )
        made.append(d)
        return d

    yield factory
    for d in made:
        await d.close()
