"""Per-member limits: in flight, per day, cooldown (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.limits import LimitExceeded, MemberLimits, MemberUsage, check, day_start

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()


def test_within_limits_passes() -> None:
    """Under every limit: nothing raised."""
    check(MemberLimits(in_flight=2, per_day=5, cooldown=3), MemberUsage(1, 4, NOON - 10), NOON)


def test_in_flight_limit() -> None:
    """Two unfinished jobs with a limit of two: refused, told to wait for one to finish."""
    with pytest.raises(LimitExceeded, match="2 jobs in progress"):
        check(MemberLimits(in_flight=2), MemberUsage(2, 2, None), NOON)


def test_daily_limit_says_when_it_resets() -> None:
    """The daily limit names the reset time (00:00 UTC) and how long until then."""
    with pytest.raises(LimitExceeded) as caught:
        check(MemberLimits(in_flight=5, per_day=3), MemberUsage(0, 3, None), NOON)
    assert "resets at 00:00 UTC, in 12 h 00 min" in str(caught.value)
    assert caught.value.retry_after == pytest.approx(12 * 3600)
    check(MemberLimits(in_flight=5, per_day=0), MemberUsage(0, 999, None), NOON)  # 0 = no daily limit


def test_cooldown() -> None:
    """A second request within the cooldown is refused with the seconds left."""
    with pytest.raises(LimitExceeded, match="wait 2 s"):
        check(MemberLimits(cooldown=3), MemberUsage(0, 1, NOON - 1.5), NOON)
    check(MemberLimits(cooldown=3), MemberUsage(0, 1, NOON - 3.5), NOON)


def test_day_start_is_utc_midnight() -> None:
    """Days start at 00:00 UTC."""
    assert day_start(NOON) == datetime(2026, 11, 23, tzinfo=UTC).timestamp()


def test_in_flight_message_counts_the_members_jobs() -> None:
    """A limit lowered below what a member already has reads "2 jobs", not "2 job"."""
    with pytest.raises(LimitExceeded, match="You already have 2 jobs in progress"):
        check(MemberLimits(in_flight=1, per_day=0, cooldown=0), MemberUsage(2, 2, None), 1000.0)
