"""/pika-admin: server settings for admins (Manage Server): per-member limits and the guild settings."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.errors import UserFacingError
from bot.discord.render import duration_text
from bot.domain.budget import cents, money
from bot.domain.guild_settings import GuildSettings, describe_role_limits
from bot.domain.limits import MemberLimits
from bot.domain.settings_change import SettingsChange, apply_change
from bot.ops.status_report import StatusReport, build_report, compare_accounts

if TYPE_CHECKING:
    from bot.discord.app import PikaBot

# Discord's caps: an embed field's value, and a message's content.
_FIELD_LIMIT = 1024
_CONTENT_LIMIT = 2000


def describe_limits(limits: MemberLimits) -> str:
    """The limits as an admin reads them."""
    per_day = f"{limits.per_day} per day" if limits.per_day else "no daily limit"
    cooldown = f"{limits.cooldown:g} s between requests" if limits.cooldown else "no cooldown"
    return (
        f"**{limits.in_flight}** unfinished jobs per member, **{per_day}**, **{cooldown}**; "
        f"daily budget **{budget_text(limits.guild_budget_usd)}** for the server, "
        f"**{budget_text(limits.member_budget_usd)}** per member"
    )


def budget_text(usd: float) -> str:
    """A daily budget as an admin reads it (0 = none)."""
    return f"{money(cents(usd))} (USD)" if cents(usd) else "none"


def changed_limits(
    current: MemberLimits,
    in_flight: int | None,
    per_day: int | None,
    cooldown: float | None,
    guild_budget: float | None,
    member_budget: float | None,
) -> MemberLimits:
    """The limits after an admin's change: each option given replaces its value, the rest stay."""

    def pick(given: float | None, old: float) -> float:
        return old if given is None else given

    return MemberLimits(
        in_flight=in_flight if in_flight is not None else current.in_flight,
        per_day=per_day if per_day is not None else current.per_day,
        cooldown=pick(cooldown, current.cooldown),
        # Stored to the cent: what the refusals and /pika quota compare with.
        guild_budget_usd=cents(pick(guild_budget, current.guild_budget_usd)) / 100,
        member_budget_usd=cents(pick(member_budget, current.member_budget_usd)) / 100,
    )


def _listed(items: list[str], empty: str) -> str:
    """Items joined with commas, cut to fit an embed field (with a count of what was left out)."""
    if not items:
        return empty
    shown: list[str] = []
    for index, item in enumerate(items):
        rest = len(items) - index
        candidate = ", ".join([*shown, item])
        if len(candidate) + len(f" … and {rest} more") > _FIELD_LIMIT:
            return f"{', '.join(shown)} … and {rest} more"
        shown.append(item)
    return ", ".join(shown)


def settings_embed(settings: GuildSettings, limits: MemberLimits) -> discord.Embed:
    """Every guild setting, as an admin reads it."""
    embed = discord.Embed(title="pikabot settings for this server", colour=discord.Colour.blurple())

    def channel(channel_id: int | None, unset: str) -> str:
        return f"<#{channel_id}>" if channel_id is not None else unset

    embed.add_field(
        name="Community channel", value=channel(settings.community_channel_id, "not set"), inline=True
    )
    embed.add_field(
        name="Announce finished videos there",
        value="yes" if settings.announce_results else "no",
        inline=True,
    )
    embed.add_field(
        name="Account alerts go to", value=channel(settings.alerts_channel_id, "not set"), inline=True
    )
    where = f"only {settings.where_allowed()}" if settings.allowed_channel_ids else "everywhere I can post"
    embed.add_field(name="Generation allowed in", value=where[:_FIELD_LIMIT], inline=False)
    embed.add_field(
        name="Who may generate",
        value=_listed([f"<@&{r}>" for r in sorted(settings.allowed_role_ids)], "everyone"),
        inline=False,
    )
    moderators = [f"<@&{r}>" for r in sorted(settings.moderator_role_ids)]
    embed.add_field(
        name="Moderators (may retry and act on anyone's jobs)",
        value=_listed(["members with **Manage Messages**", *moderators], ""),
        inline=False,
    )
    embed.add_field(
        name=f"Banned words ({len(settings.banned_words)})",
        value=_listed([f"`{w}`" for w in settings.banned_words], "none"),
        inline=False,
    )
    embed.add_field(name="Per-member limits", value=describe_limits(limits), inline=False)
    embed.add_field(
        name="Role limits (the most generous of a member's roles wins)",
        value=_listed(
            [f"<@&{r}>: {describe_role_limits(v)}" for r, v in sorted(settings.role_limits.items())],
            "none",
        ),
        inline=False,
    )
    return embed


def _id(thing: discord.abc.Snowflake | None) -> int | None:
    return None if thing is None else thing.id


def _cannot_post_in(channel: discord.TextChannel) -> str | None:
    """A warning when the bot could not post in a channel an admin just picked."""
    perms = channel.permissions_for(channel.guild.me)
    if perms.view_channel and perms.send_messages:
        return None
    return f"⚠️ I can't post in {channel.mention} yet: give me **View Channel** and **Send Messages** there."


