"""The Discord emulator's login, token checks and unknown routes."""

from __future__ import annotations

from sandbox.discord_emu import DiscordEmulator
from tests.sandbox.discord_emu.helpers import APP, CHANNEL, Api


async def test_login_routes_and_exact_content_type(api: Api) -> None:
    status, me, headers = await api.req("GET", "/users/@me")
    assert status == 200 and me["bot"] is True and headers["Content-Type"] == "application/json"
    status, app, _ = await api.req("GET", "/oauth2/applications/@me")
    assert status == 200 and app["id"] == str(APP) and "verify_key" in app
    status, gw, _ = await api.req("GET", "/gateway/bot")
    assert status == 200 and gw["url"].endswith("/gateway") and gw["shards"] == 1


async def test_wrong_token_is_401_and_a_violation(api: Api, emu: DiscordEmulator) -> None:
    status, body, _ = await api.req("GET", "/users/@me", token="nope")
    assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
    assert len(emu.violations) == 1


async def test_unknown_route_is_404_recorded_and_a_violation(api: Api, emu: DiscordEmulator) -> None:
    status, body, _ = await api.req("POST", f"/channels/{CHANNEL}/pins/1")
    assert (status, body) == (404, {"message": "404: Not Found", "code": 0})
    assert emu.calls[-1].route == "unknown" and emu.calls[-1].status == 404
    assert "unknown route POST" in emu.violations[0]


async def test_unknown_channel_is_10003_not_a_violation(api: Api, emu: DiscordEmulator) -> None:
    status, body, _ = await api.send(123, content="x")
    assert status == 404 and body["code"] == 10003
    assert emu.violations == []
