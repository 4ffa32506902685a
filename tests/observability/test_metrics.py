"""Metrics: the exposition parses, gauges follow SQLite, counters move, and no Discord token leaks."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from aiohttp import web
from discord import app_commands
from prometheus_client.parser import text_string_to_metric_families

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.domain.prompt import PikaOptions
from bot.observability.metrics import LATENCY_BUCKETS, JobGauges, Metrics, discord_route, discord_trace_config
from bot.providers.base import (
    Account,
    ErrorKind,
    Provider,
    SubmitRequest,
    UpstreamError,
    UpstreamStatus,
    executing_lister,
)
from bot.providers.metered import MeteredProvider
from bot.providers.useapi import Timeouts, UseapiPikaProvider
from bot.store import Database, JobStore
from sandbox.discord_emu import EmuConfig, RunningEmulator, start_emulator
from sandbox.useapi_sim import DEFAULT_CHANNEL, RunningSimulator, SimConfig, start_simulator
from tests.helpers.engine import start_engine

FAMILIES = {
    "pikabot_jobs": "gauge",
    "pikabot_queue_depth": "gauge",
    "pikabot_jobs_finished": "counter",
    "pikabot_submit_to_video_seconds": "histogram",
    "pikabot_upstream_requests": "counter",
    "pikabot_upstream_errors": "counter",
    "pikabot_discord_requests": "counter",
    "pikabot_discord_rate_limited": "counter",
    "pikabot_discord_posts": "counter",
    "pikabot_callbacks": "counter",
}


async def gauges(store: JobStore) -> JobGauges:
    """What the web server reads from the store at a scrape."""
    counts = {count.state: count.count for count in await store.count_by_state()}
    return JobGauges(counts, await store.queue_depth())


def value(text: str, name: str, **labels: str) -> float:
    """The value of the one sample `name` with exactly these labels; 0 when the series is absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    db = await Database.open(tmp_path / "metrics.sqlite3")
    try:
        yield JobStore(db)
    finally:
        await db.close()


# -- exposition and counters ------------------------------------------------------------------


async def test_exposition_parses_with_every_family(store: JobStore) -> None:
    """A fresh registry renders every family with its type; known label values start at 0."""
    text = (Metrics().render(await gauges(store))).decode()
    families = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert {name: families.get(name) for name in FAMILIES} == FAMILIES
    for state in JobState:
        assert f'pikabot_jobs{{state="{state.value}"}} 0.0' in text
    assert value(text, "pikabot_jobs_finished_total", outcome="delivered") == 0
    assert value(text, "pikabot_callbacks_total", result="throttled") == 0
    assert not any(name.startswith(("python_", "process_")) for name in families)


async def test_counters_and_histogram_move(store: JobStore) -> None:
    """Each recording method moves its own series, and registries of two engines stay apart."""
    metrics, other = Metrics(), Metrics()
    metrics.job_finished("delivered")
    metrics.job_finished("delivered")
    metrics.job_finished("moderated")
    metrics.video_delivered(42.0)
    metrics.video_delivered(1000.0)
    metrics.upstream_request("useapi", "submit", "ok")
    metrics.upstream_error("useapi", "fetch", "transient")
    metrics.discord_request("POST", "/channels/{id}/messages", "429")
    metrics.discord_post("result")
    metrics.callback("accepted")
    text = (metrics.render(await gauges(store))).decode()
    assert value(text, "pikabot_jobs_finished_total", outcome="delivered") == 2
    assert value(text, "pikabot_jobs_finished_total", outcome="moderated") == 1
    assert value(text, "pikabot_submit_to_video_seconds_count") == 2
    assert value(text, "pikabot_submit_to_video_seconds_sum") == 1042.0
    assert value(text, "pikabot_submit_to_video_seconds_bucket", le="45.0") == 1
    assert value(text, "pikabot_submit_to_video_seconds_bucket", le="1200.0") == 2
    assert LATENCY_BUCKETS[0] == 5.0 and LATENCY_BUCKETS[-1] == 1800.0
    assert (
        value(text, "pikabot_upstream_requests_total", provider="useapi", operation="submit", status="ok")
        == 1
    )
    assert (
        value(text, "pikabot_upstream_errors_total", provider="useapi", operation="fetch", kind="transient")
        == 1
    )
    assert (
        value(
            text,
            "pikabot_discord_requests_total",
            method="POST",
            route="/channels/{id}/messages",
            status="429",
        )
        == 1
    )
    assert value(text, "pikabot_discord_rate_limited_total", route="/channels/{id}/messages") == 1
    assert value(text, "pikabot_discord_posts_total", kind="result") == 1
    assert value(text, "pikabot_callbacks_total", result="accepted") == 1
    untouched = (other.render(await gauges(store))).decode()
    assert value(untouched, "pikabot_jobs_finished_total", outcome="delivered") == 0


