"""fal webhook signatures refused: stale, altered, missing or malformed parts, and hostile input."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.providers.fal.signature import VerdictReason, WebhookVerdict
from sandbox.fal_sim import jwks_for
from tests.helpers.fal_signature import (
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


# ---------------------------------------------------------------------------------------------------
# Rejections
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [-301, 301, 10**6])
async def test_stale_timestamp_is_rejected(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock, skew: int
) -> None:
    clock.now = NOW + skew
    verdict = await make(jwks.url, http, clock).verify(VECTOR_HEADERS, VECTOR_BODY)
    assert (verdict.ok, verdict.reason, verdict.request_id) == (
        False,
        VerdictReason.STALE_TIMESTAMP,
        REQUEST_ID,
    )
    assert not verdict
    assert jwks.hits == 0  # cheap checks first: no fetch for a stale webhook


async def test_wrong_key_is_rejected(jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock) -> None:
    jwks.document = jwks_for([Ed25519PrivateKey.generate()])
    verdict = await make(jwks.url, http, clock).verify(VECTOR_HEADERS, VECTOR_BODY)
    assert verdict.reason is VerdictReason.BAD_SIGNATURE


@pytest.mark.parametrize(
    "body",
    [
        VECTOR_BODY + b"\n",
        VECTOR_BODY.replace(b"2874113", b"2874114"),
        b"",
        json.dumps(json.loads(VECTOR_BODY)).encode()[:-1],
    ],
)
async def test_altered_body_is_rejected(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock, body: bytes
) -> None:
    verdict = await make(jwks.url, http, clock).verify(VECTOR_HEADERS, body)
    assert verdict.reason is VerdictReason.BAD_SIGNATURE


async def test_reserialized_body_is_rejected(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock
) -> None:
    compact = json.dumps(json.loads(VECTOR_BODY), separators=(",", ":"), sort_keys=True).encode()
    verdict = await make(jwks.url, http, clock).verify(VECTOR_HEADERS, compact)
    assert verdict.reason is VerdictReason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Fal-Webhook-Request-Id", "6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6d"),
        ("X-Fal-Webhook-User-Id", "github|test-user-0002"),
        ("X-Fal-Webhook-Timestamp", "1767225601"),
    ],
)
async def test_altered_signed_headers_are_rejected(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock, name: str, value: str
) -> None:
    verdict = await make(jwks.url, http, clock).verify({**VECTOR_HEADERS, name: value}, VECTOR_BODY)
    assert verdict.reason is VerdictReason.BAD_SIGNATURE


@pytest.mark.parametrize(
    "name",
    [
        "X-Fal-Webhook-Request-Id",
        "X-Fal-Webhook-User-Id",
        "X-Fal-Webhook-Timestamp",
        "X-Fal-Webhook-Signature",
    ],
)
async def test_each_missing_header_is_rejected(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock, name: str
) -> None:
    headers = {k: v for k, v in VECTOR_HEADERS.items() if k != name}
    verdict = await make(jwks.url, http, clock).verify(headers, VECTOR_BODY)
    assert (verdict.reason, verdict.detail) == (VerdictReason.MISSING_HEADER, name)
    assert jwks.hits == 0


@pytest.mark.parametrize(
    "signature",
    [
        "zz" * 64,
        VECTOR_HEADERS["X-Fal-Webhook-Signature"][:-1],
        VECTOR_HEADERS["X-Fal-Webhook-Signature"][:-2],
        VECTOR_HEADERS["X-Fal-Webhook-Signature"] + "00",
        " " + VECTOR_HEADERS["X-Fal-Webhook-Signature"][1:],
        "82 c4" + VECTOR_HEADERS["X-Fal-Webhook-Signature"][5:],
        "",
    ],
)
async def test_bad_signature_hex_is_rejected(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock, signature: str
) -> None:
    headers = {**VECTOR_HEADERS, "X-Fal-Webhook-Signature": signature}
    verdict = await make(jwks.url, http, clock).verify(headers, VECTOR_BODY)
    assert verdict.reason is VerdictReason.BAD_SIGNATURE_ENCODING


async def test_upper_case_hex_is_accepted(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock
) -> None:
    headers = {**VECTOR_HEADERS, "X-Fal-Webhook-Signature": VECTOR_HEADERS["X-Fal-Webhook-Signature"].upper()}
    assert (await make(jwks.url, http, clock).verify(headers, VECTOR_BODY)).ok


@pytest.mark.parametrize(
    "timestamp", ["abc", "1767225600.0", "+1767225600", " 1767225600", "-1", "١٧٦٧٢٢٥٦٠٠", "9" * 40]
)
async def test_non_integer_timestamp_is_rejected(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock, timestamp: str
) -> None:
    headers = {**VECTOR_HEADERS, "X-Fal-Webhook-Timestamp": timestamp}
    verdict = await make(jwks.url, http, clock).verify(headers, VECTOR_BODY)
    assert verdict.reason is VerdictReason.BAD_TIMESTAMP


# ---------------------------------------------------------------------------------------------------
# Hostile input never raises
# ---------------------------------------------------------------------------------------------------


class ExplodingHeaders(Mapping[str, str]):
    def __getitem__(self, key: str) -> str:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("boom")

    def __len__(self) -> int:
        return 4


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (ExplodingHeaders(), VECTOR_BODY),
        ({**VECTOR_HEADERS, "X-Fal-Webhook-User-Id": "\udcff"}, VECTOR_BODY),
        ({**VECTOR_HEADERS, "X-Fal-Webhook-User-Id": "x" * 5000}, VECTOR_BODY),
        (VECTOR_HEADERS, "a str body"),
        ({**VECTOR_HEADERS, "X-Fal-Webhook-Timestamp": 1767225600}, VECTOR_BODY),
    ],
)
async def test_hostile_input_gives_a_verdict(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock, headers: Any, body: Any
) -> None:
    verdict = await make(jwks.url, http, clock).verify(headers, body)
    assert isinstance(verdict, WebhookVerdict) and not verdict.ok
