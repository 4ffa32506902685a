"""Changes made in /pika-admin settings: a SettingsChange, checked and applied to GuildSettings. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.domain.guild_settings import (
    MAX_BANNED_WORDS,
    MAX_LIST_ENTRIES,
    GuildSettings,
    RoleLimits,
    SettingsError,
    clean_banned_word,
    describe_role_limits,
    normalize_text,
)


@dataclass(frozen=True)
class SettingsChange:
    """What one /pika-admin settings command asks for; None (or False) leaves a setting alone."""

    community_channel_id: int | None = None
    clear_community: bool = False
    allow_channel_id: int | None = None
    disallow_channel_id: int | None = None
    allow_role_id: int | None = None
    disallow_role_id: int | None = None
    add_moderator_role_id: int | None = None
    remove_moderator_role_id: int | None = None
    ban_word: str | None = None
    unban_word: str | None = None
    announce_results: bool | None = None
    alerts_channel_id: int | None = None
    clear_alerts: bool = False
    limit_role_id: int | None = None
    role_in_flight: int | None = None
    role_per_day: int | None = None
    clear_role_limits: bool = False

    @property
    def empty(self) -> bool:
        """Does the change ask for nothing (the command only shows the settings)?"""
        return self == SettingsChange()


def apply_change(settings: GuildSettings, change: SettingsChange) -> tuple[GuildSettings, list[str]]:
    """The settings after `change`, and one line per setting it changed (SettingsError if it can't)."""
    _check_consistent(change)
    done: list[str] = []
    for step in _CHANGE_STEPS:
        settings, lines = step(settings, change)
        done += lines
    return settings, done


def _change_community(new: GuildSettings, change: SettingsChange) -> tuple[GuildSettings, list[str]]:
    """The community channel."""
    done: list[str] = []
    if change.clear_community and new.community_channel_id is not None:
        done.append(f"Community channel cleared (was <#{new.community_channel_id}>).")
        new = replace(new, community_channel_id=None)
    if change.community_channel_id is not None and change.community_channel_id != new.community_channel_id:
        new = replace(new, community_channel_id=change.community_channel_id)
        done.append(f"Community channel set to <#{change.community_channel_id}>.")
    return new, done


def _change_channels(new: GuildSettings, change: SettingsChange) -> tuple[GuildSettings, list[str]]:
    """The allowed channels."""
    done: list[str] = []
    if change.allow_channel_id is not None and change.allow_channel_id not in new.allowed_channel_ids:
        _check_room(new.allowed_channel_ids, "allowed channels")
        first = not new.allowed_channel_ids
        new = replace(new, allowed_channel_ids=new.allowed_channel_ids | {change.allow_channel_id})
        done.append(
            f"Generation now allowed in <#{change.allow_channel_id}>"
            + (" (from now on only in the listed channels)." if first else ".")
        )
    if change.disallow_channel_id is not None and change.disallow_channel_id in new.allowed_channel_ids:
        new = replace(new, allowed_channel_ids=new.allowed_channel_ids - {change.disallow_channel_id})
        done.append(
            f"<#{change.disallow_channel_id}> removed from the allowed channels"
            + ("; generation is allowed everywhere again." if not new.allowed_channel_ids else ".")
        )
    return new, done


def _change_allowed_roles(new: GuildSettings, change: SettingsChange) -> tuple[GuildSettings, list[str]]:
    """The roles allowed to generate."""
    done: list[str] = []
    if change.allow_role_id is not None and change.allow_role_id not in new.allowed_role_ids:
        _check_room(new.allowed_role_ids, "allowed roles")
        first = not new.allowed_role_ids
        new = replace(new, allowed_role_ids=new.allowed_role_ids | {change.allow_role_id})
        done.append(
            f"<@&{change.allow_role_id}> may generate"
            + (" (from now on only the listed roles may)." if first else ".")
        )
    if change.disallow_role_id is not None and change.disallow_role_id in new.allowed_role_ids:
        new = replace(new, allowed_role_ids=new.allowed_role_ids - {change.disallow_role_id})
        done.append(
            f"<@&{change.disallow_role_id}> removed from the allowed roles"
            + ("; everyone may generate again." if not new.allowed_role_ids else ".")
        )
    return new, done


def _change_moderators(new: GuildSettings, change: SettingsChange) -> tuple[GuildSettings, list[str]]:
    """The moderator roles."""
    done: list[str] = []
    add_mod, remove_mod = change.add_moderator_role_id, change.remove_moderator_role_id
    if add_mod is not None and add_mod not in new.moderator_role_ids:
        _check_room(new.moderator_role_ids, "moderator roles")
        new = replace(new, moderator_role_ids=new.moderator_role_ids | {add_mod})
        done.append(f"<@&{add_mod}> is now a moderator role.")
    if remove_mod is not None and remove_mod in new.moderator_role_ids:
        new = replace(new, moderator_role_ids=new.moderator_role_ids - {remove_mod})
        done.append(f"<@&{remove_mod}> is no longer a moderator role.")
    return new, done


def _change_words(new: GuildSettings, change: SettingsChange) -> tuple[GuildSettings, list[str]]:
    """The banned words."""
    done: list[str] = []
    if change.ban_word is not None:
        word = clean_banned_word(change.ban_word)
        if word not in new.banned_words:
            if len(new.banned_words) >= MAX_BANNED_WORDS:
                raise SettingsError(f"There can be at most {MAX_BANNED_WORDS} banned words; unban one first.")
            new = replace(new, banned_words=(*new.banned_words, word))
            done.append(f"“{word}” is now a banned word.")
    if change.unban_word is not None:
        word = normalize_text(change.unban_word)
        if word in new.banned_words:
            new = replace(new, banned_words=tuple(w for w in new.banned_words if w != word))
            done.append(f"“{word}” is no longer banned.")
    return new, done


def _change_announce(new: GuildSettings, change: SettingsChange) -> tuple[GuildSettings, list[str]]:
    """Whether results are announced in the community channel."""
    done: list[str] = []
    if change.announce_results is not None and change.announce_results != new.announce_results:
        new = replace(new, announce_results=change.announce_results)
        done.append(
            "Finished videos are now also announced in the community channel."
            if change.announce_results
            else "Finished videos are no longer announced in the community channel."
        )
    return new, done


def _change_alerts(new: GuildSettings, change: SettingsChange) -> tuple[GuildSettings, list[str]]:
    """The alerts channel."""
    done: list[str] = []
    if change.clear_alerts and new.alerts_channel_id is not None:
        done.append(f"Alerts channel cleared (was <#{new.alerts_channel_id}>).")
        new = replace(new, alerts_channel_id=None)
    if change.alerts_channel_id is not None and change.alerts_channel_id != new.alerts_channel_id:
        new = replace(new, alerts_channel_id=change.alerts_channel_id)
        done.append(f"Account alerts now go to <#{change.alerts_channel_id}>.")
    return new, done


def _change_role_limits(new: GuildSettings, change: SettingsChange) -> tuple[GuildSettings, list[str]]:
    """A role's own limits."""
    done: list[str] = []
    if change.limit_role_id is not None:
        new, line = _apply_role_limits(new, change)
        if line:
            done.append(line)
    return new, done


_CHANGE_STEPS: tuple[Callable[[GuildSettings, SettingsChange], tuple[GuildSettings, list[str]]], ...] = (
    _change_community,
    _change_channels,
    _change_allowed_roles,
    _change_moderators,
    _change_words,
    _change_announce,
    _change_alerts,
    _change_role_limits,
)


def _check_consistent(change: SettingsChange) -> None:
    if change.clear_community and change.community_channel_id is not None:
        raise SettingsError("Give either `community_channel` or `clear_community`, not both.")
    if change.clear_alerts and change.alerts_channel_id is not None:
        raise SettingsError("Give either `alerts_channel` or `clear_alerts`, not both.")
    role_limit_given = change.role_in_flight is not None or change.role_per_day is not None
    if (role_limit_given or change.clear_role_limits) and change.limit_role_id is None:
        raise SettingsError("Name the role with `limit_role` to change its limits.")
    if change.limit_role_id is not None and not (role_limit_given or change.clear_role_limits):
        raise SettingsError(
            "With `limit_role`, give `role_in_flight`, `role_per_day` or `clear_role_limits`."
        )
    if role_limit_given and change.clear_role_limits:
        raise SettingsError("Give the role's limits or `clear_role_limits`, not both.")
    for first, second, names in (
        (change.allow_channel_id, change.disallow_channel_id, "`allow_channel` and `disallow_channel`"),
        (change.allow_role_id, change.disallow_role_id, "`allow_role` and `disallow_role`"),
        (
            change.add_moderator_role_id,
            change.remove_moderator_role_id,
            "`add_moderator_role` and `remove_moderator_role`",
        ),
    ):
        if first is not None and first == second:
            raise SettingsError(f"{names} name the same thing; give only one of them.")
    if (
        change.ban_word is not None
        and change.unban_word is not None
        and normalize_text(change.ban_word) == normalize_text(change.unban_word)
    ):
        raise SettingsError("`ban_word` and `unban_word` name the same word; give only one of them.")


def _check_room(current: frozenset[int], what: str) -> None:
    if len(current) >= MAX_LIST_ENTRIES:
        raise SettingsError(f"There can be at most {MAX_LIST_ENTRIES} {what}; remove one first.")


def _apply_role_limits(settings: GuildSettings, change: SettingsChange) -> tuple[GuildSettings, str]:
    role_id = change.limit_role_id
    assert role_id is not None
    limits = dict(settings.role_limits)
    if change.clear_role_limits:
        if role_id not in limits:
            return settings, ""
        del limits[role_id]
        return replace(settings, role_limits=limits), f"<@&{role_id}> no longer has its own limits."
    old = limits.get(role_id, RoleLimits())
    new = RoleLimits(
        in_flight=change.role_in_flight if change.role_in_flight is not None else old.in_flight,
        per_day=change.role_per_day if change.role_per_day is not None else old.per_day,
    )
    if new == old and role_id in limits:
        return settings, ""
    if role_id not in limits and len(limits) >= MAX_LIST_ENTRIES:
        raise SettingsError(f"At most {MAX_LIST_ENTRIES} roles can have their own limits; clear one first.")
    limits[role_id] = new
    return replace(settings, role_limits=limits), f"<@&{role_id}> now has {describe_role_limits(new)}."
