"""Admission on both backends: the member's limits and the guild's budget are checked and the job
stored in one step, so commands arriving together through two processes never squeeze in past them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.domain.budget import BudgetExceeded, check_budget
from bot.domain.jobs import Job
from bot.domain.limits import LimitExceeded, MemberLimits
from bot.domain.limits import check as check_limits
from bot.store import Database, JobStore, Standing
from tests.store.test_queries import GUILD, request

NOW = 1_000_000.0
SINCE = NOW - 3600


def checker(limits: MemberLimits, cost: float | None) -> Callable[[Standing], None]:
    def check(standing: Standing) -> None:
        check_limits(limits, standing.usage, NOW)
        if standing.spend is not None:
            check_budget(limits, standing.spend, cost, NOW)

    return check


async def _admit_all(
    stores: list[JobStore], count: int, limits: MemberLimits, cost: float | None
) -> list[object]:
    """`count` admissions at once, spread over `stores` (each its own connection, like a process)."""

    async def one(n: int) -> Job:
        store = stores[n % len(stores)]
        budgets = bool(limits.guild_budget_usd or limits.member_budget_usd)
        return await store.admit(
            request(owner=1 + n % 4, cost_usd=cost), NOW, checker(limits, cost), since=SINCE, budgets=budgets
        )

    return await asyncio.gather(*(one(n) for n in range(count)), return_exceptions=True)


async def _processes(db_target: str, count: int) -> list[JobStore]:
    return [JobStore(await Database.open(db_target)) for _ in range(count)]


async def test_a_guild_budget_holds_over_two_processes(db_target: str) -> None:
    """Budget 3.00 USD, 0.50 a job, 24 commands at once over two connections: exactly six get in."""
    stores = await _processes(db_target, 2)
    try:
        limits = MemberLimits(in_flight=100, per_day=0, cooldown=0.0, guild_budget_usd=3.0)
        outcomes = await _admit_all(stores, 24, limits, 0.5)
        admitted = [o for o in outcomes if isinstance(o, Job)]
        refused = [o for o in outcomes if isinstance(o, BudgetExceeded)]
        assert len(admitted) == 6 and len(refused) == 18, outcomes
        assert len(await stores[0].all_jobs()) == 6  # a refusal stores nothing
        assert (await stores[1].spend(GUILD, 1, SINCE)).guild_usd == pytest.approx(3.0)
    finally:
        for store in stores:
            await store.db.close()


async def test_a_members_in_flight_limit_holds_over_two_processes(db_target: str) -> None:
    """Two jobs in flight each, four members, 40 commands at once over two connections: eight in."""
    stores = await _processes(db_target, 2)
    try:
        limits = MemberLimits(in_flight=2, per_day=0, cooldown=0.0)
        outcomes = await _admit_all(stores, 40, limits, None)
        admitted = [o for o in outcomes if isinstance(o, Job)]
        assert all(isinstance(o, (Job, LimitExceeded)) for o in outcomes), outcomes
        assert sorted(job.owner_id for job in admitted) == [1, 1, 2, 2, 3, 3, 4, 4]
    finally:
        for store in stores:
            await store.db.close()


async def test_the_check_sees_the_spend_only_when_budgets_apply(store: JobStore) -> None:
    """No budget: the spend is not even read; with one, the check sees what is spent today."""
    seen: list[Standing] = []
    await store.admit(request(cost_usd=0.4), NOW, seen.append, since=SINCE, budgets=False)
    await store.admit(request(cost_usd=0.4), NOW, seen.append, since=SINCE, budgets=True)
    assert seen[0].spend is None and seen[0].usage.in_flight == 0
    assert seen[1].spend is not None and seen[1].spend.guild_usd == pytest.approx(0.4)
    assert seen[1].usage.in_flight == 1 and seen[1].usage.last_request_at == NOW
