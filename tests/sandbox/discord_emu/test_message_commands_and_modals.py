"""The Discord emulator's message context-menu commands and modals."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.discord_emu import DiscordEmulator
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
    ack,
)

MENU_COMMANDS: list[dict[str, Any]] = [*PIKA_COMMANDS, {"name": "Animate it", "type": 3}]


async def test_message_command_payload_shape(api: Api, emu: DiscordEmulator, gateway: RawGateway) -> None:
    """Apps → a message command: type 2 with data.type 3, target_id and the message (attachments
    included) in resolved.messages; an unregistered name is refused as the client would."""
    status, _, _ = await api.req(
        "PUT", f"/applications/{APP}/guilds/{GUILD}/commands", json_body=MENU_COMMANDS
    )
    assert status == 200
    posted = emu.post_user_message(BOB, CHANNEL, "my cat", attachments=[("cat.png", "image/png", PNG)])
    inter = await emu.message_command(ALICE, posted.id, "Animate it")
    d = (await gateway.dispatch("INTERACTION_CREATE"))["d"]
    assert d["type"] == 2 and d["id"] == str(inter.id)
    data = d["data"]
    assert data["type"] == 3 and data["name"] == "Animate it" and data["target_id"] == str(posted.id)
    target = data["resolved"]["messages"][str(posted.id)]
    assert target["content"] == "my cat" and target["author"]["id"] == str(BOB)
    (attachment,) = target["attachments"]
    assert attachment["filename"] == "cat.png" and attachment["size"] == len(PNG)
    with pytest.raises(LookupError):
        await emu.message_command(ALICE, posted.id, "gen")  # a slash command, not a message command


async def test_modal_round_trip_and_client_side_checks(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    """A modal answer (type 9) is schema-checked; its submit (type 5) carries the custom id and each
    text input's value in its label or row; required and max_length are enforced before sending."""
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    status, body, _ = await ack(api, inter, {"type": 9, "data": {"custom_id": "form:1", "components": []}})
    assert status == 400 and body["code"] == 50035  # no title, no components
    emu.violations.clear()
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    text = {"type": 4, "custom_id": "prompt", "style": 2, "value": "a fox", "max_length": 10}
    seed = {"type": 4, "custom_id": "seed", "style": 1, "required": False}
    modal = {
        "custom_id": "form:1",
        "title": "Remix",
        "components": [{"type": 18, "label": "Prompt", "component": text}, {"type": 1, "components": [seed]}],
    }
    status, _, _ = await ack(api, inter, {"type": 9, "data": modal})
    assert status == 200 and inter.modal == modal
    with pytest.raises(ValueError, match="max_length"):
        await emu.submit_modal(ALICE, inter, {"prompt": "x" * 11})
    with pytest.raises(ValueError, match="required"):
        await emu.submit_modal(ALICE, inter, {"prompt": ""})
    with pytest.raises(ValueError, match="no text input"):
        await emu.submit_modal(ALICE, inter, {"bogus": "1"})
    with pytest.raises(ValueError, match="only the member"):
        await emu.submit_modal(BOB, inter, {})
    submit = await emu.submit_modal(ALICE, inter, {"seed": "7"})
    frames = [await synced.dispatch("INTERACTION_CREATE") for _ in range(3)]  # two commands, the submit
    d = frames[-1]["d"]
    assert d["type"] == 5 and d["id"] == str(submit.id) and d["data"]["custom_id"] == "form:1"
    label, row = d["data"]["components"]
    assert label == {"type": 18, "component": {"type": 4, "custom_id": "prompt", "value": "a fox"}}
    assert row == {"type": 1, "components": [{"type": 4, "custom_id": "seed", "value": "7"}]}
    status, _, _ = await ack(api, submit, {"type": 5, "data": {"flags": 64}})
    assert status == 200 and emu.violations == []
