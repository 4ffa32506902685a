"""The persistent buttons' callbacks: Retry, Remix, Extend +4s / Upscale and Delete under a job.

What each button looks like and its custom id template are in bot/discord/components.py; the state
comes from SQLite, so a click works after a restart. Errors are answered by bot/discord/errors.py,
like a slash command's.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.discord.components import DELETE, FOLLOW_UP_TEMPLATE, FOLLOW_UPS, REMIX, RETRY
from bot.discord.errors import UserFacingError, answering
from bot.domain.jobs import Job, JobKind
from bot.domain.limits import MemberLimits
from bot.engine.service import JobNotFound
from cogs._guards import check_banned, guard, is_moderator, limits_of_member
from cogs._launch import Placement, announce
from cogs._member import delete_result
from cogs._remix import remix_clicked

if TYPE_CHECKING:
    from bot.discord.app import PikaBot


class RetryButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=RETRY.template):
    """Retry under a result or a notice: a new job with the same request, in the same thread."""

    def __init__(self, job_id: int) -> None:
        super().__init__(RETRY.button(job_id))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RetryButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Owner or moderator: start a new job (same thread). Anyone else: an ephemeral refusal."""
        await answering(interaction, retry_clicked(interaction, self.job_id))


async def retry_clicked(interaction: discord.Interaction[PikaBot], job_id: int) -> None:
    """Handle a Retry click."""
    service = interaction.client.runtime.service
    user = interaction.user.id
    await start_from_job(
        interaction,
        job_id,
        "retry",
        lambda limits: service.retry(job_id, user, announce=True, limits=limits),
        " Start your own with /pika create.",
    )


async def start_from_job(
    interaction: discord.Interaction[PikaBot],
    job_id: int,
    verb: str,
    start: Callable[[MemberLimits | None], Awaitable[Job]],
    refusal_hint: str = "",
) -> None:
    """A button under a job (Retry, Extend, Upscale): owner or moderator, the server's rules as they
    are now (channel, role, words banned since the first run), then a new job in the same thread."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    parent = await interaction.client.runtime.service.store.get(job_id)
    if parent is None:
        raise JobNotFound(job_id)
    if parent.owner_id != interaction.user.id and not await is_moderator(interaction):
        raise UserFacingError(
            f"Only <@{parent.owner_id}> (or a moderator) can {verb} job {job_id}.{refusal_hint}"
        )
    settings = await guard(interaction)
    check_banned(settings, parent.prompt, parent.options.negative, *parent.params.texts())
    job = await start(await limits_of_member(interaction, settings))
    in_thread = job.origin.thread_id is not None
    await announce(interaction, job, Placement(use_thread=in_thread, in_thread=in_thread))


class RemixButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=REMIX.template):
    """Remix under a result: a form with the prompt (and negative prompt, seed) to change; persistent."""

    def __init__(self, job_id: int) -> None:
        super().__init__(REMIX.button(job_id))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RemixButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Open the form (its submit is answered in cogs/_remix.py), or refuse ephemerally."""
        await answering(interaction, remix_clicked(interaction, self.job_id))


class FollowUpButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=FOLLOW_UP_TEMPLATE):
    """Extend +4s / Upscale under a finished video; persistent, owner or moderator only."""

    def __init__(self, kind: JobKind, job_id: int) -> None:
        super().__init__(FOLLOW_UPS[kind].button(job_id))
        self.kind = kind
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FollowUpButton:
        """Rebuild the button from its custom_id."""
        return cls(JobKind(match["action"]), int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Start the follow-up job in the same thread, or refuse ephemerally."""
        await answering(interaction, follow_up_clicked(interaction, self.job_id, self.kind))


async def follow_up_clicked(interaction: discord.Interaction[PikaBot], job_id: int, kind: JobKind) -> None:
    """Handle an Extend or Upscale click."""
    service = interaction.client.runtime.service
    user = interaction.user.id
    await start_from_job(
        interaction,
        job_id,
        kind.value,
        lambda limits: service.follow_up(job_id, kind, user, announce=True, limits=limits),
    )


class DeleteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=DELETE.template):
    """Delete under a result: the owner or a moderator removes the bot's post; persistent."""

    def __init__(self, job_id: int) -> None:
        super().__init__(DELETE.button(job_id))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> DeleteButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Delete the post, or refuse ephemerally."""
        await answering(interaction, delete_result(interaction, self.job_id))


#: The DynamicItems the pika extension registers.
BUTTONS = (RetryButton, RemixButton, FollowUpButton, DeleteButton)
