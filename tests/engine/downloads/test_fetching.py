"""Fetching a video: happy paths, redirects, size caps, timeouts, status codes and content checks."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.engine.download_policy import DownloadErrorKind
from bot.engine.downloads import CHUNK_SIZE
from tests.helpers.downloads import CAP, MP4, SIGNED_QUERY, Factory, Srv, expect, leftovers


@pytest.fixture
def consumed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Count body bytes the client actually pulled from aiohttp's stream."""
    counter = [0]
    original = aiohttp.StreamReader.iter_chunked

    def counting(self: aiohttp.StreamReader, n: int) -> AsyncIterator[bytes]:
        async def gen() -> AsyncIterator[bytes]:
            async for chunk in original(self, n):
                counter[0] += len(chunk)
                yield chunk

        return gen()

    monkeypatch.setattr(aiohttp.StreamReader, "iter_chunked", counting)
    yield counter


# --- happy paths -----------------------------------------------------------------------------


async def test_download_happy_path(srv: Srv, make: Factory, tmp_path: Path) -> None:
    async with make("127.0.0.1") as d:
        video = await d.download(srv.url("/video.mp4" + SIGNED_QUERY), tmp_path / "out", "result.mp4")
    assert video.filename == "result.mp4"
    assert video.path == tmp_path / "out" / "result.mp4"
    assert video.path.read_bytes() == MP4
    assert video.size == len(MP4)
    assert video.sha256 == hashlib.sha256(MP4).hexdigest()
    assert video.content_type == "video/mp4"
    assert leftovers(tmp_path / "out") == ["result.mp4"]


async def test_lazy_session_and_octet_stream(srv: Srv, make: Factory, tmp_path: Path) -> None:
    d = make("127.0.0.1")  # no start(): download() creates the session
    video = await d.download(srv.url("/octet"), tmp_path, "../../etc/passwd")
    assert video.filename == "passwd.mp4"
    assert video.path == tmp_path / "passwd.mp4"
    assert video.content_type == "application/octet-stream"
    await d.close()
    await d.close()  # idempotent


async def test_body_exactly_at_cap_is_accepted(srv: Srv, make: Factory, tmp_path: Path) -> None:
    video = await make("127.0.0.1").download(srv.url("/exact"), tmp_path, "v")
    assert video.size == CAP


# --- redirects -------------------------------------------------------------------------------


async def test_relative_redirect_is_followed(srv: Srv, make: Factory, tmp_path: Path) -> None:
    video = await make("127.0.0.1").download(srv.url("/redirect"), tmp_path, "v")
    assert video.path.read_bytes() == MP4
    assert srv.state.seen == ["/redirect", "/video.mp4"]


async def test_redirect_chain_within_limit(srv: Srv, make: Factory, tmp_path: Path) -> None:
    # /chain/2 -> /chain/1 -> /chain/0 -> /video.mp4: exactly max_redirects=3 hops.
    video = await make("127.0.0.1").download(srv.url("/chain/2"), tmp_path, "v")
    assert video.size == len(MP4)
    assert srv.state.seen == ["/chain/2", "/chain/1", "/chain/0", "/video.mp4"]


@pytest.mark.parametrize(
    "target",
    [
        "http://evil.test/video.mp4",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:{port}/video.mp4",
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1:{port}/video.mp4",
    ],
)
async def test_redirect_off_the_list_is_refused(srv: Srv, make: Factory, tmp_path: Path, target: str) -> None:
    url = srv.url("/redirect") + "?to=" + target.format(port=srv.server.port)
    await expect(DownloadErrorKind.NOT_ALLOWED, make("127.0.0.1").download(url, tmp_path, "v"))
    assert srv.state.seen == ["/redirect"]
    assert leftovers(tmp_path) == []


async def test_redirect_loop(srv: Srv, make: Factory, tmp_path: Path) -> None:
    await expect(
        DownloadErrorKind.TOO_MANY_REDIRECTS, make("127.0.0.1").download(srv.url("/loop"), tmp_path, "v")
    )
    assert srv.state.seen == ["/loop"] * 4  # the first request plus max_redirects=3


async def test_no_redirects_allowed(srv: Srv, make: Factory, tmp_path: Path) -> None:
    d = make("127.0.0.1", max_redirects=0)
    await expect(DownloadErrorKind.TOO_MANY_REDIRECTS, d.download(srv.url("/redirect"), tmp_path, "v"))
    assert srv.state.seen == ["/redirect"]


