"""Fixtures for the Discord emulator tests: a served emulator, a REST client and an identified gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from sandbox.discord_emu import DiscordEmulator, RunningEmulator, start_emulator
from tests.sandbox.discord_emu.helpers import APP, GUILD, PIKA_COMMANDS, Api, RawGateway


@pytest.fixture
async def running() -> AsyncIterator[RunningEmulator]:
    """A served emulator; afterwards every answer it gave must match Discord's response schemas."""
    emu = await start_emulator()
    yield emu
    await emu.close()
    assert emu.emu.response_problems() == []


@pytest.fixture
def emu(running: RunningEmulator) -> DiscordEmulator:
    return running.emu


@pytest.fixture
async def api(running: RunningEmulator) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, running)


@pytest.fixture
async def gateway(running: RunningEmulator) -> AsyncIterator[RawGateway]:
    """An identified raw gateway session: enough for the emulator to dispatch interactions."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(running.gateway_url + "?v=10&encoding=json") as ws,
    ):
        gw = RawGateway(ws)
        hello = await gw.recv()
        assert hello["op"] == 10
        await gw.identify()
        await gw.dispatch("GUILD_CREATE")
        yield gw


@pytest.fixture
async def synced(api: Api, gateway: RawGateway) -> RawGateway:
    status, _, _ = await api.req(
        "PUT", f"/applications/{APP}/guilds/{GUILD}/commands", json_body=PIKA_COMMANDS
    )
    assert status == 200
    return gateway
