"""The fal.ai simulator's webhooks: signed per the contract, retried, and their fault knobs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sandbox.fal_sim import (
    DEFAULT_JWKS,
    DEFAULT_USER_ID,
    TEST_VECTOR_X,
    TEXT_TO_VIDEO,
    default_signing_key,
    serialize_webhook_body,
    sign_webhook,
)
from tests.sandbox.fal_sim.helpers import CONTRACT_JWKS, Api, Receiver, fast_config, free_port, serve

# The contract's test vector (section 4).
VECTOR_BODY = (
    b'{"error": null, "gateway_request_id": "6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c", "payload": {"video": '
    b'{"content_type": "video/mp4", "file_name": "output.mp4", "file_size": 2874113, "url": '
    b'"https://v3b.fal.media/files/b/koala/T3stV1d3o_output.mp4"}}, "request_id": '
    b'"6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c", "status": "OK"}'
)
VECTOR_SIGNATURE = (
    "82c4937bc23e4590b80a0c8dc8dc64f829f54f7334c38435fc7b737beb4492d5"
    "81ed7ffb0b63e864860c686f1fd7bf7af3f3f7b437936090a653a5f85d01d80f"
)


def jwk_public_key(jwk: dict[str, str]) -> Ed25519PublicKey:
    x = jwk["x"].rstrip("=")
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))


def signed_message(headers: dict[str, str], body: bytes) -> bytes:
    return "\n".join(
        [
            headers["X-Fal-Webhook-Request-Id"],
            headers["X-Fal-Webhook-User-Id"],
            headers["X-Fal-Webhook-Timestamp"],
            hashlib.sha256(body).hexdigest(),
        ]
    ).encode()


async def test_jwks_is_the_contract_test_jwks(api: Api) -> None:
    assert DEFAULT_JWKS == CONTRACT_JWKS
    async with api.http.get(api.running.jwks_url) as resp:
        assert (resp.status, await resp.json()) == (200, CONTRACT_JWKS)
    api.sim.update_faults({"jwks_padded": True})
    async with api.http.get(api.running.jwks_url) as resp:
        assert (await resp.json())["keys"][0]["x"] == TEST_VECTOR_X + "="
    api.sim.update_faults({"jwks_status": 503})
    async with api.http.get(api.running.jwks_url) as resp:
        assert resp.status == 503


def test_sign_webhook_reproduces_the_contract_vector() -> None:
    signature = sign_webhook(
        default_signing_key(),
        "6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c",
        DEFAULT_USER_ID,
        1767225600,
        VECTOR_BODY,
    )
    assert signature == VECTOR_SIGNATURE
    parsed = json.loads(VECTOR_BODY)
    assert serialize_webhook_body(parsed) == VECTOR_BODY


async def test_webhook_is_signed_and_verifiable_with_the_served_jwks(api: Api, receiver: Receiver) -> None:
    sub = await api.submit_ok(webhook=receiver.url)
    headers, body = await receiver.next()
    payload = json.loads(body)
    assert body == serialize_webhook_body(payload)  # Python-style: sorted keys, ", " and ": "
    assert payload == {
        "error": None,
        "gateway_request_id": sub["request_id"],
        "payload": (await api.call("GET", sub["response_url"])).body,
        "request_id": sub["request_id"],
        "status": "OK",
    }
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Fal-Webhook-Request-Id"] == sub["request_id"]
    assert headers["X-Fal-Webhook-User-Id"] == DEFAULT_USER_ID
    assert re.fullmatch(r"[0-9a-f]{128}", headers["X-Fal-Webhook-Signature"])
    async with api.http.get(api.running.jwks_url) as resp:
        jwks = await resp.json()
    key = jwk_public_key(jwks["keys"][0])
    key.verify(bytes.fromhex(headers["X-Fal-Webhook-Signature"]), signed_message(headers, body))
    with pytest.raises(InvalidSignature):
        key.verify(bytes.fromhex(headers["X-Fal-Webhook-Signature"]), signed_message(headers, body + b" "))
    record = api.sim.webhooks[0]
    assert (record.url, record.attempt, record.status, record.http_status, record.error) == (
        receiver.url,
        1,
        "OK",
        200,
        None,
    )
    assert record.body == body.decode()


async def test_error_webhook_body(api: Api, receiver: Receiver) -> None:
    sub = await api.submit_ok(TEXT_TO_VIDEO, {"prompt": "forbidden"}, webhook=receiver.url)
    _headers, body = await receiver.next()
    payload = json.loads(body)
    assert (payload["status"], payload["error"], payload["request_id"]) == (
        "ERROR",
        "Invalid status code: 422",
        sub["request_id"],
    )
    assert payload["payload"]["detail"][0]["type"] == "content_policy_violation"


async def test_webhook_retried_after_a_500(api: Api, receiver: Receiver) -> None:
    receiver.answers = [500, 503]
    await api.submit_ok(webhook=receiver.url)
    await receiver.next()
    attempts = await api.sim.wait_for_webhooks(3)
    assert [(w.attempt, w.http_status) for w in attempts] == [(1, 500), (2, 503), (3, 200)]
    assert len(receiver.deliveries) == 3
    # Every attempt is signed afresh and verifies.
    key = jwk_public_key(DEFAULT_JWKS["keys"][0])
    for headers, body in receiver.deliveries:
        key.verify(bytes.fromhex(headers["X-Fal-Webhook-Signature"]), signed_message(headers, body))


async def test_webhook_gives_up_on_a_dead_receiver() -> None:
    async with serve(fast_config(webhook_attempts=2)) as api:
        dead = f"http://127.0.0.1:{free_port()}/hook"
        await api.submit_ok(webhook=dead)
        attempts = await api.sim.wait_for_webhooks(2)
        assert [(w.attempt, w.http_status) for w in attempts] == [(1, None), (2, None)]
        assert all(w.error and "Client" in w.error for w in attempts)
        await asyncio.sleep(0.05)
        assert len(api.sim.webhooks) == 2


async def test_webhook_to_a_public_host_is_not_sent(api: Api) -> None:
    await api.submit_ok(webhook="https://bot.example/fal/webhook")
    (record,) = await api.sim.wait_for_webhooks(1)
    assert record.http_status is None and record.error is not None and "not loopback" in record.error
    await asyncio.sleep(0.05)
    assert len(api.sim.webhooks) == 1


async def test_bad_webhook_url_is_422(api: Api) -> None:
    answer = await api.submit(webhook="ftp://x")
    assert answer.status == 422 and answer.body["detail"][0]["loc"] == ["query", "fal_webhook"]


async def test_webhook_fault_knobs(api: Api, receiver: Receiver) -> None:
    api.sim.update_faults({"duplicate_webhooks": 1, "webhook_payload_error": True})
    sub = await api.submit_ok(webhook=receiver.url)
    first, second = await receiver.next(), await receiver.next()
    assert json.loads(first[1]) == json.loads(second[1])
    payload = json.loads(first[1])
    assert payload["payload"] is None and "not JSON serializable" in payload["payload_error"]
    assert payload["request_id"] == sub["request_id"]

    api.sim.update_faults(
        {"duplicate_webhooks": 0, "webhook_payload_error": False, "webhook_bad_signature": True}
    )
    await api.submit_ok(webhook=receiver.url)
    headers, body = await receiver.next()
    with pytest.raises(InvalidSignature):
        jwk_public_key(DEFAULT_JWKS["keys"][0]).verify(
            bytes.fromhex(headers["X-Fal-Webhook-Signature"]), signed_message(headers, body)
        )

    api.sim.update_faults({"webhook_bad_signature": False, "webhook_timestamp_skew": -400})
    await api.submit_ok(webhook=receiver.url)
    headers, _body = await receiver.next()
    assert abs(int(headers["X-Fal-Webhook-Timestamp"]) - (time.time() - 400)) < 5

    api.sim.update_faults({"webhook_timestamp_skew": 0, "drop_webhooks": True})
    sent = len(receiver.deliveries)
    done = await api.submit_ok(webhook=receiver.url)
    await api.completed(done["request_id"])
    await asyncio.sleep(0.05)
    assert len(receiver.deliveries) == sent


async def test_signing_key_rotation(api: Api, receiver: Receiver) -> None:
    new_key = Ed25519PrivateKey.generate()
    api.sim.rotate_signing_key(new_key, keep_old=True)
    assert len(api.sim.jwks()["keys"]) == 2
    await api.submit_ok(webhook=receiver.url)
    headers, body = await receiver.next()
    new_key.public_key().verify(
        bytes.fromhex(headers["X-Fal-Webhook-Signature"]), signed_message(headers, body)
    )
    api.sim.rotate_signing_key(default_signing_key(), keep_old=False)
    assert api.sim.jwks() == CONTRACT_JWKS
