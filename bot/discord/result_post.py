"""A finished video's message: the MP4 attached when it fits the upload limit, else Pika's link."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import discord

from bot.discord.components import job_view
from bot.discord.posting import Poster, nonce_for, owner_mention
from bot.discord.render import result_embed, size_text
from bot.domain.jobs import Job, VideoResult
from bot.providers.registry import capabilities_of

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's default per-file limit for bots since 2025-01


async def result_poster(job: Job, video: VideoResult) -> Poster:
    """The result's post: its embed, Retry and the follow-ups, mentioning the owner (bytes read here)."""
    limit = job.origin.upload_limit if job.origin.upload_limit is not None else DEFAULT_UPLOAD_LIMIT
    embed = result_embed(job, video.seed)
    follow_ups = capabilities_of(job.provider).follow_ups
    mention = owner_mention(job)
    if video.size <= limit:
        data = await asyncio.to_thread(Path(video.path).read_bytes)
        content = f"<@{job.owner_id}> your video is ready ({size_text(video.size)})."

        async def post(channel: discord.PartialMessageable) -> discord.Message:
            return await channel.send(
                content,
                embed=embed,
                file=discord.File(io.BytesIO(data), filename=upload_name(job)),
                view=job_view(
                    job.id, follow_ups=follow_ups, deletable=True, remixable=not job.kind.follow_up
                ),
                allowed_mentions=mention,
                nonce=nonce_for(job.id, "r"),
            )

    else:
        why = (
            "I may not attach files in this channel"
            if limit == 0
            else f"it is {size_text(video.size)}, over this server's {size_text(limit)} upload limit"
        )
        content = (
            f"<@{job.owner_id}> your video is ready, but {why}, so here is Pika's link instead "
            "(it expires within a day)."
        )

        async def post(channel: discord.PartialMessageable) -> discord.Message:
            return await channel.send(
                content,
                embed=embed,
                view=job_view(
                    job.id,
                    video.source_url,
                    follow_ups,
                    deletable=True,
                    remixable=not job.kind.follow_up,
                ),
                allowed_mentions=mention,
                nonce=nonce_for(job.id, "r"),
            )

    return post


def upload_name(job: Job) -> str:
    """The posted file's name, the same on every provider: ``pika_<job>_<prompt words>.mp4`` (fal.ai
    calls every video ``output.mp4``; a folder of downloads should say which is which)."""
    words = _WORD.findall(_FLAG.split(job.prompt, maxsplit=1)[0].lower())
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > _SLUG_MAX:
            break
        slug = f"{slug}_{word}" if slug else word
    return f"pika_{job.id}_{slug}.mp4" if slug else f"pika_{job.id}.mp4"


# Prompt flags (" -ar 16:9") end the words a name is made of; only ASCII letters and digits make it
# into a name every file system and browser keeps as it is.
_FLAG = re.compile(r"(?:^|\s)-{1,2}[a-z]", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_SLUG_MAX = 60
