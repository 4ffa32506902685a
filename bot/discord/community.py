"""The community channel: announcements of videos made elsewhere, and one digest of the newest videos.

Jobs asked in the community channel already get their own thread (cogs/_launch.py starts it from the
status message), so the channel itself holds only thread starters, these announcements and the digest.
Everything here is best effort: a result that was posted is delivered, whatever happens afterwards.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import aiohttp
import discord

from bot.discord.posting import Pacer, nonce_for
from bot.domain.jobs import Job
from bot.store.job_store import JobStore
from bot.store.settings_store import SettingsStore

log = logging.getLogger(__name__)

DIGEST_SIZE = 10
DIGEST_INTERVAL = 5.0  # seconds between digest edits: a burst of results makes one edit, not ten
DIGEST_TITLE = "🎞️ Newest videos"
DIGEST_PROMPT_CHARS = 60
ANNOUNCE_PROMPT_CHARS = 200
STORED_PROMPT_CHARS = 200  # enough for any rendering above; keeps the meta row small
EMBED_DESCRIPTION_LIMIT = 4096  # Discord's limit for an embed's description
# Inline markdown is escaped; brackets would end or start a masked link; "@" gets a zero-width space
# after it so "@everyone" or "<@1>" in a prompt shows as typed instead of rendering as a mention.
_ESCAPED = str.maketrans({c: "\\" + c for c in "\\*_~|`"} | {"[": "(", "]": ")", "@": "@\u200b"})


def jump_url(guild_id: int, channel_id: int, message_id: int) -> str:
    """The link Discord's client opens at a message."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def one_line(prompt: str, limit: int) -> str:
    """The prompt on one line, clipped to `limit` characters, then markdown and mentions defused."""
    text = " ".join(prompt.split()) or "(no prompt)"
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.translate(_ESCAPED)


@dataclass(frozen=True)
class DigestEntry:
    """One finished video as the digest lists it."""

    job_id: int
    owner_id: int
    prompt: str
    url: str
    finished_at: float

    def line(self) -> str:
        """`<@1> · <t:…:R> · [a red fox…](https://discord.com/channels/…)`."""
        when = f"<t:{int(self.finished_at)}:R>"
        return f"<@{self.owner_id}> · {when} · [{one_line(self.prompt, DIGEST_PROMPT_CHARS)}]({self.url})"


def entries_to_json(entries: Sequence[DigestEntry]) -> str:
    """The digest's videos as stored in the meta table."""
    return json.dumps([asdict(entry) for entry in entries], separators=(",", ":"), ensure_ascii=False)


def entries_from_json(text: str | None) -> tuple[DigestEntry, ...]:
    """Read what entries_to_json wrote; anything unreadable counts as an empty digest."""
    if not text:
        return ()
    try:
        raw = json.loads(text)
        return tuple(
            DigestEntry(
                job_id=int(item["job_id"]),
                owner_id=int(item["owner_id"]),
                prompt=str(item["prompt"]),
                url=str(item["url"]),
                finished_at=float(item["finished_at"]),
            )
            for item in raw
        )
    except (ValueError, TypeError, KeyError):
        log.warning("the stored digest is unreadable; starting a new list")
        return ()


def with_entry(
    entries: Sequence[DigestEntry], entry: DigestEntry, size: int = DIGEST_SIZE
) -> tuple[DigestEntry, ...]:
    """The newest `size` videos, newest first, after `entry` (a re-posted job replaces its old line)."""
    others = [e for e in entries if e.job_id != entry.job_id]
    ordered = sorted([entry, *others], key=lambda e: (e.finished_at, e.job_id), reverse=True)
    return tuple(ordered[:size])


def digest_embed(entries: Sequence[DigestEntry]) -> discord.Embed:
    """The digest message: one numbered line per video, newest first, within the description limit."""
    lines = [f"`{n:>2}.` {entry.line()}" for n, entry in enumerate(entries[:DIGEST_SIZE], start=1)]
    # Each line is bounded well below 4096/10 characters; dropping the oldest is only a safety net.
    while lines and len("\n".join(lines)) > EMBED_DESCRIPTION_LIMIT:
        lines.pop()
    embed = discord.Embed(
        title=DIGEST_TITLE,
        description="\n".join(lines) or "No videos yet.",
        colour=0x2ECC71,
    )
    embed.set_footer(text="Newest first · each link opens the video in its thread")
    return embed


def announcement_text(job: Job, url: str) -> str:
    """`🎬 <@1>'s video is ready: <link>` and the prompt quoted below, clipped."""
    return f"🎬 <@{job.owner_id}>'s video is ready: {url}\n> {one_line(job.prompt, ANNOUNCE_PROMPT_CHARS)}"


