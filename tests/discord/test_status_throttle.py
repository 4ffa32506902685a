"""Status edits are coalesced: at most one per interval per job, and the latest state wins."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Any, cast

import discord

from bot.discord.delivery import DiscordDelivery
from bot.domain.jobs import JobState
from tests.discord.test_render import job


@dataclass
class RecordedEdits:
    """A stand-in for the slice of discord.Client that status edits use: partial channel -> message.edit."""

    edits: list[tuple[float, int, str]] = field(default_factory=list)

    def get_partial_messageable(self, channel_id: int, **_: Any) -> RecordedEdits:
        self.channel_id = channel_id
        return self

    def get_partial_message(self, message_id: int) -> _Message:
        return _Message(self, message_id)


@dataclass
class _Message:
    owner: RecordedEdits
    message_id: int

    async def edit(self, *, embed: discord.Embed) -> None:
        state = next(f.value for f in embed.fields if f.name == "State")
        self.owner.edits.append((time.monotonic(), self.message_id, str(state)))


async def test_bursts_of_changes_become_few_edits() -> None:
    """Ten changes within 50 ms: one edit at once, one more after the interval with the last state."""
    client = RecordedEdits()
    delivery = DiscordDelivery(cast(discord.Client, client), status_interval=0.3)
    base = job(status_message_id=77, state=JobState.RUNNING)
    for n in range(10):
        await delivery.job_changed(replace(base, progress=f"Pika: {n * 10}%"), None)
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.5)
    assert len(client.edits) == 2
    (first_at, _, first), (second_at, _, second) = client.edits
    assert first == "🎨 generating — Pika: 0%"
    assert second == "🎨 generating — Pika: 90%"
    assert second_at - first_at >= 0.29


async def test_no_status_message_means_no_edit() -> None:
    """A job whose status message was never posted is not edited."""
    client = RecordedEdits()
    delivery = DiscordDelivery(cast(discord.Client, client), status_interval=0.1)
    await delivery.job_changed(job(status_message_id=None), 1)
    await asyncio.sleep(0.05)
    assert client.edits == []


async def test_the_final_edit_keeps_the_pace_and_nothing_follows_it() -> None:
    """The last edit (delivered) waits out the interval after the previous edit; later changes are ignored."""
    client = RecordedEdits()
    delivery = DiscordDelivery(cast(discord.Client, client), status_interval=0.3)
    base = job(status_message_id=77, state=JobState.RUNNING)
    await delivery.job_changed(base, None)
    await asyncio.sleep(0.01)
    await delivery._final_status(base, JobState.DELIVERED)
    await delivery.job_changed(replace(base, progress="late"), None)
    await asyncio.sleep(0.5)
    assert len(client.edits) == 2
    (first_at, _, _), (final_at, _, final) = client.edits
    assert final_at - first_at >= 0.29 and "late" not in final
    assert delivery._status == {}
