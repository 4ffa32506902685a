"""Gateway connections and sessions: one session per shard, each receiving its guilds' events."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from sandbox.discord_emu.constants import REPLAY_BUFFER
from sandbox.discord_emu.values import json_text, shard_of
from sandbox.discord_payloads import JsonObj


class GatewayConn:
    """One websocket connection; frames go through a queue so dispatching stays synchronous."""

    def __init__(self, ws: web.WebSocketResponse, query: Mapping[str, str]) -> None:
        self.ws = ws
        self.query = dict(query)
        # (frame, event name) to send; an int closes with that code; None stops the writer.
        self.queue: asyncio.Queue[tuple[str, str | None] | int | None] = asyncio.Queue()
        self.session: GatewaySession | None = None

    def send(self, payload: JsonObj) -> None:
        self.queue.put_nowait((json_text(payload), None))

    def close(self, code: int) -> None:
        self.queue.put_nowait(code)


@dataclass
class GatewaySession:
    session_id: str
    seq: int = 0
    buffer: deque[tuple[int, str, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    conn: GatewayConn | None = None
    intents: int = 0
    shard: tuple[int, int] = (0, 1)
    sharded: bool = False  # IDENTIFY carried ``shard`` (READY then echoes it)
    guild_ids: tuple[int, ...] = ()
    #: GUILD_CREATEs queued at IDENTIFY and not yet written: the session is ready at zero.
    unsent_guilds: int = 0
    ready: bool = False

    def receives(self, guild_id: int | None) -> bool:
        """Whether this session gets a guild's events (events without a guild go to shard 0)."""
        shard_id, count = self.shard
        return shard_id == 0 if guild_id is None else shard_of(guild_id, count) == shard_id


@dataclass(frozen=True)
class ShardSession:
    """A gateway session that receives events now, as tests see it."""

    session_id: str
    shard: tuple[int, int]
    guild_ids: tuple[int, ...]
    connected: bool
    ready: bool
