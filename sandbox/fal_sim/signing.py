"""Webhook signing (docs/fal-pika.md section 2.3) and JWKS documents, exported for tests elsewhere."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sandbox.fal_sim.constants import TEST_VECTOR_SEED


def default_signing_key() -> Ed25519PrivateKey:
    """The contract's test-vector private key (its JWKS is ``DEFAULT_JWKS``)."""
    return Ed25519PrivateKey.from_private_bytes(TEST_VECTOR_SEED)


def public_x(key: Ed25519PrivateKey | Ed25519PublicKey, *, padded: bool = False) -> str:
    """The base64url ``x`` of a key's public half, without ``=`` padding unless ``padded``."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    text = base64.urlsafe_b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    return text if padded else text.rstrip("=")


def jwks_for(
    keys: Iterable[Ed25519PrivateKey | Ed25519PublicKey], *, padded: bool = False
) -> dict[str, list[dict[str, str]]]:
    """A JWKS document listing the public halves of ``keys`` as fal serves it (OKP/Ed25519)."""
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": public_x(k, padded=padded)} for k in keys]}


#: The contract's test JWKS: ``{"keys":[{"kty":"OKP","crv":"Ed25519","x":TEST_VECTOR_X}]}``.
DEFAULT_JWKS: Final = jwks_for([default_signing_key()])


def sign_webhook(
    private_key: Ed25519PrivateKey, request_id: str, user_id: str, timestamp: int | str, body: bytes
) -> str:
    """Sign a webhook as fal does; return ``X-Fal-Webhook-Signature`` (128 lower-case hex digits).

    The message is ``"\\n".join([request_id, user_id, timestamp, sha256(body).hexdigest()])``.
    """
    digest = hashlib.sha256(body).hexdigest()
    message = "\n".join([request_id, user_id, str(timestamp), digest]).encode()
    return private_key.sign(message).hex()


def webhook_headers(
    private_key: Ed25519PrivateKey, request_id: str, user_id: str, timestamp: int | str, body: bytes
) -> dict[str, str]:
    """The four ``X-Fal-Webhook-*`` headers (plus JSON content type) for ``body``."""
    return {
        "Content-Type": "application/json",
        "X-Fal-Webhook-Request-Id": request_id,
        "X-Fal-Webhook-User-Id": user_id,
        "X-Fal-Webhook-Timestamp": str(timestamp),
        "X-Fal-Webhook-Signature": sign_webhook(private_key, request_id, user_id, timestamp, body),
    }


def serialize_webhook_body(body: Mapping[str, object]) -> bytes:
    """Serialize Python-style as fal does: keys sorted, ``", "`` and ``": "`` separators."""
    return json.dumps(body, sort_keys=True).encode()
