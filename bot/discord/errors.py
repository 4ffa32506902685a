"""One answer per error, for slash commands and buttons alike.

Cogs raise; they never catch to present. The command tree (PikaTree.on_error) and every button
callback (answering) hand the error to answer_error, which looks its type up in ANSWERS: a known
error becomes one private line for the member; anything else becomes one "something went wrong"
line with a short code that is logged beside the traceback, so a member's report finds the log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bot.domain.guild_settings import SettingsError
from bot.domain.limits import LimitExceeded
from bot.domain.prompt import PromptError
from bot.engine.service import JobNotFound, NotRetryable

log = logging.getLogger(__name__)


class UserFacingError(app_commands.AppCommandError):
    """Something the member can fix; str(e) tells them what, and is shown only to them.

    An AppCommandError, so a cog's interaction_check may raise it too and reach the tree's handler.
    """


def _as_said(error: BaseException) -> str:
    return f"❌ {error}"


#: How each user-facing error is phrased (looked up along the error's class hierarchy).
ANSWERS: dict[type[BaseException], Callable[[Any], str]] = {
    UserFacingError: _as_said,
    PromptError: _as_said,
    LimitExceeded: _as_said,
    NotRetryable: _as_said,
    JobNotFound: lambda error: f"❌ Job {error.args[0] if error.args else ''} no longer exists.",
    SettingsError: lambda error: f"❌ {error} Nothing was changed.",
    app_commands.NoPrivateMessage: lambda _: "❌ This command works only in a server.",
    app_commands.CommandOnCooldown: lambda error: f"❌ Slow down: try again in {error.retry_after:.0f} s.",
}


def error_code() -> str:
    """A short code shown to the member and logged with the traceback, to find one in the other."""
    return secrets.token_hex(3)


def answer_for(error: BaseException) -> str:
    """The member's answer to `error`; an unexpected one is logged here with the code it shows."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    for cls in type(error).__mro__:
        phrase = ANSWERS.get(cls)
        if phrase is not None:
            return phrase(error)
    code = error_code()
    log.error("interaction failed [%s]", code, exc_info=error)
    return f"❌ Something went wrong on my side (error `{code}`). Please try again in a moment."


async def answer_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Tell the member privately, whether or not the interaction was answered or deferred yet."""
    text = answer_for(error)
    response = interaction.response
    try:
        if not response.is_done():
            await response.send_message(text, ephemeral=True)
        elif response.type is discord.InteractionResponseType.deferred_channel_message:
            # "thinking…": the answer takes that private message's place.
            await interaction.edit_original_response(content=text)
        else:
            await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell the member: %s", text)


async def answering(interaction: discord.Interaction[Any], work: Awaitable[None]) -> None:
    """Run a button's work; any error is answered like a command's (discord.py only logs them)."""
    try:
        await work
    except Exception as error:
        await answer_error(interaction, error)


class PikaTree(app_commands.CommandTree[Any]):
    """The command tree; every slash command's error goes through answer_error."""

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /
    ) -> None:
        """Answer the member (and log the unexpected)."""
        await answer_error(interaction, error)


class AnsweringView(discord.ui.View):
    """A View whose items' errors are answered like a command's."""

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        """Answer the member (and log the unexpected)."""
        await answer_error(interaction, error)
