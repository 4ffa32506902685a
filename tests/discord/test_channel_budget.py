"""The per-channel message budget: posts first, edits behind them, never over the window."""

from __future__ import annotations

import asyncio
import time

from bot.discord.channel_budget import ChannelBudget


async def test_never_more_than_the_limit_in_any_window() -> None:
    budget = ChannelBudget(limit=3, per=0.3)
    stamps: list[float] = []

    async def post() -> None:
        await budget.post(1)
        stamps.append(time.monotonic())

    await asyncio.gather(*(post() for _ in range(7)))
    for i in range(len(stamps) - 3):
        assert stamps[i + 3] - stamps[i] >= 0.3 - 0.01, stamps


async def test_posts_go_before_waiting_edits_and_edits_leave_a_slot() -> None:
    budget = ChannelBudget(limit=3, per=0.4)
    order: list[str] = []

    async def edit(n: int) -> None:
        await budget.edit(7)
        order.append(f"edit{n}")

    async def post(n: int) -> None:
        await budget.post(7)
        order.append(f"post{n}")

    await budget.edit(7)
    await budget.edit(7)
    assert budget.room(7) == 1  # an edit may not take the last slot
    edits = [asyncio.create_task(edit(n)) for n in range(2)]
    await asyncio.sleep(0.05)
    assert order == []  # both edits wait: only the reserved slot is left
    await post(0)  # a post takes the reserved slot at once
    assert order == ["post0"]
    posts = [asyncio.create_task(post(n)) for n in (1, 2)]
    await asyncio.gather(*edits, *posts)
    assert order.index("post1") < order.index("edit0") and order.index("post2") < order.index("edit0")


async def test_channels_have_their_own_budgets() -> None:
    budget = ChannelBudget(limit=1, per=10.0)
    await budget.post(1)
    async with asyncio.timeout(0.5):
        await budget.post(2)  # another channel (a thread) is not held back
    assert budget.room(1) == 0 and budget.room(2) == 0


async def test_idle_channels_are_forgotten_once_many_are_known() -> None:
    now = [0.0]
    budget = ChannelBudget(limit=1, per=1.0, clock=lambda: now[0])
    for channel in range(10_000):
        await budget.post(channel)
    now[0] = 5.0  # every window is empty now
    await budget.post(10_000_001)
    assert len(budget._spent) == 1
