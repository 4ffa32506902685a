"""Each Discord channel's message budget, spent on what matters first.

Discord lets a bot post about five messages per five seconds in one channel. A busy channel's new
status messages and results must not wait behind edits of older status messages, so edits take the
budget only when no post is waiting and always leave one slot free for the next post.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable

_MAX_CHANNELS = 10_000  # windows kept before idle ones are dropped
_RECHECK = 0.05  # seconds between looks while an edit waits behind posts


class ChannelBudget:
    """A sliding window of `limit` bot-token messages per `per` seconds in each channel."""

    def __init__(
        self, limit: int = 5, per: float = 5.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.per = per
        self._clock = clock
        self._spent: dict[int, deque[float]] = {}
        self._posts_waiting: Counter[int] = Counter()

    async def post(self, channel_id: int) -> None:
        """Wait for room for a new message (status message, result, notice) in the channel."""
        self._posts_waiting[channel_id] += 1
        try:
            await self._take(channel_id, reserve=0, behind_posts=False)
        finally:
            self._posts_waiting[channel_id] -= 1
            if not self._posts_waiting[channel_id]:
                del self._posts_waiting[channel_id]

    async def edit(self, channel_id: int) -> None:
        """Wait for room for an edit: after every waiting post, keeping one slot for the next."""
        await self._take(channel_id, reserve=1, behind_posts=True)

    def room(self, channel_id: int) -> int:
        """Messages the channel could take right now."""
        return self.limit - len(self._window(channel_id))

    async def _take(self, channel_id: int, *, reserve: int, behind_posts: bool) -> None:
        while True:
            window = self._window(channel_id)
            blocked = behind_posts and self._posts_waiting[channel_id] > 0
            if not blocked and self.limit - len(window) > reserve:
                window.append(self._clock())
                return
            # Sleep until the oldest spend leaves the window (or briefly, while posts go first).
            wait = window[0] + self.per - self._clock() if window and not blocked else _RECHECK
            await asyncio.sleep(max(wait, _RECHECK))

    def _window(self, channel_id: int) -> deque[float]:
        cutoff = self._clock() - self.per
        if channel_id not in self._spent and len(self._spent) >= _MAX_CHANNELS:
            # Every thread is a channel of its own: forget the ones with nothing left in their window.
            self._spent = {k: w for k, w in self._spent.items() if w and w[-1] > cutoff}
        window = self._spent.setdefault(channel_id, deque())
        while window and window[0] <= cutoff:
            window.popleft()
        return window