# -- gauges from SQLite -----------------------------------------------------------------------


async def test_gauges_follow_jobs_in_sqlite(tmp_path: Path) -> None:
    """pikabot_jobs and pikabot_queue_depth are read from the database at every scrape."""
    engine = await start_engine(tmp_path, max_jobs=1)
    engine.sim.sim.faults.hold_jobs = True
    metrics = Metrics()

    async def scrape() -> str:
        return (metrics.render(await gauges(engine.store))).decode()

    try:
        for n in range(3):
            request = JobRequest(JobKind.CREATE, owner_id=n + 1, origin=Origin(1, 2), prompt=f"a boat {n}")
            await engine.service.submit(request)
        # Announced (its status message still to come) and queued all the same: the work never waits.
        await engine.service.submit(
            JobRequest(JobKind.CREATE, owner_id=9, origin=Origin(1, 2), prompt="an announced one"),
            announce=True,
        )
        await engine.wait_until(lambda jobs: any(j.state is JobState.RUNNING for j in jobs), timeout=5)
        text = await scrape()
        assert value(text, "pikabot_jobs", state="running") == 1
        assert value(text, "pikabot_jobs", state="queued") == 3
        assert value(text, "pikabot_queue_depth") == 3
        assert value(text, "pikabot_jobs", state="delivered") == 0
        engine.sim.sim.faults.hold_jobs = False
        engine.sim.sim.release_all()
        await engine.wait_all_terminal(timeout=30)
        text = await scrape()
        assert value(text, "pikabot_jobs", state="delivered") == 4
        assert value(text, "pikabot_jobs", state="queued") == 0
        assert value(text, "pikabot_jobs", state="running") == 0
        assert value(text, "pikabot_queue_depth") == 0
    finally:
        await engine.stop()


# -- MeteredProvider against the useapi simulator ---------------------------------------------


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(SimConfig(job_complete_delay=0.1))
    try:
        yield running
    finally:
        await running.close()


def submit_request() -> SubmitRequest:
    account = Account(DEFAULT_CHANNEL, DEFAULT_CHANNEL, 10)
    return SubmitRequest(
        job_id=7, kind=JobKind.CREATE, prompt="a fox", options=PikaOptions(), account=account, reply_ref="7"
    )


async def test_metered_provider_counts_ok_and_errors(sim: RunningSimulator, store: JobStore) -> None:
    """ok, an HTTP status with its kind, and "none" when nothing answered; the error is the provider's own."""
    metrics = Metrics()
    inner = UseapiPikaProvider(sim.base_url, sim.sim.config.api_token, timeouts=Timeouts(submit_total=5))
    metered: Provider = MeteredProvider(inner, metrics)
    try:
        assert (metered.name, metered.display_name, metered.retries_upstream) == (
            "useapi",
            "useapi.net",
            True,
        )
        assert metered.capabilities is inner.capabilities and metered.health is inner.health
        started = await metered.submit(submit_request())
        assert started.status is UpstreamStatus.RUNNING
        await metered.fetch(started.upstream_id)
        assert (await metered.find_by_ref("7")) is not None
        with pytest.raises(UpstreamError) as missing:
            await metered.fetch("no-such-job")
        assert missing.value.kind is ErrorKind.NOT_FOUND and missing.value.status == 404
        # Re-raised as it was: the traceback still ends where the provider raised it.
        assert Path(str(missing.traceback[-1].path)).name == "useapi.py"
        # The executing list passes through the wrapper (declared capability) and is counted too.
        lister = executing_lister(metered)
        assert lister is not None
        executing = await lister.executing()
        assert started.upstream_id in executing
    finally:
        await metered.close()

    unreachable = MeteredProvider(
        UseapiPikaProvider(f"http://127.0.0.1:{closed_port()}/v1/", "token"), metrics
    )
    try:
        with pytest.raises(UpstreamError) as refused:
            await unreachable.cancel("j1")
        assert refused.value.kind is ErrorKind.TRANSIENT and refused.value.status is None
    finally:
        await unreachable.close()

    text = (metrics.render(await gauges(store))).decode()

    def requests(operation: str, status: str) -> float:
        return value(
            text, "pikabot_upstream_requests_total", provider="useapi", operation=operation, status=status
        )

    assert requests("submit", "ok") == 1
    assert requests("fetch", "ok") == 1
    assert requests("find_by_ref", "ok") == 1  # one call, however many requests it took
    assert requests("fetch", "404") == 1
    assert requests("executing", "ok") == 1
    assert requests("cancel", "none") == 1
    errors = "pikabot_upstream_errors_total"
    assert value(text, errors, provider="useapi", operation="fetch", kind="not_found") == 1
    assert value(text, errors, provider="useapi", operation="cancel", kind="transient") == 1
    assert value(text, errors, provider="useapi", operation="submit", kind="not_found") == 0


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
