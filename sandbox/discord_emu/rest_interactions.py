"""REST routes the bot answers interactions with: the callback, then webhooks for follow-ups and edits."""

from __future__ import annotations

import asyncio
from typing import Final

from sandbox import discord_payloads as P
from sandbox.discord_emu.constants import (
    ALREADY_ACKNOWLEDGED,
    INVALID_WEBHOOK_TOKEN,
    THREAD_ARCHIVED,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
)
from sandbox.discord_emu.errors import DiscordHTTPError, FieldError, form_error
from sandbox.discord_emu.messages import MessagesLayer
from sandbox.discord_emu.records import EmuChannel, EmuInteraction, EmuMessage, EmuResponse, MessageSource
from sandbox.discord_emu.routing import Req, Resp, UploadedFile, api_route
from sandbox.discord_emu.values import as_snowflake
from sandbox.discord_payloads import CallbackType, InteractionType, JsonObj, MessageFlag


class RestInteractionsLayer(MessagesLayer):
    """Interaction callbacks and the interaction webhook routes."""

    _ALLOWED_CALLBACKS: Final = {
        InteractionType.APPLICATION_COMMAND: {4, 5, 9},
        InteractionType.MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
        InteractionType.AUTOCOMPLETE: {8},
        InteractionType.MODAL_SUBMIT: {4, 5, 6, 7},
    }

    @api_route(
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
        name="interaction_callback",
        bot_auth=False,
    )
    async def _callback(self, req: Req) -> Resp:
        inter = self._callback_target(req)
        body = req.body if isinstance(req.body, dict) else {}
        callback = self._callback_type(inter, body)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        assert isinstance(data, dict)
        channel = self._channel_or_404(inter.channel_id)
        self._check_callback_data(callback, data, req.files)
        inter.acked_at, inter.ack_type = self.now(), callback
        message, loading = self._apply_callback(inter, callback, channel, data, req.files)
        inter.responses.append(
            EmuResponse("callback", self.now(), int(callback), body, message.id if message else None)
        )
        self._notify()
        if req.query.get("with_response", "").lower() not in ("1", "true"):
            return Resp(204)  # Discord answers 204 unless asked; discord.py >= 2.5 always asks
        payload = self.message_payload(message) if message is not None else None
        return Resp(
            body=P.callback_response_payload(
                inter.id,
                int(inter.type),
                int(callback),
                message=payload,
                loading=loading,
                ephemeral=bool(message and message.ephemeral),
            )
        )

    def _callback_target(self, req: Req) -> EmuInteraction:
        """The interaction a callback answers: known, not yet acknowledged, and within the deadline."""
        iid = as_snowflake(req.params["interaction_id"])
        inter = self.interactions.get(iid) if iid is not None else None
        if inter is None or inter.token != req.params["interaction_token"]:
            raise DiscordHTTPError(
                404,
                UNKNOWN_INTERACTION,
                "Unknown interaction",
                violation="callback for an unknown interaction",
            )
        if inter.acked_at is not None:
            raise DiscordHTTPError(
                400,
                ALREADY_ACKNOWLEDGED,
                "Interaction has already been acknowledged.",
                violation=f"interaction {inter.id} acknowledged twice",
            )
        age = self.now() - inter.created_at
        if age > self.config.ack_deadline:
            raise DiscordHTTPError(
                404,
                UNKNOWN_INTERACTION,
                "Unknown interaction",
                violation=f"interaction {inter.id} acknowledged after {age:.2f}s (> {self.config.ack_deadline}s)",
            )
        return inter

    def _callback_type(self, inter: EmuInteraction, body: JsonObj) -> CallbackType:
        kind = body.get("type")
        if kind not in self._ALLOWED_CALLBACKS.get(inter.type, set()):
            raise form_error(
                [
                    FieldError(
                        ("type",),
                        "INTERACTION_RESPONSE_TYPE_INVALID",
                        f"Callback type {kind!r} is not valid for interaction type {int(inter.type)}.",
                    )
                ],
                "invalid callback type",
            )
        return CallbackType(kind)

    def _check_callback_data(self, callback: CallbackType, data: JsonObj, files: list[UploadedFile]) -> None:
        if callback in (CallbackType.CHANNEL_MESSAGE_WITH_SOURCE, CallbackType.UPDATE_MESSAGE):
            self._check_message(
                data,
                files,
                creating=callback is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
                what="interaction response",
            )
        if callback is CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE and data and set(data) - {"flags"}:
            raise form_error(
                [FieldError(("data",), "BASE_TYPE_INVALID", "A deferred response only takes flags.")],
                "deferred response with data",
            )

    def _apply_callback(
        self,
        inter: EmuInteraction,
        callback: CallbackType,
        channel: EmuChannel,
        data: JsonObj,
        files: list[UploadedFile],
    ) -> tuple[EmuMessage | None, bool]:
        """What the callback does: the message it creates or updates (if any), and whether it is loading."""
        message: EmuMessage | None = None
        loading = False
        if callback is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE:
            message = self._new_message(
                channel,
                data,
                files,
                source=MessageSource.INTERACTION,
                author_id=self.config.bot_user_id,
                interaction=inter,
            )
            inter.original_message_id = message.id
        elif callback is CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            flags = int(data.get("flags") or 0) & MessageFlag.EPHEMERAL
            message = self._new_message(
                channel,
                {},
                [],
                source=MessageSource.INTERACTION,
                author_id=self.config.bot_user_id,
                interaction=inter,
                flags=flags | MessageFlag.LOADING,
            )
            inter.original_message_id = message.id
            loading = True
        elif callback in (CallbackType.DEFERRED_UPDATE_MESSAGE, CallbackType.UPDATE_MESSAGE):
            # For components, @original is the message the component sits on.
            inter.original_message_id = inter.message_id
            if callback is CallbackType.UPDATE_MESSAGE and inter.message_id is not None:
                message = self.messages[inter.message_id]
                self._edit_message(message, data, files)
        elif callback is CallbackType.MODAL:
            inter.modal = data
        return message, loading

    def _acked(self, inter: EmuInteraction, what: str) -> None:
        if inter.acked_at is None:
            raise DiscordHTTPError(
                404,
                UNKNOWN_WEBHOOK,
                "Unknown Webhook",
                violation=f"{what} before the interaction was acknowledged",
            )

    @api_route("POST", "/webhooks/{webhook_id}/{webhook_token}", name="execute_webhook", bot_auth=False)
    async def _followup(self, req: Req) -> Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="followup"
        )
        self._acked(inter, "followup")
        if self.faults.followup_delay > 0:
            await asyncio.sleep(self.faults.followup_delay)
        body = req.body if isinstance(req.body, dict) else {}
        self._check_message(body, req.files, creating=True, what="followup")
        original = self.messages.get(inter.original_message_id) if inter.original_message_id else None
        if original is not None and original.flags & MessageFlag.LOADING and not original.deleted:
            # Discord: the first follow-up after a deferred response replaces the "thinking…" message,
            # which keeps its ephemeral flag whatever the follow-up asks.
            self._edit_message(original, body, req.files)
            inter.responses.append(EmuResponse("followup", self.now(), None, body, original.id))
            if req.query.get("wait", "").lower() not in ("1", "true"):
                return Resp(204)
            return Resp(body=self.message_payload(original))
        channel = self._channel_or_404(inter.channel_id)
        flags = int(body.get("flags") or 0) & MessageFlag.EPHEMERAL
        message = self._new_message(
            channel,
            body,
            req.files,
            source=MessageSource.FOLLOWUP,
            author_id=self.config.bot_user_id,
            interaction=inter,
            flags=flags,
        )
        inter.followup_ids.append(message.id)
        inter.responses.append(EmuResponse("followup", self.now(), None, body, message.id))
        if req.query.get("wait", "").lower() not in ("1", "true"):
            return Resp(204)
        return Resp(body=self.message_payload(message))

    def _original(self, inter: EmuInteraction, what: str) -> EmuMessage:
        self._acked(inter, what)
        mid = inter.original_message_id
        message = self.messages.get(mid) if mid is not None else None
        if message is None or message.deleted:
            raise DiscordHTTPError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message

    def _owned_followup(self, inter: EmuInteraction, raw: str) -> EmuMessage:
        mid = as_snowflake(raw)
        message = self.messages.get(mid) if mid is not None else None
        if (
            message is None
            or message.deleted
            or (message.interaction_id != inter.id and mid != inter.message_id)
        ):
            raise DiscordHTTPError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message

    @api_route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", bot_auth=False)
    async def _get_original(self, req: Req) -> Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="get @original"
        )
        return Resp(body=self.message_payload(self._original(inter, "get @original")))

    def _webhook_edit(self, inter: EmuInteraction, message: EmuMessage, req: Req, kind: str) -> Resp:
        body = req.body if isinstance(req.body, dict) else {}
        self._check_message(body, req.files, creating=False, what=kind)
        channel = self._channel_or_404(message.channel_id)
        if channel.is_thread and channel.archived and not message.ephemeral:
            raise DiscordHTTPError(400, THREAD_ARCHIVED, "Thread is archived")
        self._edit_message(message, body, req.files)
        inter.responses.append(EmuResponse(kind, self.now(), None, body, message.id))
        return Resp(body=self.message_payload(message))

    @api_route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", bot_auth=False)
    async def _edit_original(self, req: Req) -> Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="edit @original"
        )
        return self._webhook_edit(inter, self._original(inter, "edit @original"), req, "edit_original")

    @api_route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", bot_auth=False)
    async def _delete_original(self, req: Req) -> Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="delete @original"
        )
        message = self._original(inter, "delete @original")
        self._delete_message(message)
        inter.responses.append(EmuResponse("delete_original", self.now(), None, None, message.id))
        return Resp(204)

    @api_route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", bot_auth=False)
    async def _get_followup(self, req: Req) -> Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="get followup"
        )
        return Resp(body=self.message_payload(self._owned_followup(inter, req.params["message_id"])))

    @api_route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", bot_auth=False)
    async def _edit_followup(self, req: Req) -> Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="edit followup"
        )
        return self._webhook_edit(
            inter, self._owned_followup(inter, req.params["message_id"]), req, "edit_followup"
        )

    @api_route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", bot_auth=False)
    async def _delete_followup(self, req: Req) -> Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="delete followup"
        )
        message = self._owned_followup(inter, req.params["message_id"])
        self._delete_message(message)
        inter.responses.append(EmuResponse("delete_followup", self.now(), None, None, message.id))
        return Resp(204)

    def _interaction_for_token(self, app_raw: str, token: str, *, what: str) -> EmuInteraction:
        inter = self._by_token.get(token)
        if as_snowflake(app_raw) != self.config.application_id or inter is None:
            raise DiscordHTTPError(
                404, UNKNOWN_WEBHOOK, "Unknown Webhook", violation=f"{what}: unknown application id or token"
            )
        age = self.now() - inter.created_at
        if age > self.config.token_ttl:
            raise DiscordHTTPError(
                401,
                INVALID_WEBHOOK_TOKEN,
                "Invalid Webhook Token",
                violation=f"{what}: interaction {inter.id} token used {age:.0f}s after creation (> {self.config.token_ttl:.0f}s)",
            )
        return inter
