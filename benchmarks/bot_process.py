"""The `pikabot run` process: its memory with jobs in flight, and its recovery to the first video."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from benchmarks.figures import Row
from bot.store.sqlite import SqliteDatabase


def process_rss_mb(pid: int) -> float:
    """The resident set size of process `pid` in MB, from /proc (0 if the kernel does not say)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def seed_jobs(db_path: Path, count: int) -> None:
    """Put `count` queued jobs in the bot's database before it starts (as if it had crashed with them)."""
    db = await SqliteDatabase.connect(db_path)
    rows = [
        ("useapi", "create", "queued", 1000 + n % 500, 1, 900000000000000201, f"in flight {n}", 1.0, 1.0, 1.0)
        for n in range(count)
    ]
    await db.conn.executemany(
        "INSERT INTO jobs (provider, kind, state, owner_id, guild_id, channel_id, prompt, next_attempt_at, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    await db.close()


async def wait_first_video(emu: Any) -> None:
    """Wait (up to 120 s) until the emulator holds a message with an attachment."""
    await emu.wait_for(lambda: any(m.attachments for m in emu.messages.values()), 120, "a first video")


async def measure_start(tmp: Path, count: int) -> tuple[float, float | None, float]:
    """Start `pikabot run` over `count` jobs in flight: seconds to connected, to the first video; MB RSS."""
    from tests.helpers.process import ProcessStack

    workdir = tmp / f"proc-{count}"
    workdir.mkdir()
    stack = await ProcessStack.start(workdir)
    try:
        if count:
            await seed_jobs(stack.db_path, count)
        t0 = time.perf_counter()
        await stack.launch()
        ready = time.perf_counter() - t0
        first_video = None
        if count:
            await wait_first_video(stack.emulator.emu)
            first_video = time.perf_counter() - t0
        await asyncio.sleep(2.0)  # let the engine settle into its steady state
        assert stack.process is not None
        return ready, first_video, process_rss_mb(stack.process.pid)
    finally:
        await stack.close()


async def bench_process(tmp: Path) -> list[Row]:
    """RSS of the `pikabot run` process with 0, 1,000 and 10,000 jobs in flight; time to the first video."""
    rows: list[Row] = []
    rss: dict[int, float] = {}
    for count in (0, 1000, 10_000):
        ready, first_video, rss[count] = await measure_start(tmp, count)
        if count == 1000:
            rows.append(
                Row(
                    "recovery: start with 1,000 in flight, connected",
                    "s",
                    ready,
                    ready,
                    ready,
                    None,
                    "< 3 s",
                    ready < 3,
                )
            )
            assert first_video is not None
            rows.append(
                Row(
                    "recovery: start to the first video posted",
                    "s",
                    first_video,
                    first_video,
                    first_video,
                    None,
                    "-",
                    None,
                )
            )
    for count, value in rss.items():
        target, met = ("< 120 MB", value < 120) if count == 1000 else ("-", None)
        rows.append(
            Row(
                f"memory: bot process RSS, {count:,} jobs in flight",
                "MB",
                value,
                value,
                value,
                None,
                target,
                met,
            )
        )
    growth = (rss[10_000] - rss[0]) * 1024 / 10_000
    rows.append(Row("memory: growth per job in flight", "KB", growth, growth, growth, None, "-", None))
    return rows
