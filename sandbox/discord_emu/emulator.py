"""The emulator: state, enforcement and recording behind the gateway, REST, CDN and control routes."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import math
import mimetypes
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, TypeVar

from aiohttp import BodyPartReader, WSCloseCode, WSMsgType, web

from sandbox import discord_payloads as P
from sandbox.discord_emu.command_checks import command_errors
from sandbox.discord_emu.components import (
    numbered_components,
    submitted_component,
    walk_components,
    walk_modal_inputs,
)
from sandbox.discord_emu.config import EmuConfig, EmuFaults
from sandbox.discord_emu.constants import (
    ALREADY_ACKNOWLEDGED,
    API_PREFIX,
    AUTO_ARCHIVE_DURATIONS,
    CANNOT_EDIT_OTHERS,
    CLOSE_INVALID_SHARD,
    CLOSE_SHARDING_REQUIRED,
    EMPTY_MESSAGE,
    EVENT_INTENTS,
    INTENT_MESSAGE_CONTENT,
    INVALID_FORM_BODY,
    INVALID_JSON,
    INVALID_WEBHOOK_TOKEN,
    MAX_ATTACHMENTS,
    MAX_HISTORY,
    MAX_THREAD_NAME,
    MISSING_PERMISSIONS,
    OP_DISPATCH,
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    OP_HELLO,
    OP_IDENTIFY,
    OP_INVALID_SESSION,
    OP_PRESENCE,
    OP_REQUEST_MEMBERS,
    OP_RESUME,
    OP_VOICE,
    PRIVILEGED_INTENTS,
    THREAD_ALREADY_CREATED,
    THREAD_ARCHIVED,
    TOO_LARGE,
    UNKNOWN_CHANNEL,
    UNKNOWN_GUILD,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_USER,
    UNKNOWN_WEBHOOK,
    WRONG_CHANNEL_TYPE,
    MiB,
)
from sandbox.discord_emu.errors import DiscordHTTPError, FieldError, errors_tree, form_error, too_long
from sandbox.discord_emu.message_checks import is_empty_message, message_body_errors
from sandbox.discord_emu.records import (
    EmuAttachment,
    EmuChannel,
    EmuInteraction,
    EmuMessage,
    EmuResponse,
    GatewayRecord,
    GuildRecord,
    MessageSource,
    RecordedCall,
    RecordedFile,
)
from sandbox.discord_emu.routing import ROUTES_ATTR, Req, Resp, Route, UploadedFile, api_route
from sandbox.discord_emu.sessions import GatewayConn, GatewaySession, ShardSession
from sandbox.discord_emu.spec import (
    DEFAULT_SPEC,
    spec_registry,
    validate_against_spec,
    validate_response_against_spec,
)
from sandbox.discord_emu.values import as_snowflake, is_int, json_text, now_wall, shard_of
from sandbox.discord_payloads import (
    CallbackType,
    ChannelType,
    InteractionType,
    JsonObj,
    MessageFlag,
    MessageType,
    OptionType,
    Perm,
)

_MENTION_USER: Final = re.compile(r"<@!?(\d+)>")
_MENTION_ROLE: Final = re.compile(r"<@&(\d+)>")
_FILE_FIELD: Final = re.compile(r"files\[(\d+)\]|file(\d*)")
_T = TypeVar("_T")
log = logging.getLogger(__name__)


@dataclass
class Window:
    start: float = 0.0
    count: int = 0


class DiscordEmulator:
    """State, enforcement and recording for one emulated application in its guilds.

    Each gateway session receives the events of the guilds on its shard (one unsharded session
    receives everything); see docs/discord.md, section 10.
    """

    def __init__(self, config: EmuConfig | None = None) -> None:
        self.config = config or EmuConfig()
        self._spec_path = str(self.config.openapi_path or DEFAULT_SPEC)
        spec_registry(self._spec_path)  # fail at construction, not at the first request
        self.calls: list[RecordedCall] = []
        self.violations: list[str] = []
        self.messages: dict[int, EmuMessage] = {}
        self.channels: dict[int, EmuChannel] = {}
        self.interactions: dict[int, EmuInteraction] = {}
        self.attachments: dict[int, EmuAttachment] = {}
        self.commands: dict[int | None, list[JsonObj]] = {}
        self.gateway_log: list[GatewayRecord] = []
        self.clock_offset: float = 0.0
        self.faults = EmuFaults()
        self.faults._drop = self.drop_gateway
        self.identifies = 0
        self.resumes = 0
        self._ids = P.SnowflakeGen()
        self._denied: dict[int, Perm] = defaultdict(lambda: Perm(0))
        #: Roles added by tests (plain: no permissions beyond @everyone's), and who holds them.
        self.extra_roles: dict[int, str] = {}
        self.member_roles: dict[int, set[int]] = defaultdict(set)
        self._by_token: dict[str, EmuInteraction] = {}
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self._channel_windows: dict[int, Window] = defaultdict(Window)
        self._global_window = Window()
        #: Every session ever identified (RESUME finds them here) and those that receive events now.
        self._sessions: dict[str, GatewaySession] = {}
        self._current: dict[str, GatewaySession] = {}
        self._conns: set[GatewayConn] = set()
        self._changed = asyncio.Event()
        self._timers: list[asyncio.TimerHandle] = []
        self._routes = self._build_routes()
        self._started_at = self.now()
        cfg = self.config
        self.guilds: dict[int, GuildRecord] = {
            cfg.guild_id: GuildRecord(cfg.guild_id, cfg.guild_name, cfg.moderator_role_id, cfg.bot_role_id)
        }
        texts = [
            (cfg.guild_id, cfg.text_channel_id, cfg.text_channel_name),
            (cfg.guild_id, cfg.community_channel_id, cfg.community_channel_name),
        ]
        for extra in cfg.extra_guilds:
            if extra.guild_id in self.guilds:
                raise ValueError(f"guild {extra.guild_id} is configured twice")
            self.guilds[extra.guild_id] = GuildRecord(
                extra.guild_id, extra.name, extra.guild_id + 1, extra.guild_id + 2
            )
            texts.append((extra.guild_id, extra.text_channel_id, extra.text_channel_name))
        for guild_id, cid, name in texts:
            position = sum(c.guild_id == guild_id for c in self.channels.values())
            self.channels[cid] = EmuChannel(
                cid, ChannelType.GUILD_TEXT, name, guild_id, self._started_at, position=position
            )

    # ----- clock, ids, change notification ----------------------------------------------------

    def now(self) -> float:
        """The emulated wall clock: real time plus ``clock_offset`` (tests advance it, never sleep)."""
        return now_wall() + self.clock_offset

    def _new_id(self) -> int:
        return self._ids.next(self.now())

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _violate(self, text: str) -> None:
        self.violations.append(text)
        self._notify()

    async def _wait_until(self, probe: Callable[[], _T | None], timeout: float, what: str) -> _T:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = probe()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what}; violations={self.violations}"
                )
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    # ----- users, permissions ------------------------------------------------------------------

    def _user_payload(self, user_id: int) -> JsonObj:
        if user_id == self.config.bot_user_id:
            return P.user_payload(user_id, self.config.bot_name, bot=True)
        if user_id == self.config.owner_id:
            return P.user_payload(user_id, "owner")
        name = self.config.members.get(user_id)
        if name is None:
            raise KeyError(user_id)
        return P.user_payload(user_id, name)

    def _guild(self, guild_id: int | None) -> GuildRecord:
        return self.guilds[self.config.guild_id if guild_id is None else guild_id]

    def _role_ids(self, user_id: int, guild_id: int | None = None) -> list[int]:
        guild = self._guild(guild_id)
        if user_id == self.config.bot_user_id:
            return [guild.bot_role_id]
        base = [guild.moderator_role_id] if user_id in self.config.moderator_ids else []
        if guild.id != self.config.guild_id:
            return base  # roles added by tests live in the first guild only
        return base + sorted(self.member_roles.get(user_id, ()))

    def add_role(self, name: str) -> int:
        """Create a role in the first guild with no permissions beyond @everyone's (GUILD_ROLE_CREATE)."""
        role_id = self._new_id()
        self.extra_roles[role_id] = name
        self._dispatch(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(self.config.guild_id), "role": self._role_payloads()[role_id]},
        )
        return role_id

    def give_role(self, user_id: int, role_id: int) -> None:
        """Give a member a role (added with ``add_role``); their next interaction carries it."""
        self._user_payload(user_id)
        if role_id not in self.extra_roles:
            raise ValueError(f"unknown role {role_id}; create it with add_role()")
        self.member_roles[user_id].add(role_id)

    def _role_payloads(self, guild_id: int | None = None) -> dict[int, JsonObj]:
        """Every role in a guild (the first by default) by id, as Discord sends them."""
        guild = self._guild(guild_id)
        roles = {
            guild.id: P.role_payload(guild.id, "@everyone", P.EVERYONE_PERMS),
            guild.moderator_role_id: P.role_payload(
                guild.moderator_role_id, "Moderator", P.EVERYONE_PERMS | P.MODERATOR_PERMS, position=1
            ),
            guild.bot_role_id: P.role_payload(
                guild.bot_role_id, self.config.bot_name, P.BOT_ROLE_PERMS, position=2, managed=True
            ),
        }
        if guild.id != self.config.guild_id:
            return roles
        for position, (role_id, name) in enumerate(self.extra_roles.items(), start=3):
            roles[role_id] = P.role_payload(role_id, name, P.EVERYONE_PERMS, position=position)
        return roles

    def _base_perms(self, user_id: int) -> Perm:
        perms = P.EVERYONE_PERMS
        if user_id == self.config.bot_user_id:
            perms |= P.BOT_ROLE_PERMS
        if user_id in self.config.moderator_ids:
            perms |= P.MODERATOR_PERMS
        if user_id == self.config.owner_id:
            # Discord gives the guild owner every permission, whatever the roles say.
            for flag in Perm:
                perms |= flag
        return perms

    def _denied_in(self, channel_id: int) -> Perm:
        denied = self._denied.get(channel_id, Perm(0))
        channel = self.channels.get(channel_id)
        if channel is not None and channel.parent_id is not None:
            denied |= self._denied.get(channel.parent_id, Perm(0))  # threads inherit the parent's overwrites
        return denied

    def bot_permissions(self, channel_id: int) -> Perm:
        """The bot's effective permissions in a channel (base minus the ``deny`` knob)."""
        return self._base_perms(self.config.bot_user_id) & ~self._denied_in(channel_id)

    def member_payload(
        self,
        user_id: int,
        *,
        with_permissions: bool = False,
        channel_id: int | None = None,
        guild_id: int | None = None,
    ) -> JsonObj:
        """A guild member object (with ``permissions`` as interactions carry it, when asked).

        The member's roles are those of ``guild_id`` (the first guild by default).
        """
        perms = None
        if with_permissions:
            perms = (
                self.bot_permissions(channel_id)
                if user_id == self.config.bot_user_id and channel_id is not None
                else self._base_perms(user_id)
            )
        return P.member_payload(
            self._user_payload(user_id),
            self._role_ids(user_id, guild_id),
            joined_at=self._started_at - 86400,
            permissions=perms,
        )

    @staticmethod
    def _perm(value: str | Perm) -> Perm:
        if isinstance(value, Perm):
            return value
        try:
            return Perm[value.upper()]
        except KeyError:
            raise ValueError(f"unknown permission {value!r}; known: {[p.name for p in Perm]}") from None

    def deny(self, channel_id: int, *permissions: str | Perm) -> None:
        """Deny the bot permissions in a channel (threads inherit); REST answers 403 50013."""
        for p in permissions:
            self._denied[channel_id] |= self._perm(p)
        self._permissions_changed(channel_id)

    def allow(self, channel_id: int, *permissions: str | Perm) -> None:
        """Undo ``deny`` for the given permissions (all of them when none are named)."""
        if not permissions:
            self._denied.pop(channel_id, None)
        for p in permissions:
            self._denied[channel_id] &= ~self._perm(p)
        self._permissions_changed(channel_id)

    def _permissions_changed(self, channel_id: int) -> None:
        channel = self.channels.get(channel_id)
        if channel is not None and not channel.is_thread:
            self._dispatch("CHANNEL_UPDATE", self.channel_payload(channel))

    def _require(self, channel: EmuChannel, needed: Perm) -> None:
        missing = needed & ~self.bot_permissions(channel.id)
        if missing:
            raise DiscordHTTPError(403, MISSING_PERMISSIONS, "Missing Permissions")

    # ----- channels ----------------------------------------------------------------------------

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

    # ----- messages ----------------------------------------------------------------------------

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

    # ----- assertions helpers ------------------------------------------------------------------

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

    def interaction_messages(self, interaction: EmuInteraction | int) -> list[EmuMessage]:
        """The original response and followups of an interaction, oldest first."""
        inter = self.interactions[interaction if isinstance(interaction, int) else interaction.id]
        ids = ([inter.original_message_id] if inter.original_message_id else []) + inter.followup_ids
        return [self.messages[i] for i in sorted(set(ids)) if i in self.messages]

    def ephemeral_replies(self, interaction: EmuInteraction | int) -> list[str]:
        """Current content of the interaction's ephemeral messages (deferred original, followups)."""
        return [m.content for m in self.interaction_messages(interaction) if m.ephemeral and not m.deleted]

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

    def response_problems(self) -> list[str]:
        """Recorded answers that do not match the spec's response schema (the emulator's self-check)."""
        out = []
        for call in self.calls:
            if call.template and call.response is not None:
                method = call.method.lower()
                for p in validate_response_against_spec(
                    self._spec_path, call.template, method, call.status, call.response
                ):
                    out.append(f"{call.method} {call.template} {call.status}: {p.describe()}")
        return out

    @property
    def rate_limit_hits(self) -> list[RecordedCall]:
        """Every call answered 429."""
        return [c for c in self.calls if c.status == 429]

    def calls_to(self, route: str) -> list[RecordedCall]:
        """Recorded calls of one route name (e.g. ``create_message``)."""
        return [c for c in self.calls if c.route == route]

    async def wait_ready(self, timeout: float = 10, *, shard: int | None = None) -> None:  # noqa: ASYNC109
        """Wait until the bot has IDENTIFYed and been sent its GUILD_CREATEs.

        Without ``shard``: on every shard of each shard count in use (one session when unsharded);
        with it, on the session holding that shard id.
        """
        where = "" if shard is None else f" on shard {shard}"
        await self._wait_until(
            lambda: True if self._ready_now(shard) else None,
            timeout,
            f"the bot to identify and receive GUILD_CREATE{where}",
        )

    async def wait_resumed(self, count: int = 1, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Wait until the gateway has been RESUMEd ``count`` times in total."""
        await self._wait_until(lambda: True if self.resumes >= count else None, timeout, f"{count} RESUME(s)")

    async def wait_acked(self, interaction_id: int | EmuInteraction, timeout: float = 5) -> EmuInteraction:  # noqa: ASYNC109
        """Wait for the initial response to an interaction."""
        iid = interaction_id if isinstance(interaction_id, int) else interaction_id.id
        inter = self.interactions[iid]
        return await self._wait_until(
            lambda: inter if inter.acked_at is not None else None, timeout, f"an ack of interaction {iid}"
        )

    async def wait_for_message(
        self,
        predicate: Callable[[EmuMessage], bool],
        timeout: float = 10,  # noqa: ASYNC109
    ) -> EmuMessage:
        """Wait for a (non-deleted) message matching ``predicate``, including ones already stored."""

        def probe() -> EmuMessage | None:
            for message in sorted(self.messages.values(), key=lambda m: m.id):
                if not message.deleted and predicate(message):
                    return message
            return None

        return await self._wait_until(probe, timeout, "a matching message")

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10,  # noqa: ASYNC109
        what: str = "a condition",
    ) -> None:
        """Wait until ``predicate()`` holds; re-checked on every state change."""
        await self._wait_until(lambda: True if predicate() else None, timeout, what)

    # ----- interactions (the user side) --------------------------------------------------------

    def _find_command(self, name: str, guild_id: int) -> tuple[JsonObj | None, int | None]:
        for scope in (guild_id, None):
            for cmd in self.commands.get(scope, []):
                if cmd.get("name") == name and (cmd.get("type") or 1) == 1:
                    return cmd, scope
        if self.config.require_registered_commands:
            known = sorted({str(c.get("name")) for cmds in self.commands.values() for c in cmds})
            raise LookupError(f"/{name} is not a registered command (synced: {known})")
        return None, guild_id

    def _new_interaction(
        self,
        kind: InteractionType,
        user_id: int,
        channel: EmuChannel,
        data: JsonObj,
        *,
        message: EmuMessage | None = None,
        command: str | None = None,
        custom_id: str | None = None,
    ) -> EmuInteraction:
        if not self._receivers(channel.guild_id):
            raise RuntimeError(
                f"no bot session receives guild {channel.guild_id}'s events: start the bot and await "
                "emu.wait_ready() first"
            )
        iid = self._new_id()
        token = "emu." + secrets.token_urlsafe(48)
        payload = P.interaction_payload(
            iid,
            application_id=self.config.application_id,
            interaction_type=int(kind),
            token=token,
            data=data,
            guild_id=channel.guild_id,
            channel=self.channel_payload(channel),
            member=self.member_payload(user_id, with_permissions=True, guild_id=channel.guild_id),
            app_permissions=self.bot_permissions(channel.id),
            attachment_size_limit=self.config.attachment_size_limit,
            message=self.message_payload(message) if message is not None else None,
        )
        inter = EmuInteraction(
            id=iid,
            token=token,
            type=kind,
            user_id=user_id,
            channel_id=channel.id,
            created_at=self.now(),
            payload=payload,
            command=command,
            custom_id=custom_id,
            message_id=message.id if message else None,
        )
        self.interactions[iid] = inter
        self._by_token[token] = inter
        inter.shards = [session.shard for session in self._dispatch("INTERACTION_CREATE", payload)]
        loop = asyncio.get_running_loop()
        # Discord shows "The application did not respond" after 3 s; that is the bot's failure to report.
        self._timers.append(loop.call_later(self.config.ack_deadline + 0.05, self._check_acked, inter))
        self._notify()
        return inter

    def _check_acked(self, inter: EmuInteraction) -> None:
        if inter.acked_at is None:
            what = f"/{inter.command}" if inter.command else f"component {inter.custom_id!r}"
            self._violate(
                f"interaction {inter.id} ({what}) was not acknowledged within {self.config.ack_deadline}s"
            )

    def _option_type(self, spec: JsonObj | None, name: str, value: object) -> OptionType:
        if spec is not None:
            for opt in spec.get("options") or []:
                if opt.get("name") == name:
                    return OptionType(int(opt["type"]))
            raise ValueError(
                f"option {name!r} is not declared by the command (declared: {[o.get('name') for o in spec.get('options') or []]})"
            )
        if isinstance(value, bool):
            return OptionType.BOOLEAN
        if isinstance(value, int):
            return OptionType.INTEGER
        if isinstance(value, float):
            return OptionType.NUMBER
        if isinstance(value, str):
            return OptionType.STRING
        raise ValueError(f"cannot infer an option type for {value!r}")

    async def slash(
        self,
        user_id: int,
        channel_id: int,
        command: str,
        subcommand: str | None = None,
        options: Mapping[str, object] | None = None,
        attachments: Mapping[str, tuple[str, str, bytes]] | None = None,
    ) -> EmuInteraction:
        """Dispatch a chat-input INTERACTION_CREATE as member ``user_id`` typing ``/command subcommand``.

        ``subcommand`` may be ``"group sub"``; ``attachments`` maps option name to (filename, type, bytes).
        """
        channel = self.channels.get(channel_id)
        if channel is None or channel.deleted:
            raise ValueError(f"unknown channel {channel_id}")
        self._refresh_archive(channel)
        self._user_payload(user_id)
        cmd, scope = self._find_command(command, channel.guild_id)
        spec: JsonObj | None = cmd
        path = subcommand.split() if subcommand else []
        for part in path:
            found = (
                next((o for o in (spec or {}).get("options") or [] if o.get("name") == part), None)
                if spec
                else None
            )
            if spec is not None and found is None:
                raise ValueError(f"/{command} has no subcommand {part!r}")
            spec = found
        leaves: list[JsonObj] = []
        resolved: JsonObj = {}
        for name, value in (options or {}).items():
            kind = self._option_type(spec, name, value)
            if kind in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP, OptionType.ATTACHMENT):
                raise ValueError(f"option {name!r} has type {kind.name}; pass attachments via attachments=")
            if kind in (OptionType.USER, OptionType.MENTIONABLE):
                uid = as_snowflake(value)
                if uid is None:
                    raise ValueError(f"option {name!r} needs a user id")
                resolved.setdefault("users", {})[str(uid)] = self._user_payload(uid)
                member = self.member_payload(uid, with_permissions=True, guild_id=channel.guild_id)
                member.pop("user")
                resolved.setdefault("members", {})[str(uid)] = member
            elif kind is OptionType.ROLE:
                role = self._role_payloads(channel.guild_id).get(as_snowflake(value) or 0)
                if role is None:
                    raise ValueError(f"option {name!r} needs the id of a role in the guild, not {value!r}")
                resolved.setdefault("roles", {})[role["id"]] = role
            elif kind is OptionType.CHANNEL:
                picked = self.channels.get(as_snowflake(value) or 0)
                if picked is None or picked.deleted or picked.guild_id != channel.guild_id:
                    raise ValueError(f"option {name!r} needs the id of a channel in the guild, not {value!r}")
                # Resolved channels are partial and carry the invoking member's permissions there.
                perms = self._base_perms(user_id) & ~self._denied_in(picked.id)
                entry = {**self.channel_payload(picked), "permissions": str(int(perms))}
                resolved.setdefault("channels", {})[entry["id"]] = entry
            leaves.append(P.command_option_payload(name, value, kind))
        for name, (filename, content_type, blob) in (attachments or {}).items():
            kind = self._option_type(spec, name, None) if spec is not None else OptionType.ATTACHMENT
            if kind is not OptionType.ATTACHMENT:
                raise ValueError(f"option {name!r} is {kind.name}, not an attachment")
            attachment = self.add_attachment(filename, content_type, blob)
            resolved.setdefault("attachments", {})[attachment["id"]] = attachment
            leaves.append(P.command_option_payload(name, attachment["id"], OptionType.ATTACHMENT))
        if spec is not None:
            given = {leaf["name"] for leaf in leaves}
            missing = [
                o["name"] for o in spec.get("options") or [] if o.get("required") and o["name"] not in given
            ]
            if missing:
                raise ValueError(f"required options missing: {missing}")
        tree: list[JsonObj] = leaves
        for depth, part in reversed(list(enumerate(path))):
            kind = OptionType.SUB_COMMAND if depth == len(path) - 1 else OptionType.SUB_COMMAND_GROUP
            tree = [{"name": part, "type": int(kind), "options": tree}]
        command_id = int(cmd["id"]) if cmd is not None else self._new_id()
        data = P.chat_input_data_payload(command_id, command, tree, guild_id=scope, resolved=resolved or None)
        label = " ".join([command, *path])
        return self._new_interaction(
            InteractionType.APPLICATION_COMMAND, user_id, channel, data, command=label
        )

    async def click(self, user_id: int, message_id: int, custom_id: str) -> EmuInteraction:
        """Dispatch a button click (type 3) with the full message, components included."""
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            raise ValueError(f"unknown message {message_id}")
        component = next(
            (
                c
                for _, c in walk_components(message.components, ("components",))
                if c.get("custom_id") == custom_id
            ),
            None,
        )
        if component is None:
            raise ValueError(
                f"message {message_id} has no component {custom_id!r} (has {message.custom_ids()})"
            )
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled; Discord's client cannot click it")
        self._user_payload(user_id)
        channel = self._channel_or_404(message.channel_id)
        data = P.component_data_payload(custom_id, int(component.get("type", 2)))
        return self._new_interaction(
            InteractionType.MESSAGE_COMPONENT, user_id, channel, data, message=message, custom_id=custom_id
        )

    async def message_command(self, user_id: int, message_id: int, name: str) -> EmuInteraction:
        """Dispatch a MESSAGE context-menu command (Apps → ``name`` on a message): type 2 with
        ``data.type`` 3, ``target_id`` and the message in ``resolved.messages``."""
        message = self.messages.get(message_id)
        if message is None or message.deleted or message.ephemeral:
            raise ValueError(f"unknown message {message_id}")
        self._user_payload(user_id)
        channel = self._channel_or_404(message.channel_id)
        cmd = next(
            (
                c
                for scope in (channel.guild_id, None)
                for c in self.commands.get(scope, [])
                if c.get("type") == 3 and c.get("name") == name
            ),
            None,
        )
        if cmd is None:
            known = sorted(
                str(c.get("name")) for cmds in self.commands.values() for c in cmds if c.get("type") == 3
            )
            raise LookupError(f"{name!r} is not a registered message command (synced: {known})")
        scope = int(cmd["guild_id"]) if cmd.get("guild_id") else None
        data = P.message_command_data_payload(
            int(cmd["id"]), name, self.message_payload(message), guild_id=scope
        )
        return self._new_interaction(
            InteractionType.APPLICATION_COMMAND, user_id, channel, data, command=name
        )

    async def submit_modal(
        self, user_id: int, opened_by: EmuInteraction, values: Mapping[str, str]
    ) -> EmuInteraction:
        """Submit the modal the bot answered ``opened_by`` with (type 5), its text inputs filled from
        ``values`` by custom id (others keep the value the bot pre-filled). Discord's client enforces
        required, min_length and max_length before sending, so breaking them raises here."""
        modal = opened_by.modal
        if modal is None:
            raise ValueError(f"interaction {opened_by.id} was not answered with a modal")
        if opened_by.user_id != user_id:
            raise ValueError("only the member the modal was shown to can submit it")
        unknown = set(values) - {c.get("custom_id") for _, c in walk_modal_inputs(modal)}
        if unknown:
            raise ValueError(f"the modal has no text input {sorted(unknown)}")
        components = [submitted_component(top, values) for top in modal.get("components") or []]
        channel = self._channel_or_404(opened_by.channel_id)
        message = self.messages.get(opened_by.message_id) if opened_by.message_id else None
        data = P.modal_submit_data_payload(str(modal["custom_id"]), [c for c in components if c])
        return self._new_interaction(
            InteractionType.MODAL_SUBMIT,
            user_id,
            channel,
            data,
            message=message,
            custom_id=str(modal["custom_id"]),
        )

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

    # ----- gateway -----------------------------------------------------------------------------

    def _receivers(self, guild_id: int | None) -> list[GatewaySession]:
        """The sessions that receive a guild's events now (several when their shards overlap)."""
        return [session for session in self._current.values() if session.receives(guild_id)]

    def _dispatch(self, event: str, data: JsonObj, guild_id: int | None = None) -> list[GatewaySession]:
        """Send an event to every session whose shard holds its guild; returns the sessions sent to.

        The guild is ``guild_id``, else ``data["guild_id"]``; an event without one goes to shard 0.
        With nobody connected nothing is told (Discord would not queue it either).
        """
        if guild_id is None:
            guild_id = as_snowflake(data.get("guild_id"))
        return [session for session in self._receivers(guild_id) if self._send(session, event, data)]

    def _send(self, session: GatewaySession, event: str, data: JsonObj) -> bool:
        """Send one dispatch on one session, if its intents ask for it; False when they do not."""
        needed = EVENT_INTENTS.get(event, 0)
        if needed and not session.intents & needed:
            return False
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not session.intents & INTENT_MESSAGE_CONTENT:
            data = self._without_content(data)
        session.seq += 1
        frame = json_text({"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data})
        session.buffer.append((session.seq, frame, event))
        self.gateway_log.append(GatewayRecord("out", OP_DISPATCH, event, session.seq, self.now()))
        if session.conn is not None:
            session.conn.queue.put_nowait((frame, event))
        return True

    def _without_content(self, message: JsonObj) -> JsonObj:
        """Without MESSAGE_CONTENT, others' messages arrive blank unless they mention the bot (or are DMs)."""
        bot_id = str(self.config.bot_user_id)
        if message.get("author", {}).get("id") == bot_id or any(
            u.get("id") == bot_id for u in message["mentions"]
        ):
            return message
        return {**message, "content": "", "embeds": [], "attachments": [], "components": []}

    def shard_sessions(self) -> list[ShardSession]:
        """The gateway sessions that receive events now, by shard."""
        return sorted(
            (
                ShardSession(s.session_id, s.shard, s.guild_ids, s.conn is not None, s.ready)
                for s in self._current.values()
            ),
            key=lambda view: view.shard,
        )

    def drop_gateway(self, shard: int = 0) -> None:
        """Close the websocket of the session holding ``shard`` (0 for an unsharded bot) with 4000.

        Not fatal: discord.py reconnects and RESUMEs; events meanwhile are buffered for the replay.
        """
        session = next(
            (s for s in self._current.values() if s.shard[0] == shard and s.conn is not None), None
        )
        if session is None or session.conn is None:
            raise RuntimeError(f"no gateway connection on shard {shard} to drop")
        conn, session.conn = session.conn, None
        conn.close(4000)

    def reset_session(self, shard: int | None = None) -> None:
        """Forget the gateway sessions (as after a bot restart), or only those of one shard id.

        ``wait_ready`` then waits for a new IDENTIFY. A connection still open on a forgotten session is
        closed with 4000; its RESUME then gets INVALID_SESSION.
        """
        for session in list(self._current.values()):
            if shard is not None and session.shard[0] != shard:
                continue
            self._current.pop(session.session_id, None)
            self._sessions.pop(session.session_id, None)
            if session.conn is not None:
                conn, session.conn = session.conn, None
                conn.close(4000)
        self._notify()

    def _ready_now(self, shard: int | None) -> bool:
        sessions = list(self._current.values())
        if shard is not None:
            return any(s.shard[0] == shard and s.ready for s in sessions)
        if not sessions or not all(s.ready for s in sessions):
            return False
        # Every shard of each shard count in use has its session: no guild is left unheard.
        counts = {s.shard[1] for s in sessions}
        return all({s.shard[0] for s in sessions if s.shard[1] == n} == set(range(n)) for n in counts)

    async def _gateway_writer(self, conn: GatewayConn) -> None:
        while True:
            item = await conn.queue.get()
            if item is None:
                return
            if isinstance(item, int):
                await conn.ws.close(code=item, message=b"emulator closed the connection")
                return
            frame, event = item
            try:
                await conn.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return
            if event in ("READY", "GUILD_CREATE") and conn.session is not None:
                self._written_ready_frame(conn.session, event)

    def _written_ready_frame(self, session: GatewaySession, event: str) -> None:
        """READY and the GUILD_CREATEs queued at IDENTIFY are out: the session is ready after the last."""
        if session.ready:
            return
        if event == "GUILD_CREATE":
            session.unsent_guilds -= 1
        if session.unsent_guilds <= 0 and session.session_id in self._current:
            session.ready = True
            self._notify()

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        self._learn_base_url(request)
        ws = web.WebSocketResponse(max_msg_size=4 * MiB)
        await ws.prepare(request)
        conn = GatewayConn(ws, request.query)
        self._conns.add(conn)
        if request.query.get("encoding", "json") != "json":
            self._violate(f"gateway: unsupported encoding {request.query.get('encoding')!r}")
        writer = asyncio.create_task(self._gateway_writer(conn))
        conn.send({"op": OP_HELLO, "d": {"heartbeat_interval": self.config.heartbeat_interval_ms}})
        self.gateway_log.append(GatewayRecord("out", OP_HELLO, None, None, self.now()))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    try:
                        self._gateway_frame(conn, msg.data)
                    except Exception as exc:
                        log.exception("emulator error on a gateway frame")
                        self._violate(f"gateway: emulator error {exc!r}")
                elif msg.type is WSMsgType.BINARY:
                    self._violate("gateway: binary frame from the client (only JSON text is negotiated)")
                    conn.close(4002)
        finally:
            self._conns.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                # A client's own 1000/1001 close ends the session (Discord invalidates it); other codes keep it.
                if ws.close_code in (1000, 1001):
                    self._current.pop(session.session_id, None)
            conn.queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._notify()
        return ws

    def _gateway_frame(self, conn: GatewayConn, raw: str) -> None:
        try:
            msg = json.loads(raw)
            op = msg["op"]
        except (ValueError, KeyError, TypeError):
            self._violate(f"gateway: undecodable frame {raw[:100]!r}")
            conn.close(4002)
            return
        self.gateway_log.append(GatewayRecord("in", op, None, None, self.now()))
        data = msg.get("d")
        if op == OP_HEARTBEAT:
            conn.send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            self._identify(conn, data if isinstance(data, dict) else {})
        elif op == OP_RESUME:
            self._resume(conn, data if isinstance(data, dict) else {})
        elif op in (OP_REQUEST_MEMBERS, OP_PRESENCE, OP_VOICE) and conn.session is None:
            self._violate(f"gateway: opcode {op} before IDENTIFY")
            conn.close(4003)  # Not authenticated
        elif op == OP_REQUEST_MEMBERS and conn.session is not None:
            self._request_members(conn.session, data if isinstance(data, dict) else {})
        elif op in (OP_PRESENCE, OP_VOICE):
            pass  # presence and voice state updates are accepted and ignored
        else:
            self._violate(f"gateway: unexpected opcode {op}")

    def _request_members(self, session: GatewaySession, data: JsonObj) -> None:
        guild_id = as_snowflake(data.get("guild_id"))
        if guild_id not in session.guild_ids:
            self._violate(f"gateway: members requested for guild {data.get('guild_id')!r}, not on this shard")
            return
        self._send(
            session,
            "GUILD_MEMBERS_CHUNK",
            {
                "guild_id": str(guild_id),
                "members": [self.member_payload(u, guild_id=guild_id) for u in self._all_member_ids()],
                "chunk_index": 0,
                "chunk_count": 1,
                "nonce": data.get("nonce"),
            },
        )

    def _all_member_ids(self) -> list[int]:
        return [*self.config.members, self.config.bot_user_id]

    def _identify(self, conn: GatewayConn, data: JsonObj) -> None:
        if conn.session is not None:
            self._violate("gateway: IDENTIFY sent twice on one connection")
            conn.close(4005)
            return
        if data.get("token") != self.config.bot_token:
            self._violate("gateway: IDENTIFY with a wrong token")
            conn.close(4004)
            return
        intents = data.get("intents")
        if not is_int(intents):
            self._violate("gateway: IDENTIFY without integer intents")
            conn.close(4013)
            return
        if intents & PRIVILEGED_INTENTS & ~self.config.privileged_intents:
            self._violate(
                f"gateway: privileged intents {intents & PRIVILEGED_INTENTS:#x} not enabled for the app"
            )
            conn.close(4014)
            return
        shard = self._identify_shard(conn, data.get("shard"))
        if shard is None:
            return
        self.identifies += 1
        # A new session on a shard replaces the one before it (a restarted bot). Discord would feed
        # both, but the older belongs to a process that is gone; sessions of other shards stay.
        for old in [s for s in self._current.values() if s.shard == shard]:
            del self._current[old.session_id]
        guild_ids = tuple(g for g in self.guilds if shard_of(g, shard[1]) == shard[0])
        session = GatewaySession(
            secrets.token_hex(16),
            conn=conn,
            intents=intents,
            shard=shard,
            sharded="shard" in data,
            guild_ids=guild_ids,
            unsent_guilds=len(guild_ids),
        )
        self._sessions[session.session_id] = session
        self._current[session.session_id] = session
        conn.session = session
        base = self.config.public_base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        ready = P.ready_payload(
            self._user_payload(self.config.bot_user_id),
            guild_ids,
            session_id=session.session_id,
            resume_gateway_url=f"{base}/gateway",
            application_id=self.config.application_id,
            shard=shard if session.sharded else None,
        )
        self._send(session, "READY", ready)
        for guild_id in guild_ids:
            self._send(session, "GUILD_CREATE", self.guild_payload(guild_id))
        self._notify()

    def _identify_shard(self, conn: GatewayConn, raw: object) -> tuple[int, int] | None:
        """IDENTIFY's ``shard`` as (shard_id, num_shards), (0, 1) when absent; None after closing 4010/4011."""
        if raw is None:
            shard = (0, 1)
        elif (
            isinstance(raw, list)
            and len(raw) == 2
            and is_int(raw[0])
            and is_int(raw[1])
            and 0 <= raw[0] < raw[1]
        ):
            shard = (raw[0], raw[1])
        else:
            self._violate(
                f"gateway: IDENTIFY with shard {raw!r}: must be [shard_id, num_shards], 0 <= shard_id < num_shards"
            )
            conn.close(CLOSE_INVALID_SHARD)
            return None
        if shard[1] % self.config.shard_multiple:
            self._violate(
                f"gateway: IDENTIFY with {shard[1]} shards: must be a multiple of {self.config.shard_multiple}"
            )
            conn.close(CLOSE_INVALID_SHARD)
            return None
        held = sum(shard_of(g, shard[1]) == shard[0] for g in self.guilds)
        if held > self.config.max_guilds_per_session:
            self._violate(
                f"gateway: shard {list(shard)} would hold {held} guilds (at most "
                f"{self.config.max_guilds_per_session} per session): sharding required"
            )
            conn.close(CLOSE_SHARDING_REQUIRED)
            return None
        return shard

    def guild_payload(self, guild_id: int | None = None) -> JsonObj:
        """GUILD_CREATE's ``d`` for one guild (the first by default)."""
        guild = self._guild(guild_id)
        present = [c for c in self.channels.values() if c.guild_id == guild.id and not c.deleted]
        channels = [self.channel_payload(c) for c in present if not c.is_thread]
        threads = [self.channel_payload(c) for c in present if c.is_thread and not c.archived]
        members = [self.member_payload(u, guild_id=guild.id) for u in self._all_member_ids()]
        return P.guild_create_payload(
            guild.id,
            guild.name,
            owner_id=self.config.owner_id,
            roles=list(self._role_payloads(guild.id).values()),
            channels=channels,
            members=members,
            threads=threads,
            joined_at=self._started_at - 86400,
        )

    def _resume(self, conn: GatewayConn, data: JsonObj) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        valid = (
            session is not None
            and session.session_id in self._current
            and data.get("token") == self.config.bot_token
            and (seq is None or is_int(seq))
        )
        oldest = session.buffer[0][0] if session is not None and session.buffer else 1
        if not valid or session is None or (is_int(seq) and seq + 1 < oldest):
            conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        if session.conn is not None and session.conn is not conn:
            session.conn.close(4000)
        session.conn = conn
        conn.session = session
        last = seq if is_int(seq) else 0
        for s, frame, event in session.buffer:
            if s > last:
                conn.queue.put_nowait((frame, event))
        self.resumes += 1
        # The session keeps its shard: it goes on receiving the same guilds' events.
        self._send(session, "RESUMED", {"_trace": ["discord-emulator"]})
        self._notify()

    # ----- HTTP plumbing -----------------------------------------------------------------------

    def _learn_base_url(self, request: web.Request) -> None:
        if not self.config.public_base_url:
            self.config = replace(self.config, public_base_url=f"{request.scheme}://{request.host}")

    def make_app(self) -> web.Application:
        """The aiohttp application: REST under /api/v10, /gateway, /cdn, /_emu control API."""
        app = web.Application(client_max_size=self.config.max_request_size + MiB)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/attachments/{attachment_id}/{filename}", self._cdn)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api)
        app.router.add_post("/_emu/slash", self._ctl_slash)
        app.router.add_post("/_emu/click", self._ctl_click)
        app.router.add_get("/_emu/calls", self._ctl_calls)
        app.router.add_get("/_emu/messages", self._ctl_messages)
        app.router.add_get("/_emu/violations", self._ctl_violations)
        app.router.add_get("/_emu/interactions", self._ctl_interactions)
        app.router.add_post("/_emu/faults", self._ctl_faults)
        app.router.add_post("/_emu/clock", self._ctl_clock)
        app.router.add_post("/_emu/deny", self._ctl_deny)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, _app: web.Application) -> None:
        await self.shutdown()

    async def shutdown(self) -> None:
        """Cancel timers and close gateway connections (going away)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for conn in list(self._conns):
            conn.close(int(WSCloseCode.GOING_AWAY))

    def _build_routes(self) -> list[Route]:
        routes = []
        for attr, function in vars(type(self)).items():
            for method, template, name, bot_auth in getattr(function, ROUTES_ATTR, ()):
                handler = getattr(self, attr)
                # Snowflake parameters only match digits, so "@original"/"@me" never collide with them.
                pattern = re.sub(
                    r"\\\{(\w+)\\\}",
                    lambda m: f"(?P<{m[1]}>{'[0-9]+' if m[1].endswith('_id') else '[^/]+'})",
                    re.escape(template),
                )
                routes.append(Route(method, template, re.compile(f"^{pattern}$"), name, handler, bot_auth))
        return routes

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method == method:
                found = route.regex.match(path)
                if found:
                    return route, found.groupdict()
        return None

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if not request.can_read_body:
            return None, []
        ctype = request.content_type
        if ctype == "multipart/form-data":
            reader = await request.multipart()
            body: Any = None
            files: list[UploadedFile] = []
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):  # nested multipart: not something discord.py sends
                    continue
                data = await part.read(decode=False)
                name = part.name or ""
                if name == "payload_json":
                    body = self._parse_json(bytes(data))
                    continue
                match = _FILE_FIELD.fullmatch(name)
                index = None
                if match:
                    index = int(match.group(1) if match.group(1) is not None else (match.group(2) or 0))
                files.append(
                    UploadedFile(
                        name,
                        index,
                        part.filename or name,
                        part.headers.get("Content-Type", "application/octet-stream"),
                        bytes(data),
                    )
                )
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        if ctype != "application/json":
            raise DiscordHTTPError(
                400,
                INVALID_FORM_BODY,
                "Invalid Form Body",
                violation=f"body sent as {ctype!r}, not application/json",
            )
        return self._parse_json(raw), []

    @staticmethod
    def _parse_json(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise DiscordHTTPError(
                400,
                INVALID_JSON,
                "The request body contains invalid JSON.",
                violation="request body is not valid JSON",
            ) from None

    @staticmethod
    def _json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
        # Exactly "application/json": discord.py compares the header by equality (pitfall 1, no charset).
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.Response(
            status=status, body=json_text(body).encode(), content_type="application/json", headers=headers
        )

    async def _api(self, request: web.Request) -> web.StreamResponse:
        self._learn_base_url(request)
        path = request.path[len(API_PREFIX) :] or "/"
        query = dict(request.query)
        body: Any = None
        files: list[UploadedFile] = []
        route_name, template = "unknown", ""
        try:
            matched = self._match(request.method, path)
            if matched is None:
                raise DiscordHTTPError(
                    404, 0, "404: Not Found", violation=f"unknown route {request.method} {path}"
                )
            route, params = matched
            route_name, template = route.name, route.template
            if route.bot_auth:
                self._check_auth(request)
                self._check_global_rate()
            body, files = await self._read_body(request)
            total = sum(len(f.data) for f in files)
            if total > self.config.max_request_size:
                raise DiscordHTTPError(
                    413,
                    TOO_LARGE,
                    "Request entity too large",
                    violation=f"request carries {total} bytes of files",
                )
            if body is not None:
                problems = validate_against_spec(
                    self._spec_path, route.template, request.method.lower(), body
                )
                if problems:
                    raise form_error(problems, f"{request.method} {path} does not match Discord's schema")
            resp = await route.handler(Req(request.method, path, params, query, body, files, request))
        except DiscordHTTPError as exc:
            if exc.violation:
                self._violate(f"{request.method} {path} -> {exc.status}: {exc.violation}")
            resp = Resp(exc.status, exc.body, exc.headers)
        except Exception as exc:
            # An emulator bug must fail the test run, not pass as one of Discord's retryable 500s.
            log.exception("emulator error on %s %s", request.method, path)
            self._violate(f"{request.method} {path} -> 500: emulator error {exc!r}")
            resp = Resp(500, P.error_payload(0, "500: Internal Server Error"))
        self.calls.append(
            RecordedCall(
                method=request.method,
                path=path,
                query=query,
                json=body,
                files=[
                    RecordedFile(f.field, f.filename, f.content_type, len(f.data), f.data[:64]) for f in files
                ],
                status=resp.status,
                at=self.now(),
                route=route_name,
                response=resp.body,
                template=template,
            )
        )
        self._notify()
        return self._json_response(resp.status, resp.body, resp.headers)

    def _check_auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.config.bot_token}":
            raise DiscordHTTPError(401, 0, "401: Unauthorized", violation="missing or wrong bot token")

    # ----- rate limits -------------------------------------------------------------------------

    def _rate_headers(self, limit: int, remaining: int, reset_after: float, bucket: str) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(remaining, 0)),
            "X-RateLimit-Reset": f"{now_wall() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }

    def _too_many(
        self, retry_after: float, headers: dict[str, str], *, is_global: bool, scope: str
    ) -> DiscordHTTPError:
        headers = {
            **headers,
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": scope,
            # discord.py only retries a 429 carrying Via (else it assumes a Cloudflare ban).
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return DiscordHTTPError(
            429, 0, "", body=P.rate_limit_payload(retry_after, is_global=is_global), headers=headers
        )

    def _check_global_rate(self) -> None:
        if self.faults.global_429_next > 0:
            self.faults.global_429_next -= 1
            raise self._too_many(self.faults.retry_after, {}, is_global=True, scope="global")
        now = self.now()
        window = self._global_window
        if now - window.start >= 1.0:
            window.start, window.count = now, 0
        if window.count >= self.config.global_rate:
            raise self._too_many(window.start + 1.0 - now, {}, is_global=True, scope="global")
        window.count += 1

    def _channel_rate(self, channel: EmuChannel) -> dict[str, str]:
        """Per-channel message-create bucket; returns the headers for a successful answer."""
        limit, per = self.config.channel_rate
        bucket = "emu-channel-message-create"
        now = self.now()
        window = self._channel_windows[channel.id]
        if now - window.start >= per:
            window.start, window.count = now, 0
        reset_after = max(window.start + per - now, 0.001)
        if self.faults.rate_limit_next > 0:
            self.faults.rate_limit_next -= 1
            headers = self._rate_headers(limit, 0, self.faults.retry_after, bucket)
            raise self._too_many(self.faults.retry_after, headers, is_global=False, scope="user")
        if window.count >= limit:
            headers = self._rate_headers(limit, 0, reset_after, bucket)
            raise self._too_many(reset_after, headers, is_global=False, scope="user")
        window.count += 1
        return self._rate_headers(limit, limit - window.count, reset_after, bucket)

    # ----- REST: login, gateway, commands ------------------------------------------------------

    @api_route("GET", "/users/@me", name="get_my_user")
    async def _get_me(self, _req: Req) -> Resp:
        user = self._user_payload(self.config.bot_user_id)
        return Resp(body={**user, "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None})

    @api_route("GET", "/oauth2/applications/@me", name="get_my_application")
    async def _get_app(self, _req: Req) -> Resp:
        cfg = self.config
        return Resp(
            body=P.application_payload(
                cfg.application_id,
                cfg.bot_name,
                self._user_payload(cfg.owner_id),
                bot=self._user_payload(cfg.bot_user_id),
            )
        )

    def _ws_url(self) -> str:
        return self.config.public_base_url.replace("http://", "ws://", 1) + "/gateway"

    @api_route("GET", "/gateway", bot_auth=False)
    async def _get_gateway(self, _req: Req) -> Resp:
        return Resp(body=P.gateway_payload(self._ws_url()))

    @api_route("GET", "/gateway/bot", name="get_bot_gateway")
    async def _get_gateway_bot(self, _req: Req) -> Resp:
        return Resp(body=P.gateway_bot_payload(self._ws_url(), shards=self.config.recommended_shards))

    def _command_scope(self, req: Req) -> int | None:
        if as_snowflake(req.params["application_id"]) != self.config.application_id:
            raise DiscordHTTPError(
                403, MISSING_PERMISSIONS, "Missing Access", violation="commands for another application"
            )
        raw = req.params.get("guild_id")
        if raw is None:
            return None
        guild_id = as_snowflake(raw)
        if guild_id is None or guild_id not in self.guilds:
            raise DiscordHTTPError(
                403, 50001, "Missing Access", violation=f"commands for unknown guild {raw}"
            )
        return guild_id

    @api_route("GET", "/applications/{application_id}/commands")
    @api_route("GET", "/applications/{application_id}/guilds/{guild_id}/commands", name="list_guild_commands")
    async def _list_commands(self, req: Req) -> Resp:
        return Resp(body=self.commands.get(self._command_scope(req), []))

    @api_route("PUT", "/applications/{application_id}/commands", name="bulk_set_commands")
    @api_route(
        "PUT", "/applications/{application_id}/guilds/{guild_id}/commands", name="bulk_set_guild_commands"
    )
    async def _put_commands(self, req: Req) -> Resp:
        scope = self._command_scope(req)
        body = req.body if isinstance(req.body, list) else []
        problems = command_errors(body, global_scope=scope is None)
        if problems:
            raise form_error(problems, "invalid application commands")
        old = {(c.get("type") or 1, c.get("name")): c for c in self.commands.get(scope, [])}
        stored = []
        for cmd in body:
            previous = old.get((cmd.get("type") or 1, cmd.get("name")))
            command_id = int(previous["id"]) if previous else self._new_id()
            stored.append(
                P.application_command_payload(
                    cmd,
                    command_id=command_id,
                    application_id=self.config.application_id,
                    guild_id=scope,
                    version=self._new_id(),
                )
            )
        self.commands[scope] = stored
        return Resp(body=stored)

    # ----- REST: interactions and webhooks -----------------------------------------------------

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
        body = req.body if isinstance(req.body, dict) else {}
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
        callback = CallbackType(kind)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        assert isinstance(data, dict)
        channel = self._channel_or_404(inter.channel_id)
        message: EmuMessage | None = None
        loading = False
        if callback in (CallbackType.CHANNEL_MESSAGE_WITH_SOURCE, CallbackType.UPDATE_MESSAGE):
            self._check_message(
                data,
                req.files,
                creating=callback is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
                what="interaction response",
            )
        if callback is CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE and data and set(data) - {"flags"}:
            raise form_error(
                [FieldError(("data",), "BASE_TYPE_INVALID", "A deferred response only takes flags.")],
                "deferred response with data",
            )
        inter.acked_at, inter.ack_type = self.now(), callback
        if callback is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE:
            message = self._new_message(
                channel,
                data,
                req.files,
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
                self._edit_message(message, data, req.files)
        elif callback is CallbackType.MODAL:
            inter.modal = data
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

    # ----- REST: channel messages --------------------------------------------------------------

    def _visible_message(self, channel: EmuChannel, raw: str) -> EmuMessage:
        mid = as_snowflake(raw)
        message = self.messages.get(mid) if mid is not None else None
        if message is None or message.deleted or message.ephemeral or message.channel_id != channel.id:
            raise DiscordHTTPError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message

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

    # ----- REST: threads and channels ----------------------------------------------------------

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
        if parent.type is not ChannelType.GUILD_TEXT:
            raise DiscordHTTPError(
                400,
                WRONG_CHANNEL_TYPE,
                "Cannot execute action on this channel type",
                violation="thread inside a thread",
            )
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
        if parent.type is not ChannelType.GUILD_TEXT:
            raise DiscordHTTPError(
                400,
                WRONG_CHANNEL_TYPE,
                "Cannot execute action on this channel type",
                violation="thread inside a thread",
            )
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

    # ----- REST: guild reads -------------------------------------------------------------------

    def _guild_or_404(self, raw: str) -> int:
        guild_id = as_snowflake(raw)
        if guild_id is None or guild_id not in self.guilds:
            raise DiscordHTTPError(404, UNKNOWN_GUILD, "Unknown Guild")
        return guild_id

    @api_route("GET", "/guilds/{guild_id}")
    async def _get_guild(self, req: Req) -> Resp:
        payload = self.guild_payload(self._guild_or_404(req.params["guild_id"]))
        for gateway_only in (
            "channels",
            "members",
            "threads",
            "voice_states",
            "presences",
            "joined_at",
            "large",
            "member_count",
        ):
            payload.pop(gateway_only, None)
        return Resp(body=payload)

    @api_route("GET", "/guilds/{guild_id}/channels")
    async def _list_guild_channels(self, req: Req) -> Resp:
        guild_id = self._guild_or_404(req.params["guild_id"])
        return Resp(
            body=[
                self.channel_payload(c)
                for c in self.channels.values()
                if c.guild_id == guild_id and not c.is_thread and not c.deleted
            ]
        )

    @api_route("GET", "/guilds/{guild_id}/members/{user_id}")
    async def _get_member(self, req: Req) -> Resp:
        guild_id = self._guild_or_404(req.params["guild_id"])
        uid = as_snowflake(req.params["user_id"])
        if uid is None or uid not in self._all_member_ids():
            raise DiscordHTTPError(404, 10007, "Unknown Member")
        return Resp(body=self.member_payload(uid, guild_id=guild_id))

    @api_route("GET", "/guilds/{guild_id}/threads/active")
    async def _active_threads(self, req: Req) -> Resp:
        guild_id = self._guild_or_404(req.params["guild_id"])
        threads = [c for c in self.threads() if c.guild_id == guild_id and not c.deleted and not c.archived]
        return Resp(body={"threads": [self.channel_payload(t) for t in threads], "members": []})

    # ----- CDN ---------------------------------------------------------------------------------

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        aid = as_snowflake(request.match_info["attachment_id"])
        attachment = self.attachments.get(aid) if aid is not None else None
        if attachment is None or attachment.filename != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=attachment.data, content_type=attachment.content_type)

    # ----- control API (/_emu/, out-of-process tests and the demo) -----------------------------

    @staticmethod
    async def _ctl_body(request: web.Request) -> JsonObj:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return body

    def _interaction_json(self, inter: EmuInteraction) -> JsonObj:
        return {
            "id": str(inter.id),
            "type": int(inter.type),
            "user_id": str(inter.user_id),
            "channel_id": str(inter.channel_id),
            "command": inter.command,
            "custom_id": inter.custom_id,
            "created_at": inter.created_at,
            "acked_at": inter.acked_at,
            "ack_type": int(inter.ack_type) if inter.ack_type is not None else None,
            "original_message_id": str(inter.original_message_id) if inter.original_message_id else None,
            "followup_ids": [str(i) for i in inter.followup_ids],
            "ephemeral_replies": self.ephemeral_replies(inter),
        }

    async def _ctl_slash(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        attachments = {
            name: (
                str(spec["filename"]),
                str(spec.get("content_type", "application/octet-stream")),
                base64.b64decode(spec["data_b64"]),
            )
            for name, spec in (body.get("attachments") or {}).items()
        }
        try:
            inter = await self.slash(
                int(body["user_id"]),
                int(body.get("channel_id", self.config.text_channel_id)),
                str(body["command"]),
                body.get("subcommand"),
                body.get("options") or {},
                attachments,
            )
        except (KeyError, LookupError, ValueError, RuntimeError) as exc:
            return self._json_response(400, {"error": str(exc)})
        return self._json_response(200, self._interaction_json(inter))

    async def _ctl_click(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        try:
            inter = await self.click(int(body["user_id"]), int(body["message_id"]), str(body["custom_id"]))
        except (KeyError, ValueError, RuntimeError) as exc:
            return self._json_response(400, {"error": str(exc)})
        return self._json_response(200, self._interaction_json(inter))

    async def _ctl_calls(self, _request: web.Request) -> web.StreamResponse:
        return self._json_response(200, [c.to_json() for c in self.calls])

    async def _ctl_messages(self, _request: web.Request) -> web.StreamResponse:
        out = []
        for m in sorted(self.messages.values(), key=lambda m: m.id):
            payload = self.message_payload(m)
            payload["deleted"] = m.deleted
            payload["source"] = str(m.source)
            out.append(payload)
        return self._json_response(200, out)

    async def _ctl_violations(self, _request: web.Request) -> web.StreamResponse:
        return self._json_response(200, self.violations)

    async def _ctl_interactions(self, _request: web.Request) -> web.StreamResponse:
        return self._json_response(200, [self._interaction_json(i) for i in self.interactions.values()])

    async def _ctl_faults(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        for name in ("rate_limit_next", "global_429_next", "server_error_after_store_next"):
            if name in body:
                value = body[name]
                if not is_int(value) or value < 0:
                    return self._json_response(400, {"error": f"{name} must be a non-negative integer"})
                setattr(self.faults, name, value)
        if "retry_after" in body:
            self.faults.retry_after = float(body["retry_after"])
        if body.get("drop_gateway"):
            try:
                self.drop_gateway()
            except RuntimeError as exc:
                return self._json_response(409, {"error": str(exc)})
        f = self.faults
        return self._json_response(
            200,
            {
                "rate_limit_next": f.rate_limit_next,
                "global_429_next": f.global_429_next,
                "server_error_after_store_next": f.server_error_after_store_next,
                "retry_after": f.retry_after,
            },
        )

    async def _ctl_clock(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        if "offset" in body:
            self.clock_offset = float(body["offset"])
        self.clock_offset += float(body.get("advance", 0))
        return self._json_response(200, {"clock_offset": self.clock_offset, "now": self.now()})

    async def _ctl_deny(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        try:
            channel_id = int(body["channel_id"])
            names = [str(p) for p in body.get("permissions", [])]
            if body.get("allow"):
                self.allow(channel_id, *names)
            else:
                self.deny(channel_id, *names)
        except (KeyError, ValueError) as exc:
            return self._json_response(400, {"error": str(exc)})
        return self._json_response(
            200, {"channel_id": str(channel_id), "denied": int(self._denied_in(channel_id))}
        )
