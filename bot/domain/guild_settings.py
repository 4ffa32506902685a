"""Per-guild settings: where pikabot may be used, by whom, which words are refused, role limits. Pure."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType

from bot.domain.limits import MemberLimits

#: Bumped when the stored JSON changes shape; older documents are read with their own rules.
SCHEMA_VERSION = 1
MAX_BANNED_WORD_LENGTH = 100
MAX_BANNED_WORDS = 200
MAX_LIST_ENTRIES = 100  # channels, roles, moderator roles, role limits: each


class SettingsError(ValueError):
    """A settings change that cannot be applied; str(e) says why, for the admin."""


@dataclass(frozen=True)
class RoleLimits:
    """One role's override of the per-member limits; None leaves that limit as the guild has it."""

    in_flight: int | None = None
    per_day: int | None = None


def _frozen_map(items: Mapping[int, RoleLimits]) -> Mapping[int, RoleLimits]:
    return MappingProxyType(dict(items))


def _no_role_limits() -> Mapping[int, RoleLimits]:
    return _frozen_map({})


@dataclass(frozen=True)
class GuildSettings:
    """Everything an admin set for one guild; the defaults leave pikabot open to everyone everywhere."""

    community_channel_id: int | None = None
    allowed_channel_ids: frozenset[int] = frozenset()  # empty: everywhere the bot can post
    allowed_role_ids: frozenset[int] = frozenset()  # empty: everyone
    moderator_role_ids: frozenset[int] = frozenset()
    banned_words: tuple[str, ...] = ()  # normalized (see normalize_text), in the order they were added
    announce_results: bool = False
    alerts_channel_id: int | None = None
    # A read-only view (hash=False: a mapping is not hashable, and equality still compares it).
    role_limits: Mapping[int, RoleLimits] = field(default_factory=_no_role_limits, hash=False)

    def __post_init__(self) -> None:
        # Copy whatever mapping was passed, so a caller's later edits cannot reach a frozen value.
        object.__setattr__(self, "role_limits", _frozen_map(self.role_limits))

    def channel_allowed(self, channel_id: int | None, parent_id: int | None = None) -> bool:
        """May generation happen here? A thread counts as its parent; the community channel always may."""
        if not self.allowed_channel_ids:
            return True
        places = {channel_id, parent_id} - {None}
        return bool(places & (self.allowed_channel_ids | {self.community_channel_id}))

    def where_allowed(self) -> str:
        """The allowed channels as mentions, community channel first: "<#1>, <#2> or <#3>"."""
        ids = sorted(self.allowed_channel_ids - {self.community_channel_id})
        if self.community_channel_id is not None:
            ids.insert(0, self.community_channel_id)
        if not ids:
            return "any channel"
        return join_or([f"<#{i}>" for i in ids])

    def role_allowed(self, role_ids: Iterable[int]) -> bool:
        """Does a member with these roles pass the allowed-roles list (empty list: everyone does)?"""
        return not self.allowed_role_ids or not self.allowed_role_ids.isdisjoint(role_ids)

    def is_moderator(self, role_ids: Iterable[int]) -> bool:
        """Does a member with these roles hold one of the moderator roles?"""
        return not self.moderator_role_ids.isdisjoint(role_ids)

    def banned_word_in(self, *texts: str | None) -> str | None:
        """The first banned word or phrase found as a whole word in any of the texts, or None."""
        if not self.banned_words:
            return None
        normalized = [normalize_text(t) for t in texts if t]
        for word in self.banned_words:
            pattern = _word_pattern(word)
            if any(pattern.search(text) for text in normalized):
                return word
        return None

    def limits_for(self, role_ids: Iterable[int], base: MemberLimits) -> MemberLimits:
        """The member's limits: per field, the most generous override among their roles, else `base`."""
        overrides = [self.role_limits[r] for r in set(role_ids) if r in self.role_limits]
        in_flights = [o.in_flight for o in overrides if o.in_flight is not None]
        per_days = [o.per_day for o in overrides if o.per_day is not None]
        return replace(
            base,
            in_flight=max(in_flights) if in_flights else base.in_flight,
            # per_day 0 means "no daily limit": the most generous of all.
            per_day=(0 if 0 in per_days else max(per_days)) if per_days else base.per_day,
        )

    def has_role_override(self, role_ids: Iterable[int]) -> bool:
        """Does any of these roles carry a limits override?"""
        return any(r in self.role_limits for r in role_ids)

    def alert_channels(self) -> tuple[int, ...]:
        """Where admins want to hear about account problems (none, or one channel)."""
        return () if self.alerts_channel_id is None else (self.alerts_channel_id,)

    # -- storage ------------------------------------------------------------------------------

    def to_json(self) -> str:
        """The settings as a JSON document (ids as numbers, sets sorted); from_json reverses it."""
        document: dict[str, object] = {
            "version": SCHEMA_VERSION,
            "community_channel_id": self.community_channel_id,
            "allowed_channel_ids": sorted(self.allowed_channel_ids),
            "allowed_role_ids": sorted(self.allowed_role_ids),
            "moderator_role_ids": sorted(self.moderator_role_ids),
            "banned_words": list(self.banned_words),
            "announce_results": self.announce_results,
            "alerts_channel_id": self.alerts_channel_id,
            "role_limits": {
                str(role_id): {"in_flight": limits.in_flight, "per_day": limits.per_day}
                for role_id, limits in sorted(self.role_limits.items())
            },
        }
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> GuildSettings:
        """Read a document written by to_json; a wrong type raises ValueError (unknown keys are ignored)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("guild settings must be a JSON object")
        version = data.get("version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(f"guild settings version {version!r} is newer than this pikabot knows")
        raw_limits = data.get("role_limits") or {}
        if not isinstance(raw_limits, dict):
            raise ValueError("role_limits must be an object")
        return cls(
            community_channel_id=_optional_id(data, "community_channel_id"),
            allowed_channel_ids=_id_set(data, "allowed_channel_ids"),
            allowed_role_ids=_id_set(data, "allowed_role_ids"),
            moderator_role_ids=_id_set(data, "moderator_role_ids"),
            banned_words=tuple(_str_list(data, "banned_words")),
            announce_results=_bool(data, "announce_results"),
            alerts_channel_id=_optional_id(data, "alerts_channel_id"),
            role_limits={int(role_id): _role_limits(value) for role_id, value in raw_limits.items()},
        )


def _optional_id(data: Mapping[str, object], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be a number, not {type(value).__name__}")
    return value


def _id_set(data: Mapping[str, object], key: str) -> frozenset[int]:
    value = data.get(key) or []
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise ValueError(f"{key} must be a list of numbers")
    return frozenset(value)


def _str_list(data: Mapping[str, object], key: str) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings")
    return [str(v) for v in value]


def _bool(data: Mapping[str, object], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _role_limits(value: object) -> RoleLimits:
    if not isinstance(value, dict):
        raise ValueError("each role_limits entry must be an object")
    return RoleLimits(
        in_flight=_optional_id(value, "in_flight"),
        per_day=_optional_id(value, "per_day"),
    )


# -- banned words ---------------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """NFKC + casefold, invisible format characters dropped, runs of whitespace made one space.

    NFKC folds look-alikes such as full-width letters and ligatures; dropping format characters
    (zero-width spaces and joiners) stops "c\u200bat" from slipping past "cat".
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return " ".join(visible.split())


