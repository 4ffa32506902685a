"""Daily budgets in USD: cents, what is left, refusals that say so, and the alert thresholds."""

from __future__ import annotations

import pytest

from bot.domain.budget import (
    BudgetExceeded,
    BudgetState,
    Spend,
    cents,
    check_budget,
    guild_state,
    member_state,
    money,
    thresholds_reached,
)
from bot.domain.limits import LimitExceeded, MemberLimits

NOON = 1_700_000_000.0 - (1_700_000_000.0 % 86_400) + 43_200  # 12:00 UTC


def test_cents_round_half_up_and_money_reads_them() -> None:
    assert cents(0.225) == 23 and cents(0.224) == 22 and cents(0.1 + 0.2) == 30
    assert cents(None) == 0 and cents(0) == 0 and cents(12.5) == 1250
    assert money(0) == "$0.00" and money(5) == "$0.05" and money(1250) == "$12.50" and money(-7) == "-$0.07"


def test_state_left_and_percent() -> None:
    limits = MemberLimits(guild_budget_usd=2.0, member_budget_usd=0.5)
    spend = Spend(guild_usd=1.6, member_usd=0.7)
    assert guild_state(limits, spend) == BudgetState(200, 160)
    assert guild_state(limits, spend).left == 40 and guild_state(limits, spend).percent() == 80.0
    assert member_state(limits, spend).left == 0  # never below zero
    assert not BudgetState(0, 999).limited and BudgetState(0, 999).allows(10_000)
    assert BudgetState(100, 0).allows(100) and not BudgetState(100, 0).allows(101)


def test_a_job_that_fits_exactly_is_allowed() -> None:
    limits = MemberLimits(guild_budget_usd=1.0, member_budget_usd=0.9)
    check_budget(limits, Spend(0.55, 0.45), 0.45, NOON)  # 0.45 + 0.45 = 0.90, to the cent
    check_budget(MemberLimits(), Spend(1e6, 1e6), 5.0, NOON)  # no budgets
    # Rounded once, as a sum: 0.675 + 0.225 is 0.90 exactly (per clip, 68 + 23 cents would not fit).
    check_budget(MemberLimits(member_budget_usd=0.9), Spend(0.675, 0.675), 0.225, NOON)
    check_budget(limits, Spend(5.0, 5.0), None, NOON)  # unpriced provider


def test_member_budget_refusal_says_what_is_left_and_when_it_resets() -> None:
    limits = MemberLimits(guild_budget_usd=10.0, member_budget_usd=1.0)
    with pytest.raises(BudgetExceeded) as caught:
        check_budget(limits, Spend(0.7, 0.7), 0.45, NOON)
    assert str(caught.value) == (
        "This video costs $0.45, but only $0.30 of your $1.00 daily budget here is left. "
        "It resets at 00:00 UTC, in 12 h 00 min."
    )
    assert isinstance(caught.value, LimitExceeded) and not caught.value.guild_wide
    assert caught.value.retry_after == 43_200


def test_guild_budget_refusal_is_guild_wide() -> None:
    limits = MemberLimits(guild_budget_usd=1.0)
    with pytest.raises(BudgetExceeded) as caught:
        check_budget(limits, Spend(0.9, 0.0), 0.2, NOON + 3600)
    assert "only $0.10 of this server's $1.00 daily budget is left" in str(caught.value)
    assert "in 11 h 00 min" in str(caught.value) and caught.value.guild_wide


def test_thresholds() -> None:
    assert thresholds_reached(BudgetState(100, 79)) == ()
    assert thresholds_reached(BudgetState(100, 80)) == (80,)
    assert thresholds_reached(BudgetState(100, 100)) == (80, 100)
    assert thresholds_reached(BudgetState(100, 10), refused=True) == (100,)
    assert thresholds_reached(BudgetState(100, 85), refused=True) == (80, 100)
    assert thresholds_reached(BudgetState(0, 500), refused=True) == ()
