"""What the emulator stores and records: messages, channels, attachments, interactions, REST calls and
gateway frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox import discord_payloads as P
from sandbox.discord_emu.components import walk_components
from sandbox.discord_payloads import CallbackType, ChannelType, InteractionType, JsonObj, MessageFlag


@dataclass(frozen=True)
class RecordedFile:
    """One uploaded file part as it arrived."""

    field: str
    filename: str
    content_type: str
    size: int
    head: bytes


@dataclass
class RecordedCall:
    """One REST request and the emulator's answer."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[RecordedFile]
    status: int
    at: float
    route: str
    response: Any = None
    #: The route's path template, as named in Discord's OpenAPI spec ("" for unknown routes).
    template: str = ""

    def to_json(self) -> JsonObj:
        """A JSON-safe view for the control API."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "json": self.json,
            "files": [
                {"field": f.field, "filename": f.filename, "content_type": f.content_type, "size": f.size}
                for f in self.files
            ],
            "status": self.status,
            "at": self.at,
            "route": self.route,
            "template": self.template,
            "response": self.response,
        }


class MessageSource(StrEnum):
    """How a message was created, which decides what may edit it and how it is authored."""

    BOT = "bot"  # POST /channels/{id}/messages with the bot token
    INTERACTION = "interaction"  # an interaction callback (the @original response)
    FOLLOWUP = "followup"  # POST /webhooks/{app}/{token}
    USER = "user"  # seeded by a test (a member's message)


@dataclass
class EmuAttachment:
    """An attachment with its bytes, served by the emulator's CDN route."""

    id: int
    filename: str
    content_type: str
    data: bytes
    url: str
    description: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def payload(self, *, ephemeral: bool = False) -> JsonObj:
        """The attachment object Discord would send."""
        return P.attachment_payload(
            self.id,
            self.filename,
            size=self.size,
            url=self.url,
            content_type=self.content_type,
            description=self.description,
            ephemeral=ephemeral,
        )


@dataclass
class EmuMessage:
    """A stored message; ``deleted`` ones stay here for assertions but are invisible to the bot."""

    id: int
    channel_id: int
    author_id: int
    source: MessageSource
    created_at: float
    content: str = ""
    embeds: list[JsonObj] = field(default_factory=list)
    components: list[JsonObj] = field(default_factory=list)
    attachments: list[EmuAttachment] = field(default_factory=list)
    nonce: str | int | None = None
    allowed_mentions: JsonObj | None = None
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    flags: int = 0
    interaction_id: int | None = None
    reference: JsonObj | None = None
    edited_at: float | None = None
    deleted: bool = False
    deleted_by_bot: bool = False  # removed by the bot's own DELETE (e.g. a member's Delete button)
    edits: int = 0

    @property
    def ephemeral(self) -> bool:
        """True for flag 64 messages (visible only to the interaction user)."""
        return bool(self.flags & MessageFlag.EPHEMERAL)

    def custom_ids(self) -> list[str]:
        """Every custom_id on the message's components."""
        return [
            str(c["custom_id"])
            for _, c in walk_components(self.components, ("components",))
            if "custom_id" in c
        ]


@dataclass
class EmuChannel:
    """A guild text channel or a thread."""

    id: int
    type: ChannelType
    name: str
    guild_id: int
    created_at: float
    position: int = 0
    parent_id: int | None = None
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    archive_timestamp: float = 0.0
    last_activity: float = 0.0
    invitable: bool = True
    rate_limit_per_user: int = 0
    message_count: int = 0
    member_ids: set[int] = field(default_factory=set)
    last_message_id: int | None = None
    deleted: bool = False

    @property
    def is_thread(self) -> bool:
        """Public or private thread."""
        return self.type in (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD)


@dataclass
class EmuResponse:
    """One thing the bot did with an interaction token."""

    kind: str  # callback | followup | edit_original | delete_original | edit_followup | delete_followup
    at: float
    callback_type: int | None = None
    body: Any = None
    message_id: int | None = None


@dataclass
class EmuInteraction:
    """An interaction the emulator dispatched and everything the bot answered to it."""

    id: int
    token: str
    type: InteractionType
    user_id: int
    channel_id: int
    created_at: float
    payload: JsonObj
    command: str | None = None
    custom_id: str | None = None
    message_id: int | None = None  # the clicked message, for components
    acked_at: float | None = None
    ack_type: CallbackType | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    responses: list[EmuResponse] = field(default_factory=list)
    modal: JsonObj | None = None
    #: ``[shard_id, num_shards]`` of each gateway session INTERACTION_CREATE went to.
    shards: list[tuple[int, int]] = field(default_factory=list)

    @property
    def ack_latency(self) -> float | None:
        """Seconds between dispatch and the initial response."""
        return None if self.acked_at is None else self.acked_at - self.created_at


@dataclass(frozen=True)
class GatewayRecord:
    """One gateway frame, either direction (dispatch bodies are not kept; see ``payload`` for ops)."""

    direction: str  # "in" (from the bot) | "out"
    op: int
    t: str | None
    s: int | None
    at: float


@dataclass(frozen=True)
class GuildRecord:
    id: int
    name: str
    moderator_role_id: int
    bot_role_id: int


@dataclass
class Window:
    """A rate-limit window: when it started and how many requests it has counted."""

    start: float = 0.0
    count: int = 0
