"""The Discord implementation of Delivery: status messages, results, notices and status edits.

A new job's status message is its member's own interaction follow-up, and it is edited over that
interaction's token while the token lives (15 minutes): neither spends the channel's 5-per-5-s
message budget, so a busy channel's new jobs appear at once. Without a live interaction (after a
restart) the status goes out with the bot token through the channel's budget. Results and notices
always use the bot token, so a job that finishes an hour later still lands; each post carries a
nonce derived from the job id with enforce_nonce, so a crash between "Discord stored it" and "we
recorded it" cannot produce a second message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import aiohttp
import discord

from bot.discord.channel_budget import ChannelBudget
from bot.discord.components import job_view
from bot.discord.posting import Pacer, Poster, error_text, nonce_for, owner_mention
from bot.discord.render import RETRYABLE_ENDINGS, notice_text, status_embed, thread_name
from bot.discord.result_post import result_poster
from bot.discord.status_lookup import history_start, search_history
from bot.domain.jobs import Job, JobState, VideoResult
from bot.engine.delivery import DeliveryError, DeliveryReceipt, JobPlacement
from bot.observability.metrics import Metrics

log = logging.getLogger(__name__)

THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440  # a day: long enough for any job, and posting unarchives anyway
INTERACTION_LIFETIME = 14 * 60.0  # Discord's tokens live 15 minutes; stop using one a little early


@dataclass
class _StatusSlot:
    last_edit: float = 0.0
    pending: tuple[Job, int | None, float | None] | None = None
    task: asyncio.Task[None] | None = None
    final: bool = False  # the last edit (delivered, failed, …) is pending or done


@dataclass
class Announcement:
    """A new job's interaction, in memory only (its token is a short-lived secret)."""

    interaction: discord.Interaction[Any]
    accepted: str  # the private answer so far ("✅ Job 12 is queued, position 3.")
    use_thread: bool
    note: str = ""
    where: int | None = None  # the thread (or channel) the status message went to, once posted
    expires_at: float = field(default_factory=lambda: time.monotonic() + INTERACTION_LIFETIME)

    @property
    def live(self) -> bool:
        """True while the interaction token may still be used."""
        return time.monotonic() < self.expires_at


