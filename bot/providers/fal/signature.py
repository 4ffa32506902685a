"""Verify fal.ai webhook signatures (docs/fal-pika.md section 2.3), with a cached JWKS.

fal signs ``"\\n".join([request_id, user_id, timestamp, sha256(raw_body).hexdigest()])`` with Ed25519
and sends the signature as hex in ``X-Fal-Webhook-Signature``; the public keys are a JWKS of OKP/Ed25519
keys.  ``FalWebhookVerifier.verify`` follows the contract's seven steps exactly and never raises on
hostile input: every outcome is a ``WebhookVerdict``.

This module imports nothing from the bot (stdlib, cryptography, aiohttp and yarl only), so it can be
reused and tested on its own.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import aiohttp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from yarl import URL

__all__ = [
    "HEADER_REQUEST_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "HEADER_USER_ID",
    "JWKS_URL",
    "FalWebhookVerifier",
    "VerdictReason",
    "WebhookVerdict",
    "parse_jwks",
]

log = logging.getLogger(__name__)

#: fal's current JWKS location (older docs and code use ``https://rest.alpha.fal.ai``).
JWKS_URL: Final = "https://rest.fal.ai/.well-known/jwks.json"
HEADER_REQUEST_ID: Final = "X-Fal-Webhook-Request-Id"
HEADER_USER_ID: Final = "X-Fal-Webhook-User-Id"
HEADER_TIMESTAMP: Final = "X-Fal-Webhook-Timestamp"
HEADER_SIGNATURE: Final = "X-Fal-Webhook-Signature"
_HEADERS: Final = (HEADER_REQUEST_ID, HEADER_USER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)

#: A JWKS larger than this is refused (a real one holds a handful of 32-byte keys).
MAX_JWKS_BYTES: Final = 64 * 1024
#: Header values longer than this are refused before any work is done.
MAX_HEADER_CHARS: Final = 1024
_TIMESTAMP_RE: Final = re.compile(r"[0-9]{1,15}")
_SIGNATURE_RE: Final = re.compile(r"[0-9a-fA-F]{128}")
_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*={0,2}")

SessionSource = aiohttp.ClientSession | Callable[[], aiohttp.ClientSession]


class VerdictReason(StrEnum):
    """Why a webhook was accepted or rejected (the values are stable texts for logs and metrics)."""

    OK = "ok"
    MISSING_HEADER = "missing header"
    MALFORMED_HEADER = "malformed header"
    BAD_TIMESTAMP = "bad timestamp"
    STALE_TIMESTAMP = "stale timestamp"
    BAD_SIGNATURE_ENCODING = "bad signature encoding"
    JWKS_UNAVAILABLE = "jwks unavailable"
    BAD_SIGNATURE = "bad signature"


@dataclass(frozen=True)
class WebhookVerdict:
    """The outcome of ``FalWebhookVerifier.verify``; truthy only when the signature is valid."""

    ok: bool
    reason: VerdictReason
    #: A short human-readable addition (which header, how far off the clock); never secret.
    detail: str = ""
    #: ``X-Fal-Webhook-Request-Id`` when present (even on rejection, for logs).
    request_id: str | None = None

    def __bool__(self) -> bool:
        return self.ok


def _reject(reason: VerdictReason, detail: str = "", request_id: str | None = None) -> WebhookVerdict:
    return WebhookVerdict(False, reason, detail, request_id)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works for plain dicts and multidicts alike."""
    try:
        value = headers.get(name)
    except Exception:  # a hostile Mapping implementation
        return None
    if value is None:
        lowered = name.lower()
        try:
            value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == lowered), None)
        except Exception:
            return None
    return value if isinstance(value, str) else None


