"""What a video download may fetch and what it yields: its policy, errors and result, and the checks
of URLs and file names made before any I/O (`bot.engine.downloads` does the fetching)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from yarl import URL

from bot.engine.ssrf_guard import ip_literal, is_public_address, normalise_host

_MAX_URL_LENGTH: Final = 4096
_MAX_FILENAME: Final = 80
_UNSAFE_FILENAME_CHARS: Final = re.compile(r"[^A-Za-z0-9._-]+")


class DownloadErrorKind(StrEnum):
    """Why a download failed; stable strings, safe to store in the job row."""

    NOT_ALLOWED = "not_allowed"
    TOO_LARGE = "too_large"
    NOT_MP4 = "not_mp4"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    NETWORK = "network"
    TOO_MANY_REDIRECTS = "too_many_redirects"


class DownloadError(Exception):
    """A failed download; ``message`` is safe to show a user (URLs are redacted)."""

    def __init__(self, kind: DownloadErrorKind, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.transient = transient

    def __repr__(self) -> str:
        return f"DownloadError({self.kind.value!r}, {self.message!r}, transient={self.transient})"


@dataclass(frozen=True)
class DownloadedVideo:
    """A verified MP4 at ``path`` (``filename`` is the sanitised basename we chose)."""

    path: Path
    size: int
    content_type: str
    sha256: str
    filename: str


@dataclass(frozen=True)
class DownloadPolicy:
    """Allowlist, size cap (bytes), timeouts (seconds) and redirect budget for downloads."""

    allowed_hosts: frozenset[str]
    max_bytes: int
    connect_timeout: float = 10
    read_timeout: float = 30
    total_timeout: float = 120
    max_redirects: int = 3

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")


def redact_url(url: str | URL) -> str:
    """Return ``scheme://host[:port]/path`` of ``url``: no userinfo, query or fragment.

    Signed CDN URLs carry their signature in the query, so this is the only form to log or show.
    """
    try:
        parsed = url if isinstance(url, URL) else URL(url)
        scheme = parsed.scheme or "?"
        host = parsed.raw_host or ""
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        port = f":{parsed.explicit_port}" if parsed.explicit_port is not None else ""
        path = parsed.raw_path
    except (ValueError, TypeError):
        return "<invalid URL>"
    return f"{scheme}://{host}{port}{path}"[:300]


def safe_filename(name: str) -> str:
    """Sanitise ``name`` to ``[A-Za-z0-9._-]``, at most 80 chars, ending ``.mp4``."""
    stem = _UNSAFE_FILENAME_CHARS.sub("_", Path(name.replace("\\", "/")).name)
    # Leading dots would make a hidden file (or "..").
    stem = stem.lstrip(".")
    if stem.lower().endswith(".mp4"):
        stem = stem[:-4]
    stem = stem.strip("._-")[: _MAX_FILENAME - 4] or "video"
    return f"{stem}.mp4"


def checked_url(url: str | URL, allowed: frozenset[str]) -> URL:
    """``url`` parsed, if it may be fetched (its host in ``allowed``); else DownloadError(NOT_ALLOWED)."""
    text = str(url)
    shown = redact_url(text)

    def refuse(reason: str) -> DownloadError:
        return DownloadError(DownloadErrorKind.NOT_ALLOWED, f"video URL {shown} refused: {reason}")

    if len(text) > _MAX_URL_LENGTH:
        raise refuse("URL too long")
    # Parsers disagree on backslashes, whitespace and control characters; refuse outright.
    if "\\" in text or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in text):
        raise refuse("URL contains whitespace, control characters or backslashes")
    try:
        parsed = url if isinstance(url, URL) else URL(text)
        netloc = urlsplit(text).netloc
    except ValueError:
        raise refuse("not a valid URL") from None
    if parsed.scheme not in ("http", "https"):
        raise refuse("only http and https URLs are allowed")
    # yarl drops an empty userinfo ("http://@host/"), so also look at the raw authority.
    if parsed.user is not None or parsed.password is not None or "@" in netloc:
        raise refuse("URLs with credentials are not allowed")
    if not parsed.raw_host:
        raise refuse("URL has no host")
    try:
        host = normalise_host(parsed.raw_host)
    except ValueError:
        raise refuse("invalid host") from None
    if host not in allowed:
        # IP literals never reach the resolver (aiohttp connects to them directly), so this
        # exact-match check is what refuses 169.254.169.254, [::ffff:127.0.0.1] and friends.
        addr = ip_literal(host)
        if addr is not None and not is_public_address(addr):
            raise refuse("private or reserved address not in downloads.allowed_hosts")
        raise refuse("host not in downloads.allowed_hosts")
    return parsed
