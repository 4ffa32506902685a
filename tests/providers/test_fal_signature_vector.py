"""fal webhook signatures that verify: the contract's test vector and the simulator's real deliveries."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.providers.fal.signature import FalWebhookVerifier, VerdictReason, WebhookVerdict
from sandbox.fal_sim import QueueStatus, SimConfig, start_simulator
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
