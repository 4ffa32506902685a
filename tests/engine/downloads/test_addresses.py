"""Which URLs and addresses a download may reach: URL checks without I/O, and connect-time
address checks against DNS rebinding."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.engine.download_policy import DownloadError, DownloadErrorKind, DownloadPolicy
from bot.engine.downloads import VideoDownloader
from bot.engine.ssrf_guard import GuardedResolver, is_public_address, normalise_host
from tests.helpers.downloads import CAP, MP4, SIGNED_QUERY, Factory, Srv, expect, leftovers


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
