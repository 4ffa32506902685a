"""Guild text channels and threads: their payloads, archiving, deletion and creation."""

from __future__ import annotations

from sandbox import discord_payloads as P
from sandbox.discord_emu.constants import UNKNOWN_CHANNEL
from sandbox.discord_emu.errors import DiscordHTTPError
from sandbox.discord_emu.events import EventsLayer
from sandbox.discord_emu.records import EmuChannel
from sandbox.discord_emu.values import as_snowflake
from sandbox.discord_payloads import ChannelType, JsonObj, Perm


class ChannelsLayer(EventsLayer):
    """Channels and threads as Discord shows them to the bot."""

    def channel_payload(self, channel: EmuChannel) -> JsonObj:
        """The channel or thread object as Discord sends it now."""
        if channel.is_thread:
            assert channel.parent_id is not None and channel.owner_id is not None
            return P.thread_payload(
                channel.id,
                channel.guild_id,
                channel.parent_id,
                owner_id=channel.owner_id,
                name=channel.name,
                thread_type=int(channel.type),
                archived=channel.archived,
                locked=channel.locked,
                auto_archive_duration=channel.auto_archive_duration,
                archive_timestamp=channel.archive_timestamp,
                created_at=channel.created_at,
                message_count=channel.message_count,
                member_count=len(channel.member_ids),
                invitable=channel.invitable,
                rate_limit_per_user=channel.rate_limit_per_user,
                last_message_id=channel.last_message_id,
            )
        denied = self._denied.get(channel.id, Perm(0))
        overwrites = (
            [P.overwrite_payload(self.config.bot_user_id, member=True, deny=int(denied))] if denied else []
        )
        return P.text_channel_payload(
            channel.id,
            channel.guild_id,
            channel.name,
            position=channel.position,
            overwrites=overwrites,
            last_message_id=channel.last_message_id,
        )

    def _refresh_archive(self, channel: EmuChannel) -> None:
        """Threads auto-archive after ``auto_archive_duration`` minutes of inactivity (emulated clock)."""
        if channel.is_thread and not channel.archived:
            expires = channel.last_activity + channel.auto_archive_duration * 60
            if self.now() >= expires:
                channel.archived = True
                channel.archive_timestamp = expires
                self._dispatch("THREAD_UPDATE", self.channel_payload(channel))

    def _channel_or_404(self, raw: str | int) -> EmuChannel:
        cid = as_snowflake(raw)
        channel = self.channels.get(cid) if cid is not None else None
        if channel is None or channel.deleted:
            raise DiscordHTTPError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        self._refresh_archive(channel)
        return channel

    def archive_thread(self, thread_id: int, *, locked: bool = False) -> None:
        """Archive (and optionally lock) a thread, as a moderator or the inactivity timer would."""
        channel = self.channels[thread_id]
        if not channel.is_thread:
            raise ValueError(f"{thread_id} is not a thread")
        channel.archived, channel.locked, channel.archive_timestamp = True, locked, self.now()
        self._dispatch("THREAD_UPDATE", self.channel_payload(channel))
        self._notify()

    def delete_channel(self, channel_id: int) -> None:
        """Delete a thread or channel behind the bot's back; later REST calls get 404 10003."""
        channel = self.channels[channel_id]
        channel.deleted = True
        if channel.is_thread:
            self._dispatch(
                "THREAD_DELETE",
                {
                    "id": str(channel.id),
                    "guild_id": str(channel.guild_id),
                    "parent_id": str(channel.parent_id),
                    "type": int(channel.type),
                },
            )
        else:
            self._dispatch("CHANNEL_DELETE", self.channel_payload(channel))
        self._notify()

    def _create_thread(
        self,
        parent: EmuChannel,
        *,
        thread_id: int,
        name: str,
        kind: ChannelType,
        auto_archive: int,
        invitable: bool,
        rate: int,
    ) -> EmuChannel:
        now = self.now()
        thread = EmuChannel(
            thread_id,
            kind,
            name,
            parent.guild_id,
            now,
            parent_id=parent.id,
            owner_id=self.config.bot_user_id,
            auto_archive_duration=auto_archive,
            archive_timestamp=now,
            last_activity=now,
            invitable=invitable,
            rate_limit_per_user=rate,
            member_ids={self.config.bot_user_id},
        )
        self.channels[thread_id] = thread
        self._dispatch("THREAD_CREATE", {**self.channel_payload(thread), "newly_created": True})
        self._notify()
        return thread

    def threads(self, parent_id: int | None = None) -> list[EmuChannel]:
        """Threads (optionally of one parent), oldest first."""
        return sorted(
            (
                c
                for c in self.channels.values()
                if c.is_thread and (parent_id is None or c.parent_id == parent_id)
            ),
            key=lambda c: c.id,
        )
