"""Result latency: upstream callback sent to the 1 MiB video stored, against a plain uploader as the floor."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.figures import Row, pct, summary
from bot.domain.jobs import JobKind, JobRequest, Origin
from sandbox.useapi_sim import SimConfig

MIB_VIDEO = (Path(__file__).resolve().parent.parent / "sandbox/assets/sample.mp4").read_bytes()
MIB_VIDEO = MIB_VIDEO + b"\0" * (1024 * 1024 - len(MIB_VIDEO))  # a valid MP4 head, padded to 1 MiB


async def make_threads(emulator: Any, count: int) -> list[int]:
    """Threads made through the emulator's REST API (as a member's commands would have)."""
    emu = emulator.emu
    headers = {"Authorization": f"Bot {emu.config.bot_token}"}
    threads: list[int] = []
    async with aiohttp.ClientSession(headers=headers) as session:
        for n in range(count):
            url = f"{emulator.api_base_url}/channels/{emu.config.community_channel_id}/threads"
            async with session.post(
                url, json={"name": f"bench {n}", "type": 11, "auto_archive_duration": 1440}
            ) as r:
                body = await r.json()
                if "id" not in body:
                    raise RuntimeError(f"thread creation refused: {r.status} {body}")
                threads.append(int(body["id"]))
            await asyncio.sleep(0.025)  # setup stays under Discord's 50 requests/s
    return threads


async def upload_floor(emulator: Any, threads: list[int]) -> list[float]:
    """The physical floor: a plain aiohttp client posting the same 1 MiB uploads as fast as Discord's
    global limit (50/s) allows; each figure is the time from the common start until that upload is
    stored (ms), which is what a member waits at best when all videos finish together."""
    emu = emulator.emu
    headers = {"Authorization": f"Bot {emu.config.bot_token}"}
    latencies: list[float] = []
    async with aiohttp.ClientSession(headers=headers) as session:
        start = time.perf_counter()

        async def upload(k: int, thread: int) -> None:
            await asyncio.sleep(k / 50)
            url = f"{emulator.api_base_url}/channels/{thread}/messages"
            payload = '{"content": "floor", "attachments": [{"id": 0, "filename": "v.mp4"}]}'
            for _ in range(10):  # a 429 at a window boundary is waited out, as any client must
                form = aiohttp.FormData()
                form.add_field("payload_json", payload)
                form.add_field("files[0]", MIB_VIDEO, filename="v.mp4", content_type="video/mp4")
                async with session.post(url, data=form) as r:
                    body = await r.json()
                    if r.status == 200:
                        break
                    if r.status != 429:
                        raise RuntimeError(f"floor upload refused: {r.status}")
                await asyncio.sleep(float(body.get("retry_after", 0.1)))
            latencies.append((time.perf_counter() - start) * 1000)

        await asyncio.gather(*(upload(k, t) for k, t in enumerate(threads)))
    return latencies


async def bench_results(tmp: Path) -> list[Row]:
    """Upstream callback sent -> video message stored by the emulator, for 1 and 100 jobs finishing together."""
    return [await result_run(tmp, 1), await result_run(tmp, 100)]


async def result_run(tmp: Path, n: int) -> Row:
    """One result-latency run with n jobs (10 per useapi account, each job in its own thread)."""
    from bot.config import LimitSettings
    from sandbox.stack import LocalStack
    from sandbox.useapi_sim import SimAccount

    channels = tuple(str(1183508299895820390 + k) for k in range(max(1, n // 10)))
    sim = SimConfig(
        job_started_delay=0.01,
        job_progress_delay=0.01,
        job_complete_delay=0.01,
        accounts={
            c: SimAccount(discord=f"MTEbench{k:04d}tokenxYz", max_jobs=10) for k, c in enumerate(channels)
        },
    )
    stack = await LocalStack.start(
        tmp / f"results-{n}",
        sim_config=sim,
        max_jobs=10,
        channels=channels,
        limits=LimitSettings(in_flight=100, per_day=0, cooldown=0),
    )
    try:
        emu = stack.emulator.emu
        simulator = stack.simulator.sim
        simulator.video = MIB_VIDEO
        simulator.faults.hold_jobs = True
        threads = await make_threads(stack.emulator, n)
        floor = await upload_floor(stack.emulator, await make_threads(stack.emulator, n))
        service = stack.bot.runtime.service
        thread_of: dict[int, int] = {}
        for k, thread in enumerate(threads):
            origin = Origin(emu.config.guild_id, emu.config.community_channel_id, thread)
            job = await service.submit(JobRequest(JobKind.CREATE, 101 + k, origin, f"result {k}"))
            thread_of[job.id] = thread
        await emu.wait_for(lambda: len(simulator.executing_jobids()) == n, 60, "all jobs running")
        before_429 = len(emu.rate_limit_hits)
        simulator.release_all()
        wanted = set(threads)
        await emu.wait_for(
            lambda: sum(1 for m in emu.messages.values() if m.attachments and m.channel_id in wanted) >= n,
            120,
            "every video",
        )
        sent = {c.jobid: c.at for c in simulator.callbacks_sent}
        upstream = {j.upstream_id: j.id for j in await stack.bot.runtime.store.all_jobs()}
        posted = {m.channel_id: m.created_at for m in emu.messages.values() if m.attachments}
        latencies = [
            (posted[thread_of[upstream[jid]]] - at) * 1000 for jid, at in sent.items() if jid in upstream
        ]
        rate_limited = len(emu.rate_limit_hits) - before_429
    finally:
        await stack.stop()
    median, p99, top = summary(latencies)
    floor_p99 = pct(floor, 0.99)
    met = p99 <= 1.5 * floor_p99 and rate_limited == 0
    name = f"result latency, {n} x 1 MiB together ({rate_limited} 429s)"
    return Row(name, "ms", median, p99, top, floor_p99, "<=1.5x, 0 429s", met)
