"""Per-guild settings: channel and role rules, banned words, role limits, changes, JSON (pure)."""

from __future__ import annotations

import pytest

from bot.domain.guild_settings import (
    MAX_BANNED_WORD_LENGTH,
    GuildSettings,
    RoleLimits,
    SettingsError,
    clean_banned_word,
    describe_role_limits,
    join_or,
    normalize_text,
)
from bot.domain.limits import MemberLimits
from bot.domain.settings_change import SettingsChange, apply_change

GENERATE, COMMUNITY, OTHER, THREAD = 1, 2, 3, 4
ARTISTS, MODS, VIP, NEWBIES = 11, 12, 13, 14


def words(*banned: str) -> GuildSettings:
    return GuildSettings(banned_words=tuple(clean_banned_word(w) for w in banned))


# -- channels ---------------------------------------------------------------------------------------


def test_no_allowed_channels_means_everywhere() -> None:
    """The default allows every channel and every thread."""
    settings = GuildSettings()
    assert settings.channel_allowed(OTHER) and settings.channel_allowed(THREAD, OTHER)
    assert settings.where_allowed() == "any channel"


def test_allowed_channels_restrict_and_threads_count_as_their_parent() -> None:
    """Only listed channels, and threads whose parent is listed."""
    settings = GuildSettings(allowed_channel_ids=frozenset({GENERATE}))
    assert settings.channel_allowed(GENERATE)
    assert settings.channel_allowed(THREAD, GENERATE)
    assert not settings.channel_allowed(OTHER)
    assert not settings.channel_allowed(THREAD, OTHER)
    assert not settings.channel_allowed(None)


def test_community_channel_is_always_allowed() -> None:
    """With a restriction in force the community channel (and its threads) stays allowed."""
    settings = GuildSettings(community_channel_id=COMMUNITY, allowed_channel_ids=frozenset({GENERATE}))
    assert settings.channel_allowed(COMMUNITY) and settings.channel_allowed(THREAD, COMMUNITY)
    assert not settings.channel_allowed(OTHER)


def test_where_allowed_lists_the_community_channel_first() -> None:
    """Mentions in a readable list, community first, no duplicates."""
    settings = GuildSettings(
        community_channel_id=COMMUNITY, allowed_channel_ids=frozenset({OTHER, GENERATE, COMMUNITY})
    )
    assert settings.where_allowed() == "<#2>, <#1> or <#3>"
    assert GuildSettings(allowed_channel_ids=frozenset({GENERATE})).where_allowed() == "<#1>"


def test_join_or() -> None:
    """Zero, one, two and three items."""
    assert join_or([]) == ""
    assert join_or(["a"]) == "a"
    assert join_or(["a", "b"]) == "a or b"
    assert join_or(["a", "b", "c"]) == "a, b or c"


# -- roles ------------------------------------------------------------------------------------------


def test_roles_allowed_and_moderators() -> None:
    """An empty allowed list lets everyone in; otherwise one matching role is enough."""
    assert GuildSettings().role_allowed([])
    settings = GuildSettings(allowed_role_ids=frozenset({ARTISTS, VIP}), moderator_role_ids=frozenset({MODS}))
    assert settings.role_allowed([NEWBIES, VIP])
    assert not settings.role_allowed([NEWBIES])
    assert not settings.role_allowed([])
    assert settings.is_moderator([ARTISTS, MODS]) and not settings.is_moderator([ARTISTS])
    assert not GuildSettings().is_moderator([MODS])


# -- banned words -----------------------------------------------------------------------------------


def test_banned_word_matches_whole_words_in_any_case() -> None:
    """ "CAT" matches "cat", punctuation ends a word, but "cats" and "concatenate" do not match."""
    settings = words("cat")
    assert settings.banned_word_in("A CAT on a mat") == "cat"
    assert settings.banned_word_in("cat!") == "cat"
    assert settings.banned_word_in("the cat's toy") == "cat"
    assert settings.banned_word_in("cats and dogs") is None
    assert settings.banned_word_in("concatenate") is None
    assert settings.banned_word_in("cat_food") is None


