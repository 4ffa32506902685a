"""The Discord emulator's nonce deduplication and its per-route and global rate limits."""

from __future__ import annotations

import aiohttp

from sandbox.discord_emu import DiscordEmulator, RunningEmulator
from tests.sandbox.discord_emu.helpers import CHANNEL, COMMUNITY, Api


async def test_enforce_nonce_returns_the_existing_message(api: Api, emu: DiscordEmulator) -> None:
    _, first, _ = await api.send(CHANNEL, content="a", nonce="job-1", enforce_nonce=True)
    _, again, _ = await api.send(CHANNEL, content="a", nonce="job-1", enforce_nonce=True)
    assert again["id"] == first["id"] and len(emu.thread_messages(CHANNEL)) == 1
    _, loose, _ = await api.send(CHANNEL, content="a", nonce="job-1")
    assert loose["id"] != first["id"]
    emu.clock_offset += emu.config.nonce_window + 1
    _, later, _ = await api.send(CHANNEL, content="a", nonce="job-1", enforce_nonce=True)
    assert later["id"] != first["id"] and len(emu.thread_messages(CHANNEL)) == 3


async def test_channel_bucket_answers_429_with_retry_after(api: Api, emu: DiscordEmulator) -> None:
    remaining = []
    for i in range(5):
        status, _, headers = await api.send(CHANNEL, content=str(i))
        assert status == 200
        remaining.append(headers["X-RateLimit-Remaining"])
    assert remaining == ["4", "3", "2", "1", "0"]
    status, body, headers = await api.send(CHANNEL, content="too many")
    assert status == 429 and body["global"] is False and 0 < body["retry_after"] <= 5
    assert headers["Via"] == "1.1 google" and headers["X-RateLimit-Scope"] == "user"
    assert {
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Reset",
        "X-RateLimit-Reset-After",
        "X-RateLimit-Bucket",
    } <= set(headers)
    status, _, _ = await api.send(COMMUNITY, content="other channel, other bucket")
    assert status == 200
    emu.clock_offset += 5
    assert (await api.send(CHANNEL, content="later"))[0] == 200
    assert len(emu.rate_limit_hits) == 1 and emu.violations == []


async def test_global_limit(running: RunningEmulator) -> None:
    running.emu.config.global_rate = 3
    async with aiohttp.ClientSession() as session:
        api = Api(session, running)
        statuses = [(await api.req("GET", "/users/@me"))[0] for _ in range(4)]
        _, body, headers = await api.req("GET", "/users/@me")
    assert statuses == [200, 200, 200, 429]
    assert body["global"] is True and headers["X-RateLimit-Global"] == "true" and headers["Via"]
