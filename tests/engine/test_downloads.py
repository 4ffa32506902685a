"""bot.engine.downloads against real aiohttp servers on 127.0.0.1 (no mocks of the HTTP stack)."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from bot.engine.download_policy import (
    DownloadError,
    DownloadErrorKind,
    DownloadPolicy,
    redact_url,
    safe_filename,
)
from bot.engine.downloads import CHUNK_SIZE, VideoDownloader
from bot.engine.ssrf_guard import GuardedResolver, is_public_address, normalise_host

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
    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        state.seen.append(request.path)
        return await handler(request)

    async def video(request: web.Request) -> web.Response:
        return web.Response(body=MP4, content_type="video/mp4")

    async def octet(request: web.Request) -> web.Response:
        return web.Response(body=MP4, content_type="application/octet-stream")

    async def exact_cap(request: web.Request) -> web.Response:
        return web.Response(body=MP4 + b"\x00" * (CAP - len(MP4)), content_type="video/mp4")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query.get("to", "/video.mp4"))

    async def chain(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPTemporaryRedirect(f"/chain/{n - 1}" if n > 0 else "/video.mp4")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/loop")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=MP4 + b"\x00" * (4 * CAP), content_type="video/mp4")

    async def endless(request: web.Request) -> web.StreamResponse:
        return await _stream(request, state, None)

    async def slow_headers(request: web.Request) -> web.Response:
        await asyncio.wait_for(state.release.wait(), 5)
        return web.Response(body=MP4, content_type="video/mp4")

    async def slow_body(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        await resp.prepare(request)
        await resp.write(MP4)
        await asyncio.wait_for(state.release.wait(), 5)
        return resp

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

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="nope")

    async def html(request: web.Request) -> web.Response:
        return web.Response(body=MP4, content_type="text/html")

    async def garbage(request: web.Request) -> web.Response:
        return web.Response(body=b"<html>definitely not a video</html>", content_type="video/mp4")

    async def tiny(request: web.Request) -> web.Response:
        return web.Response(body=b"\x00\x00\x00", content_type="video/mp4")

    app = web.Application(middlewares=[record])
    app.router.add_get("/video.mp4", video)
    app.router.add_get("/octet", octet)
    app.router.add_get("/exact", exact_cap)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/loop", loop)
    app.router.add_get("/big", big)
    app.router.add_get("/endless", endless)
    app.router.add_get("/slow-headers", slow_headers)
    app.router.add_get("/slow-body", slow_body)
    app.router.add_get("/dribble", dribble)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/html", html)
    app.router.add_get("/garbage", garbage)
    app.router.add_get("/tiny", tiny)
    return app


@pytest.fixture
async def srv(aiohttp_server: AiohttpServer) -> AsyncIterator[Srv]:
    state = ServerState()
    server = await aiohttp_server(make_app(state))
    yield Srv(server, state)
    # Let parked handlers finish before the server shuts down.
    state.release.set()


class FakeResolver(AbstractResolver):
    """Answers every lookup from a fixed table, recording what was asked."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=ip,
                port=port,
                family=socket.AF_INET6 if ":" in ip else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for ip in self.answers[host]
        ]

    async def close(self) -> None:
        pass


Factory = Callable[..., VideoDownloader]


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


