"""What the bot fetches and receives while it logs in: its application, the gateway URL, READY."""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.discord_payloads.constants import API_VERSION, JsonObj


def application_payload(
    application_id: int, name: str, owner: JsonObj, *, bot: JsonObj | None = None
) -> JsonObj:
    """``GET /oauth2/applications/@me`` (AppInfo reads ``icon, bot_public, verify_key`` ... with ``[]``)."""
    out: JsonObj = {
        "id": str(application_id),
        "name": name,
        "icon": None,
        "description": "Local Discord emulator application",
        "summary": "",
        "type": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "owner": owner,
        "team": None,
        "flags": 0,
        "flags_new": "0",
        "tags": [],
        "hook": True,
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "integration_types_config": {"0": {}},
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "eligible_oauth2_scopes": ["applications.commands", "bot"],
    }
    if bot is not None:
        out["bot"] = bot
    return out


def gateway_payload(url: str) -> JsonObj:
    """``GET /gateway``."""
    return {"url": url}


def gateway_bot_payload(url: str, *, shards: int = 1) -> JsonObj:
    """``GET /gateway/bot`` (used by AutoShardedClient): ``shards`` is the recommended count."""
    return {
        "url": url,
        "shards": shards,
        "session_start_limit": {
            "total": 1000,
            "remaining": 999,
            "reset_after": 14_400_000,
            "max_concurrency": 1,
        },
    }


def ready_payload(
    user: JsonObj,
    guild_ids: Iterable[int],
    *,
    session_id: str,
    resume_gateway_url: str,
    application_id: int,
    shard: tuple[int, int] | None = None,
) -> JsonObj:
    """READY's ``d``: guilds start unavailable and arrive by GUILD_CREATE.

    ``shard`` ([shard_id, num_shards]) is echoed only when IDENTIFY sent one, as Discord does.
    """
    payload: JsonObj = {
        "v": API_VERSION,
        "user": {**user, "verified": True, "mfa_enabled": False, "email": None},
        "user_settings": {},
        "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "application": {"id": str(application_id), "flags": 0},
        "geo_ordered_rtc_regions": ["local"],
        "guild_join_requests": [],
        "auth_session_id_hash": "",
    }
    if shard is not None:
        payload["shard"] = list(shard)
    return payload
