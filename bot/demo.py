"""`pikabot demo`: the real engine against the local useapi.net simulator, narrated for a person.

Everything runs on 127.0.0.1: the simulator, the webhook server that receives its callbacks, the
SQLite store in a temporary folder. Until the Discord surface lands (issue 3), what a member would
see in Discord is printed as a transcript by TranscriptDelivery.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from bot.config import (
    CallbackSettings,
    DatabaseSettings,
    DownloadSettings,
    JobSettings,
    Settings,
    UseapiAccount,
    UseapiSettings,
)
from bot.delivery import DeliveryReceipt
from bot.jobs import InputFile, Job, JobKind, JobRequest, JobState, Origin, VideoResult
from bot.prompt import AspectRatio, PikaOptions, PromptError, PromptKind, parse_prompt
from bot.runtime import Runtime
from bot.sandbox.useapi_sim import DEFAULT_CHANNEL, SimConfig, start_simulator

MEMBERS = {101: "alice", 102: "bob", 103: "carol", 104: "dave"}


@dataclass
class TranscriptDelivery:
    """A Delivery that narrates what the member would see in Discord."""

    out: TextIO
    started: float = field(default_factory=time.monotonic)
    results: dict[int, VideoResult] = field(default_factory=dict)
    _last: dict[int, tuple[JobState, str | None, int | None]] = field(default_factory=dict)
    _ids: int = 9000

    def say(self, text: str) -> None:
        """Print one transcript line with the elapsed time."""
        print(f"[{time.monotonic() - self.started:5.1f}s] {text}", file=self.out, flush=True)

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    async def deliver_result(self, job: Job, video: VideoResult) -> DeliveryReceipt:
        head = await asyncio.to_thread(_read_head, Path(video.path))
        verified = "MP4 verified" if head[4:8] == b"ftyp" else "NOT an MP4"
        seed = f", seed {video.seed}" if video.seed is not None else ""
        self.say(
            f"job {job.id} ({_who(job)}) ✔ video posted in the thread: {video.filename} "
            f"({video.size:,} bytes, {verified}{seed})  [Retry]"
        )
        self.results[job.id] = video
        return DeliveryReceipt(self._next_id())

    async def deliver_notice(self, job: Job) -> DeliveryReceipt:
        self.say(f"job {job.id} ({_who(job)}) ✖ {job.state.value}: {job.error_message}")
        return DeliveryReceipt(self._next_id())

    async def job_changed(self, job: Job, queue_position: int | None) -> None:
        key = (job.state, job.progress, queue_position)
        if self._last.get(job.id) == key:
            return
        self._last[job.id] = key
        if job.state is JobState.QUEUED:
            where = f"position {queue_position}" if queue_position else "waiting"
            note = f" ({job.progress})" if job.progress else ""
            self.say(f"job {job.id} ({_who(job)}) queued, {where}{note}")
        else:
            self.say(f"job {job.id} ({_who(job)}) {job.state.value}: {job.progress or ''}".rstrip(": "))


def _read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(12)


def _who(job: Job) -> str:
    return "@" + MEMBERS.get(job.owner_id, str(job.owner_id))


def tiny_png(width: int = 8, height: int = 8) -> bytes:
    """A valid PNG (solid orange) made without any image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + b"\xff\x88\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(
    owner: int,
    kind: JobKind,
    prompt: str,
    options: PikaOptions | None = None,
    inputs: tuple[InputFile, ...] = (),
) -> JobRequest:
    return JobRequest(
        kind=kind,
        owner_id=owner,
        origin=Origin(guild_id=1, channel_id=2),
        prompt=prompt,
        options=options or PikaOptions(),
        inputs=inputs,
    )


