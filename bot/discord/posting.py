"""What every post of the bot shares: the bot-wide pacer, nonces that make a retried post one message,
the owner's mention, and Discord's refusal as one line for logs and notices."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import discord

from bot.domain.jobs import Job

#: Sends one message into a channel: a post tried in the job's thread, then in its channel.
Poster = Callable[[discord.PartialMessageable], Awaitable[discord.Message]]


def nonce_for(job_id: int, kind: str) -> str:
    """Deterministic per post, <= 25 characters as Discord requires."""
    return f"pk{kind}{job_id}"


class Pacer:
    """At most `rate` posts per second across the bot, evenly spaced.

    Discord's global limit is 50 requests/s and discord.py only learns of it from a 429; results
    that finish together (a burst of callbacks) are spaced out here instead of collecting 429s.
    """

    def __init__(self, rate: float = 40.0) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return when the next post may go."""
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            await asyncio.sleep(delay)


def owner_mention(job: Job) -> discord.AllowedMentions:
    """The result's and notice's mention of the member: a ping unless they turned it off (/pika defaults)."""
    users = [discord.Object(job.owner_id)] if job.ping else []
    return discord.AllowedMentions(users=users, roles=False, everyone=False)


def error_text(exc: discord.HTTPException) -> str:
    """Discord's refusal in one line: status, code and message."""
    return f"HTTP {exc.status}, code {exc.code}: {exc.text or 'no message'}"
