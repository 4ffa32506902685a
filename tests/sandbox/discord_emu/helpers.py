"""Shared helpers for the Discord emulator tests: its ids, a raw REST client, a raw gateway client."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from sandbox.discord_emu import EmuConfig, EmuInteraction, RunningEmulator

TOKEN = EmuConfig.bot_token
CHANNEL = EmuConfig.text_channel_id
COMMUNITY = EmuConfig.community_channel_id
GUILD = EmuConfig.guild_id
APP = EmuConfig.application_id
ALICE, BOB, MOD = 101, 102, 104
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

PIKA_COMMANDS: list[dict[str, Any]] = [
    {
        "name": "pika",
        "description": "Pika video",
        "type": 1,
        "options": [
            {
                "type": 1,
                "name": "gen",
                "description": "Generate",
                "options": [
                    {"type": 3, "name": "prompt", "description": "What to make", "required": True},
                    {"type": 11, "name": "image", "description": "Start frame"},
                    {"type": 4, "name": "seed", "description": "Seed"},
                ],
            }
        ],
    }
]


class Api:
    """Raw REST calls with the bot token, returning (status, parsed JSON or None, headers)."""

    def __init__(self, session: aiohttp.ClientSession, running: RunningEmulator) -> None:
        self.session = session
        self.base = running.api_base_url

    async def req(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        token: str | None = TOKEN,
        params: dict[str, str] | None = None,
        data: Any = None,
    ) -> tuple[int, Any, CIMultiDictProxy[str]]:
        headers = {"Authorization": f"Bot {token}"} if token is not None else {}
        kwargs: dict[str, Any] = {"headers": headers, "params": params}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        elif data is not None:
            kwargs["data"] = data
        async with self.session.request(method, self.base + path, **kwargs) as resp:
            raw = await resp.read()
            if resp.headers.get("Content-Type") == "application/json":
                return resp.status, json.loads(raw), resp.headers
            return resp.status, None, resp.headers

    async def multipart(
        self,
        method: str,
        path: str,
        payload: dict[str, Any],
        files: list[tuple[str, bytes]],
        *,
        token: str | None = TOKEN,
    ) -> tuple[int, Any, CIMultiDictProxy[str]]:
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("payload_json", json.dumps(payload), content_type="application/json")
        for i, (filename, blob) in enumerate(files):
            form.add_field(f"files[{i}]", blob, filename=filename, content_type="application/octet-stream")
        return await self.req(method, path, data=form, token=token)

    async def send(self, channel_id: int, **body: Any) -> tuple[int, Any, CIMultiDictProxy[str]]:
        return await self.req("POST", f"/channels/{channel_id}/messages", json_body=body)


class RawGateway:
    """A bare websocket client speaking just enough gateway protocol to stand in for a bot."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seq: int | None = None

    async def recv(self, timeout: float = 3.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        frame: dict[str, Any] = json.loads(msg.data)
        if frame.get("s") is not None:
            self.seq = frame["s"]
        return frame

    async def dispatch(self, event: str, timeout: float = 3.0) -> dict[str, Any]:
        while True:
            frame = await self.recv(timeout)
            if frame.get("t") == event:
                return frame

    async def send(self, op: int, d: Any) -> None:
        await self.ws.send_str(json.dumps({"op": op, "d": d}))

    async def identify(self, token: str = TOKEN, intents: int = 513) -> dict[str, Any]:
        await self.send(2, {"token": token, "intents": intents, "properties": {"os": "linux"}})
        return await self.dispatch("READY")


async def ack(
    api: Api, inter: EmuInteraction, body: dict[str, Any]
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    path = f"/interactions/{inter.id}/{inter.token}/callback"
    return await api.req("POST", path, json_body=body, token=None, params={"with_response": "1"})


BUTTON = {"type": 2, "style": 1, "label": "ok", "custom_id": "b"}


def _row(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(buttons)}


def _button(custom_id: str, label: str = "ok") -> dict[str, Any]:
    return {**BUTTON, "custom_id": custom_id, "label": label}
