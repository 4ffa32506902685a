"""A finished video's message: the MP4 attached when it fits the upload limit, else Pika's link."""

from __future__ import annotations

import asyncio
import io
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
                file=discord.File(io.BytesIO(data), filename=_upload_name(video, job.id)),
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


def _upload_name(video: VideoResult, job_id: int) -> str:
    name = video.filename if video.filename.endswith(".mp4") else f"pika-{job_id}.mp4"
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return safe[-100:]
