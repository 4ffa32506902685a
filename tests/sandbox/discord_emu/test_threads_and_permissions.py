"""The Discord emulator's threads, channels and permission denials."""

from __future__ import annotations

import pytest

from sandbox.discord_emu import DiscordEmulator
from tests.sandbox.discord_emu.helpers import ALICE, CHANNEL, Api, RawGateway


async def test_thread_creation_and_validation(api: Api, emu: DiscordEmulator, gateway: RawGateway) -> None:
    status, thread, _ = await api.req(
        "POST",
        f"/channels/{CHANNEL}/threads",
        json_body={"name": "job 1", "type": 11, "auto_archive_duration": 60},
    )
    assert status == 201 and thread["type"] == 11 and thread["parent_id"] == str(CHANNEL)
    created = await gateway.dispatch("THREAD_CREATE")
    assert created["d"]["newly_created"] is True and created["d"]["id"] == thread["id"]
    status, private, _ = await api.req("POST", f"/channels/{CHANNEL}/threads", json_body={"name": "p"})
    assert status == 201 and private["type"] == 12  # Discord's default
    assert emu.violations == []
    status, body, _ = await api.req(
        "POST", f"/channels/{CHANNEL}/threads", json_body={"name": "n" * 101, "type": 11}
    )
    assert status == 400 and body["code"] == 50035
    status, body, _ = await api.req(
        "POST",
        f"/channels/{CHANNEL}/threads",
        json_body={"name": "ok", "type": 11, "auto_archive_duration": 30},
    )
    assert status == 400 and body["code"] == 50035
    assert len(emu.violations) == 2


async def test_thread_from_message_shares_its_id(api: Api, emu: DiscordEmulator) -> None:
    _, message, _ = await api.send(CHANNEL, content="starter")
    status, thread, _ = await api.req(
        "POST", f"/channels/{CHANNEL}/messages/{message['id']}/threads", json_body={"name": "from message"}
    )
    assert status == 201 and thread["id"] == message["id"] and thread["type"] == 11
    status, body, _ = await api.req(
        "POST", f"/channels/{CHANNEL}/messages/{message['id']}/threads", json_body={"name": "again"}
    )
    assert status == 400 and body["code"] == 160004


async def test_posting_unarchives_unless_locked(api: Api, emu: DiscordEmulator) -> None:
    _, thread, _ = await api.req("POST", f"/channels/{CHANNEL}/threads", json_body={"name": "t", "type": 11})
    tid = int(thread["id"])
    emu.archive_thread(tid)
    status, _, _ = await api.send(tid, content="wake up")
    assert status == 200 and not emu.channels[tid].archived
    emu.archive_thread(tid, locked=True)
    status, body, _ = await api.send(tid, content="locked")
    assert (status, body["code"]) == (400, 50083) and emu.channels[tid].archived
    status, body, _ = await api.req("PATCH", f"/channels/{tid}", json_body={"name": "rename"})
    assert (status, body["code"]) == (400, 50083)
    status, body, _ = await api.req(
        "PATCH", f"/channels/{tid}", json_body={"archived": False, "locked": False}
    )
    assert status == 200 and body["thread_metadata"]["archived"] is False
    assert emu.violations == []


async def test_threads_auto_archive_on_the_emulated_clock(api: Api, emu: DiscordEmulator) -> None:
    _, thread, _ = await api.req(
        "POST",
        f"/channels/{CHANNEL}/threads",
        json_body={"name": "t", "type": 11, "auto_archive_duration": 60},
    )
    emu.clock_offset += 61 * 60
    _, fetched, _ = await api.req("GET", f"/channels/{thread['id']}")
    assert fetched["thread_metadata"]["archived"] is True


async def test_deleted_thread_is_unknown_channel(api: Api, emu: DiscordEmulator) -> None:
    _, thread, _ = await api.req("POST", f"/channels/{CHANNEL}/threads", json_body={"name": "t", "type": 11})
    emu.delete_channel(int(thread["id"]))
    status, body, _ = await api.send(int(thread["id"]), content="gone?")
    assert (status, body["code"]) == (404, 10003)


@pytest.mark.parametrize(
    ("denied", "where"),
    [
        ("SEND_MESSAGES", "channel"),
        ("SEND_MESSAGES_IN_THREADS", "thread"),
        ("ATTACH_FILES", "file"),
        ("CREATE_PUBLIC_THREADS", "create"),
    ],
)
async def test_permission_denials_are_403(api: Api, emu: DiscordEmulator, denied: str, where: str) -> None:
    _, thread, _ = await api.req("POST", f"/channels/{CHANNEL}/threads", json_body={"name": "t", "type": 11})
    emu.deny(CHANNEL, denied)
    if where == "channel":
        status, body, _ = await api.send(CHANNEL, content="x")
    elif where == "thread":
        status, body, _ = await api.send(int(thread["id"]), content="x")
    elif where == "file":
        status, body, _ = await api.multipart(
            "POST", f"/channels/{thread['id']}/messages", {"attachments": [{"id": 0}]}, [("a.bin", b"1")]
        )
    else:
        status, body, _ = await api.req(
            "POST", f"/channels/{CHANNEL}/threads", json_body={"name": "u", "type": 11}
        )
    assert (status, body) == (403, {"message": "Missing Permissions", "code": 50013})
    assert emu.violations == []  # an injected denial is the test's doing, not the bot's


async def test_denial_shows_in_app_permissions(emu: DiscordEmulator, synced: RawGateway) -> None:
    emu.deny(CHANNEL, "ATTACH_FILES")
    inter = await emu.slash(ALICE, CHANNEL, "pika", "gen", {"prompt": "p"})
    perms = int(inter.payload["app_permissions"])
    assert not perms & (1 << 15) and perms & (1 << 11)
    frame = await synced.dispatch("INTERACTION_CREATE")
    assert frame["d"]["app_permissions"] == str(perms)


async def test_history_and_edits(api: Api, emu: DiscordEmulator) -> None:
    ids = [(await api.send(CHANNEL, content=f"m{i}"))[1]["id"] for i in range(3)]
    status, history, _ = await api.req("GET", f"/channels/{CHANNEL}/messages", params={"limit": "2"})
    assert status == 200 and [m["id"] for m in history] == ids[:0:-1]
    status, edited, _ = await api.req(
        "PATCH", f"/channels/{CHANNEL}/messages/{ids[0]}", json_body={"content": "e"}
    )
    assert status == 200 and edited["content"] == "e" and edited["edited_timestamp"]
    user_message = emu.post_user_message(ALICE, CHANNEL, "mine")
    status, body, _ = await api.req(
        "PATCH", f"/channels/{CHANNEL}/messages/{user_message.id}", json_body={"content": "x"}
    )
    assert (status, body["code"]) == (403, 50005) and len(emu.violations) == 1
    status, _, _ = await api.req("DELETE", f"/channels/{CHANNEL}/messages/{ids[1]}")
    assert status == 204 and emu.messages[int(ids[1])].deleted