def test_banned_phrase_matches_across_any_whitespace() -> None:
    """A phrase matches with any run of spaces or newlines between its words, not split by others."""
    settings = words("red  Panda")
    assert settings.banned_words == ("red panda",)
    assert settings.banned_word_in("a RED\n\t panda eating") == "red panda"
    assert settings.banned_word_in("a red big panda") is None
    assert settings.banned_word_in("redpanda") is None


def test_banned_words_are_unicode_normalized() -> None:
    """Full-width letters, ß/SS casefolding and zero-width characters do not slip past."""
    assert words("cat").banned_word_in("ｃａｔ") == "cat"
    assert words("strasse").banned_word_in("STRAẞE") == "strasse"
    assert words("Straße").banned_word_in("strasse") == "strasse"
    assert words("cat").banned_word_in("c\u200bat") == "cat"
    assert words("café").banned_word_in("CAFE\u0301") == "café"  # combining accent: NFKC composes it


def test_banned_word_with_symbols_and_non_latin_scripts() -> None:
    """Regex characters are literal; words in other scripts follow the same whole-word rule."""
    assert words("c++").banned_word_in("I like c++ a lot") == "c++"
    assert words("a.b").banned_word_in("axb") is None
    assert words("кот").banned_word_in("Большой КОТ") == "кот"
    assert words("кот").banned_word_in("котики") is None


def test_banned_word_in_checks_every_text_and_returns_the_rule() -> None:
    """Any of the texts (prompt, negative, hidden message) may hold it; None texts are skipped."""
    settings = words("blood", "gore")
    assert settings.banned_word_in("a calm lake", None, "no GORE please") == "gore"
    assert settings.banned_word_in("a calm lake", None, "") is None
    assert GuildSettings().banned_word_in("anything at all") is None


def test_clean_banned_word_refuses_empty_long_and_symbol_only() -> None:
    """Nothing matchable, or longer than the limit: a clear error for the admin."""
    for bad in ("   ", "\u200b", "!!!"):
        with pytest.raises(SettingsError):
            clean_banned_word(bad)
    with pytest.raises(SettingsError, match=str(MAX_BANNED_WORD_LENGTH)):
        clean_banned_word("x" * (MAX_BANNED_WORD_LENGTH + 1))
    assert normalize_text("  Hello   WORLD ") == "hello world"


# -- limits -----------------------------------------------------------------------------------------

BASE = MemberLimits(in_flight=2, per_day=10, cooldown=3.0)


def test_limits_without_override_are_the_base() -> None:
    """No role override: the guild's limits unchanged."""
    settings = GuildSettings(role_limits={VIP: RoleLimits(in_flight=5)})
    assert settings.limits_for([ARTISTS], BASE) == BASE
    assert not settings.has_role_override([ARTISTS]) and settings.has_role_override([ARTISTS, VIP])


def test_limits_most_generous_override_wins_per_field() -> None:
    """Per field, the highest in-flight and the highest (or unlimited) per-day among the roles."""
    settings = GuildSettings(
        role_limits={
            VIP: RoleLimits(in_flight=5, per_day=20),
            ARTISTS: RoleLimits(in_flight=3, per_day=50),
            MODS: RoleLimits(per_day=0),
        }
    )
    assert settings.limits_for([VIP, ARTISTS], BASE) == MemberLimits(in_flight=5, per_day=50, cooldown=3.0)
    assert settings.limits_for([VIP, MODS], BASE) == MemberLimits(in_flight=5, per_day=0, cooldown=3.0)
    assert settings.limits_for([MODS], BASE) == MemberLimits(in_flight=2, per_day=0, cooldown=3.0)


def test_a_role_override_may_be_stricter_than_the_base() -> None:
    """An override replaces the base (e.g. newcomers get one job at a time)."""
    settings = GuildSettings(role_limits={NEWBIES: RoleLimits(in_flight=1, per_day=2)})
    assert settings.limits_for([NEWBIES], BASE) == MemberLimits(in_flight=1, per_day=2, cooldown=3.0)


def test_describe_role_limits() -> None:
    """Each override reads as a short phrase."""
    assert describe_role_limits(RoleLimits(in_flight=1)) == "1 unfinished job"
    assert describe_role_limits(RoleLimits(in_flight=3, per_day=0)) == "3 unfinished jobs, no daily limit"
    assert describe_role_limits(RoleLimits(per_day=7)) == "7 per day"
    assert describe_role_limits(RoleLimits()) == "the server's limits"


