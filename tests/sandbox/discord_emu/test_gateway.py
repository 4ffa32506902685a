"""The Discord emulator's gateway: handshake, heartbeat, resume, intents and bad identifies."""

from __future__ import annotations

import aiohttp
import pytest

from sandbox.discord_emu import RunningEmulator
from tests.sandbox.discord_emu.helpers import ALICE, CHANNEL, TOKEN, Api, RawGateway


async def test_gateway_handshake_heartbeat_and_resume(running: RunningEmulator) -> None:
    emu = running.emu
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(running.gateway_url) as ws:
            gw = RawGateway(ws)
            assert (await gw.recv())["op"] == 10
            await gw.send(1, None)
            assert (await gw.recv())["op"] == 11
            ready = await gw.identify()
            assert ready["d"]["resume_gateway_url"] == running.gateway_url
            guild = await gw.dispatch("GUILD_CREATE")
            assert guild["d"]["member_count"] == len(guild["d"]["members"]) == 5
            await emu.wait_ready()
            session_id, seq = ready["d"]["session_id"], gw.seq
            emu.drop_gateway()
            closed = await ws.receive(timeout=3)
            assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 4000
        emu.post_user_message(ALICE, CHANNEL, "while you were away")
        async with session.ws_connect(running.gateway_url) as ws:
            gw = RawGateway(ws)
            await gw.recv()
            await gw.send(6, {"token": TOKEN, "session_id": session_id, "seq": seq})
            replayed = await gw.recv()
            # Replayed, and blank: the session has no MESSAGE_CONTENT intent and the bot is not mentioned.
            assert replayed["t"] == "MESSAGE_CREATE" and replayed["d"]["content"] == ""
            assert (await gw.recv())["t"] == "RESUMED"
        async with session.ws_connect(running.gateway_url) as ws:
            gw = RawGateway(ws)
            await gw.recv()
            await gw.send(6, {"token": TOKEN, "session_id": "bogus", "seq": 1})
            assert await gw.recv() == {"op": 9, "d": False}
    assert emu.violations == []


async def test_dispatches_follow_intents(running: RunningEmulator, api: Api) -> None:
    emu = running.emu
    async with aiohttp.ClientSession() as session, session.ws_connect(running.gateway_url) as ws:
        gw = RawGateway(ws)
        await gw.recv()
        await gw.identify(intents=1)  # GUILDS only: no message events at all
        await gw.dispatch("GUILD_CREATE")
        emu.post_user_message(ALICE, CHANNEL, "unseen")
        _, thread, _ = await api.req(
            "POST", f"/channels/{CHANNEL}/threads", json_body={"name": "t", "type": 11}
        )
        emu.archive_thread(int(thread["id"]))
        assert (await gw.recv())["t"] == "THREAD_CREATE"  # not the MESSAGE_CREATEs (bot's or alice's)
        assert (await gw.recv())["t"] == "THREAD_UPDATE"
    async with aiohttp.ClientSession() as session, session.ws_connect(running.gateway_url) as ws:
        gw = RawGateway(ws)
        await gw.recv()
        await gw.identify(intents=1 | 1 << 9)
        await gw.dispatch("GUILD_CREATE")
        emu.post_user_message(ALICE, CHANNEL, f"hey <@{emu.config.bot_user_id}>")
        frame = await gw.dispatch("MESSAGE_CREATE")
        assert frame["d"]["content"] == f"hey <@{emu.config.bot_user_id}>"  # mentions pass without the intent


@pytest.mark.parametrize(("token", "intents", "code"), [("wrong", 513, 4004), (TOKEN, 1 << 15, 4014)])
async def test_gateway_rejects_bad_identify(
    running: RunningEmulator, token: str, intents: int, code: int
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(running.gateway_url) as ws:
        gw = RawGateway(ws)
        await gw.recv()
        await gw.send(2, {"token": token, "intents": intents, "properties": {}})
        closed = await ws.receive(timeout=3)
        assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == code
    assert len(running.emu.violations) == 1
