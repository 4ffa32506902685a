"""Messages: storing, editing and deleting them, their attachments on the emulated CDN, mentions and replies."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sandbox import discord_payloads as P
from sandbox.discord_emu.components import numbered_components
from sandbox.discord_emu.constants import (
    EMPTY_MESSAGE,
    INVALID_FORM_BODY,
    MAX_ATTACHMENTS,
    TOO_LARGE,
    UNKNOWN_MESSAGE,
)
from sandbox.discord_emu.errors import DiscordHTTPError, FieldError, errors_tree, form_error, too_long
from sandbox.discord_emu.guilds import GuildsLayer
from sandbox.discord_emu.message_checks import is_empty_message, message_body_errors
from sandbox.discord_emu.records import EmuAttachment, EmuChannel, EmuInteraction, EmuMessage, MessageSource
from sandbox.discord_emu.routing import UploadedFile
from sandbox.discord_emu.values import as_snowflake, is_int
from sandbox.discord_payloads import InteractionType, JsonObj, MessageFlag, MessageType

_MENTION_USER: Final = re.compile(r"<@!?(\d+)>")
_MENTION_ROLE: Final = re.compile(r"<@&(\d+)>")


class MessagesLayer(GuildsLayer):
    """The message store and the checks every message create or edit passes."""

    def _cdn_url(self, attachment_id: int, filename: str) -> str:
        base = self.config.public_base_url.rstrip("/")
        if not base:
            raise RuntimeError("public_base_url is unknown: start the emulator with start_emulator() first")
        return f"{base}/cdn/attachments/{attachment_id}/{filename}"

    def add_attachment(self, filename: str, content_type: str, data: bytes) -> JsonObj:
        """Store bytes on the emulated CDN; returns the attachment object for ``resolved``."""
        return self._store_attachment(filename, content_type, data).payload(ephemeral=True)

    def _store_attachment(
        self, filename: str, content_type: str, data: bytes, description: str | None = None
    ) -> EmuAttachment:
        attachment_id = self._new_id()
        attachment = EmuAttachment(
            attachment_id, filename, content_type, data, self._cdn_url(attachment_id, filename), description
        )
        self.attachments[attachment_id] = attachment
        return attachment

    def message_payload(self, message: EmuMessage) -> JsonObj:
        """The message object as Discord sends it now (author, attachments with CDN URLs, ...)."""
        channel = self.channels.get(message.channel_id)
        guild_id = channel.guild_id if channel else self.config.guild_id
        interaction = self.interactions.get(message.interaction_id) if message.interaction_id else None
        from_app = message.source in (MessageSource.INTERACTION, MessageSource.FOLLOWUP)
        metadata = None
        if interaction is not None:
            metadata = P.interaction_metadata_payload(
                interaction.id,
                int(interaction.type),
                self._user_payload(interaction.user_id),
                guild_id=guild_id,
                message_id=interaction.message_id,
            )
        thread = self.channels.get(message.id)
        payload = P.message_payload(
            message.id,
            message.channel_id,
            guild_id=guild_id,
            author=self._user_payload(message.author_id),
            content=message.content,
            created_at=message.created_at,
            edited_at=message.edited_at,
            embeds=message.embeds,
            components=message.components,
            attachments=[a.payload(ephemeral=message.ephemeral) for a in message.attachments],
            mentions=[self._user_payload(u) for u in message.mention_ids],
            mention_roles=message.mention_role_ids,
            mention_everyone=message.mention_everyone,
            flags=message.flags,
            nonce=message.nonce,
            message_type=(
                MessageType.CHAT_INPUT_COMMAND
                if interaction is not None and interaction.type == InteractionType.APPLICATION_COMMAND
                else (19 if message.reference else MessageType.DEFAULT)
            ),
            webhook_id=self.config.application_id if from_app else None,
            application_id=self.config.application_id if from_app else None,
            interaction_metadata=metadata,
            thread=self.channel_payload(thread) if thread is not None and thread.is_thread else None,
        )
        if message.reference is not None:
            payload["message_reference"] = message.reference
        return payload

    def _mentions(self, content: str, allowed: object) -> tuple[list[int], list[int], bool]:
        """Who a message pings, honouring ``allowed_mentions`` (absent = Discord's default: everything)."""
        parse: set[str] = {"users", "roles", "everyone"}
        users: set[int] = set()
        roles: set[int] = set()
        if isinstance(allowed, dict):
            parse = {str(p) for p in allowed.get("parse") or []}
            users = {i for i in (as_snowflake(u) for u in allowed.get("users") or []) if i is not None}
            roles = {i for i in (as_snowflake(r) for r in allowed.get("roles") or []) if i is not None}
        known = {*self.config.members, self.config.bot_user_id, self.config.owner_id}
        mention_ids = []
        for raw in _MENTION_USER.findall(content):
            uid = int(raw)
            if uid in known and ("users" in parse or uid in users) and uid not in mention_ids:
                mention_ids.append(uid)
        role_ids = []
        for raw in _MENTION_ROLE.findall(content):
            rid = int(raw)
            if ("roles" in parse or rid in roles) and rid not in role_ids:
                role_ids.append(rid)
        everyone = ("@everyone" in content or "@here" in content) and "everyone" in parse
        return mention_ids, role_ids, everyone

    def _attachments_for(
        self, body: Mapping[str, Any], files: list[UploadedFile], existing: list[EmuAttachment]
    ) -> list[EmuAttachment]:
        """Map ``attachments: [{id: n, filename}]`` to ``files[n]`` parts, keeping referenced old ones."""
        by_index = {f.index: f for f in files if f.index is not None}
        declared = body.get("attachments")
        kept: list[EmuAttachment] = []
        used: set[int] = set()
        new: list[EmuAttachment] = []
        if isinstance(declared, list):
            old = {a.id: a for a in existing}
            for k, entry in enumerate(declared):
                if not isinstance(entry, dict):
                    continue
                ref = as_snowflake(entry.get("id"))
                if ref is not None and ref in old:
                    kept.append(old[ref])
                    continue
                upload = by_index.get(ref) if ref is not None else None
                if upload is None:
                    raise form_error(
                        [
                            FieldError(
                                ("attachments", k, "id"),
                                "ATTACHMENT_NOT_FOUND",
                                f"No file part for attachment id {ref!r}.",
                            )
                        ],
                        "attachment without file",
                    )
                used.add(id(upload))
                filename = (
                    entry.get("filename") if isinstance(entry.get("filename"), str) else upload.filename
                )
                description = entry.get("description") if isinstance(entry.get("description"), str) else None
                new.append(self._store_upload(upload, str(filename), description))
        else:
            kept = list(existing)
        for upload in files:
            if id(upload) not in used:
                new.append(self._store_upload(upload, upload.filename, None))
        return kept + new

    def _store_upload(self, upload: UploadedFile, filename: str, description: str | None) -> EmuAttachment:
        # discord.py uploads everything as application/octet-stream; Discord sniffs, we guess by name.
        guessed = mimetypes.guess_type(filename)[0]
        content_type = guessed or upload.content_type or "application/octet-stream"
        return self._store_attachment(filename, content_type, upload.data, description)

    def _check_files(self, files: list[UploadedFile]) -> None:
        limit = self.config.attachment_size_limit
        for upload in files:
            if len(upload.data) > limit:
                raise DiscordHTTPError(
                    413,
                    TOO_LARGE,
                    "Request entity too large",
                    violation=f"file {upload.filename!r} is {len(upload.data)} bytes > attachment_size_limit {limit}",
                )
        if len(files) > MAX_ATTACHMENTS:
            raise form_error([too_long(("attachments",), MAX_ATTACHMENTS)], "too many files")

    def _check_message(
        self, body: Mapping[str, Any], files: list[UploadedFile], *, creating: bool, what: str
    ) -> None:
        self._check_files(files)
        problems = message_body_errors(body)
        if problems:
            raise form_error(problems, what)
        if creating and is_empty_message(body, has_files=bool(files)):
            raise DiscordHTTPError(
                400, EMPTY_MESSAGE, "Cannot send an empty message", violation=f"{what}: empty message"
            )

    def _new_message(
        self,
        channel: EmuChannel,
        body: Mapping[str, Any],
        files: list[UploadedFile],
        *,
        source: MessageSource,
        author_id: int,
        interaction: EmuInteraction | None = None,
        flags: int = 0,
    ) -> EmuMessage:
        content = body.get("content") if isinstance(body.get("content"), str) else ""
        assert isinstance(content, str)
        mention_ids, role_ids, everyone = self._mentions(content, body.get("allowed_mentions"))
        body_flags = body.get("flags") if is_int(body.get("flags")) else 0
        assert isinstance(body_flags, int)
        if source is MessageSource.BOT:
            body_flags &= ~MessageFlag.EPHEMERAL  # only interaction responses can be ephemeral
        nonce = body.get("nonce")
        message = EmuMessage(
            id=self._new_id(),
            channel_id=channel.id,
            author_id=author_id,
            source=source,
            created_at=self.now(),
            content=content,
            embeds=list(body.get("embeds") or []),
            components=numbered_components(body.get("components")),
            attachments=self._attachments_for(body, files, []),
            nonce=nonce if isinstance(nonce, str | int) and not isinstance(nonce, bool) else None,
            allowed_mentions=body.get("allowed_mentions"),
            mention_ids=mention_ids,
            mention_role_ids=role_ids,
            mention_everyone=everyone,
            flags=int(body_flags | flags),
            interaction_id=interaction.id if interaction else None,
            reference=self._reference(channel, body.get("message_reference")),
        )
        self.messages[message.id] = message
        if not message.ephemeral:
            channel.last_message_id = message.id
            channel.last_activity = message.created_at
            if channel.is_thread:
                channel.message_count += 1
            self._dispatch("MESSAGE_CREATE", self.message_payload(message))
        self._notify()
        return message

    def _reference(self, channel: EmuChannel, ref: object) -> JsonObj | None:
        if not isinstance(ref, dict):
            return None
        mid = as_snowflake(ref.get("message_id"))
        target = self.messages.get(mid) if mid is not None else None
        if (target is None or target.deleted) and ref.get("fail_if_not_exists", True):
            raise DiscordHTTPError(
                400,
                INVALID_FORM_BODY,
                "Invalid Form Body",
                errors=errors_tree(
                    [FieldError(("message_reference",), "REPLIES_UNKNOWN_MESSAGE", "Unknown message")]
                ),
            )
        return {
            "type": 0,
            "message_id": str(mid),
            "channel_id": str(target.channel_id if target else channel.id),
            "guild_id": str(channel.guild_id),
        }

    def _edit_message(self, message: EmuMessage, body: Mapping[str, Any], files: list[UploadedFile]) -> None:
        if "content" in body:
            message.content = body["content"] or ""
            ids, roles, everyone = self._mentions(
                message.content, body.get("allowed_mentions", message.allowed_mentions)
            )
            message.mention_ids, message.mention_role_ids, message.mention_everyone = ids, roles, everyone
        if "embeds" in body:
            message.embeds = list(body["embeds"] or [])
        if "components" in body:
            message.components = numbered_components(body["components"])
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if "attachments" in body or files:
            message.attachments = self._attachments_for(body, files, message.attachments)
        if is_int(body.get("flags")):
            # Only SUPPRESS_EMBEDS may change; ephemeral-ness is fixed at creation.
            keep = message.flags & ~MessageFlag.SUPPRESS_EMBEDS
            message.flags = keep | (body["flags"] & MessageFlag.SUPPRESS_EMBEDS)
        message.flags &= ~MessageFlag.LOADING
        message.edited_at = self.now()
        message.edits += 1
        if not message.ephemeral:
            self._dispatch("MESSAGE_UPDATE", self.message_payload(message))
        self._notify()

    def _delete_message(self, message: EmuMessage) -> None:
        message.deleted = True
        if not message.ephemeral:
            channel = self.channels.get(message.channel_id)
            self._dispatch(
                "MESSAGE_DELETE",
                {
                    "id": str(message.id),
                    "channel_id": str(message.channel_id),
                    "guild_id": str(channel.guild_id if channel else self.config.guild_id),
                },
            )
        self._notify()

    def post_user_message(
        self,
        user_id: int,
        channel_id: int,
        content: str,
        attachments: Sequence[tuple[str, str, bytes]] = (),
    ) -> EmuMessage:
        """Seed a message from a member (e.g. to start a thread from, or for history); ``attachments``
        are (filename, content type, bytes), stored on the emulated CDN."""
        channel = self.channels[channel_id]
        self._user_payload(user_id)  # KeyError for strangers
        message = self._new_message(
            channel, {"content": content}, [], source=MessageSource.USER, author_id=user_id
        )
        if attachments:
            # Attached before anyone reads it: MESSAGE_CREATE above carried none, which bots ignore.
            message.attachments = [self._store_attachment(*attachment) for attachment in attachments]
        return message

    def thread_messages(self, channel_id: int) -> list[EmuMessage]:
        """Visible (not deleted, not ephemeral) messages in a channel or thread, oldest first."""
        return sorted(
            (
                m
                for m in self.messages.values()
                if m.channel_id == channel_id and not m.deleted and not m.ephemeral
            ),
            key=lambda m: m.id,
        )

    def _visible_message(self, channel: EmuChannel, raw: str) -> EmuMessage:
        mid = as_snowflake(raw)
        message = self.messages.get(mid) if mid is not None else None
        if message is None or message.deleted or message.ephemeral or message.channel_id != channel.id:
            raise DiscordHTTPError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message
