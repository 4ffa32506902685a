"""REST routes of channel messages: create (rate-limited, with nonces), list, get, edit, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox import discord_payloads as P
from sandbox.discord_emu.constants import CANNOT_EDIT_OTHERS, MAX_HISTORY, THREAD_ARCHIVED
from sandbox.discord_emu.errors import DiscordHTTPError, FieldError, form_error
from sandbox.discord_emu.messages import MessagesLayer
from sandbox.discord_emu.ratelimits import RateLimitsLayer
from sandbox.discord_emu.records import EmuMessage, MessageSource
from sandbox.discord_emu.routing import Req, Resp, api_route
from sandbox.discord_emu.values import as_snowflake
from sandbox.discord_payloads import Perm


class RestMessagesLayer(MessagesLayer, RateLimitsLayer):
    """Messages the bot sends with its own token."""

    def _check_nonce(self, body: Mapping[str, Any]) -> EmuMessage | None:
        """With ``enforce_nonce``, the same author + nonce within the window returns the earlier message."""
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return None
        key = (self.config.bot_user_id, str(nonce))
        seen = self._nonces.get(key)
        if seen is None:
            return None
        message_id, at = seen
        message = self.messages.get(message_id)
        if message is None or message.deleted or self.now() - at > self.config.nonce_window:
            return None
        return message

    @api_route("POST", "/channels/{channel_id}/messages")
    async def _create_message(self, req: Req) -> Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        headers = self._channel_rate(channel)
        body = req.body if isinstance(req.body, dict) else {}
        self._check_message(body, req.files, creating=True, what="create message")
        needed = Perm.VIEW_CHANNEL | (
            Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES
        )
        if req.files:
            needed |= Perm.ATTACH_FILES
        self._require(channel, needed)
        existing = self._check_nonce(body)
        if existing is not None:
            if existing.channel_id != channel.id:
                existing = None
            else:
                return Resp(body=self.message_payload(existing), headers=headers)
        if channel.is_thread and channel.archived:
            if channel.locked:
                raise DiscordHTTPError(400, THREAD_ARCHIVED, "Thread is archived")
            channel.archived = False  # sending into an unlocked archived thread unarchives it
            self._dispatch("THREAD_UPDATE", self.channel_payload(channel))
        message = self._new_message(
            channel, body, req.files, source=MessageSource.BOT, author_id=self.config.bot_user_id
        )
        if message.nonce is not None and body.get("enforce_nonce"):
            self._nonces[(self.config.bot_user_id, str(message.nonce))] = (message.id, message.created_at)
        if self.faults.server_error_after_store_next > 0:
            self.faults.server_error_after_store_next -= 1
            return Resp(500, P.error_payload(0, "500: Internal Server Error"))
        return Resp(body=self.message_payload(message), headers=headers)

    @api_route("GET", "/channels/{channel_id}/messages")
    async def _list_messages(self, req: Req) -> Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        try:
            limit = int(req.query.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_HISTORY:
            raise form_error(
                [FieldError(("limit",), "NUMBER_TYPE_MAX", "Must be between 1 and 100.")], "history limit"
            )
        visible = self.thread_messages(channel.id)
        before, after = as_snowflake(req.query.get("before")), as_snowflake(req.query.get("after"))
        if after is not None:
            chosen = [m for m in visible if m.id > after][:limit]
        else:
            chosen = [m for m in visible if before is None or m.id < before][-limit:]
        return Resp(body=[self.message_payload(m) for m in sorted(chosen, key=lambda m: -m.id)])

    @api_route("GET", "/channels/{channel_id}/messages/{message_id}")
    async def _get_message(self, req: Req) -> Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        return Resp(body=self.message_payload(self._visible_message(channel, req.params["message_id"])))

    @api_route("PATCH", "/channels/{channel_id}/messages/{message_id}", name="edit_message")
    async def _edit_channel_message(self, req: Req) -> Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        message = self._visible_message(channel, req.params["message_id"])
        if message.author_id != self.config.bot_user_id:
            raise DiscordHTTPError(
                403,
                CANNOT_EDIT_OTHERS,
                "Cannot edit a message authored by another user",
                violation="edited someone else's message",
            )
        body = req.body if isinstance(req.body, dict) else {}
        self._check_message(body, req.files, creating=False, what="edit message")
        if channel.is_thread and channel.archived:
            raise DiscordHTTPError(400, THREAD_ARCHIVED, "Thread is archived")
        self._edit_message(message, body, req.files)
        return Resp(body=self.message_payload(message))

    @api_route("DELETE", "/channels/{channel_id}/messages/{message_id}", name="delete_message")
    async def _delete_channel_message(self, req: Req) -> Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        message = self._visible_message(channel, req.params["message_id"])
        if message.author_id != self.config.bot_user_id:
            self._require(channel, Perm.MANAGE_MESSAGES)
        message.deleted_by_bot = True
        self._delete_message(message)
        return Resp(204)
