"""The daily budgets' queries on both backends: the budgets stored, what counts as spent, and the
once-a-day alert claims."""

from __future__ import annotations

import pytest

from bot.domain.budget import Spend
from bot.domain.jobs import JobState
from bot.domain.limits import MemberLimits
from bot.store import JobStore, JobUpdate
from tests.store.test_queries import GUILD, delivered, request

OTHER_GUILD = GUILD + 1


async def test_budgets_are_stored_beside_the_limits(store: JobStore) -> None:
    """Budgets override the default like the other limits, and None goes back to it."""
    default = MemberLimits(in_flight=2, per_day=0, cooldown=3.0, guild_budget_usd=1.0)
    assert await store.guild_limits(GUILD, default) == default
    await store.set_guild_limits(
        GUILD, 1.0, in_flight=3, per_day=0, cooldown=0, guild_budget_usd=12.5, member_budget_usd=2.25
    )
    assert await store.guild_limits(GUILD, default) == MemberLimits(3, 0, 0.0, 12.5, 2.25)
    await store.set_guild_limits(GUILD, 2.0, in_flight=3, per_day=0, cooldown=0, guild_budget_usd=0.0)
    assert await store.guild_limits(GUILD, default) == MemberLimits(3, 0, 0.0, 0.0, 0.0)
    await store.set_guild_limits(GUILD, 3.0, in_flight=None, per_day=None, cooldown=None)
    assert await store.guild_limits(GUILD, default) == default


async def test_spend_counts_billable_jobs_of_the_day(store: JobStore) -> None:
    """Queued, under way, delivered and upstream-taken jobs count; jobs that never reached upstream,
    jobs of yesterday, of other guilds and unpriced jobs do not."""
    assert await store.spend(GUILD, 1, 1000.0) == Spend(0.0, 0.0)
    await delivered(store, 1, 900.0, cost=5.0)  # yesterday
    await delivered(store, 1, 1000.0, cost=0.45)
    await store.insert(request(1, cost_usd=0.2), 1001.0)  # queued: will be billed
    running = await store.insert(request(2, cost_usd=0.4), 1002.0)
    await store.transition(running.id, JobState.SUBMITTING, 1003.0, JobUpdate(submitted_at=1003.0))
    await store.transition(running.id, JobState.RUNNING, 1004.0, JobUpdate(upstream_id="up-x"))
    taken = await store.insert(request(1, cost_usd=0.1), 1005.0)
    await store.transition(taken.id, JobState.SUBMITTING, 1006.0, JobUpdate(submitted_at=1006.0))
    await store.transition(taken.id, JobState.RUNNING, 1007.0, JobUpdate(upstream_id="up-y"))
    await store.transition(taken.id, JobState.CANCELLED, 1008.0)  # upstream already billed it
    cancelled = await store.insert(request(1, cost_usd=3.0), 1009.0)
    await store.transition(cancelled.id, JobState.CANCELLED, 1010.0)  # never left the queue
    refused = await store.insert(request(1, cost_usd=7.0), 1011.0)
    await store.transition(refused.id, JobState.SUBMITTING, 1012.0, JobUpdate(submitted_at=1012.0))
    await store.transition(refused.id, JobState.FAILED, 1013.0, JobUpdate(error_code="bad"))
    await store.insert(request(1, cost_usd=9.0, guild=OTHER_GUILD), 1014.0)
    await store.insert(request(1), 1015.0)  # unpriced (NULL cost)

    spend = await store.spend(GUILD, 1, 1000.0)
    assert spend.guild_usd == pytest.approx(1.15)
    assert spend.member_usd == pytest.approx(0.75)
    assert (await store.spend(GUILD, 2, 1000.0)).member_usd == pytest.approx(0.4)
    assert await store.spend(None, 1, 0.0) == Spend(0.0, 0.0)


async def test_a_budget_alert_is_claimed_once_per_guild_day_and_threshold(store: JobStore) -> None:
    """The first claim wins; the same again (a restart, another process) does not; a new day does."""
    assert await store.claim_budget_alert(GUILD, 0.0, 80, 10.0)
    assert not await store.claim_budget_alert(GUILD, 0.0, 80, 11.0)
    assert await store.claim_budget_alert(GUILD, 0.0, 100, 12.0)
    assert await store.claim_budget_alert(OTHER_GUILD, 0.0, 80, 13.0)
    assert await store.claim_budget_alert(GUILD, 86_400.0, 80, 86_401.0)
