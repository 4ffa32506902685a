"""The Discord emulator's interactions: payloads, acks, deadlines, tokens, follow-ups and command sync."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.discord_emu import DiscordEmulator, MessageSource, RunningEmulator
from tests.sandbox.discord_emu.helpers import (
    ALICE,
    APP,
    BOB,
    CHANNEL,
    GUILD,
    PIKA_COMMANDS,
    PNG,
    Api,
    RawGateway,
    _button,
    _row,
    ack,
)


async def test_slash_payload_shape(emu: DiscordEmulator, synced: RawGateway) -> None:
    inter = await emu.slash(
        ALICE,
        CHANNEL,
        "pika",
        "gen",
        {"prompt": "p", "seed": 7},
        attachments={"image": ("i.png", "image/png", PNG)},
    )
    frame = await synced.dispatch("INTERACTION_CREATE")
    d = frame["d"]
    assert (
        d["id"] == str(inter.id)
        and d["channel"]["id"] == str(CHANNEL)
        and d["attachment_size_limit"] == 10 * 1024 * 1024
    )
    assert d["member"]["flags"] == 0 and "permissions" in d["member"]
    (sub,) = d["data"]["options"]
    assert sub["name"] == "gen" and sub["type"] == 1
    assert {o["name"]: o["type"] for o in sub["options"]} == {"prompt": 3, "seed": 4, "image": 11}
    attachment_id = next(o["value"] for o in sub["options"] if o["name"] == "image")
    assert d["data"]["resolved"]["attachments"][attachment_id]["filename"] == "i.png"
    assert d["data"]["guild_id"] == str(GUILD)


async def test_slash_refuses_what_discord_would_not_send(emu: DiscordEmulator, synced: RawGateway) -> None:
    with pytest.raises(LookupError):
        await emu.slash(ALICE, CHANNEL, "nope", None, {})
    with pytest.raises(ValueError, match="required"):
        await emu.slash(ALICE, CHANNEL, "pika", "gen", {})
    with pytest.raises(ValueError, match="not declared"):
        await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p", "bogus": 1})


async def test_double_ack_is_40060(api: Api, emu: DiscordEmulator, synced: RawGateway) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    status, body, headers = await ack(api, inter, {"type": 5})
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body["interaction"]["response_message_loading"] is True
    status, body, _ = await ack(api, inter, {"type": 4, "data": {"content": "again"}})
    assert (status, body["code"]) == (400, 40060)
    assert "acknowledged twice" in emu.violations[0]


async def test_callback_without_with_response_is_204(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    path = f"/interactions/{inter.id}/{inter.token}/callback"
    status, body, _ = await api.req(
        "POST", path, json_body={"type": 4, "data": {"content": "hi"}}, token=None
    )
    assert (status, body) == (204, None) and emu.ephemeral_replies(inter) == []
    assert [m.content for m in emu.interaction_messages(inter)] == ["hi"]


async def test_late_ack_is_10062_and_a_violation(api: Api, emu: DiscordEmulator, synced: RawGateway) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    emu.clock_offset += 3.5
    status, body, _ = await ack(api, inter, {"type": 5})
    assert (status, body) == (404, {"message": "Unknown interaction", "code": 10062})
    assert "after 3.5" in emu.violations[0]


async def test_never_acked_is_a_violation(running: RunningEmulator, api: Api, synced: RawGateway) -> None:
    emu = running.emu
    emu.config.ack_deadline = 0.05
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    await emu.wait_for(lambda: bool(emu.violations), timeout=2)
    assert f"interaction {inter.id}" in emu.violations[0] and "not acknowledged" in emu.violations[0]


async def test_invalid_callback_type(api: Api, emu: DiscordEmulator, synced: RawGateway) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    status, body, _ = await ack(api, inter, {"type": 7, "data": {"content": "x"}})
    assert status == 400 and body["code"] == 50035 and emu.violations


async def test_token_dies_after_15_minutes(api: Api, emu: DiscordEmulator, synced: RawGateway) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    await ack(api, inter, {"type": 5, "data": {"flags": 64}})
    path = f"/webhooks/{APP}/{inter.token}"
    status, _, _ = await api.req(
        "POST", path, json_body={"content": "in time", "flags": 64}, params={"wait": "1"}, token=None
    )
    assert status == 200
    emu.clock_offset += 16 * 60
    status, body, _ = await api.req(
        "POST", path, json_body={"content": "late"}, params={"wait": "1"}, token=None
    )
    assert (status, body) == (401, {"message": "Invalid Webhook Token", "code": 50027})
    status, _, _ = await api.req(
        "PATCH", path + "/messages/@original", json_body={"content": "late"}, token=None
    )
    assert status == 401
    assert len(emu.violations) == 2
    # The first follow-up after a deferred response replaces the "thinking…" message (and stays ephemeral).
    assert emu.ephemeral_replies(inter) == ["in time"]


async def test_first_followup_after_a_defer_replaces_the_thinking_message(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    """Discord: right after a deferred response, the first follow-up edits the loading message, which
    keeps its ephemeral flag; once the original is answered, follow-ups are new messages of their own."""
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    await ack(api, inter, {"type": 5, "data": {"flags": 64}})
    path = f"/webhooks/{APP}/{inter.token}"
    status, first, _ = await api.req(
        "POST", path, json_body={"content": "public?"}, params={"wait": "1"}, token=None
    )
    assert status == 200 and first["id"] == str(inter.original_message_id) and first["flags"] & 64
    status, second, _ = await api.req(
        "POST", path, json_body={"content": "public"}, params={"wait": "1"}, token=None
    )
    assert status == 200 and second["id"] != first["id"] and not second["flags"] & 64
    assert emu.messages[int(second["id"])].source is MessageSource.FOLLOWUP


async def test_followup_before_ack_is_unknown_webhook(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    status, body, _ = await api.req(
        "POST", f"/webhooks/{APP}/{inter.token}", json_body={"content": "x"}, params={"wait": "1"}, token=None
    )
    assert (status, body["code"]) == (404, 10015) and emu.violations


async def test_component_update_message_edits_the_clicked_message(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    _, message, _ = await api.send(CHANNEL, content="pick", components=[_row(_button("pika:retry:9"))])
    click = await emu.click(BOB, int(message["id"]), "pika:retry:9")
    frame = await synced.dispatch("INTERACTION_CREATE")
    assert frame["d"]["message"]["components"][0]["components"][0]["custom_id"] == "pika:retry:9"
    status, _, _ = await ack(api, click, {"type": 7, "data": {"content": "picked", "components": []}})
    assert status == 200
    assert (
        emu.messages[int(message["id"])].content == "picked"
        and emu.messages[int(message["id"])].components == []
    )
    with pytest.raises(ValueError):
        await emu.click(BOB, int(message["id"]), "pika:retry:9")


async def test_command_sync_validation(api: Api, emu: DiscordEmulator) -> None:
    path = f"/applications/{APP}/guilds/{GUILD}/commands"
    bad: list[dict[str, Any]] = [
        {"name": "Pika", "description": "upper case"},
        {"name": "long", "description": "d" * 101},
        {
            "name": "many",
            "description": "d",
            "options": [{"type": 3, "name": f"o{i}", "description": "d"} for i in range(26)],
        },
        {
            "name": "choices",
            "description": "d",
            "options": [
                {
                    "type": 3,
                    "name": "c",
                    "description": "d",
                    "choices": [{"name": str(i), "value": str(i)} for i in range(26)],
                }
            ],
        },
        {
            "name": "order",
            "description": "d",
            "options": [
                {"type": 3, "name": "a", "description": "d"},
                {"type": 3, "name": "b", "description": "d", "required": True},
            ],
        },
    ]
    for command in bad:
        status, body, _ = await api.req("PUT", path, json_body=[command])
        assert status == 400 and body["code"] == 50035, command
    assert len(emu.violations) == len(bad)
    status, stored, _ = await api.req("PUT", path, json_body=PIKA_COMMANDS)
    assert status == 200 and stored[0]["id"] and stored[0]["guild_id"] == str(GUILD)
    _, listed, _ = await api.req("GET", path)
    assert listed == stored
