"""fal webhook signature keys: the JWKS's padding, availability, caching and rotation."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.providers.fal.signature import FalWebhookVerifier, VerdictReason, parse_jwks
from sandbox.fal_sim import DEFAULT_USER_ID, TEST_VECTOR_X, default_signing_key, jwks_for, webhook_headers
from tests.helpers.fal_signature import (
    CONTRACT_JWKS,
    NOW,
    REQUEST_ID,
    VECTOR_BODY,
    VECTOR_HEADERS,
    Clock,
    JwksServer,
    clock,
    http,
    jwks,
    make,
)

__all__ = ["clock", "http", "jwks"]  # fixtures shared from the helpers module


def signed(
    key: Ed25519PrivateKey, body: bytes, timestamp: float = NOW, request_id: str = REQUEST_ID
) -> dict[str, str]:
    return webhook_headers(key, request_id, DEFAULT_USER_ID, int(timestamp), body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---------------------------------------------------------------------------------------------------
# The JWKS: padding, availability, caching, rotation
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [TEST_VECTOR_X, TEST_VECTOR_X + "="])
async def test_padded_and_unpadded_x(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock, x: str
) -> None:
    jwks.document = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x}]}
    assert (await make(jwks.url, http, clock).verify(VECTOR_HEADERS, VECTOR_BODY)).ok


async def test_any_key_of_the_set_may_verify(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock
) -> None:
    other = jwks_for([Ed25519PrivateKey.generate()])["keys"][0]
    jwks.document = {
        "keys": [
            {"kty": "RSA", "n": "abc", "e": "AQAB"},
            {"kty": "OKP", "crv": "X25519", "x": TEST_VECTOR_X},
            {"kty": "OKP", "crv": "Ed25519", "x": "not base64!"},
            {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
            "junk",
            other,
            *CONTRACT_JWKS["keys"],
        ]
    }
    assert (await make(jwks.url, http, clock).verify(VECTOR_HEADERS, VECTOR_BODY)).ok


def test_parse_jwks_skips_junk() -> None:
    assert parse_jwks(None) == ()
    assert parse_jwks({"keys": "x"}) == ()
    assert len(parse_jwks(CONTRACT_JWKS)) == 1
    # Any amount of "=" padding is tolerated; the key must still be exactly 32 bytes.
    assert len(parse_jwks({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": TEST_VECTOR_X + "=="}]})) == 1
    assert parse_jwks({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": TEST_VECTOR_X[:-2]}]}) == ()
    assert parse_jwks({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": TEST_VECTOR_X + "AA"}]}) == ()


async def test_unreachable_jwks_rejects_then_recovers(http: aiohttp.ClientSession, clock: Clock) -> None:
    port = free_port()
    verifier = make(f"http://127.0.0.1:{port}/.well-known/jwks.json", http, clock, failure_backoff=10)
    verdict = await verifier.verify(VECTOR_HEADERS, VECTOR_BODY)
    assert (verdict.ok, verdict.reason) == (False, VerdictReason.JWKS_UNAVAILABLE)
    assert verdict.reason == "jwks unavailable"
    # Within the back-off no new fetch is tried (a forged-webhook flood cannot hammer the JWKS host).
    await verifier.verify(VECTOR_HEADERS, VECTOR_BODY)
    assert verifier.fetches == 1

    async def serve_jwks(_request: web.Request) -> web.Response:
        return web.json_response(CONTRACT_JWKS)

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", serve_jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        clock.now += 11
        signature = default_signing_key()
        body = b'{"status": "OK"}'
        assert (await verifier.verify(signed(signature, body, clock.now), body)).ok
        assert verifier.fetches == 2
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("status", "raw", "document"),
    [
        (500, None, {"detail": "boom"}),
        (200, b"not json", None),
        (200, None, {"keys": []}),
        (200, None, {"nokeys": 1}),
        (200, b"[" * 70000, None),
    ],
)
async def test_broken_jwks_is_unavailable(
    jwks: JwksServer,
    http: aiohttp.ClientSession,
    clock: Clock,
    status: int,
    raw: bytes | None,
    document: Any,
) -> None:
    jwks.status, jwks.raw, jwks.document = status, raw, document
    verdict = await make(jwks.url, http, clock).verify(VECTOR_HEADERS, VECTOR_BODY)
    assert verdict.reason is VerdictReason.JWKS_UNAVAILABLE


async def test_jwks_is_cached_at_most_max_age(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock
) -> None:
    verifier = make(jwks.url, http, clock, max_age=3600)
    key = default_signing_key()
    for _ in range(3):
        assert (await verifier.verify(VECTOR_HEADERS, VECTOR_BODY)).ok
    assert jwks.hits == 1
    clock.now += 3601
    body = b"{}"
    assert (await verifier.verify(signed(key, body, clock.now), body)).ok
    assert jwks.hits == 2


async def test_expired_cache_is_not_used_when_the_refetch_fails(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock
) -> None:
    verifier = make(jwks.url, http, clock)
    assert (await verifier.verify(VECTOR_HEADERS, VECTOR_BODY)).ok
    jwks.status = 503
    clock.now += 24 * 3600 + 1
    body = b"{}"
    verdict = await verifier.verify(signed(default_signing_key(), body, clock.now), body)
    assert verdict.reason is VerdictReason.JWKS_UNAVAILABLE


async def test_key_rotation_refreshes_the_cache_once(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock
) -> None:
    verifier = make(jwks.url, http, clock, refresh_min_interval=60)
    assert (await verifier.verify(VECTOR_HEADERS, VECTOR_BODY)).ok
    new_key = Ed25519PrivateKey.generate()
    jwks.document = jwks_for([new_key])
    body = b'{"status": "OK", "rotated": true}'
    # A young cache is not refreshed on a miss (forged signatures cannot trigger a fetch per request).
    clock.now += 30
    assert (
        await verifier.verify(signed(new_key, body, clock.now), body)
    ).reason is VerdictReason.BAD_SIGNATURE
    assert jwks.hits == 1
    clock.now += 31
    verdict = await verifier.verify(signed(new_key, body, clock.now), body)
    assert (verdict.ok, verdict.detail) == (True, "after JWKS refresh")
    assert jwks.hits == 2
    # The old key is gone from the new set.
    old = signed(default_signing_key(), body, clock.now)
    assert (await verifier.verify(old, body)).reason is VerdictReason.BAD_SIGNATURE
    assert jwks.hits == 2


async def test_session_provider_and_concurrent_first_fetch(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock
) -> None:
    verifier = FalWebhookVerifier(jwks.url, lambda: http, clock=clock)
    verdicts = await asyncio.gather(*(verifier.verify(VECTOR_HEADERS, VECTOR_BODY) for _ in range(5)))
    assert all(v.ok for v in verdicts)
    assert jwks.hits == 1
    assert "jwks.json" in repr(verifier)


def test_jwks_url_must_be_http(http: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError, match="absolute"):
        FalWebhookVerifier("file:///etc/passwd", http)
