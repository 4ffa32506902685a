"""The Discord emulator's control API and command line."""

from __future__ import annotations

import json
import subprocess
import sys

import aiohttp

from sandbox.discord_emu import RunningEmulator
from tests.sandbox.discord_emu.helpers import ALICE, Api, RawGateway


async def test_control_api(running: RunningEmulator, api: Api, synced: RawGateway) -> None:
    base = running.control_url
    async with aiohttp.ClientSession() as session:
        async with session.post(
            base + "/slash",
            json={"user_id": ALICE, "command": "pika", "subcommand": "gen", "options": {"prompt": "p"}},
        ) as resp:
            assert resp.status == 200
            inter = await resp.json()
        frame = await synced.dispatch("INTERACTION_CREATE")
        assert frame["d"]["id"] == inter["id"]
        async with session.post(base + "/faults", json={"rate_limit_next": 2}) as resp:
            assert (await resp.json())["rate_limit_next"] == 2
        async with session.post(base + "/clock", json={"advance": 60}) as resp:
            assert (await resp.json())["clock_offset"] == 60
        async with session.get(base + "/calls") as resp:
            calls = await resp.json()
            assert calls[-1]["route"] == "bulk_set_guild_commands"
        async with session.get(base + "/violations") as resp:
            assert await resp.json() == []
        async with session.post(base + "/slash", json={"user_id": ALICE, "command": "nope"}) as resp:
            assert resp.status == 400


def test_cli_prints_its_urls() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.discord_emu", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        urls = json.loads(proc.stdout.readline())
        assert urls["api_base_url"].startswith("http://127.0.0.1:") and urls["api_base_url"].endswith(
            "/api/v10"
        )
        assert urls["gateway_url"].startswith("ws://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