# --- URL checks (no I/O) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/video.mp4",
        "gopher://127.0.0.1:70/",
        "http://user:pw@127.0.0.1/video.mp4",
        "http://user@127.0.0.1/video.mp4",
        "http://@127.0.0.1/video.mp4",
        "http://cdn.discordapp.com@127.0.0.1/video.mp4",
        "http:///video.mp4",
        "http://127.0.0.1\\@evil.test/",
        "http://127.0.0.1/a b.mp4",
        "http://127.0.0.1/\r\nHost: evil",
        "not a url",
        "http://evil.test/video.mp4",
        "http://2130706433/",
        "http://127.1/",
        "http://0x7f.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://127.0.0.1:99999/",
    ],
)
def test_check_url_refuses(url: str) -> None:
    d = VideoDownloader(DownloadPolicy(allowed_hosts=frozenset({"127.0.0.1"}), max_bytes=CAP))
    with pytest.raises(DownloadError) as info:
        d.check_url(url)
    assert info.value.kind is DownloadErrorKind.NOT_ALLOWED
    assert info.value.transient is False


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.discordapp.com/attachments/1/2/a.mp4" + SIGNED_QUERY,
        "https://CDN.DiscordApp.COM./attachments/1/2/a.mp4",
        "http://media.discordapp.net:8443/x.mp4",
        "http://127.0.0.1:8080/x.mp4",
        "http://[::1]:8080/x.mp4",
        "https://bücher.example/x.mp4",
    ],
)
def test_check_url_allows(url: str) -> None:
    hosts = {"cdn.discordapp.com", "media.discordapp.net", "127.0.0.1", "[::1]", "BÜCHER.example"}
    VideoDownloader(DownloadPolicy(allowed_hosts=frozenset(hosts), max_bytes=CAP)).check_url(url)


def test_bad_allowlist_entry_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="host"):
        VideoDownloader(DownloadPolicy(allowed_hosts=frozenset({"https://cdn.example/"}), max_bytes=1))
    with pytest.raises(ValueError, match="max_bytes"):
        DownloadPolicy(allowed_hosts=frozenset(), max_bytes=0)


@pytest.mark.parametrize(
    ("listed", "host"), [("127.0.0.1", "localhost"), ("localhost", "127.0.0.1"), ("127.0.0.1", "[::1]")]
)
async def test_listing_one_loopback_name_does_not_allow_another(
    srv: Srv, make: Factory, tmp_path: Path, listed: str, host: str
) -> None:
    d = make(listed)
    err = await expect(DownloadErrorKind.NOT_ALLOWED, d.download(srv.url("/video.mp4", host), tmp_path, "v"))
    assert "allowed_hosts" in err.message
    assert srv.state.seen == []


@pytest.mark.parametrize(
    "host",
    ["169.254.169.254", "10.0.0.1", "[::ffff:127.0.0.1]", "[::1]", "0.0.0.0"],  # noqa: S104
)
async def test_unlisted_ip_literals_refused_before_connecting(
    srv: Srv, make: Factory, tmp_path: Path, host: str
) -> None:
    d = make("127.0.0.1", "cdn.discordapp.com")
    err = await expect(DownloadErrorKind.NOT_ALLOWED, d.download(srv.url("/video.mp4", host), tmp_path, "v"))
    assert "private or reserved" in err.message
    assert srv.state.seen == []
    assert leftovers(tmp_path) == []


# --- connect-time address checks (DNS rebinding) --------------------------------------------


async def test_listed_loopback_name_may_resolve_to_loopback(srv: Srv, make: Factory, tmp_path: Path) -> None:
    fake = FakeResolver({"localhost": ["127.0.0.1"]})
    video = await make("localhost", resolver=fake).download(srv.url("/video.mp4", "localhost"), tmp_path, "v")
    assert video.path.read_bytes() == MP4
    assert fake.calls == ["localhost"]


async def test_localhost_with_system_resolver(srv: Srv, make: Factory, tmp_path: Path) -> None:
    video = await make("localhost").download(srv.url("/video.mp4", "localhost"), tmp_path, "v")
    assert video.size == len(MP4)


@pytest.mark.parametrize(
    ("host", "answers"),
    [
        ("video.test", ["127.0.0.1"]),  # listed ordinary name pointing at loopback
        ("cdn.discordapp.com", ["127.0.0.1"]),  # rebinding a real CDN name
        ("cdn.discordapp.com", ["162.159.128.233", "127.0.0.1"]),  # one bad answer taints all
        ("cdn.discordapp.com", ["::ffff:127.0.0.1"]),
        ("cdn.discordapp.com", ["::1"]),
        ("localhost", ["10.0.0.1"]),  # a loopback name may only mean loopback
    ],
)
async def test_listed_name_resolving_to_private_address_is_refused(
    srv: Srv, make: Factory, tmp_path: Path, host: str, answers: list[str]
) -> None:
    fake = FakeResolver({host: answers})
    d = make(host, resolver=fake)
    err = await expect(DownloadErrorKind.NOT_ALLOWED, d.download(srv.url("/video.mp4", host), tmp_path, "v"))
    assert "non-public" in err.message
    assert fake.calls == [host]
    assert srv.state.seen == []
    assert leftovers(tmp_path) == []