@lru_cache(maxsize=1024)
def _word_pattern(word: str) -> re.Pattern[str]:
    # Whole words only: "cat" must not match "cats" or "concatenate", but does match "cat!" and
    # "a cat's"; a phrase matches across any run of whitespace.
    body = r"\s+".join(re.escape(part) for part in word.split(" "))
    return re.compile(rf"(?<!\w){body}(?!\w)")


def clean_banned_word(word: str) -> str:
    """The stored form of a banned word or phrase; SettingsError if nothing matchable is left."""
    cleaned = normalize_text(word)
    if not cleaned:
        raise SettingsError("A banned word cannot be empty.")
    if len(cleaned) > MAX_BANNED_WORD_LENGTH:
        raise SettingsError(f"A banned word or phrase may be at most {MAX_BANNED_WORD_LENGTH} characters.")
    if not any(ch.isalnum() for ch in cleaned):
        raise SettingsError("A banned word needs at least one letter or digit.")
    return cleaned


# -- changes made in /pika-admin settings -------------------------------------------------------------


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


def describe_role_limits(limits: RoleLimits) -> str:
    """A role's override as an admin reads it: "3 unfinished jobs, no daily limit"."""
    parts: list[str] = []
    if limits.in_flight is not None:
        parts.append(f"{limits.in_flight} unfinished job{'s' if limits.in_flight != 1 else ''}")
    if limits.per_day is not None:
        parts.append("no daily limit" if limits.per_day == 0 else f"{limits.per_day} per day")
    return ", ".join(parts) or "the server's limits"


def join_or(items: list[str]) -> str:
    """ "a", "a or b", "a, b or c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"
