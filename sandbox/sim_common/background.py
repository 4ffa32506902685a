"""A simulator's background work: the tasks it runs beside its routes and their outbound session."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine

from aiohttp import ClientSession


class BackgroundWork:
    """Tasks spawned by a simulator's layers, and the one ClientSession they share while the app runs."""

    def __init__(self) -> None:
        """Start with no tasks and no session (the app's cleanup context opens one)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: ClientSession | None = None

    def _spawn(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        # Keep a strong reference so the task is not garbage-collected, and to cancel it on cleanup.
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _stop_background(self) -> None:
        """Cancel every task, wait for them, then close the session (the app is shutting down)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        self._session = None
