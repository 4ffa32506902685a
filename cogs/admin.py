"""/pika-admin: server settings for admins (Manage Server). For now: the per-member limits."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.limits import MemberLimits

if TYPE_CHECKING:
    from bot.app import PikaBot


def describe_limits(limits: MemberLimits) -> str:
    """The limits as an admin reads them."""
    per_day = f"{limits.per_day} per day" if limits.per_day else "no daily limit"
    cooldown = f"{limits.cooldown:g} s between requests" if limits.cooldown else "no cooldown"
    return f"**{limits.in_flight}** unfinished jobs per member, **{per_day}**, **{cooldown}**"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class AdminCog(
    commands.GroupCog, group_name="pika-admin", group_description="pikabot settings for this server"
):
    """Admin commands; Discord hides them from members without Manage Server, and we check again."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """default_permissions is only a hint admins can override: enforce Manage Server here too."""
        if interaction.permissions.manage_guild:
            return True
        await interaction.response.send_message(
            "❌ Only members with **Manage Server** can change pikabot's settings.", ephemeral=True
        )
        return False

    @app_commands.command(name="limits", description="Show or change the per-member limits in this server")
    @app_commands.describe(
        in_flight="Unfinished jobs a member may have at once (1-100)",
        per_day="Jobs a member may start per UTC day (0 = no limit)",
        cooldown="Seconds a member must wait between requests (0 = none)",
        reset="Go back to the bot's configured defaults",
    )
    async def limits(
        self,
        interaction: discord.Interaction[Any],
        in_flight: app_commands.Range[int, 1, 100] | None = None,
        per_day: app_commands.Range[int, 0, 100_000] | None = None,
        cooldown: app_commands.Range[float, 0, 3600] | None = None,
        reset: bool = False,
    ) -> None:
        """/pika-admin limits"""
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        store = self.bot.runtime.store
        default = self.bot.runtime.service.settings.limits
        current = await store.guild_limits(interaction.guild_id, default)
        changing = reset or any(v is not None for v in (in_flight, per_day, cooldown))
        if changing:
            if reset:
                new_in_flight, new_per_day, new_cooldown = None, None, None
            else:
                new_in_flight = in_flight if in_flight is not None else current.in_flight
                new_per_day = per_day if per_day is not None else current.per_day
                new_cooldown = cooldown if cooldown is not None else current.cooldown
            await store.set_guild_limits(
                interaction.guild_id,
                time.time(),
                in_flight=new_in_flight,
                per_day=new_per_day,
                cooldown=new_cooldown,
            )
            current = await store.guild_limits(interaction.guild_id, default)
        verb = "Now" if changing else "Currently"
        await interaction.edit_original_response(content=f"{verb}: {describe_limits(current)}.")


async def setup(bot: PikaBot) -> None:
    """Extension entry point."""
    await bot.add_cog(AdminCog(bot))