# /pika-admin settings' options, as admins read them in Discord.
_SETTINGS_HELP = {
    "community_channel": "The shared generation channel (always allowed)",
    "clear_community": "Unset the community channel",
    "allow_channel": "Allow generation in this channel (the first one restricts generation to the list)",
    "disallow_channel": "Remove a channel from the allowed list (removing the last lifts the restriction)",
    "allow_role": "Let members with this role generate (the first one restricts generation to the list)",
    "disallow_role": "Remove a role from the allowed list (removing the last lets everyone generate)",
    "add_moderator_role": "Members with this role may retry and act on anyone's jobs",
    "remove_moderator_role": "This role is no longer a moderator role",
    "ban_word": "Refuse prompts containing this word or phrase (whole words, any case)",
    "unban_word": "Stop refusing this word or phrase",
    "announce_results": "Also announce finished videos in the community channel",
    "alerts_channel": "Where admins are told about upstream account problems",
    "clear_alerts": "Unset the alerts channel",
    "limit_role": "A role whose members get their own limits (with role_in_flight / role_per_day)",
    "role_in_flight": "Unfinished jobs a member with limit_role may have at once (1-100)",
    "role_per_day": "Jobs a member with limit_role may start per UTC day (0 = no limit)",
    "clear_role_limits": "Remove limit_role's own limits",
}


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
        if not interaction.permissions.manage_guild:
            raise UserFacingError("Only members with **Manage Server** can change pikabot's settings.")
        return True

    @app_commands.command(name="limits", description="Show or change the per-member limits in this server")
    @app_commands.describe(
        in_flight="Unfinished jobs a member may have at once (1-100)",
        per_day="Jobs a member may start per UTC day (0 = no limit)",
        cooldown="Seconds a member must wait between requests (0 = none)",
        guild_budget="USD the whole server may spend on videos per UTC day (0 = no budget)",
        member_budget="USD each member may spend on videos per UTC day (0 = no budget)",
        reset="Go back to the bot's configured defaults",
    )
    async def limits(
        self,
        interaction: discord.Interaction[Any],
        in_flight: app_commands.Range[int, 1, 100] | None = None,
        per_day: app_commands.Range[int, 0, 100_000] | None = None,
        cooldown: app_commands.Range[float, 0, 3600] | None = None,
        guild_budget: app_commands.Range[float, 0, 100_000] | None = None,
        member_budget: app_commands.Range[float, 0, 100_000] | None = None,
        reset: bool = False,
    ) -> None:
        """/pika-admin limits"""
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        store = self.bot.runtime.store
        default = self.bot.runtime.service.settings.limits
        current = await store.guild_limits(interaction.guild_id, default)
        options = (in_flight, per_day, cooldown, guild_budget, member_budget)
        changing = reset or any(v is not None for v in options)
        if changing:
            if reset:  # None everywhere: the configured defaults
                await store.set_guild_limits(
                    interaction.guild_id, time.time(), in_flight=None, per_day=None, cooldown=None
                )
            else:
                new = changed_limits(current, *options)
                await store.set_guild_limits(
                    interaction.guild_id,
                    time.time(),
                    in_flight=new.in_flight,
                    per_day=new.per_day,
                    cooldown=new.cooldown,
                    guild_budget_usd=new.guild_budget_usd,
                    member_budget_usd=new.member_budget_usd,
                )
            current = await store.guild_limits(interaction.guild_id, default)
        verb = "Now" if changing else "Currently"
        await interaction.edit_original_response(content=f"{verb}: {describe_limits(current)}.")

    @app_commands.command(name="settings", description="Show or change where and by whom pikabot may be used")
    @app_commands.describe(**_SETTINGS_HELP)
    async def settings(
        self,
        interaction: discord.Interaction[Any],
        community_channel: discord.TextChannel | None = None,
        clear_community: bool = False,
        allow_channel: discord.TextChannel | None = None,
        disallow_channel: discord.TextChannel | None = None,
        allow_role: discord.Role | None = None,
        disallow_role: discord.Role | None = None,
        add_moderator_role: discord.Role | None = None,
        remove_moderator_role: discord.Role | None = None,
        ban_word: app_commands.Range[str, 1, 100] | None = None,
        unban_word: app_commands.Range[str, 1, 100] | None = None,
        announce_results: bool | None = None,
        alerts_channel: discord.TextChannel | None = None,
        clear_alerts: bool = False,
        limit_role: discord.Role | None = None,
        role_in_flight: app_commands.Range[int, 1, 100] | None = None,
        role_per_day: app_commands.Range[int, 0, 100_000] | None = None,
        clear_role_limits: bool = False,
    ) -> None:
        """/pika-admin settings"""
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        change = SettingsChange(
            community_channel_id=_id(community_channel),
            clear_community=clear_community,
            allow_channel_id=_id(allow_channel),
            disallow_channel_id=_id(disallow_channel),
            allow_role_id=_id(allow_role),
            disallow_role_id=_id(disallow_role),
            add_moderator_role_id=_id(add_moderator_role),
            remove_moderator_role_id=_id(remove_moderator_role),
            ban_word=ban_word,
            unban_word=unban_word,
            announce_results=announce_results,
            alerts_channel_id=_id(alerts_channel),
            clear_alerts=clear_alerts,
            limit_role_id=_id(limit_role),
            role_in_flight=role_in_flight,
            role_per_day=role_per_day,
            clear_role_limits=clear_role_limits,
        )
        picked = [c for c in (community_channel, allow_channel, alerts_channel) if c is not None]
        await self._apply_settings(interaction, interaction.guild_id, change, picked)

    async def _apply_settings(
        self,
        interaction: discord.Interaction[Any],
        guild_id: int,
        change: SettingsChange,
        picked: list[discord.TextChannel],
    ) -> None:
        """Apply the change (SettingsError: nothing changed), then show what changed and every setting."""
        store = self.bot.runtime.guild_settings
        current = await store.get(guild_id)
        lines: list[str] = []
        if not change.empty:
            current, done = apply_change(current, change)
            if done:
                await store.update(guild_id, time.time(), current)
                lines = ["✅ Changed:", *(f"• {line}" for line in done)]
            else:
                lines = ["Nothing to change: the settings already say that."]
            for warning in (_cannot_post_in(channel) for channel in picked):
                if warning and warning not in lines:
                    lines.append(warning)
        limits = await self.bot.runtime.store.guild_limits(guild_id, self.bot.runtime.service.settings.limits)
        content = "\n".join(lines)
        if len(content) > _CONTENT_LIMIT:
            content = content[: _CONTENT_LIMIT - 1] + "…"
        await interaction.edit_original_response(
            content=content or None,
            embed=settings_embed(current, limits),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(
        name="status", description="Upstream health, accounts, slots, queue and today's jobs"
    )
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        """/pika-admin status"""
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await build_report(self.bot.runtime.service, time.time())
        await interaction.edit_original_response(embed=status_report_embed(report, time.time()))

    @app_commands.command(name="accounts", description="useapi.net's configured Pika accounts next to ours")
    async def accounts(self, interaction: discord.Interaction[Any]) -> None:
        """/pika-admin accounts"""
        await interaction.response.defer(ephemeral=True, thinking=True)
        found = await compare_accounts(self.bot.runtime.service)
        lines = ["**Ours** (config `[[useapi.accounts]]`):"]
        lines += [f"• `{a.name}` — {a.max_jobs} slots" for a in found.ours] or ["• none"]
        lines.append("**At useapi.net** (`GET pika/account`):")
        if found.problem is None:
            used = {a.channel for a in found.ours}
            lines += [
                f"• `{a.channel}` — maxJobs {a.max_jobs}"
                + ("" if a.channel in used else " (not used by pikabot)")
                for a in found.theirs
            ] or ["• none configured"]
            if found.missing_upstream:
                missing = ", ".join(f"`{m}`" for m in found.missing_upstream)
                lines.append(f"⚠️ Not configured at useapi.net: {missing}")
        else:
            lines.append(f"❌ useapi.net did not answer: {found.problem}")
        await interaction.edit_original_response(content="\n".join(lines)[:_CONTENT_LIMIT])


def _ago(now: float, then: float | None) -> str:
    return "never" if then is None else f"{duration_text(now - then)} ago"


def status_report_embed(report: StatusReport, now: float) -> discord.Embed:
    """The /pika-admin status embed."""
    embed = discord.Embed(title="pikabot status", colour=0x3498DB)
    for provider in report.providers:
        health = provider.health
        text = f"last OK {_ago(now, health.last_ok_at)}"
        if health.last_error:
            text += f"\nlast error {_ago(now, health.last_error_at)}: {health.last_error[:200]}"
        embed.add_field(name=f"Upstream · {provider.display_name}", value=text, inline=False)
    for account in report.accounts:
        state = (
            "✅ healthy"
            if account.healthy
            else f"❌ unhealthy (recheck in {duration_text(max(0, account.recheck_at - now))})"
        )
        text = f"{state} · slots {account.in_use}/{account.max_jobs}"
        if account.last_error:
            text += f"\nlast error {_ago(now, account.last_error_at)}: {account.last_error[:200]}"
        embed.add_field(name=f"Account `{account.name}` ({account.provider})", value=text, inline=False)
    oldest = f", oldest waiting {duration_text(report.oldest_wait)}" if report.oldest_wait is not None else ""
    embed.add_field(name="Queue", value=f"{report.queue_length} waiting{oldest}", inline=False)
    today = ", ".join(f"{c.state.value} {c.count}" for c in report.today) or "none yet"
    embed.add_field(name="Jobs today (UTC)", value=today, inline=False)
    median = duration_text(report.median_video_seconds) if report.median_video_seconds is not None else "—"
    embed.add_field(name="Median time to video today", value=median, inline=False)
    embed.add_field(name="Spend today (priced providers)", value=f"${report.spend_today:.2f}", inline=False)
    return embed


async def setup(bot: PikaBot) -> None:
    """Extension entry point."""
    await bot.add_cog(AdminCog(bot))
