"""The Discord emulator's message limits and schemas (a breach: its code + a violation), files, edits."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.discord_emu import DiscordEmulator, EmuConfig, RunningEmulator
from tests.sandbox.discord_emu.helpers import ALICE, CHANNEL, GUILD, PNG, Api, RawGateway, _button, _row, ack


def error_codes(errors: Any) -> list[str]:
    """Every ``_errors[].code`` in a Discord 50035 ``errors`` tree."""
    found: list[str] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "_errors":
                found += [e["code"] for e in value]
            else:
                found += error_codes(value)
    return found


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"content": "x" * 2001}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"title": "t"}] * 11}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"title": "t" * 257}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"description": "d" * 4097}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"footer": {"text": "f" * 2049}}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"author": {"name": "a" * 257}}]}, "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"description": "d" * 3500}, {"description": "d" * 3500}]}, "MAX_EMBED_SIZE_EXCEEDED"),
        ({"components": [_row(_button(f"r{i}")) for i in range(6)]}, "BASE_TYPE_MAX_LENGTH"),
        ({"components": [_row(*[_button(f"b{i}") for i in range(6)])]}, "BASE_TYPE_MAX_LENGTH"),
        ({"components": [_row(_button("c" * 101))]}, "BASE_TYPE_MAX_LENGTH"),
        ({"components": [_row(_button("same"), _button("same"))]}, "COMPONENT_CUSTOM_ID_DUPLICATED"),
        ({"components": [_row(_button("l", label="L" * 81))]}, "BASE_TYPE_MAX_LENGTH"),
        ({"content": "x", "nonce": "n" * 26, "enforce_nonce": True}, "BASE_TYPE_MAX_LENGTH"),
    ],
    ids=[
        "content",
        "embed-count",
        "title",
        "description",
        "field-count",
        "field-name",
        "field-value",
        "footer",
        "author",
        "embed-total",
        "rows",
        "buttons-per-row",
        "custom-id-length",
        "custom-id-duplicate",
        "label",
        "nonce",
    ],
)
async def test_message_limits(api: Api, emu: DiscordEmulator, body: dict[str, Any], code: str) -> None:
    status, answer, _ = await api.send(CHANNEL, **body)
    assert status == 400 and answer["code"] == 50035 and answer["message"] == "Invalid Form Body"
    assert code in error_codes(answer["errors"])
    assert len(emu.violations) == 1 and emu.thread_messages(CHANNEL) == []


async def test_limits_apply_to_interaction_responses_too(
    api: Api, emu: DiscordEmulator, synced: RawGateway
) -> None:
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    status, answer, _ = await ack(api, inter, {"type": 4, "data": {"content": "x" * 2001}})
    assert status == 400 and answer["code"] == 50035 and inter.acked_at is None
    assert emu.violations


async def test_empty_message_is_50006(api: Api, emu: DiscordEmulator) -> None:
    status, answer, _ = await api.send(CHANNEL, content="")
    assert status == 400 and answer["code"] == 50006 and emu.violations


async def test_schema_catches_malformed_bodies(api: Api, emu: DiscordEmulator) -> None:
    status, answer, _ = await api.send(CHANNEL, content="x", tts="yes", embeds=[{"color": "red"}])
    assert status == 400 and answer["code"] == 50035
    assert set(answer["errors"]) == {"tts", "embeds"}
    assert "schema" in emu.violations[0]


async def test_schema_checks_multipart_payload_json(api: Api, emu: DiscordEmulator) -> None:
    status, answer, _ = await api.multipart(
        "POST",
        f"/channels/{CHANNEL}/messages",
        {"content": 42, "attachments": [{"id": 0}]},
        [("a.txt", b"a")],
    )
    assert status == 400 and "content" in answer["errors"] and emu.violations


async def test_schema_accepts_what_discordpy_sends(api: Api, emu: DiscordEmulator) -> None:
    """Int snowflakes (allowed_mentions.users, attachments[].id) and digit-only nonces are accepted."""
    status, _, _ = await api.multipart(
        "POST",
        f"/channels/{CHANNEL}/messages",
        {
            "content": "<@101>",
            "nonce": "12345",
            "enforce_nonce": True,
            "allowed_mentions": {"parse": [], "users": [101]},
            "attachments": [{"id": 0, "filename": "clip.mp4"}],
        },
        [("clip.mp4", b"video")],
    )
    assert status == 200 and emu.violations == []
    (message,) = emu.thread_messages(CHANNEL)
    assert message.mention_ids == [101] and message.attachments[0].content_type == "video/mp4"


async def test_file_over_the_limit_is_413(api: Api, emu: DiscordEmulator) -> None:
    big = b"\0" * (emu.config.attachment_size_limit + 1)
    status, answer, _ = await api.multipart(
        "POST",
        f"/channels/{CHANNEL}/messages",
        {"attachments": [{"id": 0, "filename": "big.mp4"}]},
        [("big.mp4", big)],
    )
    assert (status, answer) == (413, {"message": "Request entity too large", "code": 40005})
    assert "attachment_size_limit" in emu.violations[0]
    assert emu.calls[-1].files[0].size == len(big)


async def test_attachments_are_served_by_the_cdn(api: Api, running: RunningEmulator) -> None:
    status, message, _ = await api.multipart(
        "POST",
        f"/channels/{CHANNEL}/messages",
        {"attachments": [{"id": 0, "filename": "x.png"}]},
        [("x.png", PNG)],
    )
    assert status == 200
    url = message["attachments"][0]["url"]
    assert url.startswith(running.root_url + "/cdn/attachments/")
    async with api.session.get(url) as resp:
        assert resp.status == 200 and await resp.read() == PNG and resp.content_type == "image/png"
    async with api.session.get(url.rsplit("/", 1)[0] + "/other.png") as resp:
        assert resp.status == 404


async def test_message_payload_has_every_list_key(api: Api) -> None:
    status, message, _ = await api.send(CHANNEL, content="hi")
    assert status == 200
    for key in ("mentions", "mention_roles", "attachments", "embeds", "components"):
        assert message[key] == []
    assert message["guild_id"] == str(GUILD) and message["channel_id"] == str(CHANNEL)
    assert message["author"]["id"] == str(EmuConfig.bot_user_id)


async def test_edits_keep_replace_and_clear_attachments(api: Api, emu: DiscordEmulator) -> None:
    path = f"/channels/{CHANNEL}/messages"
    _, message, _ = await api.multipart(
        "POST", path, {"attachments": [{"id": 0, "filename": "a.txt"}]}, [("a.txt", b"a")]
    )
    old = message["attachments"][0]["id"]
    status, edited, _ = await api.multipart(
        "PATCH",
        f"{path}/{message['id']}",
        {"content": "two", "attachments": [{"id": old}, {"id": 0, "filename": "b.txt"}]},
        [("b.txt", b"bb")],
    )
    assert status == 200 and [a["filename"] for a in edited["attachments"]] == ["a.txt", "b.txt"]
    status, cleared, _ = await api.req("PATCH", f"{path}/{message['id']}", json_body={"attachments": []})
    assert status == 200 and cleared["attachments"] == [] and cleared["content"] == "two"
    assert emu.messages[int(message["id"])].edits == 2 and emu.violations == []
