"""SSRF-safe download of a finished job's result video.

Result URLs come from the upstream (usually signed Discord CDN attachment links that expire), so
they are untrusted input: only http(s) URLs on ``downloads.allowed_hosts`` are fetched, every
redirect hop is re-checked, every resolved address is checked at connect time (DNS rebinding),
and the body is size-capped, time-limited and must look like an MP4. The connect-time checks
(allow-list, public addresses only) live in `bot.engine.ssrf_guard`, the checks made before any
request (URLs, file names) in `bot.engine.download_policy`; this module fetches and streams the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver
from yarl import URL

from bot.engine.crashpoints import crashpoint
from bot.engine.download_policy import (
    DownloadedVideo,
    DownloadError,
    DownloadErrorKind,
    DownloadPolicy,
    checked_url,
    redact_url,
    safe_filename,
)
from bot.engine.ssrf_guard import BlockedAddressError, GuardedResolver, normalise_host

log = logging.getLogger(__name__)

CHUNK_SIZE: Final = 64 * 1024
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
# Retrying these can succeed later; any other 4xx (403/404 of an expired signed URL) cannot.
_TRANSIENT_4XX: Final = frozenset({408, 429})
# A page, not a video: an HTML/XML/JSON body that happens to carry "ftyp" at offset 4 is a
# polyglot or an error/interstitial page, and the host itself says it is not a video. Re-posting
# it would hand users whatever the host's web page is, so the label is trusted as a refusal.
_NOT_VIDEO_TYPES: Final = frozenset(
    {"application/xhtml+xml", "application/json", "application/xml", "application/javascript"}
)


class VideoDownloader:
    """Downloads result videos under a :class:`DownloadPolicy`; owns its own HTTP session."""

    def __init__(self, policy: DownloadPolicy, *, resolver: AbstractResolver | None = None) -> None:
        """``resolver`` replaces the underlying DNS lookup (tests); it is wrapped, never trusted."""
        self._policy = policy
        self._allowed = frozenset(normalise_host(h) for h in policy.allowed_hosts)
        self._inner_resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._resolver: GuardedResolver | None = None

    @property
    def policy(self) -> DownloadPolicy:
        """The policy this downloader enforces."""
        return self._policy

    async def start(self) -> None:
        """Create the HTTP session (also done lazily by :meth:`download`)."""
        self._ensure_session()

    async def close(self) -> None:
        """Close the HTTP session and its connector."""
        session, self._session = self._session, None
        resolver, self._resolver = self._resolver, None
        if session is not None:
            await session.close()
        # The connector doesn't close a resolver it was given.
        if resolver is not None:
            await resolver.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            inner = self._inner_resolver
            self._resolver = GuardedResolver(
                self._allowed,
                inner if inner is not None else DefaultResolver(),
                # An injected resolver belongs to the caller.
                close_inner=inner is None,
            )
            connector = aiohttp.TCPConnector(
                resolver=self._resolver,
                # Re-check every connection's addresses instead of reusing cached answers.
                use_dns_cache=False,
                limit=8,
            )
            p = self._policy
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=p.total_timeout, sock_connect=p.connect_timeout, sock_read=p.read_timeout
                ),
                # An env proxy would connect for us and bypass the resolver's address checks.
                trust_env=False,
                # Redirect hops must not carry cookies set by an earlier hop.
                cookie_jar=aiohttp.DummyCookieJar(),
                # Count raw bytes against the cap and don't inflate compressed bombs; a
                # compressed body then fails the MP4 signature check.
                auto_decompress=False,
                headers={"User-Agent": "pikabot-downloader/0.1", "Accept-Encoding": "identity"},
            )
        return self._session

    def check_url(self, url: str) -> None:
        """Raise ``DownloadError(NOT_ALLOWED)`` unless ``url`` may be fetched (no I/O)."""
        checked_url(url, self._allowed)

    async def download(
        self, url: str, dest_dir: Path, basename: str, *, max_bytes: int | None = None
    ) -> DownloadedVideo:
        """Fetch ``url`` into ``dest_dir/safe_filename(basename)``; raise :class:`DownloadError`.

        The body streams to a temp file in ``dest_dir`` that is renamed on success and removed on
        any failure. Disk errors propagate as ``OSError``.
        """
        cap = self._policy.max_bytes if max_bytes is None else max_bytes
        if cap <= 0:
            raise ValueError("max_bytes must be positive")
        filename = safe_filename(basename)
        start = checked_url(url, self._allowed)
        shown = redact_url(url)
        session = self._ensure_session()
        try:
            # ClientTimeout.total is per request; this bounds the whole redirect chain too.
            async with asyncio.timeout(self._policy.total_timeout):
                video = await self._fetch(session, start, dest_dir, filename, cap)
        except DownloadError as exc:
            log.info("download of %s failed: %s (%s)", shown, exc.kind.value, exc.message)
            raise
        # aiohttp's exception texts can embed the full signed URL: chain nothing ("from None")
        # and log only the exception type with the redacted URL.
        except TimeoutError:
            log.info("download of %s timed out", shown)
            raise DownloadError(
                DownloadErrorKind.TIMEOUT, f"downloading {shown} timed out", transient=True
            ) from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, BlockedAddressError):
                log.warning("download of %s blocked at connect time: %s", shown, exc.os_error)
                raise DownloadError(
                    DownloadErrorKind.NOT_ALLOWED,
                    f"video URL {shown} refused: its host resolves to a non-public address",
                ) from None
            log.info("download of %s failed to connect: %s", shown, type(exc.os_error).__name__)
            raise DownloadError(
                DownloadErrorKind.NETWORK, f"could not connect to {shown}", transient=True
            ) from None
        except aiohttp.InvalidURL:
            raise DownloadError(
                DownloadErrorKind.NOT_ALLOWED, f"video URL {shown} refused: not a valid URL"
            ) from None
        except (aiohttp.ClientError, ConnectionError) as exc:
            log.info("download of %s failed: %s", shown, type(exc).__name__)
            raise DownloadError(
                DownloadErrorKind.NETWORK, f"network error while downloading {shown}", transient=True
            ) from None
        log.info("downloaded %s (%d bytes) to %s", shown, video.size, video.path)
        return video

    async def _fetch(
        self, session: aiohttp.ClientSession, url: URL, dest_dir: Path, filename: str, cap: int
    ) -> DownloadedVideo:
        for hop in range(self._policy.max_redirects + 1):
            # aiohttp would otherwise follow up to 10 redirects to anywhere.
            async with session.get(url, allow_redirects=False) as resp:
                if resp.status in _REDIRECT_STATUSES:
                    url = self._next_hop(url, resp, hop)
                    continue
                return await self._save(resp, url, dest_dir, filename, cap)
        raise AssertionError("unreachable: the last hop either returns or raises")  # pragma: no cover

    def _next_hop(self, url: URL, resp: aiohttp.ClientResponse, hop: int) -> URL:
        shown = redact_url(url)
        if hop >= self._policy.max_redirects:
            raise DownloadError(
                DownloadErrorKind.TOO_MANY_REDIRECTS,
                f"too many redirects (more than {self._policy.max_redirects}) from {shown}",
            )
        location = resp.headers.get(aiohttp.hdrs.LOCATION)
        if not location:
            raise DownloadError(DownloadErrorKind.HTTP_ERROR, f"redirect without a Location from {shown}")
        try:
            target = url.join(URL(location))
        except ValueError:
            raise DownloadError(
                DownloadErrorKind.NOT_ALLOWED, f"invalid redirect target from {shown}"
            ) from None
        checked = checked_url(target, self._allowed)
        # A downgrade would expose the rest of the chain to on-path tampering.
        if url.scheme == "https" and checked.scheme != "https":
            raise DownloadError(
                DownloadErrorKind.NOT_ALLOWED,
                f"redirect from https to {redact_url(checked)} refused",
            )
        log.debug("following redirect %d: %s -> %s", hop + 1, shown, redact_url(checked))
        return checked

    async def _save(
        self, resp: aiohttp.ClientResponse, url: URL, dest_dir: Path, filename: str, cap: int
    ) -> DownloadedVideo:
        shown = redact_url(url)
        if not 200 <= resp.status < 300:
            raise _http_error(resp.status)
        content_type = resp.content_type
        if content_type.startswith("text/") or content_type in _NOT_VIDEO_TYPES:
            raise DownloadError(
                DownloadErrorKind.NOT_MP4, f"{shown} is not a video (Content-Type {content_type})"
            )
        if resp.content_length is not None and resp.content_length > cap:
            raise DownloadError(
                DownloadErrorKind.TOO_LARGE,
                f"the video is too large ({_mib(resp.content_length)}, limit {_mib(cap)})",
            )

        await asyncio.to_thread(dest_dir.mkdir, parents=True, exist_ok=True)
        tmp = await asyncio.to_thread(_TempFile, dest_dir)
        try:
            digest = hashlib.sha256()
            head = b""
            size = 0
            async for chunk in resp.content.iter_chunked(CHUNK_SIZE):
                size += len(chunk)
                if size > cap:
                    # Drop the connection instead of draining the rest of the body.
                    resp.close()
                    raise DownloadError(
                        DownloadErrorKind.TOO_LARGE, f"the video is larger than the {_mib(cap)} limit"
                    )
                if len(head) < 8:
                    head += chunk[: 8 - len(head)]
                    if len(head) == 8 and not _is_mp4_head(head):
                        resp.close()
                        raise _not_mp4(shown)
                digest.update(chunk)
                await asyncio.to_thread(tmp.write, chunk)
                crashpoint("download.streaming")
            if len(head) < 8:
                raise _not_mp4(shown)
            final = dest_dir / filename
            await asyncio.to_thread(tmp.commit, final)
        finally:
            # Synchronous so cancellation can't skip it; a no-op after commit().
            tmp.discard()
        return DownloadedVideo(
            path=final, size=size, content_type=content_type, sha256=digest.hexdigest(), filename=filename
        )


class _TempFile:
    """A temp file in the destination directory (same filesystem, so the rename is atomic)."""

    def __init__(self, dest_dir: Path) -> None:
        fd, name = tempfile.mkstemp(dir=dest_dir, prefix=".download-", suffix=".part")
        self.path = Path(name)
        self._fh: IO[bytes] | None = os.fdopen(fd, "wb")
        self._committed = False

    def write(self, data: bytes) -> None:
        assert self._fh is not None
        self._fh.write(data)

    def commit(self, final: Path) -> None:
        assert self._fh is not None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        os.replace(self.path, final)
        self._committed = True

    def discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if not self._committed:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def _is_mp4_head(head: bytes) -> bool:
    # ISO-BMFF: the first box is "ftyp" (size in bytes 0..4, type in 4..8); brands vary.
    return head[4:8] == b"ftyp"


def _not_mp4(shown: str) -> DownloadError:
    return DownloadError(DownloadErrorKind.NOT_MP4, f"{shown} is not an MP4 video")


def _http_error(status: int) -> DownloadError:
    if status >= 500 or status in _TRANSIENT_4XX:
        return DownloadError(
            DownloadErrorKind.HTTP_ERROR,
            f"the video host is unavailable right now (HTTP {status})",
            transient=True,
        )
    return DownloadError(
        DownloadErrorKind.HTTP_ERROR,
        f"the video link has expired or is not accessible (HTTP {status})",
    )


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"
