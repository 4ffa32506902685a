"""Job requests for the engine tests, and what the useapi simulator saw of them: jobs at once, submits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bot.domain.jobs import JobKind, JobRequest, Origin
from sandbox.useapi_sim import DEFAULT_CHANNEL, RunningSimulator


def make_request(owner: int, prompt: str = "a red fox running", **kwargs: object) -> JobRequest:
    return JobRequest(
        kind=kwargs.pop("kind", JobKind.CREATE),  # type: ignore[arg-type]
        owner_id=owner,
        origin=Origin(guild_id=1, channel_id=2, thread_id=3),
        prompt=prompt,
        **kwargs,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def max_executing(sim: RunningSimulator, channel: str = DEFAULT_CHANNEL) -> AsyncIterator[list[int]]:
    """Sample how many jobs the simulator is running at once; yields a one-item list with the peak."""
    peak = [0]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], len(sim.sim.executing_jobids(channel)))
            await asyncio.sleep(0.002)

    task = asyncio.create_task(sample())
    try:
        yield peak
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def submits_by_ref(sim: RunningSimulator) -> dict[str, int]:
    """How many submit POSTs upstream accepted (200) per replyRef."""
    counts: dict[str, int] = {}
    for rec in sim.sim.requests:
        if rec.method == "POST" and rec.status == 200 and "replyRef" in rec.fields:
            counts[rec.fields["replyRef"]] = counts.get(rec.fields["replyRef"], 0) + 1
    return counts
