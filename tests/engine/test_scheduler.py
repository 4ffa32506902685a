"""Slots, account choice and waiting times, with the production defaults."""

from __future__ import annotations

import random
from dataclasses import replace

from bot.domain.jobs import JobKind
from bot.domain.retry import RetryPolicy
from bot.engine.scheduler import Scheduler
from bot.providers.base import Account
from tests.discord.test_render import job

A = Account("a", "111111111111111111", 3)
B = Account("b", "222222222222222222", 5)


def scheduler() -> Scheduler:
    return Scheduler([A, B], RetryPolicy(), random.Random(7))


def test_waits_respect_useapis_advice() -> None:
    """Account full / rate limited: 10-30 s with jitter; 5xx: never sooner than 10 s, capped; 504: 3 min."""
    s = scheduler()
    busy = [s.busy_delay() for _ in range(500)]
    assert min(busy) >= 10 and max(busy) <= 30 and len({round(b, 3) for b in busy}) > 100
    assert all(10 <= s.rate_limited_delay(r) <= 35 for r in (None, 0.5, 10, 25, 600))
    transient = [s.transient_delay(n) for n in range(1, 12) for _ in range(20)]
    assert min(transient) >= 10 and max(transient) <= 300
    assert s.policy.overloaded_delay == 180


def test_free_slots_and_pauses() -> None:
    """Free slots per account; a paused account offers none until its pause ends."""
    s = scheduler()
    assert s.free_slots({"a": 1, "b": 5}, 0.0) == {"a": 2, "b": 0}
    s.pause("a", 100.0)
    assert s.free_slots({}, 50.0) == {"a": 0, "b": 5}
    assert s.free_slots({}, 101.0) == {"a": 3, "b": 5}


def test_account_choice() -> None:
    """New jobs go where most slots are free; a retry goes back to its parent's account, or waits."""
    s = scheduler()
    assert s.choose(job(), {"a": 2, "b": 4}) == B
    assert s.choose(job(), {"a": 0, "b": 0}) is None
    retry = replace(job(), kind=JobKind.RETRY, account="a")
    assert s.choose(retry, {"a": 1, "b": 4}) == A
    assert s.choose(retry, {"a": 0, "b": 4}) is None