async def test_guarded_resolver_unit() -> None:
    fake = FakeResolver(
        {"CDN.discordapp.com.": ["162.159.128.233", "2606:4700::6810:1"], "x.test": ["1.1.1.1"]}
    )
    guarded = GuardedResolver(frozenset({"cdn.discordapp.com"}), fake)
    results = await guarded.resolve("CDN.discordapp.com.", 443)
    assert [r["host"] for r in results] == ["162.159.128.233", "2606:4700::6810:1"]
    with pytest.raises(OSError, match="not allowed"):
        await guarded.resolve("x.test", 443)  # never looked up: not on the list
    assert fake.calls == ["CDN.discordapp.com."]


@pytest.mark.parametrize(
    ("addr", "public"),
    [
        ("8.8.8.8", True),
        ("162.159.128.233", True),
        ("2606:4700::6810:1", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),  # noqa: S104
        ("0.1.2.3", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::", False),
        ("::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fe80::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("::127.0.0.1", False),
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
    ],
)
def test_is_public_address(addr: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(addr)) is public


def test_normalise_host() -> None:
    assert normalise_host("CDN.DiscordApp.com.") == "cdn.discordapp.com"
    assert normalise_host("[::FFFF:127.0.0.1]") == "::ffff:7f00:1"
    assert normalise_host("bücher.example") == "xn--bcher-kva.example"
    for bad in ("", "a/b", "user@host", "host:80", "a b"):
        with pytest.raises(ValueError):
            normalise_host(bad)


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


# --- redaction -------------------------------------------------------------------------------


def test_redact_url() -> None:
    signed = "https://cdn.discordapp.com/attachments/1/2/clip_seed42.mp4" + SIGNED_QUERY + "#frag"
    assert redact_url(signed) == "https://cdn.discordapp.com/attachments/1/2/clip_seed42.mp4"
    assert redact_url("http://user:pw@127.0.0.1:8080/a?b=c") == "http://127.0.0.1:8080/a"
    assert redact_url("http://[::1]:9/x") == "http://[::1]:9/x"
    assert redact_url("http://127.0.0.1:99999/") == "<invalid URL>"


async def test_signed_query_never_leaks(
    srv: Srv, make: Factory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.engine.downloads")
    d = make("127.0.0.1")
    errors = [
        await expect(
            DownloadErrorKind.HTTP_ERROR, d.download(srv.url("/status/404" + SIGNED_QUERY), tmp_path, "v")
        ),
        await expect(
            DownloadErrorKind.NOT_ALLOWED, d.download("http://evil.test/x" + SIGNED_QUERY, tmp_path, "v")
        ),
        await expect(
            DownloadErrorKind.NOT_ALLOWED,
            d.download(
                srv.url("/redirect?to=http://evil.test/y" + SIGNED_QUERY.replace("&", "%26")), tmp_path, "v"
            ),
        ),
    ]
    await d.download(srv.url("/video.mp4" + SIGNED_QUERY), tmp_path, "v")
    for err in errors:
        assert "secretsignature" not in str(err)
        assert err.__cause__ is None
    assert caplog.records, "expected the downloader to log"
    assert "secretsignature" not in caplog.text


def test_safe_filename() -> None:
    assert safe_filename("clip_seed42.mp4") == "clip_seed42.mp4"
    assert safe_filename("../../etc/passwd") == "passwd.mp4"
    assert safe_filename("..\\..\\win.ini") == "win.ini.mp4"
    assert safe_filename("smiling and blinking!.MP4") == "smiling_and_blinking.mp4"
    assert safe_filename("...") == "video.mp4"
    assert safe_filename("") == "video.mp4"
    long = safe_filename("a" * 500 + ".mp4")
    assert len(long) == 80
    assert long.endswith(".mp4")
