"""Guilds, members, roles and the bot's permissions (with the ``deny``/``allow`` knobs tests turn)."""

from __future__ import annotations

from sandbox import discord_payloads as P
from sandbox.discord_emu.channels import ChannelsLayer
from sandbox.discord_emu.constants import MISSING_PERMISSIONS
from sandbox.discord_emu.errors import DiscordHTTPError
from sandbox.discord_emu.records import EmuChannel
from sandbox.discord_payloads import JsonObj, Perm


class GuildsLayer(ChannelsLayer):
    """Who is in the guilds, with which roles, allowed to do what."""

    def _user_payload(self, user_id: int) -> JsonObj:
        if user_id == self.config.bot_user_id:
            return P.user_payload(user_id, self.config.bot_name, bot=True)
        if user_id == self.config.owner_id:
            return P.user_payload(user_id, "owner")
        name = self.config.members.get(user_id)
        if name is None:
            raise KeyError(user_id)
        return P.user_payload(user_id, name)

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

    def _all_member_ids(self) -> list[int]:
        return [*self.config.members, self.config.bot_user_id]

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
