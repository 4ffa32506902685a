"""Discord request metrics: route templates, the trace config, and discord.py itself, without tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from aiohttp import web
from discord import app_commands
from prometheus_client.parser import text_string_to_metric_families

from bot.observability.metrics import Metrics, discord_route, discord_trace_config
from bot.store import JobStore
from sandbox.discord_emu import EmuConfig, RunningEmulator, start_emulator
from tests.helpers.metrics import closed_port, gauges, store, value

__all__ = ["store"]  # fixtures shared from the helpers module


# -- Discord routes and the trace config ------------------------------------------------------

INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTpBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWg"
WEBHOOK_TOKEN = "Qw3rTy-uIoP_aSdFgHjKl"


@pytest.mark.parametrize(
    ("url", "route"),
    [
        ("https://discord.com/api/v10/channels/123/messages?limit=50", "/channels/{id}/messages"),
        (
            f"https://discord.com/api/v10/interactions/1234/{INTERACTION_TOKEN}/callback?with_response=true",
            "/interactions/{id}/{token}/callback",
        ),
        (
            f"https://discord.com/api/v10/webhooks/99/{INTERACTION_TOKEN}/messages/@original",
            "/webhooks/{id}/{token}/messages/@original",
        ),
        (f"https://discord.com/api/v10/webhooks/99/{WEBHOOK_TOKEN}", "/webhooks/{id}/{token}"),
        ("https://discord.com/api/v10/webhooks/99/abc?wait=true", "/webhooks/{id}/{token}"),
        (
            "https://discord.com/api/v9/applications/5/guilds/6/commands",
            "/applications/{id}/guilds/{id}/commands",
        ),
        (
            "https://discord.com/api/v10/channels/1/messages/2/reactions/%F0%9F%91%8D/@me",
            "/channels/{id}/messages/{id}/reactions/{param}/@me",
        ),
        (
            "https://discord.com/api/v10/channels/1/messages/bulk-delete",
            "/channels/{id}/messages/bulk-delete",
        ),
        ("https://discord.com/api/v10/invites/AbCdEf", "/invites/{param}"),
        (
            "https://cdn.discordapp.com/attachments/1/2/My%20Cat.png?ex=1&hm=2",
            "/attachments/{id}/{id}/{param}",
        ),
        ("https://discord.com/api/v10/users/@me", "/users/@me"),
        ("https://discord.com/api/v10", "/"),
        ("wss://gateway.discord.gg/?v=10&encoding=json", "/"),
    ],
)
def test_discord_route_templates(url: str, route: str) -> None:
    """Ids become {id}, tokens {token}, anything else unknown {param}; the query is dropped."""
    assert discord_route(url) == route
    assert discord_route(yarl.URL(url)) == route


def test_discord_route_never_keeps_a_token() -> None:
    """Whatever shape a token has, in a webhook or interaction path it is replaced."""
    for token in (INTERACTION_TOKEN, WEBHOOK_TOKEN, "abc", "lowercase-only", "1", "@me", "a.b.c"):
        for path in (
            f"/api/v10/webhooks/42/{token}",
            f"/api/v10/webhooks/42/{token}/messages/@original",
            f"/api/v10/webhooks/42/{token}/messages/77",
            f"/api/v10/interactions/42/{token}/callback",
        ):
            route = discord_route("https://discord.com" + path)
            assert route.split("/")[3] in ("{token}", "{id}"), route


async def test_trace_config_counts_real_requests(store: JobStore) -> None:
    """A session with the trace config counts answers, 429s and failures, with tokens left out."""
    seen: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.path)
        if request.path.endswith("/messages"):
            return web.json_response(
                {"message": "You are being rate limited.", "retry_after": 0.1}, status=429
            )
        return web.Response(status=204)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    metrics = Metrics()
    base = f"http://127.0.0.1:{port}/api/v10"
    try:
        async with aiohttp.ClientSession(trace_configs=[discord_trace_config(metrics)]) as session:
            async with session.post(f"{base}/interactions/123/{INTERACTION_TOKEN}/callback") as response:
                assert response.status == 204
            async with session.patch(f"{base}/webhooks/9/{INTERACTION_TOKEN}/messages/@original") as response:
                assert response.status == 204
            async with session.post(f"{base}/channels/555/messages") as response:
                assert response.status == 429
            with pytest.raises(aiohttp.ClientConnectionError):
                async with session.get(f"http://127.0.0.1:{closed_port()}/api/v10/gateway/bot"):
                    pass
    finally:
        await runner.cleanup()
    assert len(seen) == 3
    text = (metrics.render(await gauges(store))).decode()
    assert INTERACTION_TOKEN not in text
    requests = "pikabot_discord_requests_total"
    callback = "/interactions/{id}/{token}/callback"
    assert value(text, requests, method="POST", route=callback, status="204") == 1
    original = "/webhooks/{id}/{token}/messages/@original"
    assert value(text, requests, method="PATCH", route=original, status="204") == 1
    assert value(text, requests, method="POST", route="/channels/{id}/messages", status="429") == 1
    assert value(text, "pikabot_discord_rate_limited_total", route="/channels/{id}/messages") == 1
    assert value(text, requests, method="GET", route="/gateway/bot", status="error") == 1


# -- discord.py itself, with http_trace, against the Discord emulator -------------------------


class EchoClient(discord.Client):
    """A tiny real discord.py client: one slash command answering, following up and posting."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(intents=discord.Intents.none(), http_trace=discord_trace_config(metrics))
        self.tree = app_commands.CommandTree(self)
        self.errors: list[BaseException] = []

        @self.tree.command(name="echo", description="Say it back")
        async def echo(interaction: discord.Interaction[Any], text: str) -> None:
            await interaction.response.send_message(text)
            await interaction.followup.send(f"again: {text}")
            channel = self.get_partial_messageable(interaction.channel_id or 0)
            await channel.send(f"posted: {text}")

        @self.tree.error
        async def on_error(
            interaction: discord.Interaction[Any], error: app_commands.AppCommandError
        ) -> None:
            self.errors.append(error)

    async def setup_hook(self) -> None:
        guild = discord.Object(EmuConfig.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    running = await start_emulator()
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
def discord_pointed_at(emulator: RunningEmulator) -> Iterator[None]:
    """Point discord.py's process-wide REST base and gateway at the emulator, then restore them."""
    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = emulator.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emulator.gateway_url)
    yield
    discord.http.Route.BASE = old_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


