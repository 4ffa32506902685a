"""Discord's error bodies: the JSON error and the 429."""

from __future__ import annotations

from sandbox.discord_payloads.constants import JsonObj


def error_payload(code: int, message: str, errors: JsonObj | None = None) -> JsonObj:
    """Discord's JSON error body."""
    out: JsonObj = {"message": message, "code": code}
    if errors is not None:
        out["errors"] = errors
    return out


def rate_limit_payload(retry_after: float, *, is_global: bool) -> JsonObj:
    """The 429 body."""
    return {
        "message": "You are being rate limited.",
        "retry_after": round(retry_after, 3),
        "global": is_global,
        "code": 0,  # required by the spec's RatelimitedResponse (an Error); discord.py ignores it
    }
