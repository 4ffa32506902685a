"""The emulator's state, shared by all its layers: what it stores and records, the emulated clock, and
waiting for a change.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from aiohttp import web

from sandbox import discord_payloads as P
from sandbox.discord_emu.config import EmuConfig, EmuFaults
from sandbox.discord_emu.records import (
    EmuAttachment,
    EmuChannel,
    EmuInteraction,
    EmuMessage,
    GatewayRecord,
    GuildRecord,
    RecordedCall,
    Window,
)
from sandbox.discord_emu.sessions import GatewayConn, GatewaySession
from sandbox.discord_emu.spec import DEFAULT_SPEC, spec_registry
from sandbox.discord_emu.values import now_wall
from sandbox.discord_payloads import ChannelType, JsonObj, Perm

_T = TypeVar("_T")


class EmulatorState:
    """Everything one emulated application in its guilds holds; the layers above add behaviour to it."""

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

    def _learn_base_url(self, request: web.Request) -> None:
        if not self.config.public_base_url:
            self.config = replace(self.config, public_base_url=f"{request.scheme}://{request.host}")

    def _guild(self, guild_id: int | None) -> GuildRecord:
        return self.guilds[self.config.guild_id if guild_id is None else guild_id]