async def test_discordpy_requests_are_counted_without_tokens(
    emulator: RunningEmulator, discord_pointed_at: None, store: JobStore
) -> None:
    """discord.Client(http_trace=...) counts its REST calls, a 429 it retried, and leaks no token."""
    emu = emulator.emu
    metrics = Metrics()
    client = EchoClient(metrics)
    task = asyncio.create_task(client.start(EmuConfig.bot_token))
    try:
        await emu.wait_ready(timeout=10)
        await asyncio.wait_for(client.wait_until_ready(), 10)
        emu.faults.rate_limit_next = 1  # the channel post gets one 429; discord.py waits and retries
        inter = await emu.slash(101, EmuConfig.text_channel_id, "echo", options={"text": "hello"})
        await emu.wait_acked(inter)
        await emu.wait_for_message(lambda m: m.content == "posted: hello")
    finally:
        await client.close()
        await asyncio.wait_for(task, 10)
    assert client.errors == []
    text = (metrics.render(await gauges(store))).decode()
    assert inter.token not in text and EmuConfig.bot_token not in text
    requests = "pikabot_discord_requests_total"
    callback = "/interactions/{id}/{token}/callback"
    assert (
        value(text, requests, method="POST", route=callback, status="204")
        + value(text, requests, method="POST", route=callback, status="200")
        == 1
    )
    followup = [
        s
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == requests and s.labels["route"] == "/webhooks/{id}/{token}"
    ]
    assert [(s.labels["method"], s.labels["status"], s.value) for s in followup] == [("POST", "200", 1.0)]
    posts = "/channels/{id}/messages"
    assert value(text, requests, method="POST", route=posts, status="429") == 1
    assert value(text, requests, method="POST", route=posts, status="200") == 1
    assert value(text, "pikabot_discord_rate_limited_total", route=posts) == 1
