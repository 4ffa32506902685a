"""fal webhook signature verification (docs/fal-pika.md 2.3) against real JWKS servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.providers.fal.signature import FalWebhookVerifier, VerdictReason, WebhookVerdict, parse_jwks
from sandbox.fal_sim import (
    DEFAULT_USER_ID,
    TEST_VECTOR_X,
    QueueStatus,
    SimConfig,
    default_signing_key,
    jwks_for,
    start_simulator,
    webhook_headers,
)

NOW = 1767225600.0
REQUEST_ID = "6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c"
# The contract's test vector (section 4), byte for byte.
VECTOR_HEADERS = {
    "Content-Type": "application/json",
    "X-Fal-Webhook-Request-Id": REQUEST_ID,
    "X-Fal-Webhook-User-Id": "github|test-user-0001",
    "X-Fal-Webhook-Timestamp": "1767225600",
    "X-Fal-Webhook-Signature": (
        "82c4937bc23e4590b80a0c8dc8dc64f829f54f7334c38435fc7b737beb4492d5"
        "81ed7ffb0b63e864860c686f1fd7bf7af3f3f7b437936090a653a5f85d01d80f"
    ),
}
VECTOR_BODY = (
    b'{"error": null, "gateway_request_id": "6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c", "payload": {"video": '
    b'{"content_type": "video/mp4", "file_name": "output.mp4", "file_size": 2874113, "url": '
    b'"https://v3b.fal.media/files/b/koala/T3stV1d3o_output.mp4"}}, "request_id": '
    b'"6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c", "status": "OK"}'
)
CONTRACT_JWKS: dict[str, Any] = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": TEST_VECTOR_X}]}


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class JwksServer:
    """A tiny JWKS host: serves ``document`` (or ``status``), counts hits."""

    url: str = ""
    document: Any = field(default_factory=lambda: json.loads(json.dumps(CONTRACT_JWKS)))
    status: int = 200
    raw: bytes | None = None
    hits: int = 0


@pytest.fixture
async def jwks() -> AsyncIterator[JwksServer]:
    server = JwksServer()

    async def handler(_request: web.Request) -> web.Response:
        server.hits += 1
        if server.raw is not None:
            return web.Response(body=server.raw, content_type="application/json")
        return web.json_response(server.document, status=server.status)

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}/.well-known/jwks.json"
    yield server
    await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def clock() -> Iterator[Clock]:
    yield Clock()


def make(url: str, http: aiohttp.ClientSession, clock: Clock, **kwargs: Any) -> FalWebhookVerifier:
    return FalWebhookVerifier(url, http, clock=clock, **kwargs)


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
# The contract's test vector
# ---------------------------------------------------------------------------------------------------


async def test_contract_test_vector_verifies(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock
) -> None:
    verdict = await make(jwks.url, http, clock).verify(VECTOR_HEADERS, VECTOR_BODY)
    assert verdict == WebhookVerdict(True, VerdictReason.OK, "", REQUEST_ID)
    assert verdict and verdict.reason == "ok"


async def test_contract_test_vector_verifies_against_the_fal_simulator(
    http: aiohttp.ClientSession, clock: Clock
) -> None:
    async with await start_simulator(SimConfig()) as running:
        verdict = await make(running.jwks_url, http, clock).verify(VECTOR_HEADERS, VECTOR_BODY)
    assert verdict.ok


async def test_lower_case_header_names_in_a_plain_dict(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock
) -> None:
    headers = {k.lower(): v for k, v in VECTOR_HEADERS.items()}
    assert (await make(jwks.url, http, clock).verify(headers, VECTOR_BODY)).ok


@pytest.mark.parametrize("skew", [-300, 300])
async def test_timestamp_at_the_edge_of_the_tolerance_is_accepted(
    jwks: JwksServer, http: aiohttp.ClientSession, clock: Clock, skew: int
) -> None:
    clock.now = NOW + skew
    assert (await make(jwks.url, http, clock).verify(VECTOR_HEADERS, VECTOR_BODY)).ok


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


# ---------------------------------------------------------------------------------------------------
# End to end with the simulator's real deliveries
# ---------------------------------------------------------------------------------------------------


async def test_simulator_webhooks_verify(http: aiohttp.ClientSession) -> None:
    deliveries: asyncio.Queue[tuple[dict[str, str], bytes]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        deliveries.put_nowait((dict(request.headers), await request.read()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    config = SimConfig(queue_delay=0, step_delay=0.001, log_messages=("x",))
    try:
        async with await start_simulator(config) as running:
            verifier = FalWebhookVerifier(running.jwks_url, http)
            auth = {"Authorization": f"Key {config.key}"}

            async def deliver() -> WebhookVerdict:
                url = f"{running.base_url}/fal-ai/pika/v2.2/text-to-video"
                params = {"fal_webhook": hook_url}
                async with http.post(url, json={"prompt": "p"}, params=params, headers=auth) as resp:
                    rid = (await resp.json())["request_id"]
                await running.sim.wait_for_status(rid, QueueStatus.COMPLETED)
                headers, body = await asyncio.wait_for(deliveries.get(), 3)
                return await verifier.verify(headers, body)

            assert (await deliver()).ok
            running.sim.update_faults({"webhook_bad_signature": True})
            assert (await deliver()).reason is VerdictReason.BAD_SIGNATURE
            running.sim.update_faults({"webhook_bad_signature": False, "webhook_timestamp_skew": -400})
            assert (await deliver()).reason is VerdictReason.STALE_TIMESTAMP
            running.sim.update_faults({"webhook_timestamp_skew": 0, "jwks_padded": True})
            running.sim.rotate_signing_key(Ed25519PrivateKey.generate(), keep_old=False)
            # The cache is young: the rotated key is only picked up once refresh_min_interval passed.
            verifier.refresh_min_interval = 0
            assert (await deliver()).ok
    finally:
        await runner.cleanup()