def _decode_x(value: object) -> bytes | None:
    """base64url-decode a JWK ``x`` with or without ``=`` padding; None unless exactly 32 bytes."""
    if not isinstance(value, str) or not _B64URL_RE.fullmatch(value):
        return None
    stripped = value.rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def parse_jwks(document: object) -> tuple[Ed25519PublicKey, ...]:
    """The usable Ed25519 keys of a JWKS document; anything malformed is skipped, never raised."""
    if not isinstance(document, dict):
        return ()
    keys = document.get("keys")
    if not isinstance(keys, list):
        return ()
    out: list[Ed25519PublicKey] = []
    for jwk in keys:
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        raw = _decode_x(jwk.get("x"))
        if raw is None:
            continue
        try:
            out.append(Ed25519PublicKey.from_public_bytes(raw))
        except ValueError:
            continue
    return tuple(out)


class FalWebhookVerifier:
    """Check ``X-Fal-Webhook-*`` signatures against fal's JWKS, cached for at most ``max_age`` seconds.

    ``session`` is an ``aiohttp.ClientSession`` or a callable returning one (so the verifier can be
    built before the session exists).  ``clock`` returns Unix seconds; it drives both the timestamp
    check and the cache ages, so tests can move time.
    """

    def __init__(
        self,
        jwks_url: str,
        session: SessionSource,
        *,
        max_age: float = 24 * 3600,
        tolerance: float = 300,
        clock: Callable[[], float] = time.time,
        refresh_min_interval: float = 60,
        failure_backoff: float = 10,
        fetch_timeout: float = 10,
    ) -> None:
        """Configure the verifier; nothing is fetched until the first ``verify``.

        :param max_age: the longest a fetched JWKS is trusted (the contract says at most 24 h).
        :param tolerance: the accepted distance between ``X-Fal-Webhook-Timestamp`` and ``clock()``.
        :param refresh_min_interval: a signature no cached key verifies makes the verifier refetch the
            JWKS once (keys rotate), but only if the cache is at least this old.
        :param failure_backoff: after a failed fetch, no new fetch is tried for this long.
        """
        url = URL(jwks_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("jwks_url must be an absolute http(s) URL")
        self.jwks_url = jwks_url
        self._session = session
        self.max_age = max_age
        self.tolerance = tolerance
        self.clock = clock
        self.refresh_min_interval = refresh_min_interval
        self.failure_backoff = failure_backoff
        self.fetch_timeout = fetch_timeout
        self._keys: tuple[Ed25519PublicKey, ...] = ()
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()
        #: How many JWKS fetches were attempted (for tests and metrics).
        self.fetches = 0

    def __repr__(self) -> str:
        return f"FalWebhookVerifier(jwks_url={self.jwks_url!r}, keys={len(self._keys)})"

    async def verify(self, headers: Mapping[str, str], body: bytes) -> WebhookVerdict:
        """Verify one webhook delivery; hash the raw body bytes exactly as received."""
        try:
            return await self._verify(headers, body)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never raise on hostile input
            log.warning("fal webhook verification failed unexpectedly: %s", type(exc).__name__)
            return _reject(VerdictReason.BAD_SIGNATURE, f"unexpected {type(exc).__name__}")

    async def _verify(self, headers: Mapping[str, str], body: bytes) -> WebhookVerdict:
        # 1. All four headers must be present.
        values: dict[str, str] = {}
        for name in _HEADERS:
            value = _header(headers, name)
            if value is None:
                return _reject(VerdictReason.MISSING_HEADER, name, values.get(HEADER_REQUEST_ID))
            if len(value) > MAX_HEADER_CHARS:
                return _reject(VerdictReason.MALFORMED_HEADER, f"{name} too long")
            values[name] = value
        request_id = values[HEADER_REQUEST_ID]
        timestamp = values[HEADER_TIMESTAMP]
        # 2. The timestamp is an int within the tolerance of now.
        if not _TIMESTAMP_RE.fullmatch(timestamp):
            return _reject(VerdictReason.BAD_TIMESTAMP, "not an integer", request_id)
        skew = self.clock() - int(timestamp)
        if abs(skew) > self.tolerance:
            return _reject(VerdictReason.STALE_TIMESTAMP, f"{skew:+.0f} s off", request_id)
        # 5 (checked before any hashing or fetching). The signature is 64 bytes of hex.
        if not _SIGNATURE_RE.fullmatch(values[HEADER_SIGNATURE]):
            return _reject(VerdictReason.BAD_SIGNATURE_ENCODING, "not 128 hex digits", request_id)
        signature = bytes.fromhex(values[HEADER_SIGNATURE])
        # 3 + 4. The signed message, from the header strings exactly as received.
        if not isinstance(body, bytes | bytearray | memoryview):
            return _reject(VerdictReason.BAD_SIGNATURE, "body is not bytes", request_id)
        body_hash = hashlib.sha256(bytes(body)).hexdigest()
        try:
            message = "\n".join([request_id, values[HEADER_USER_ID], timestamp, body_hash]).encode("utf-8")
        except UnicodeEncodeError:
            return _reject(VerdictReason.BAD_SIGNATURE, "header not encodable", request_id)
        # 6. The JWKS, cached at most max_age.
        keys = await self._current_keys()
        if not keys:
            return _reject(VerdictReason.JWKS_UNAVAILABLE, "", request_id)
        # 7. Valid if any key verifies.
        if _any_verifies(keys, signature, message):
            return WebhookVerdict(True, VerdictReason.OK, "", request_id)
        # Keys rotate: refetch once, if the cache is old enough, and try again.
        fresh = await self._refresh_after_miss()
        if fresh and _any_verifies(fresh, signature, message):
            return WebhookVerdict(True, VerdictReason.OK, "after JWKS refresh", request_id)
        return _reject(VerdictReason.BAD_SIGNATURE, "", request_id)

    def _cache_age(self, now: float) -> float | None:
        return None if self._fetched_at is None else now - self._fetched_at

    def _may_fetch(self, now: float) -> bool:
        return self._failed_at is None or now - self._failed_at >= self.failure_backoff

    async def _current_keys(self) -> tuple[Ed25519PublicKey, ...]:
        async with self._lock:
            now = self.clock()
            age = self._cache_age(now)
            if self._keys and age is not None and 0 <= age <= self.max_age:
                return self._keys
            # Expired (or never fetched, or the clock went backwards): the old keys are not trusted.
            self._keys = ()
            if self._may_fetch(now):
                await self._fetch(now)
            return self._keys

    async def _refresh_after_miss(self) -> tuple[Ed25519PublicKey, ...]:
        async with self._lock:
            now = self.clock()
            age = self._cache_age(now)
            if age is not None and age < self.refresh_min_interval:
                return ()
            if not self._may_fetch(now):
                return ()
            before = self._keys
            await self._fetch(now)
            return self._keys if self._keys != before else ()

    async def _fetch(self, now: float) -> None:
        """Fetch the JWKS; on success replace the cache, on failure keep what is cached."""
        self.fetches += 1
        try:
            keys = parse_jwks(await self._download())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("fal JWKS fetch from %s failed: %s: %s", self.jwks_url, type(exc).__name__, exc)
            self._failed_at = now
            return
        if not keys:
            log.warning("fal JWKS at %s holds no usable Ed25519 key", self.jwks_url)
            self._failed_at = now
            return
        self._keys = keys
        self._fetched_at = now
        self._failed_at = None

    async def _download(self) -> object:
        session = self._session if isinstance(self._session, aiohttp.ClientSession) else self._session()
        timeout = aiohttp.ClientTimeout(total=self.fetch_timeout)
        async with session.get(
            self.jwks_url, timeout=timeout, allow_redirects=False, headers={"Accept": "application/json"}
        ) as resp:
            if resp.status != 200:
                raise ValueError(f"HTTP {resp.status}")
            length = resp.content_length
            if length is not None and length > MAX_JWKS_BYTES:
                raise ValueError(f"JWKS too large ({length} bytes)")
            data = bytearray()
            async for chunk in resp.content.iter_chunked(8192):
                data.extend(chunk)
                if len(data) > MAX_JWKS_BYTES:
                    raise ValueError("JWKS too large")
        return json.loads(bytes(data))


def _any_verifies(keys: tuple[Ed25519PublicKey, ...], signature: bytes, message: bytes) -> bool:
    for key in keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False
