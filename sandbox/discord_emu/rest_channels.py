"""REST routes of channels and threads: create threads, read, update and delete channels, thread members, typing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.discord_emu.constants import (
    AUTO_ARCHIVE_DURATIONS,
    MAX_THREAD_NAME,
    THREAD_ALREADY_CREATED,
    THREAD_ARCHIVED,
    UNKNOWN_USER,
    WRONG_CHANNEL_TYPE,
)
from sandbox.discord_emu.errors import DiscordHTTPError, FieldError, form_error
from sandbox.discord_emu.messages import MessagesLayer
from sandbox.discord_emu.records import EmuChannel
from sandbox.discord_emu.routing import Req, Resp, api_route
from sandbox.discord_emu.values import as_snowflake
from sandbox.discord_payloads import ChannelType, Perm


class RestChannelsLayer(MessagesLayer):
    """Channels and threads as the bot manages them."""

    def _thread_params(self, body: Mapping[str, Any]) -> tuple[str, int]:
        problems = []
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_THREAD_NAME:
            problems.append(
                FieldError(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            )
        auto_archive = body.get("auto_archive_duration")
        if auto_archive is None:
            auto_archive = 1440
        if auto_archive not in AUTO_ARCHIVE_DURATIONS:
            problems.append(
                FieldError(
                    ("auto_archive_duration",),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {60, 1440, 4320, 10080}.",
                )
            )
        if problems:
            raise form_error(problems, "invalid thread")
        assert isinstance(name, str)
        return name, int(auto_archive)

    @api_route("POST", "/channels/{channel_id}/threads", name="create_thread")
    async def _create_thread_route(self, req: Req) -> Resp:
        parent = self._channel_or_404(req.params["channel_id"])
        body = req.body if isinstance(req.body, dict) else {}
        _threads_allowed_in(parent)
        name, auto_archive = self._thread_params(body)
        raw_type = body.get("type")
        kind = ChannelType.PRIVATE_THREAD if raw_type is None else raw_type  # Discord's default is private
        if kind not in (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD):
            raise form_error(
                [FieldError(("type",), "BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")],
                "invalid thread type",
            )
        kind = ChannelType(kind)
        self._require(
            parent,
            Perm.VIEW_CHANNEL
            | (
                Perm.CREATE_PUBLIC_THREADS
                if kind is ChannelType.PUBLIC_THREAD
                else Perm.CREATE_PRIVATE_THREADS
            ),
        )
        thread = self._create_thread(
            parent,
            thread_id=self._new_id(),
            name=name,
            kind=kind,
            auto_archive=auto_archive,
            invitable=bool(body.get("invitable", True)),
            rate=int(body.get("rate_limit_per_user") or 0),
        )
        return Resp(201, self.channel_payload(thread))

    @api_route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
    async def _create_thread_from_message(self, req: Req) -> Resp:
        parent = self._channel_or_404(req.params["channel_id"])
        message = self._visible_message(parent, req.params["message_id"])
        body = req.body if isinstance(req.body, dict) else {}
        _threads_allowed_in(parent)
        name, auto_archive = self._thread_params(body)
        self._require(parent, Perm.VIEW_CHANNEL | Perm.CREATE_PUBLIC_THREADS)
        if message.id in self.channels:
            raise DiscordHTTPError(
                400, THREAD_ALREADY_CREATED, "A thread has already been created for this message"
            )
        thread = self._create_thread(
            parent,
            thread_id=message.id,  # a thread started from a message shares its id
            name=name,
            kind=ChannelType.PUBLIC_THREAD,
            auto_archive=auto_archive,
            invitable=True,
            rate=int(body.get("rate_limit_per_user") or 0),
        )
        return Resp(201, self.channel_payload(thread))

    @api_route("GET", "/channels/{channel_id}")
    async def _get_channel(self, req: Req) -> Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL)
        return Resp(body=self.channel_payload(channel))

    @api_route("PATCH", "/channels/{channel_id}")
    async def _update_channel(self, req: Req) -> Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        body = req.body if isinstance(req.body, dict) else {}
        if not channel.is_thread:
            self._require(channel, Perm.MANAGE_CHANNELS)
        if channel.archived and body.get("archived") is not False:
            raise DiscordHTTPError(400, THREAD_ARCHIVED, "Thread is archived")
        if "name" in body:
            name, _ = self._thread_params(
                {"name": body["name"], "auto_archive_duration": channel.auto_archive_duration}
            )
            channel.name = name
        if body.get("auto_archive_duration") is not None:
            _, channel.auto_archive_duration = self._thread_params({"name": channel.name, **body})
        if "locked" in body or ("archived" in body and channel.locked):
            self._require(channel, Perm.MANAGE_THREADS)
        if "locked" in body:
            channel.locked = bool(body["locked"])
        if "archived" in body:
            channel.archived = bool(body["archived"])
            channel.archive_timestamp = channel.last_activity = self.now()
        if "invitable" in body:
            channel.invitable = bool(body["invitable"])
        if body.get("rate_limit_per_user") is not None:
            channel.rate_limit_per_user = int(body["rate_limit_per_user"])
        payload = self.channel_payload(channel)
        self._dispatch("THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE", payload)
        self._notify()
        return Resp(body=payload)

    @api_route("DELETE", "/channels/{channel_id}", name="delete_channel")
    async def _delete_channel_route(self, req: Req) -> Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        self._require(channel, Perm.MANAGE_THREADS if channel.is_thread else Perm.MANAGE_CHANNELS)
        payload = self.channel_payload(channel)
        self.delete_channel(channel.id)
        return Resp(body=payload)

    def _thread_or_400(self, raw: str) -> EmuChannel:
        channel = self._channel_or_404(raw)
        if not channel.is_thread:
            raise DiscordHTTPError(
                400,
                WRONG_CHANNEL_TYPE,
                "Cannot execute action on this channel type",
                violation="thread member op on a non-thread",
            )
        if channel.archived:
            raise DiscordHTTPError(400, THREAD_ARCHIVED, "Thread is archived")
        return channel

    @api_route("PUT", "/channels/{channel_id}/thread-members/@me")
    async def _join_thread(self, req: Req) -> Resp:
        channel = self._thread_or_400(req.params["channel_id"])
        channel.member_ids.add(self.config.bot_user_id)
        return Resp(204)

    @api_route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
    async def _add_thread_member(self, req: Req) -> Resp:
        channel = self._thread_or_400(req.params["channel_id"])
        uid = as_snowflake(req.params["user_id"])
        if uid is None or uid not in self._all_member_ids():
            raise DiscordHTTPError(404, UNKNOWN_USER, "Unknown User")
        channel.member_ids.add(uid)
        self._notify()
        return Resp(204)

    @api_route("POST", "/channels/{channel_id}/typing")
    async def _typing(self, req: Req) -> Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL)
        return Resp(204)


def _threads_allowed_in(parent: EmuChannel) -> None:
    """Discord starts threads in text channels only (a thread inside a thread is refused)."""
    if parent.type is not ChannelType.GUILD_TEXT:
        raise DiscordHTTPError(
            400,
            WRONG_CHANNEL_TYPE,
            "Cannot execute action on this channel type",
            violation="thread inside a thread",
        )