@dataclass
class DiscordDelivery:
    """Delivers through a connected discord.Client."""

    client: discord.Client
    status_interval: float = 3.0  # Discord allows ~5 edits/5 s per channel; a status needs far fewer
    _status: dict[int, _StatusSlot] = field(default_factory=dict)
    _announcements: dict[int, Announcement] = field(default_factory=dict)
    pacer: Pacer = field(default_factory=Pacer)
    budget: ChannelBudget = field(default_factory=ChannelBudget)
    # Where admins asked to be told about account problems (guild settings); set once the store is open.
    alert_channels: Callable[[], Awaitable[list[int]]] | None = None
    # One guild's alerts channel (or none): for alerts about that guild alone.
    guild_alert_channels: Callable[[int], Awaitable[tuple[int, ...]]] | None = None
    metrics: Metrics | None = None
    # Told of each posted result (the community channel's announcement and digest); best effort.
    community: Callable[[Job, int], Awaitable[None]] | None = None
    _community_tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # -- admin alerts ---------------------------------------------------------------------------

    async def alert_admins(self, text: str) -> None:
        """Post an operational alert in every configured alerts channel (best effort; also logged)."""
        log.warning("admin alert: %s", text)
        channels = await self.alert_channels() if self.alert_channels is not None else []
        await self._post_alert(channels, text)

    async def alert_guild_admins(self, guild_id: int, text: str) -> None:
        """Post an alert about one guild in that guild's alerts channel only (best effort; also logged)."""
        log.warning("admin alert for guild %s: %s", guild_id, text)
        if self.guild_alert_channels is not None:
            await self._post_alert(await self.guild_alert_channels(guild_id), text)

    async def _post_alert(self, channels: Iterable[int], text: str) -> None:
        for channel_id in channels:
            try:
                await self.pacer.wait()
                await self.client.get_partial_messageable(channel_id).send(
                    text, allowed_mentions=discord.AllowedMentions.none()
                )
            except discord.HTTPException as exc:
                log.warning("could not post an admin alert in %s: %s", channel_id, error_text(exc))

    # -- results --------------------------------------------------------------------------------

    async def deliver_result(self, job: Job, video: VideoResult) -> DeliveryReceipt:
        """Upload the MP4 (or link it when too large) with its embed and Retry, mentioning the owner."""
        message = await self._post(job, await result_poster(job, video))
        if self.metrics is not None:
            self.metrics.discord_post("result")
        self._tell_community(job, message)
        await self._final_status(job, JobState.DELIVERED)
        return DeliveryReceipt(message.id)

    def _tell_community(self, job: Job, message: discord.Message) -> None:
        """Start the community hook. It runs beside the delivery, never in it: the result is posted, and
        a slow or rate-limited community channel must not hold back recording it as delivered."""
        if self.community is None:
            return
        if job.origin.thread_id is not None and message.channel.id != job.origin.thread_id:
            # The thread refused and the result fell back to the channel: link it where it is.
            job = replace(job, origin=replace(job.origin, thread_id=None))
        task = asyncio.create_task(self._run_community(self.community, job, message.id))
        self._community_tasks.add(task)  # a reference, so the task is not collected mid-run
        task.add_done_callback(self._community_tasks.discard)

    async def _run_community(
        self, hook: Callable[[Job, int], Awaitable[None]], job: Job, message_id: int
    ) -> None:
        try:
            await hook(job, message_id)
        except Exception:
            log.exception("job %s: community hook failed", job.id)

    async def deliver_notice(self, job: Job) -> DeliveryReceipt:
        """One message saying what happened and what to try, with Retry where it makes sense."""
        mention = owner_mention(job)
        view = job_view(job.id) if job.state in RETRYABLE_ENDINGS else discord.utils.MISSING

        async def post(channel: discord.PartialMessageable) -> discord.Message:
            return await channel.send(
                notice_text(job), view=view, allowed_mentions=mention, nonce=nonce_for(job.id, "n")
            )

        try:
            message = await self._post(job, post)
        except DeliveryError as error:
            # Nowhere to post: tell the member privately through their interaction, while it lives.
            private = await self._private_notice(job, str(error))
            if private is None:
                raise
            if self.metrics is not None:
                self.metrics.discord_post("notice")
            return DeliveryReceipt(private)
        if self.metrics is not None:
            self.metrics.discord_post("notice")
        await self._final_status(job, job.state)
        return DeliveryReceipt(message.id)

    async def _post(self, job: Job, post: Poster) -> discord.Message:
        """Post into the job's thread; if the thread refuses, fall back once to the channel."""
        targets = (
            [job.origin.thread_id, job.origin.channel_id] if job.origin.thread_id else [job.origin.channel_id]
        )
        last: discord.HTTPException | None = None
        for channel_id in dict.fromkeys(t for t in targets if t is not None):
            channel = self.client.get_partial_messageable(channel_id, guild_id=job.origin.guild_id)
            await self.budget.post(channel_id)
            await self.pacer.wait()
            try:
                return await post(channel)
            except (discord.Forbidden, discord.NotFound) as exc:
                # Missing permission, deleted or locked thread: the channel is the one fallback.
                log.warning(
                    "job %s: cannot post in %s (%s); falling back", job.id, channel_id, error_text(exc)
                )
                last = exc
            except discord.HTTPException as exc:
                if exc.status == 400 and exc.code in (50083,):  # archived and locked thread
                    last = exc
                    continue
                transient = exc.status == 429 or exc.status >= 500
                raise DeliveryError(
                    f"Discord refused the post: {error_text(exc)}", permanent=not transient
                ) from None
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                raise DeliveryError(f"could not reach Discord ({type(exc).__name__})") from None
        assert last is not None
        log.error("job %s: no place to post its result: %s", job.id, error_text(last))
        raise DeliveryError(f"the bot may not post here: {error_text(last)}", permanent=True)

    def remember_interaction(self, job_id: int, announcement: Announcement) -> None:
        """Keep a new job's interaction, so its status message is posted and edited over it."""
        self._announcements = {k: v for k, v in self._announcements.items() if v.live}
        self._announcements[job_id] = announcement

    def _announcement(self, job_id: int) -> Announcement | None:
        entry = self._announcements.get(job_id)
        if entry is not None and not entry.live:
            del self._announcements[job_id]
            return None
        return entry

    async def _private_notice(self, job: Job, reason: str) -> int | None:
        """An ephemeral follow-up to the member's command, if its token is still valid."""
        entry = self._announcements.pop(job.id, None)
        if entry is None or not entry.live:
            return None
        text = (
            f"{notice_text(job)}\n\nI couldn't post this in <#{job.origin.thread_id or job.origin.channel_id}>: "
            f"{reason}. Ask a server admin to let me send messages (and messages in threads) there."
        )
        try:
            message = await entry.interaction.followup.send(text, ephemeral=True, wait=True)
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("job %s: private notice failed too: %s", job.id, exc)
            return None
        return message.id

    # -- placing a new job ---------------------------------------------------------------------------

    async def place_job(self, job: Job, queue_position: int | None, eta: float | None) -> JobPlacement:
        """Post the status message (over the member's interaction when it lives) and start its thread."""
        entry = self._announcement(job.id)
        embed = status_embed(job, queue_position, eta)
        message: discord.Message
        try:
            if entry is not None:
                message = await entry.interaction.followup.send(
                    embed=embed, wait=True, allowed_mentions=discord.AllowedMentions.none()
                )
                channel_id = message.channel.id
            else:
                channel_id = job.origin.thread_id or job.origin.channel_id
                message = await self._post_status(job, channel_id, embed)
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            # The job runs anyway; its result goes to the channel it was asked in.
            log.warning("job %s: status message failed: %s", job.id, exc)
            if entry is not None:
                entry.note = " I couldn't post its status here; the result will come here."
            return JobPlacement()
        if self.metrics is not None:
            self.metrics.discord_post("status")
        self._status.setdefault(job.id, _StatusSlot()).last_edit = time.monotonic()
        thread_id = job.origin.thread_id
        if thread_id is None and (entry is None or entry.use_thread):
            thread_id, refused = await self._start_thread(job, channel_id, message.id)
            if refused and entry is not None:
                entry.note = " I couldn't start a thread here, so the result will be posted in this channel."
        if entry is not None:
            entry.where = thread_id or channel_id
        return JobPlacement(thread_id=thread_id, status_message_id=message.id)

    async def find_placement(self, job: Job) -> JobPlacement | None:
        """The status message an interrupted placement posted, read from the channel's history since
        the attempt (and its thread, started now if the attempt got no further); None if not found."""
        if job.place_tried_at is None or self.client.user is None:
            return None
        channel_id = job.origin.thread_id or job.origin.channel_id
        try:
            found = await search_history(
                self.client.http, channel_id, self.client.user.id, job.id, history_start(job.place_tried_at)
            )
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("job %s: could not read the channel to find its status message: %s", job.id, exc)
            return None
        if found is None:
            return None
        thread_id = job.origin.thread_id or found.thread_id
        if thread_id is None:
            thread_id, _ = await self._start_thread(job, channel_id, found.message_id)
        return JobPlacement(thread_id=thread_id, status_message_id=found.message_id)

    async def job_placed(self, job: Job) -> None:
        """Point the member's private answer at the thread (or channel) their job now lives in."""
        entry = self._announcement(job.id)
        if entry is None:
            return
        link = f" Follow it in <#{entry.where}>." if entry.where is not None else ""
        try:
            await entry.interaction.edit_original_response(content=f"{entry.accepted}{link}{entry.note}")
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("job %s: could not update the member's private answer: %s", job.id, exc)

    async def _post_status(self, job: Job, channel_id: int, embed: discord.Embed) -> discord.Message:
        """The status message with the bot token, through the channel's budget (no interaction left)."""
        await self.budget.post(channel_id)
        await self.pacer.wait()
        channel = self.client.get_partial_messageable(channel_id, guild_id=job.origin.guild_id)
        return await channel.send(
            embed=embed, allowed_mentions=discord.AllowedMentions.none(), nonce=nonce_for(job.id, "s")
        )

    async def _start_thread(self, job: Job, channel_id: int, message_id: int) -> tuple[int | None, bool]:
        """A thread from the status message: (its id, or None; True when Discord refused).

        The raw route, not ``PartialMessage.create_thread``: that one needs the guild in discord.py's
        cache, and a sharded process also places jobs of guilds on other processes' shards.
        """
        await self.pacer.wait()
        try:
            thread = await self.client.http.start_thread_with_message(
                channel_id,
                message_id,
                name=thread_name(job.prompt, job.id),
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("job %s: could not start a thread: %s", job.id, exc)
            return None, True
        return int(thread["id"]), False

    # -- the status message ------------------------------------------------------------------------

    async def job_changed(self, job: Job, queue_position: int | None, eta: float | None = None) -> None:
        """Edit the status message, at most once per status_interval per job (latest state wins)."""
        if job.status_message_id is None:
            return
        slot = self._status.setdefault(job.id, _StatusSlot())
        if not slot.final:
            self._schedule_status(job.id, slot, (job, queue_position, eta))

    def _schedule_status(
        self, job_id: int, slot: _StatusSlot, shown: tuple[Job, int | None, float | None]
    ) -> None:
        slot.pending = shown
        if slot.task is not None and not slot.task.done():
            return  # the waiting flush takes the newest state
        wait = slot.last_edit + self.status_interval - time.monotonic()
        slot.task = asyncio.create_task(self._flush_status(job_id, max(0.0, wait)))

    async def _flush_status(self, job_id: int, wait: float) -> None:
        if wait > 0:
            await asyncio.sleep(wait)
        slot = self._status.get(job_id)
        if slot is None or slot.pending is None:
            return
        job, position, eta = slot.pending
        slot.pending = None
        slot.last_edit = time.monotonic()
        await self._edit_status(job, position, eta)
        if slot.final and slot.pending is None:
            self._status.pop(job_id, None)

    async def close(self) -> None:
        """At shutdown, make the waiting status edits now (briefly, best effort), then stop the rest."""
        waiting = [slot for slot in self._status.values() if slot.task is not None and not slot.task.done()]
        for slot in waiting:
            assert slot.task is not None
            slot.task.cancel()
        edits = [self._edit_status(*slot.pending) for slot in waiting if slot.pending is not None]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await asyncio.gather(*edits, return_exceptions=True)
        self._status.clear()

    async def _final_status(self, job: Job, state: JobState) -> None:
        """The status message's last edit; it keeps the once-per-interval pace like every other."""
        if job.status_message_id is None:
            return
        slot = self._status.setdefault(job.id, _StatusSlot())
        slot.final = True
        self._schedule_status(job.id, slot, (_with_state(job, state), None, None))

    async def _edit_status(self, job: Job, position: int | None, eta: float | None = None) -> None:
        assert job.status_message_id is not None
        embed = status_embed(job, position, eta)
        entry = self._announcement(job.id)
        try:
            if entry is not None:
                # Over the interaction's own token: no part of the channel's message budget.
                await entry.interaction.followup.edit_message(job.status_message_id, embed=embed)
            else:
                channel_id = status_channel_id(job)
                await self.budget.edit(channel_id)
                await self.pacer.wait()
                channel = self.client.get_partial_messageable(channel_id, guild_id=job.origin.guild_id)
                await channel.get_partial_message(job.status_message_id).edit(embed=embed)
            if self.metrics is not None:
                self.metrics.discord_post("status")
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            # The status line is a courtesy; the result post is what must not be lost.
            log.info("job %s: status edit failed: %s", job.id, exc)


def status_channel_id(job: Job) -> int:
    """Where the status message lives: a thread started from it has the message's id, and the
    message itself sits in the parent channel; otherwise it was posted inside the thread."""
    if job.origin.thread_id is not None and job.origin.thread_id != job.status_message_id:
        return job.origin.thread_id
    return job.origin.channel_id


def _with_state(job: Job, state: JobState) -> Job:
    return replace(job, state=state)
