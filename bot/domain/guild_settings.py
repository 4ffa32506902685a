"""Per-guild settings: where pikabot may be used, by whom, which words are refused, role limits. Pure."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
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


# -- texts for admins ------------------------------------------------------------------------------


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
