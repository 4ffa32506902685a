"""Waiting for a stored job to change, without polling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol


class Watched(Protocol):
    """A job whose ``changed`` event is set, then replaced by a fresh one, on every change."""

    changed: asyncio.Event


async def wait_until(item: Watched, ready: Callable[[], bool], within: float) -> None:
    """Return once ``ready()`` holds, checked after each change of `item`; TimeoutError after `within` s."""
    async with asyncio.timeout(within):
        while not ready():
            # Read the event anew each time: the old one stays set once it has fired.
            await item.changed.wait()
