"""A busy community channel under Discord's real limits: the work never waits for the presentation.

300 `/pika create` from 100 members in one channel over 60 s, 3 useapi.net accounts x 10 slots,
one-second jobs, the emulator enforcing 5 message posts per 5 s per channel and 50 requests/s.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.figures import Row, pct
from bot.config import LimitSettings
from bot.domain.jobs import Job
from sandbox.discord_emu import EmuConfig
from sandbox.stack import LocalStack
from sandbox.useapi_sim import DEFAULT_DISCORD, SimAccount, SimConfig
from tests.helpers.invariants import find_violations

MEMBERS = 100
COMMANDS = 300
SPAN = 60.0  # seconds over which the commands arrive
JOB_SECONDS = 1.0
ACCOUNTS = tuple(f"11835082998958204{n:02d}" for n in range(3))
SLOTS = 10
EDIT_GAP = 3.0  # no status message is edited more often than this


def burst_sim() -> SimConfig:
    """Three accounts of ten slots; a job takes about a second upstream."""
    return SimConfig(
        job_started_delay=0.05,
        job_progress_delay=0.3,
        job_complete_delay=JOB_SECONDS - 0.05,
        accounts={a: SimAccount(discord=DEFAULT_DISCORD, max_jobs=SLOTS) for a in ACCOUNTS},
    )


def members_config(count: int) -> EmuConfig:
    """The emulator's guild with `count` members (ids 101…)."""
    return EmuConfig(members={101 + n: f"member{n}" for n in range(count)})


async def bench_community_burst(tmp: Path) -> list[Row]:
    """Command to upstream submit, command to public status, makespan against the slot-bound ideal."""
    stack = await LocalStack.start(
        tmp / "burst",
        sim_config=burst_sim(),
        emu_config=members_config(MEMBERS),
        accounts=tuple((a, SLOTS) for a in ACCOUNTS),
        limits=LimitSettings(),  # the defaults a server starts with
        apiglue=False,
    )
    try:
        emu = stack.emulator.emu
        channel = emu.config.text_channel_id
        start = emu.now()
        for k in range(COMMANDS):
            delay = start + k * SPAN / COMMANDS - emu.now()
            if delay > 0:
                await asyncio.sleep(delay)
            await emu.slash(101 + k % MEMBERS, channel, "pika", "create", {"prompt": f"community scene {k}"})
        jobs = await wait_settled(stack, COMMANDS, within=SPAN + 120)
        return burst_rows(stack, jobs, start)
    finally:
        await stack.stop()


async def wait_settled(stack: LocalStack, count: int, within: float) -> list[Job]:
    """Every accepted job ended and its member was told."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        jobs = await stack.bot.runtime.store.all_jobs()
        if len(jobs) >= count and all(j.terminal and j.notified for j in jobs):
            return jobs
        if loop.time() > deadline:
            raise TimeoutError(f"{sum(j.terminal for j in jobs)} of {len(jobs)} jobs settled")
        await asyncio.sleep(0.2)


def burst_rows(stack: LocalStack, jobs: list[Job], start: float) -> list[Row]:
    """The burst's figures: latency to upstream and to the public status, makespan, invariants, 429s."""
    emu, sim = stack.emulator.emu, stack.simulator.sim
    to_submit, to_status = burst_latencies(emu, sim, jobs)
    videos = [m.created_at for m in emu.messages.values() if m.attachments and not m.deleted]
    makespan = max(videos) - start
    slot_bound = COMMANDS * JOB_SECONDS / (len(ACCOUNTS) * SLOTS)
    ideal = max(SPAN * (COMMANDS - 1) / COMMANDS, slot_bound) + JOB_SECONDS
    delivered = sum(1 for j in jobs if j.state.value == "delivered")
    lost = len(find_violations(Path(stack.settings.database.path), emu, sim))
    too_close = edits_closer_than(emu, EDIT_GAP)
    hits = len(emu.rate_limit_hits)
    s50, s99 = statistics.median(to_submit), pct(to_submit, 0.99)
    v50, v99 = statistics.median(to_status), pct(to_status, 0.99)
    n = f"{len(jobs)} jobs"
    return [
        Row(f"burst: command to upstream submit, {n}", "s", s50, s99, max(to_submit), None, "p99 <= 2 s", s99 <= 2),
        Row(f"burst: command to public status, {n}", "s", v50, v99, max(to_status), None, "p99 <= 3 s", v99 <= 3),
        Row.single("burst: makespan vs slot-bound ideal", "s", makespan, ideal, "<= 1.2x", makespan <= 1.2 * ideal),
        Row.single("burst: lost + doubled (invariants I1-I4)", "n", lost, None, "0", not lost and delivered == len(jobs)),
        Row.single("burst: Discord 429s", "n", hits, None, "0", hits == 0),
        Row.single("burst: status edits < 3 s apart", "n", too_close, None, "0", too_close == 0),
    ]  # fmt: skip


