"""Members' own view: /pika job, /pika jobs (paginated), /pika cancel, /pika quota, and the Delete
button's work."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import discord

from bot.discord.components import PAGE_NEXT, PAGE_PREVIOUS
from bot.discord.errors import AnsweringView, UserFacingError
from bot.discord.render import duration_text, eta_text, status_embed
from bot.domain.budget import Spend, guild_state, member_state, money
from bot.domain.jobs import Job, JobState
from bot.domain.limits import MemberLimits, day_start
from bot.engine.service import CancelOutcome
from cogs._guards import is_moderator

if TYPE_CHECKING:
    from bot.discord.app import PikaBot

Interaction = discord.Interaction["PikaBot"]

PAGE_SIZE = 8
_STATE_ICONS = {
    JobState.QUEUED: "⏳",
    JobState.SUBMITTING: "🎨",
    JobState.RUNNING: "🎨",
    JobState.COMPLETED: "📤",
    JobState.DELIVERED: "✅",
    JobState.FAILED: "❌",
    JobState.MODERATED: "🚫",
    JobState.CANCELLED: "⏹️",
    JobState.EXPIRED: "⌛",
}


def job_link(job: Job) -> str:
    """A jump link to the job's thread (or channel)."""
    where = job.origin.thread_id or job.origin.channel_id
    return f"https://discord.com/channels/{job.origin.guild_id}/{where}"


def job_line(job: Job, position: int | None, now: float) -> str:
    """One line of /pika jobs: icon, id, state (queue place), kind, age, link."""
    state = job.state.value
    if position is not None:
        state += f", position {position}"
    elif job.state is JobState.RUNNING and job.progress and job.progress.isdigit():
        state += f" {job.progress}%"
    prompt = " ".join(job.prompt.split())
    prompt = prompt if len(prompt) <= 40 else prompt[:39] + "…"
    age = duration_text(now - job.created_at)
    return (
        f"{_STATE_ICONS[job.state]} **{job.id}** · {state} · {job.kind.value} · {age} ago · "
        f"[thread]({job_link(job)})\n  {discord.utils.escape_markdown(prompt) or '(no prompt)'}"
    )


async def jobs_page(
    bot: PikaBot, owner_id: int, guild_id: int | None, page: int
) -> tuple[discord.Embed, int]:
    """The embed for one page of a member's jobs, and the number of pages."""
    store = bot.runtime.store
    total = await store.member_job_count(owner_id, guild_id)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(0, page), pages - 1)
    jobs = await store.member_jobs(owner_id, guild_id, PAGE_SIZE, page * PAGE_SIZE)
    now = time.time()
    lines = []
    for job in jobs:
        position = await store.queue_position(job.id) if job.state is JobState.QUEUED else None
        lines.append(job_line(job, position, now))
    embed = discord.Embed(
        title="Your Pika jobs",
        description="\n".join(lines) or "You have no jobs here yet. Start one with `/pika create`.",
        colour=0x3498DB,
    )
    embed.set_footer(text=f"page {page + 1} of {pages} · {total} job{'s' if total != 1 else ''}")
    return embed, pages