# -- immutability and JSON --------------------------------------------------------------------------


def test_settings_are_immutable_and_hashable() -> None:
    """role_limits is a read-only copy: neither the caller's dict nor the view can change it."""
    source = {VIP: RoleLimits(in_flight=4)}
    settings = GuildSettings(role_limits=source)
    source[ARTISTS] = RoleLimits(in_flight=9)
    assert ARTISTS not in settings.role_limits
    with pytest.raises(TypeError):
        settings.role_limits[ARTISTS] = RoleLimits()  # type: ignore[index]
    assert hash(settings) == hash(GuildSettings(role_limits={VIP: RoleLimits(in_flight=4)}))
    assert settings == GuildSettings(role_limits={VIP: RoleLimits(in_flight=4)})
    assert settings != GuildSettings(role_limits={VIP: RoleLimits(in_flight=5)})


def test_json_round_trip() -> None:
    """Every field survives to_json/from_json, including 64-bit snowflakes and non-ASCII words."""
    snowflake = 900000000000000201
    settings = GuildSettings(
        community_channel_id=snowflake,
        allowed_channel_ids=frozenset({snowflake, GENERATE}),
        allowed_role_ids=frozenset({ARTISTS}),
        moderator_role_ids=frozenset({MODS, VIP}),
        banned_words=("gore", "кот", "red panda"),
        announce_results=True,
        alerts_channel_id=OTHER,
        role_limits={VIP: RoleLimits(in_flight=5, per_day=0), ARTISTS: RoleLimits(per_day=3)},
    )
    assert GuildSettings.from_json(settings.to_json()) == settings
    assert GuildSettings.from_json(GuildSettings().to_json()) == GuildSettings()
    assert GuildSettings.from_json("{}") == GuildSettings()


@pytest.mark.parametrize(
    "document",
    [
        "[]",
        '{"version": 99}',
        '{"allowed_channel_ids": ["1"]}',
        '{"allowed_role_ids": [true]}',
        '{"banned_words": [1]}',
        '{"announce_results": "yes"}',
        '{"community_channel_id": "5"}',
        '{"role_limits": {"5": 3}}',
        '{"role_limits": {"x": {}}}',
    ],
)
def test_from_json_refuses_wrong_types(document: str) -> None:
    """A hand-edited or future document with the wrong shape is a ValueError, never a half-read value."""
    with pytest.raises(ValueError):
        GuildSettings.from_json(document)


def test_alert_channels() -> None:
    """None or the one configured channel."""
    assert GuildSettings().alert_channels() == ()
    assert GuildSettings(alerts_channel_id=OTHER).alert_channels() == (OTHER,)


# -- changes ----------------------------------------------------------------------------------------


def test_an_empty_change_changes_nothing() -> None:
    """No options: same settings, no lines."""
    assert SettingsChange().empty
    settings = GuildSettings(banned_words=("x",))
    assert apply_change(settings, SettingsChange()) == (settings, [])


def test_first_allowed_channel_restricts_and_last_removed_lifts() -> None:
    """The admin is told when a restriction starts and when it ends."""
    one, lines = apply_change(GuildSettings(), SettingsChange(allow_channel_id=GENERATE))
    assert one.allowed_channel_ids == {GENERATE} and "only in the listed channels" in lines[0]
    two, lines = apply_change(one, SettingsChange(allow_channel_id=OTHER))
    assert two.allowed_channel_ids == {GENERATE, OTHER} and "only" not in lines[0]
    back, _ = apply_change(two, SettingsChange(disallow_channel_id=OTHER))
    none, lines = apply_change(back, SettingsChange(disallow_channel_id=GENERATE))
    assert none.allowed_channel_ids == frozenset() and "allowed everywhere again" in lines[0]
    assert apply_change(none, SettingsChange(disallow_channel_id=GENERATE)) == (none, [])