async def run_demo(out: TextIO = sys.stdout, *, speed: float = 1.0) -> int:
    """Run the scripted session; 0 when every job ended as the script expects."""
    sim = await start_simulator(
        SimConfig(
            job_started_delay=0.3 * speed, job_progress_delay=0.7 * speed, job_complete_delay=1.0 * speed
        )
    )
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="pikabot-demo-"))
    settings = Settings(
        useapi=UseapiSettings(
            token=SecretStr(sim.sim.config.api_token),
            base_url=sim.base_url,
            accounts=(UseapiAccount(channel=DEFAULT_CHANNEL, max_jobs=2),),
        ),
        callbacks=CallbackSettings(listen=f"127.0.0.1:{port}", public_url=f"http://127.0.0.1:{port}"),
        jobs=JobSettings(poll_interval=1, timeout=120, callback_grace=10),
        downloads=DownloadSettings(allowed_hosts=("127.0.0.1",)),
        database=DatabaseSettings(path=str(workdir / "pikabot.sqlite3")),
    )
    transcript = TranscriptDelivery(out)
    runtime = await Runtime.start(settings, transcript)
    service = runtime.service
    say = transcript.say
    say(f"useapi.net simulator on {sim.base_url}; callbacks to http://127.0.0.1:{port}; database {workdir}")
    say("one Pika account with 2 slots; members: alice, bob, carol, dave")
    try:
        say('@alice: /pika create prompt:"a red fox running through fresh snow" aspect_ratio:16:9 motion:2')
        fox = await service.submit(
            _request(
                101,
                JobKind.CREATE,
                "a red fox running through fresh snow",
                options=PikaOptions(aspect_ratio=AspectRatio("16:9"), motion=2),
            )
        )
        say('@bob: /pika animate image:cat.png prompt:"the cat slowly blinks"')
        cat = InputFile("image", "cat.png", "image/png", tiny_png())
        await service.submit(_request(102, JobKind.ANIMATE, "the cat slowly blinks", inputs=(cat,)))
        say('@carol: /pika create prompt:"a castle in the clouds -size 100"')
        try:
            parse_prompt("a castle in the clouds -size 100", PromptKind.CREATE)
        except PromptError as error:
            say(f"  → only @carol sees: {error} (no job created, no credit spent)")
        say('@carol: /pika create prompt:"something forbidden"')
        await service.submit(_request(103, JobKind.CREATE, "something forbidden"))
        say('@dave: /pika create prompt:"ocean waves at sunset" camera:"pan left"')
        waves = await service.submit(
            _request(104, JobKind.CREATE, "ocean waves at sunset", options=PikaOptions(camera="pan left"))
        )
        say(f"  → @dave's job {waves.id} is queued, position {await service.queue_position(waves.id)}")
        say('@dave: /pika create prompt:"a second idea"  … then /pika cancel')
        second = await service.submit(_request(104, JobKind.CREATE, "a second idea"))
        await service.cancel(second.id)
        await _wait_for(runtime, lambda job: job.id == fox.id and job.state is JobState.DELIVERED)
        say(f"@alice clicks Retry under job {fox.id}")
        retry = await service.retry(fox.id, requester_id=101)
        say(f"  → new job {retry.id} (parent {fox.id}), sent as Pika's own retry button")
        await _wait_for_all(runtime)
        return await _summary(runtime, transcript)
    finally:
        await runtime.stop()
        await sim.close()


async def _wait_for(runtime: Runtime, matches: Callable[[Job], bool], within: float = 60.0) -> None:
    async with asyncio.timeout(within):
        while not any(matches(job) for job in await runtime.store.all_jobs()):  # noqa: ASYNC110 - SQLite is the truth
            await asyncio.sleep(0.05)


async def _wait_for_all(runtime: Runtime, within: float = 60.0) -> None:
    async with asyncio.timeout(within):
        while not all(job.terminal and job.notified for job in await runtime.store.all_jobs()):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def _summary(runtime: Runtime, transcript: TranscriptDelivery) -> int:
    jobs = await runtime.store.all_jobs()
    transcript.say("summary (from SQLite):")
    for job in jobs:
        took = f"{(job.finished_at or 0) - job.created_at:4.1f}s"
        print(
            f"    job {job.id:>2}  {job.kind.value:<8} {_who(job):<7} {job.state.value:<10} {took}"
            f"  {job.error_code or ''}",
            file=transcript.out,
        )
    expected = {
        JobState.DELIVERED: 4,  # fox, cat, waves, retry
        JobState.MODERATED: 1,
        JobState.CANCELLED: 1,
    }
    counts = {state: sum(job.state is state for job in jobs) for state in expected}
    ok = counts == expected and await runtime.store.integrity_ok()
    transcript.say(
        "demo finished: every job ended and its member was told" if ok else f"unexpected: {counts}"
    )
    return 0 if ok else 1


def main() -> int:
    """Entry point for `pikabot demo`."""
    return asyncio.run(run_demo())
