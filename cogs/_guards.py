"""The guild's checks a command passes before anything is spent: channel, role, banned words, limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.discord.errors import UserFacingError
from bot.domain.guild_settings import GuildSettings, join_or
from bot.domain.limits import MemberLimits

if TYPE_CHECKING:
    from bot.discord.app import PikaBot


async def settings_for(bot: PikaBot, guild_id: int) -> GuildSettings:
    """The guild's current settings, read from SQLite (so a change applies at once, without a restart)."""
    return await bot.runtime.guild_settings.get(guild_id)


def role_ids_of(interaction: discord.Interaction[Any]) -> list[int]:
    """The ids of the member's roles (none outside a guild)."""
    user = interaction.user
    return [role.id for role in user.roles] if isinstance(user, discord.Member) else []


async def guard(interaction: discord.Interaction[PikaBot]) -> GuildSettings:
    """The guild's settings, if the member may generate here; else UserFacingError saying where or who may."""
    if interaction.guild_id is None:
        return GuildSettings()
    settings = await settings_for(interaction.client, interaction.guild_id)
    parent_id = getattr(interaction.channel, "parent_id", None)
    if not settings.channel_allowed(interaction.channel_id, parent_id):
        raise UserFacingError(f"pikabot isn't enabled in this channel. Use it in {settings.where_allowed()}.")
    # Admins set the role list themselves, so it never locks them out of their own server.
    if not interaction.permissions.manage_guild and not settings.role_allowed(role_ids_of(interaction)):
        roles = join_or([f"<@&{r}>" for r in sorted(settings.allowed_role_ids)])
        raise UserFacingError(f"Only members with {roles} can generate here.")
    return settings


def check_banned(settings: GuildSettings, *texts: str | None) -> None:
    """Raise UserFacingError naming the banned word if any of the texts contains one."""
    word = settings.banned_word_in(*texts)
    if word is not None:
        raise UserFacingError(
            f"Your prompt contains “{word}”, which this server does not allow "
            f"(rule: banned word “{word}”). Remove it and try again."
        )


def member_is_moderator(interaction: discord.Interaction[Any], settings: GuildSettings) -> bool:
    """Manage Messages in this channel, or one of the guild's moderator roles."""
    return interaction.permissions.manage_messages or settings.is_moderator(role_ids_of(interaction))


async def is_moderator(interaction: discord.Interaction[PikaBot]) -> bool:
    """Members with Manage Messages in this channel, or a moderator role, may act on anyone's jobs."""
    if interaction.permissions.manage_messages or interaction.guild_id is None:
        return interaction.permissions.manage_messages
    return member_is_moderator(interaction, await settings_for(interaction.client, interaction.guild_id))


def member_limits(
    interaction: discord.Interaction[Any], settings: GuildSettings, base: MemberLimits
) -> MemberLimits | None:
    """The member's limits when one of their roles overrides `base`; None means "the guild's"."""
    roles = role_ids_of(interaction)
    return settings.limits_for(roles, base) if settings.has_role_override(roles) else None


async def limits_of_member(
    interaction: discord.Interaction[PikaBot], settings: GuildSettings
) -> MemberLimits | None:
    """member_limits against the guild's own limits, read only when a role override applies."""
    if interaction.guild_id is None or not settings.has_role_override(role_ids_of(interaction)):
        return None
    runtime = interaction.client.runtime
    base = await runtime.store.guild_limits(interaction.guild_id, runtime.service.settings.limits)
    return member_limits(interaction, settings, base)


async def member_limits_of(interaction: discord.Interaction[PikaBot]) -> MemberLimits | None:
    """The member's limits when a role override applies to them; None = the guild's."""
    if interaction.guild_id is None:
        return None
    return await limits_of_member(interaction, await settings_for(interaction.client, interaction.guild_id))