def test_several_changes_at_once() -> None:
    """Every option given in one command is applied, one line each."""
    change = SettingsChange(
        community_channel_id=COMMUNITY,
        allow_role_id=ARTISTS,
        add_moderator_role_id=MODS,
        ban_word="  GORE ",
        announce_results=True,
        alerts_channel_id=OTHER,
        limit_role_id=VIP,
        role_in_flight=4,
    )
    new, lines = apply_change(GuildSettings(), change)
    assert new == GuildSettings(
        community_channel_id=COMMUNITY,
        allowed_role_ids=frozenset({ARTISTS}),
        moderator_role_ids=frozenset({MODS}),
        banned_words=("gore",),
        announce_results=True,
        alerts_channel_id=OTHER,
        role_limits={VIP: RoleLimits(in_flight=4)},
    )
    assert len(lines) == 7
    assert "<#2>" in lines[0] and "<@&11>" in lines[1] and "“gore”" in lines[3]


def test_removals_and_clears() -> None:
    """Each setting can be taken back."""
    settings = GuildSettings(
        community_channel_id=COMMUNITY,
        allowed_role_ids=frozenset({ARTISTS}),
        moderator_role_ids=frozenset({MODS}),
        banned_words=("gore", "blood"),
        announce_results=True,
        alerts_channel_id=OTHER,
        role_limits={VIP: RoleLimits(in_flight=4)},
    )
    change = SettingsChange(
        clear_community=True,
        disallow_role_id=ARTISTS,
        remove_moderator_role_id=MODS,
        unban_word="GORE",
        announce_results=False,
        clear_alerts=True,
        limit_role_id=VIP,
        clear_role_limits=True,
    )
    new, lines = apply_change(settings, change)
    assert new == GuildSettings(banned_words=("blood",))
    assert len(lines) == 7 and "everyone may generate again" in lines[1]


def test_role_limits_merge_with_the_existing_override() -> None:
    """Giving only per-day keeps the role's in-flight override; the same values again change nothing."""
    settings = GuildSettings(role_limits={VIP: RoleLimits(in_flight=4)})
    new, lines = apply_change(settings, SettingsChange(limit_role_id=VIP, role_per_day=0))
    assert new.role_limits[VIP] == RoleLimits(in_flight=4, per_day=0)
    assert lines == ["<@&13> now has 4 unfinished jobs, no daily limit."]
    assert apply_change(new, SettingsChange(limit_role_id=VIP, role_per_day=0)) == (new, [])


def test_banning_a_word_twice_changes_nothing() -> None:
    """Words are compared in their normalized form."""
    settings = GuildSettings(banned_words=("gore",))
    assert apply_change(settings, SettingsChange(ban_word="GORE")) == (settings, [])


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (SettingsChange(community_channel_id=COMMUNITY, clear_community=True), "not both"),
        (SettingsChange(alerts_channel_id=OTHER, clear_alerts=True), "not both"),
        (SettingsChange(role_in_flight=3), "limit_role"),
        (SettingsChange(clear_role_limits=True), "limit_role"),
        (SettingsChange(limit_role_id=VIP), "role_in_flight"),
        (SettingsChange(limit_role_id=VIP, role_per_day=1, clear_role_limits=True), "not both"),
        (SettingsChange(allow_channel_id=GENERATE, disallow_channel_id=GENERATE), "same"),
        (SettingsChange(allow_role_id=ARTISTS, disallow_role_id=ARTISTS), "same"),
        (SettingsChange(add_moderator_role_id=MODS, remove_moderator_role_id=MODS), "same"),
        (SettingsChange(ban_word="Gore", unban_word="gore"), "same"),
        (SettingsChange(ban_word="!!!"), "letter or digit"),
    ],
)
def test_contradictory_or_incomplete_changes_are_refused(change: SettingsChange, needle: str) -> None:
    """The admin is told what to fix; nothing is half-applied."""
    with pytest.raises(SettingsError, match=needle):
        apply_change(GuildSettings(), change)


def test_list_sizes_are_capped() -> None:
    """A full list refuses another entry with a clear message."""
    full = GuildSettings(allowed_channel_ids=frozenset(range(100)))
    with pytest.raises(SettingsError, match="at most 100"):
        apply_change(full, SettingsChange(allow_channel_id=1000))
    many = GuildSettings(banned_words=tuple(f"w{i}" for i in range(200)))
    with pytest.raises(SettingsError, match="at most 200"):
        apply_change(many, SettingsChange(ban_word="one more"))
