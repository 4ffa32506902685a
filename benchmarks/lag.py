"""Event-loop lag, sampled while a bench runs: how late the loop wakes a short sleep."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def lag_probe(interval: float = 0.005) -> AsyncIterator[list[float]]:
    """Event-loop lag: how late a sleep(interval) wakes up, sampled continuously (ms)."""
    samples: list[float] = []

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            samples.append((loop.time() - start - interval) * 1000)

    task = asyncio.create_task(probe())
    try:
        yield samples
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