def burst_latencies(emu: Any, sim: Any, jobs: list[Job]) -> tuple[list[float], list[float]]:
    """Seconds from each command to its first accepted upstream submit, and to its public status."""
    commands = {i.id: i.created_at for i in emu.interactions.values() if i.command}
    submits: dict[str, float] = {}
    for record in sim.requests:
        ref = record.fields.get("replyRef")
        if record.method == "POST" and record.status == 200 and ref and ref not in submits:
            submits[ref] = record.at
    to_submit = [
        submits[str(j.id)] - commands[j.origin.interaction_id or 0] for j in jobs if str(j.id) in submits
    ]
    to_status = [
        emu.messages[j.status_message_id].created_at - commands[j.origin.interaction_id or 0]
        for j in jobs
        if j.status_message_id in emu.messages
    ]
    return to_submit, to_status


def edits_closer_than(emu: Any, gap: float) -> int:
    """Edits of one message (over either token) that came less than `gap` seconds after the last."""
    times: dict[str, list[float]] = {}
    for call in emu.calls:
        if call.method == "PATCH" and "/messages/" in call.path and not call.path.endswith("@original"):
            times.setdefault(call.path.rsplit("/", 1)[-1], []).append(call.at)
    close = 0
    for stamps in times.values():
        stamps.sort()
        close += sum(1 for a, b in itertools.pairwise(stamps) if b - a < gap - 0.05)
    return close


async def bench_fair_start(tmp: Path) -> list[Row]:
    """One account of 2 slots; in one channel, 8 jobs from a heavy member then 2 each from two light
    members: every light member's first job starts before the heavy member's third."""
    sim = replace(burst_sim(), job_complete_delay=0.8, accounts={ACCOUNTS[0]: SimAccount(DEFAULT_DISCORD, 2)})
    stack = await LocalStack.start(
        tmp / "fair",
        sim_config=sim,
        accounts=((ACCOUNTS[0], 2),),
        limits=LimitSettings(in_flight=10, per_day=0, cooldown=0),
        apiglue=False,
    )
    try:
        emu = stack.emulator.emu
        channel = emu.config.text_channel_id
        for n, owner in enumerate([101] * 8 + [102, 102, 103, 103]):
            await emu.slash(owner, channel, "pika", "create", {"prompt": f"fair scene {n}"})
        jobs = await wait_settled(stack, 12, within=120)
        order = [j.owner_id for j in sorted(jobs, key=lambda j: j.submitted_at or 0)]
        third_heavy = [i for i, owner in enumerate(order) if owner == 101][2]
        light_first = max(order.index(102), order.index(103))
        met = light_first < third_heavy
        return [
            Row(
                "fair start: last light member's first start (slot #)",
                "n",
                light_first + 1,
                light_first + 1,
                light_first + 1,
                None,
                f"< {third_heavy + 1} (heavy #3)",
                met,
            )
        ]
    finally:
        await stack.stop()


BENCHES = (bench_community_burst, bench_fair_start)