@dataclass(frozen=True)
class DigestMessage:
    """Where a guild's digest message is (so it is edited, never posted twice)."""

    channel_id: int
    message_id: int

    def to_json(self) -> str:
        """As stored in the meta table."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> DigestMessage | None:
        """Read what to_json wrote; None when absent or unreadable."""
        if not text:
            return None
        try:
            raw = json.loads(text)
            return cls(channel_id=int(raw["channel_id"]), message_id=int(raw["message_id"]))
        except (ValueError, TypeError, KeyError):
            return None


@dataclass
class _DigestSlot:
    last_push: float = -math.inf
    dirty: bool = False
    task: asyncio.Task[None] | None = None


class CommunityBoard:
    """Announces finished videos in the community channel and keeps its digest message current."""

    def __init__(
        self,
        client: discord.Client,
        settings: SettingsStore,
        store: JobStore,
        pacer: Pacer,
        *,
        interval: float = DIGEST_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.settings = settings
        self.store = store
        self.pacer = pacer
        self.interval = interval
        self.clock = clock
        self._slots: dict[int, _DigestSlot] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def video_posted(self, job: Job, message_id: int) -> None:
        """A result was posted (in the job's thread, else its channel): announce it, update the digest."""
        guild_id = job.origin.guild_id
        if guild_id is None:
            return
        try:
            settings = await self.settings.get(guild_id)
            community = settings.community_channel_id
            if community is None:
                return
            url = jump_url(guild_id, job.origin.thread_id or job.origin.channel_id, message_id)
            # A job asked in the community channel already has its thread there: no second post.
            if settings.announce_results and job.origin.channel_id != community:
                await self._announce(job, community, url)
            await self._remember(guild_id, job, url)
            self._schedule(guild_id)
        except Exception:
            log.exception("job %s: community channel update failed", job.id)

    async def _announce(self, job: Job, channel_id: int, url: str) -> None:
        channel = self.client.get_partial_messageable(channel_id, guild_id=job.origin.guild_id)
        await self.pacer.wait()
        try:
            # No ping: the requester was already mentioned with the video itself. The nonce keeps a
            # delivery retried after a crash from announcing twice.
            await channel.send(
                announcement_text(job, url),
                allowed_mentions=discord.AllowedMentions.none(),
                nonce=nonce_for(job.id, "a"),
            )
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("job %s: could not announce in %s: %s", job.id, channel_id, exc)

    async def _remember(self, guild_id: int, job: Job, url: str) -> None:
        entry = DigestEntry(
            job_id=job.id,
            owner_id=job.owner_id,
            prompt=job.prompt[:STORED_PROMPT_CHARS],
            url=url,
            finished_at=self.clock(),
        )
        # Results of one guild can finish together, in this process (the lock) or in another one
        # sharing the database (the compare-and-set: read again and retry when someone else wrote).
        async with self._locks.setdefault(guild_id, asyncio.Lock()):
            key = _videos_key(guild_id)
            for _ in range(_REMEMBER_TRIES):
                stored = await self.store.get_meta(key)
                updated = entries_to_json(with_entry(entries_from_json(stored), entry))
                if await self.store.replace_meta(key, stored, updated):
                    return
            log.warning("guild %s: job %s left out of the digest (the list kept changing)", guild_id, job.id)

    def _schedule(self, guild_id: int) -> None:
        """Mark the digest stale; at most one push per `interval` per guild (the latest list wins)."""
        slot = self._slots.setdefault(guild_id, _DigestSlot())
        slot.dirty = True
        if slot.task is not None and not slot.task.done():
            return
        slot.task = asyncio.create_task(self._flush(guild_id, slot))

    async def _flush(self, guild_id: int, slot: _DigestSlot) -> None:
        # Loop rather than return: results that arrive during a push are shown by the next one.
        while slot.dirty:
            wait = slot.last_push + self.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if self.client.is_closed():
                return
            slot.dirty = False
            slot.last_push = time.monotonic()
            try:
                await self.push_digest(guild_id)
            except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("guild %s: could not update the digest: %s", guild_id, exc)
            except Exception:
                log.exception("guild %s: digest update failed", guild_id)

    async def push_digest(self, guild_id: int) -> int | None:
        """Edit the guild's digest message to the stored list (posting it first if needed); its id."""
        community = (await self.settings.get(guild_id)).community_channel_id
        if community is None:
            return None
        embed = digest_embed(entries_from_json(await self.store.get_meta(_videos_key(guild_id))))
        channel = self.client.get_partial_messageable(community, guild_id=guild_id)
        stored = await self.store.get_meta(_message_key(guild_id))
        known = DigestMessage.from_json(stored)
        # After the admin moved the community channel, the old digest stays where it is, unedited.
        if known is not None and known.channel_id == community:
            await self.pacer.wait()
            try:
                await channel.get_partial_message(known.message_id).edit(embed=embed)
                return known.message_id
            except discord.NotFound:
                log.info("guild %s: the digest message was deleted; posting a new one", guild_id)
        await self.pacer.wait()
        message = await channel.send(embed=embed, allowed_mentions=discord.AllowedMentions.none())
        if not await self.store.replace_meta(
            _message_key(guild_id), stored, DigestMessage(community, message.id).to_json()
        ):
            # Another process posted the new digest at the same moment: keep theirs, drop ours.
            await self.pacer.wait()
            await message.delete()
            theirs = DigestMessage.from_json(await self.store.get_meta(_message_key(guild_id)))
            return theirs.message_id if theirs is not None else None
        return message.id


_REMEMBER_TRIES = 20  # compare-and-set attempts before one entry is given up (never seen past 2)


def _message_key(guild_id: int) -> str:
    return f"digest:{guild_id}"


def _videos_key(guild_id: int) -> str:
    return f"digest-videos:{guild_id}"


__all__ = [
    "DIGEST_SIZE",
    "DIGEST_TITLE",
    "CommunityBoard",
    "DigestEntry",
    "DigestMessage",
    "announcement_text",
    "digest_embed",
    "entries_from_json",
    "entries_to_json",
    "jump_url",
    "one_line",
    "with_entry",
]
