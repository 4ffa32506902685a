"""FalPikaProvider webhooks: signed deliveries verify, bad ones are refused; a given session is shared."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.providers.fal.pika import FalPikaProvider
from sandbox.fal_sim import (
    DEFAULT_KEY,
    RunningFalSimulator,
    default_signing_key,
    serialize_webhook_body,
    webhook_headers,
)
from sandbox.serving import bind
from tests.helpers.fal_pika import fal, request, run, sim, submit_request

__all__ = ["fal", "sim"]  # fixtures shared from the helpers module


SECRET = DEFAULT_KEY.partition(":")[2]

# -- webhooks -----------------------------------------------------------------------------------------

HEADERS = (
    "X-Fal-Webhook-Request-Id",
    "X-Fal-Webhook-User-Id",
    "X-Fal-Webhook-Timestamp",
    "X-Fal-Webhook-Signature",
)
BODY = serialize_webhook_body({"error": None, "payload": None, "request_id": "req-1", "status": "OK"})


def signed(
    body: bytes = BODY, *, key: Ed25519PrivateKey | None = None, ts: int | None = None
) -> dict[str, str]:
    when = int(time.time()) if ts is None else ts
    return webhook_headers(key or default_signing_key(), "req-1", "github|test-user-0001", when, body)


async def test_a_validly_signed_webhook_is_accepted(fal: FalPikaProvider) -> None:
    """The simulator's key, the JWKS it serves, a fresh timestamp: accepted; request_id is the hint."""
    assert await fal.authenticate_callback(signed(), BODY) is None
    assert fal.callback_upstream_id(json.loads(BODY)) == "req-1"
    assert fal.callback_upstream_id({"request_id": 7}) is None


@pytest.mark.parametrize(
    ("make_headers", "body", "reason"),
    [
        (lambda: signed(key=Ed25519PrivateKey.generate()), BODY, "bad signature"),
        (lambda: signed(ts=int(time.time()) - 301), BODY, "stale timestamp"),
        (signed, BODY.replace(b'"OK"', b'"ERROR"'), "bad signature"),
        (signed, BODY + b" ", "bad signature"),
    ],
    ids=["wrong-key", "stale-timestamp", "altered-body", "appended-byte"],
)
async def test_a_bad_webhook_is_refused(
    fal: FalPikaProvider, make_headers: Callable[[], dict[str, str]], body: bytes, reason: str
) -> None:
    """A wrong key, a stale timestamp or an altered body is refused with the reason."""
    # Signed when the test runs, not when it is collected: a long suite would make them all stale.
    refused = await fal.authenticate_callback(make_headers(), body)
    assert refused is not None and refused.startswith(reason)


@pytest.mark.parametrize("missing", HEADERS)
async def test_a_webhook_missing_a_header_is_refused(fal: FalPikaProvider, missing: str) -> None:
    """Each of the four X-Fal-Webhook-* headers is required."""
    headers = signed()
    del headers[missing]
    assert await fal.authenticate_callback(headers, BODY) == f"missing header ({missing})"


@dataclass
class Receiver:
    """A stand-in for our /callbacks/fal/{token} route that keeps what arrived, byte for byte."""

    url: str
    deliveries: list[tuple[dict[str, str], bytes]]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    deliveries: list[tuple[dict[str, str], bytes]] = []

    async def collect(request: web.Request) -> web.Response:
        deliveries.append((dict(request.headers), await request.read()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/callbacks/fal/{token}", collect)
    runner, port = await bind(app, "127.0.0.1", 0, shutdown_timeout=0.5)
    yield Receiver(f"http://127.0.0.1:{port}/callbacks/fal/token-1", deliveries)
    await runner.cleanup()


@pytest.mark.parametrize("bad_signature", [False, True])
async def test_webhooks_the_simulator_delivers(
    fal: FalPikaProvider, sim: RunningFalSimulator, receiver: Receiver, bad_signature: bool
) -> None:
    """A real delivery verifies and names the request; one signed with a key not in the JWKS does not."""
    sim.sim.faults.webhook_bad_signature = bad_signature
    upstream_id, _ = await run(fal, request(), reply_url=receiver.url)
    await sim.sim.wait_for_webhooks(1)
    headers, body = receiver.deliveries[0]
    verdict = await fal.authenticate_callback(headers, body)
    if bad_signature:
        assert verdict is not None and verdict.startswith("bad signature")
    else:
        assert verdict is None
        assert fal.callback_upstream_id(json.loads(body)) == upstream_id


# -- lifecycle ----------------------------------------------------------------------------------------


async def test_a_given_session_is_shared_and_left_open(sim: RunningFalSimulator) -> None:
    """With a session given, the client and the JWKS fetches use it, and close() leaves it open."""
    async with aiohttp.ClientSession() as session:
        provider = FalPikaProvider(
            sim.base_url, DEFAULT_KEY, rest_base_url=sim.base_url, jwks_url=sim.jwks_url, session=session
        )
        assert await provider.authenticate_callback(signed(), BODY) is None
        await provider.submit(submit_request(request()))
        await provider.close()
        assert not session.closed
    assert SECRET not in repr(provider)