# --- size caps -------------------------------------------------------------------------------


async def test_content_length_over_cap_refused_before_reading(
    srv: Srv, make: Factory, tmp_path: Path, consumed: list[int]
) -> None:
    await expect(DownloadErrorKind.TOO_LARGE, make("127.0.0.1").download(srv.url("/big"), tmp_path, "v"))
    assert consumed[0] == 0
    assert leftovers(tmp_path) == []


async def test_per_call_cap_override(srv: Srv, make: Factory, tmp_path: Path) -> None:
    d = make("127.0.0.1")
    await expect(DownloadErrorKind.TOO_LARGE, d.download(srv.url("/video.mp4"), tmp_path, "v", max_bytes=16))
    video = await d.download(srv.url("/big"), tmp_path, "v", max_bytes=10 * CAP)
    assert video.size == len(MP4) + 4 * CAP


async def test_chunked_body_over_cap_is_aborted(
    srv: Srv, make: Factory, tmp_path: Path, consumed: list[int]
) -> None:
    await expect(DownloadErrorKind.TOO_LARGE, make("127.0.0.1").download(srv.url("/endless"), tmp_path, "v"))
    # Never more than the cap plus one chunk pulled from the stream ...
    assert CAP < consumed[0] <= CAP + CHUNK_SIZE
    # ... no partial or temp file left behind ...
    assert leftovers(tmp_path) == []
    # ... and the connection was dropped, so the server could not keep pushing.
    for _ in range(100):
        if srv.state.aborted:
            break
        await asyncio.sleep(0.02)
    assert srv.state.aborted
    assert srv.state.sent < 1024 * CHUNK_SIZE


# --- timeouts, status codes, network ---------------------------------------------------------


async def test_slow_headers_time_out(srv: Srv, make: Factory, tmp_path: Path) -> None:
    d = make("127.0.0.1", read_timeout=0.2)
    err = await expect(
        DownloadErrorKind.TIMEOUT, d.download(srv.url("/slow-headers"), tmp_path, "v"), transient=True
    )
    assert "timed out" in err.message


async def test_stalled_body_times_out_and_cleans_up(srv: Srv, make: Factory, tmp_path: Path) -> None:
    d = make("127.0.0.1", read_timeout=0.2)
    await expect(DownloadErrorKind.TIMEOUT, d.download(srv.url("/slow-body"), tmp_path, "v"), transient=True)
    assert leftovers(tmp_path) == []


async def test_total_timeout_bounds_a_dribbling_server(srv: Srv, make: Factory, tmp_path: Path) -> None:
    d = make("127.0.0.1", read_timeout=5, total_timeout=0.3)
    await expect(DownloadErrorKind.TIMEOUT, d.download(srv.url("/dribble"), tmp_path, "v"), transient=True)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("code", [404, 403, 410])
async def test_client_errors_are_permanent(srv: Srv, make: Factory, tmp_path: Path, code: int) -> None:
    err = await expect(
        DownloadErrorKind.HTTP_ERROR,
        make("127.0.0.1").download(srv.url(f"/status/{code}{SIGNED_QUERY}"), tmp_path, "v"),
        transient=False,
    )
    assert err.message == f"the video link has expired or is not accessible (HTTP {code})"


@pytest.mark.parametrize("code", [500, 502, 503, 429])
async def test_server_errors_are_transient(srv: Srv, make: Factory, tmp_path: Path, code: int) -> None:
    err = await expect(
        DownloadErrorKind.HTTP_ERROR,
        make("127.0.0.1").download(srv.url(f"/status/{code}"), tmp_path, "v"),
        transient=True,
    )
    assert f"HTTP {code}" in err.message


async def test_connection_refused_is_transient_network_error(make: Factory, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on the port now.
    await expect(
        DownloadErrorKind.NETWORK,
        make("127.0.0.1").download(f"http://127.0.0.1:{port}/v.mp4", tmp_path, "v"),
        transient=True,
    )


# --- content checks --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/html", "/garbage", "/tiny"])
async def test_non_mp4_refused(srv: Srv, make: Factory, tmp_path: Path, path: str) -> None:
    await expect(
        DownloadErrorKind.NOT_MP4, make("127.0.0.1").download(srv.url(path), tmp_path, "v"), transient=False
    )
    assert leftovers(tmp_path) == []
