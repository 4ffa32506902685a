"""The real bot wired to the local stand-ins on 127.0.0.1: the Discord emulator and the upstream simulators.

Used by `pikabot demo` and the end-to-end tests, so both exercise exactly the same assembly.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from pathlib import Path

import discord
import yarl
from pydantic import SecretStr

from bot.config import (
    ApiGlueSettings,
    CallbackSettings,
    DatabaseSettings,
    DiscordSettings,
    DownloadSettings,
    FalSettings,
    JobSettings,
    LimitSettings,
    RoutingSettings,
    Settings,
    UseapiAccount,
    UseapiSettings,
)
from bot.discord.app import PikaBot, point_discord_at
from bot.domain.retry import RetryPolicy
from sandbox.apiglue_sim import RunningGlueSimulator
from sandbox.apiglue_sim import SimConfig as GlueConfig
from sandbox.apiglue_sim import start_simulator as start_glue_simulator
from sandbox.discord_emu import EmuConfig, RunningEmulator, start_emulator
from sandbox.fal_sim import RunningFalSimulator
from sandbox.fal_sim import SimConfig as FalConfig
from sandbox.fal_sim import start_simulator as start_fal_simulator
from sandbox.useapi_sim import DEFAULT_CHANNEL, RunningSimulator, SimConfig, start_simulator


def free_port() -> int:
    """A TCP port free a moment ago on 127.0.0.1 (the callback URL must be known before binding)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_settings(
    workdir: Path,
    emulator: RunningEmulator,
    simulator: RunningSimulator,
    *,
    callback_port: int,
    max_jobs: int = 2,
    poll_interval: float = 1.0,
    callbacks: bool = True,
    limits: LimitSettings | None = None,
    channels: tuple[str, ...] = (DEFAULT_CHANNEL,),
    glue: RunningGlueSimulator | None = None,
    accounts: tuple[tuple[str, int], ...] | None = None,
    fal: RunningFalSimulator | None = None,
    routing: RoutingSettings | None = None,
) -> Settings:
    """Settings pointing every remote party at the local stand-ins."""
    apiglue = (
        ApiGlueSettings(token=SecretStr(glue.sim.config.api_token), base_url=glue.base_url, max_jobs=max_jobs)
        if glue is not None
        else ApiGlueSettings()
    )
    return Settings(
        discord=DiscordSettings(
            token=SecretStr(emulator.emu.config.bot_token),
            api_base_url=emulator.api_base_url,
            gateway_url=emulator.gateway_url,
        ),
        useapi=UseapiSettings(
            token=SecretStr(simulator.sim.config.api_token),
            base_url=simulator.base_url,
            accounts=tuple(
                UseapiAccount(channel=channel, max_jobs=slots)
                for channel, slots in (accounts or tuple((channel, max_jobs) for channel in channels))
            ),
        ),
        apiglue=apiglue,
        fal=FalSettings(
            key=SecretStr(fal.sim.config.key),
            base_url=fal.base_url,
            rest_base_url=fal.base_url,
            jwks_url=fal.jwks_url,
            max_jobs=max_jobs,
        )
        if fal is not None
        else FalSettings(),
        routing=routing or RoutingSettings(),
        callbacks=CallbackSettings(
            listen=f"127.0.0.1:{callback_port}",
            public_url=f"http://127.0.0.1:{callback_port}" if callbacks else "",
        ),
        jobs=JobSettings(poll_interval=poll_interval, timeout=300, callback_grace=5),
        downloads=DownloadSettings(allowed_hosts=("127.0.0.1",)),
        database=DatabaseSettings(path=str(workdir / "pikabot.sqlite3")),
        limits=limits or LimitSettings(in_flight=5, per_day=0, cooldown=0),
    )


@dataclass
class LocalStack:
    """A running bot plus its stand-ins; `restart_bot` replaces the bot process-state, keeping the DB."""

    settings: Settings
    emulator: RunningEmulator
    simulator: RunningSimulator
    policy: RetryPolicy | None
    status_interval: float
    _saved_base: str
    _saved_gateway: yarl.URL
    glue: RunningGlueSimulator | None = None
    fal: RunningFalSimulator | None = None
    bot: PikaBot = field(init=False)
    bot_task: asyncio.Task[None] = field(init=False)

    @classmethod
    async def start(
        cls,
        workdir: Path,
        *,
        sim_config: SimConfig | None = None,
        emu_config: EmuConfig | None = None,
        policy: RetryPolicy | None = None,
        status_interval: float = 3.0,
        max_jobs: int = 2,
        callbacks: bool = True,
        limits: LimitSettings | None = None,
        channels: tuple[str, ...] = (DEFAULT_CHANNEL,),
        apiglue: bool = True,
        glue_config: GlueConfig | None = None,
        accounts: tuple[tuple[str, int], ...] | None = None,
        fal: bool = False,
        fal_config: FalConfig | None = None,
        routing: RoutingSettings | None = None,
    ) -> LocalStack:
        """Start the simulators, the emulator and the bot; return once the bot is connected.

        `apiglue=False` leaves [apiglue] unconfigured, as on a bot without APIGLUE_TOKEN. `accounts`
        lists useapi.net accounts as (channel, max_jobs); by default `channels` with `max_jobs` each.
        """
        simulator = await start_simulator(sim_config)
        glue = await start_glue_simulator(glue_config) if apiglue else None
        fal_sim = await start_fal_simulator(fal_config) if fal else None
        emulator = await start_emulator(emu_config)
        settings = local_settings(
            workdir,
            emulator,
            simulator,
            callback_port=free_port(),
            max_jobs=max_jobs,
            callbacks=callbacks,
            limits=limits,
            channels=channels,
            glue=glue,
            accounts=accounts,
            fal=fal_sim,
            routing=routing,
        )
        saved_base = discord.http.Route.BASE
        saved_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        point_discord_at(settings.discord.api_base_url, settings.discord.gateway_url)
        stack = cls(
            settings, emulator, simulator, policy, status_interval, saved_base, saved_gateway, glue, fal_sim
        )
        await stack._start_bot()
        return stack

    async def _start_bot(self) -> None:
        assert self.settings.discord.token is not None
        self.bot = PikaBot(
            self.settings, policy=self.policy, status_interval=self.status_interval, guild_ready_timeout=0.2
        )
        self.bot_task = asyncio.create_task(self.bot.start(self.settings.discord.token.get_secret_value()))
        waiter = asyncio.create_task(self.emulator.emu.wait_ready(timeout=15))
        done, _ = await asyncio.wait({self.bot_task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if self.bot_task in done:
            waiter.cancel()
            await self.bot.close()
            self.bot_task.result()  # raises the reason the bot died
            raise RuntimeError("the bot stopped before connecting")
        await waiter
        await self.bot.wait_until_ready()

    async def restart_bot(self) -> None:
        """Stop the bot cleanly and start a new one on the same database (stand-ins keep running)."""
        await self.stop_bot()  # a clean close ends the gateway session, so wait_ready waits anew
        await self._start_bot()

    async def stop_bot(self) -> None:
        """Close the bot and wait for its task."""
        await self.bot.close()
        await asyncio.gather(self.bot_task, return_exceptions=True)

    async def stop(self) -> None:
        """Stop everything and restore discord.py's endpoints."""
        await self.stop_bot()
        await self.emulator.close()
        await self.simulator.close()
        if self.glue is not None:
            await self.glue.close()
        if self.fal is not None:
            await self.fal.close()
        discord.http.Route.BASE = self._saved_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._saved_gateway