class JobsPager(AnsweringView):
    """Previous / Next under the ephemeral /pika jobs list; only the member who asked sees it."""

    def __init__(self, bot: PikaBot, owner_id: int, guild_id: int | None, pages: int) -> None:
        super().__init__(timeout=600)
        self.bot, self.owner_id, self.guild_id, self.pages, self.page = bot, owner_id, guild_id, pages, 0
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page <= 0
        self.next.disabled = self.page >= self.pages - 1

    async def _show(self, interaction: discord.Interaction[Any], page: int) -> None:
        embed, self.pages = await jobs_page(self.bot, self.owner_id, self.guild_id, page)
        self.page = min(max(0, page), self.pages - 1)
        self._sync_buttons()
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label=PAGE_PREVIOUS.label, emoji=PAGE_PREVIOUS.emoji, style=PAGE_PREVIOUS.style)
    async def previous(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        """One page back."""
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label=PAGE_NEXT.label, emoji=PAGE_NEXT.emoji, style=PAGE_NEXT.style)
    async def next(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        """One page on."""
        await self._show(interaction, self.page + 1)


async def show_job(interaction: Interaction, job_id: int) -> None:
    """/pika job: one job's status and a link to its thread, for its owner or a moderator."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    service = interaction.client.runtime.service
    found = await service.store.get(job_id)
    if found is None or (found.owner_id != interaction.user.id and not await is_moderator(interaction)):
        # Same answer for "missing" and "not yours", so job ids cannot be probed.
        await interaction.edit_original_response(content=f"❌ You have no job {job_id}.")
        return
    position = await service.queue_position(found.id) if found.state is JobState.QUEUED else None
    thread = found.origin.thread_id or found.origin.channel_id
    link = f"https://discord.com/channels/{found.origin.guild_id}/{thread}"
    await interaction.edit_original_response(
        content=f"Job **{found.id}** — [open its thread]({link})", embed=status_embed(found, position)
    )


async def show_jobs(interaction: Interaction) -> None:
    """/pika jobs: the member's recent jobs, newest first, ephemeral with paging buttons."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    bot = interaction.client
    embed, pages = await jobs_page(bot, interaction.user.id, interaction.guild_id, 0)
    if pages > 1:
        view = JobsPager(bot, interaction.user.id, interaction.guild_id, pages)
        await interaction.edit_original_response(embed=embed, view=view)
    else:
        await interaction.edit_original_response(embed=embed)


_CANCEL_ANSWERS = {
    CancelOutcome.CANCELLED: "⏹️ Job **{id}** is cancelled; its thread says so.",
    CancelOutcome.ALREADY_FINISHED: "Job **{id}** has already finished; there is nothing to cancel.",
    CancelOutcome.NOT_FOUND: "❌ You have no job {id}.",
}


async def cancel_job(interaction: Interaction, job_id: int, moderator: bool) -> None:
    """/pika cancel: a queued job is removed, a running one is cancelled upstream (owner or moderator)."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    service = interaction.client.runtime.service
    job = await service.store.get(job_id)
    if job is None or (job.owner_id != interaction.user.id and not moderator):
        await interaction.edit_original_response(content=f"❌ You have no job {job_id}.")
        return
    outcome = await service.cancel(job_id)
    if outcome is CancelOutcome.UPSTREAM_REFUSED:
        info = service.provider_info(job.provider)
        provider = info.display_name if info is not None else job.provider
        text = (
            f"❌ {provider} would not cancel job **{job_id}** now (it is already being made, or "
            "it cannot cancel a started job). It will finish and be posted as usual."
        )
    else:
        text = _CANCEL_ANSWERS[outcome].format(id=job_id)
    await interaction.edit_original_response(content=text)


def quota_text(limits: MemberLimits, in_flight: int, today: int, now: float, spend: Spend) -> str:
    """What a member has left: today's videos and money, jobs in flight, and when the day resets."""
    reset = day_start(now) + 86_400
    lines = []
    if limits.per_day:
        left = max(0, limits.per_day - today)
        lines.append(f"**{left}** of {limits.per_day} videos left today ({today} used).")
    else:
        lines.append(f"No daily limit here ({today} made today).")
    lines += money_lines(limits, spend)
    lines.append(f"**{in_flight}** of {limits.in_flight} jobs in progress (queued jobs count too).")
    if limits.cooldown:
        lines.append(f"{limits.cooldown:g} s between requests.")
    lines.append(f"The day resets at 00:00 UTC, in {eta_text(reset - now)}.")
    return "\n".join(lines)


def money_lines(limits: MemberLimits, spend: Spend) -> list[str]:
    """Today's spend against the member's and the server's daily budgets (nothing when neither has a
    budget nor spent anything: a server on unpriced providers)."""
    lines = []
    for who, state in (("You", member_state(limits, spend)), ("This server", guild_state(limits, spend))):
        spent = f"{who}: **{money(state.spent)}** spent today"
        if state.limited:
            lines.append(f"{spent} of a {money(state.budget)} budget, **{money(state.left)}** left.")
        elif state.spent:
            lines.append(f"{spent} (no daily budget).")
    return lines


async def show_quota(interaction: Interaction, limits: MemberLimits | None) -> None:
    """/pika quota: what the member has left today and when it resets (ephemeral)."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    service = interaction.client.runtime.service
    now = time.time()
    if limits is None:
        limits = service.settings.limits
        if interaction.guild_id is not None:
            limits = await service.store.guild_limits(interaction.guild_id, limits)
    since = day_start(now)
    usage = await service.store.member_usage(interaction.guild_id, interaction.user.id, since)
    spend = await service.store.spend(interaction.guild_id, interaction.user.id, since)
    await interaction.edit_original_response(
        content=quota_text(limits, usage.in_flight, usage.today, now, spend)
    )


async def delete_result(interaction: Interaction, job_id: int) -> None:
    """The Delete button: the owner or a moderator removes the bot's post."""
    job = await interaction.client.runtime.service.store.get(job_id)
    owner = job.owner_id if job is not None else None
    if owner != interaction.user.id and not await is_moderator(interaction):
        raise UserFacingError(
            f"Only {f'<@{owner}>' if owner else 'its owner'} (or a moderator) can delete this video."
        )
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        if interaction.message is not None:
            await interaction.message.delete()
    except discord.HTTPException as exc:
        raise UserFacingError("I couldn't delete that message; try again.") from exc
    await interaction.edit_original_response(content=f"🗑️ Deleted the video of job {job_id}.")
