"""Running the bot as a process: signals, clean shutdown, and the one-off command sync."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from bot.config import Settings
from bot.discord.app import PikaBot, create_bot, point_discord_at
from bot.domain.retry import RetryPolicy

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 10.0  # seconds SIGTERM / Ctrl-C may take before we stop waiting


def retry_policy_from_env() -> RetryPolicy | None:
    """PIKABOT_RETRY_SCALE (tests only) shrinks every back-off so fault tests of the real process finish fast."""
    raw = os.environ.get("PIKABOT_RETRY_SCALE", "")
    if not raw:
        return None
    factor = float(raw)
    if not 0 < factor <= 1:
        raise ValueError("PIKABOT_RETRY_SCALE must be a number in (0, 1]")
    return RetryPolicy().scaled(factor)


async def run_bot(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT, then close everything in reverse order within SHUTDOWN_GRACE."""
    assert settings.discord.token is not None
    point_discord_at(settings.discord.api_base_url, settings.discord.gateway_url)
    bot = create_bot(settings, policy=retry_policy_from_env())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    async with bot:
        runner = asyncio.create_task(bot.start(settings.discord.token.get_secret_value()))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            stopper.cancel()
            error = runner.exception()
            if error is not None:
                log.error("the bot stopped: %s", error)
                return 1
            return 0
        log.info("shutting down")
        try:
            async with asyncio.timeout(SHUTDOWN_GRACE):
                await bot.close()
                await asyncio.gather(runner, return_exceptions=True)
        except TimeoutError:
            log.error("shutdown took longer than %ss; exiting anyway", SHUTDOWN_GRACE)
            return 1
    return 0


async def sync_commands(settings: Settings, guild_id: int | None) -> int:
    """Log in (no gateway), register the commands globally or in one guild, log out."""
    assert settings.discord.token is not None
    point_discord_at(settings.discord.api_base_url, settings.discord.gateway_url)
    import discord

    bot = PikaBot(settings, engine=False)
    async with bot:
        await bot.login(settings.discord.token.get_secret_value())
        if guild_id is not None:
            guild = discord.Object(guild_id)
            bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
        else:
            synced = await bot.tree.sync()
    print(f"synced {len(synced)} command(s)" + (f" to guild {guild_id}" if guild_id else " globally"))
    return 0
