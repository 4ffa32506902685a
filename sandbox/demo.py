"""`pikabot demo`: the real bot, store and engine against the local Discord emulator and useapi simulator.

Everything runs on 127.0.0.1 and needs no token: members type slash commands into the emulator, the
real PikaBot answers them through discord.py, jobs run in the useapi.net simulator, and this module
narrates what each member would see in Discord, read back from the emulator's record.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.config import RoutingSettings
from bot.domain.jobs import JobState
from bot.domain.retry import RetryPolicy
from sandbox.apiglue_sim import SimConfig as GlueConfig
from sandbox.discord_emu import EmuInteraction, EmuMessage
from sandbox.fal_sim import SimConfig as FalConfig
from sandbox.stack import LocalStack
from sandbox.useapi_sim import SimConfig

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_CHANNEL_MENTION = re.compile(r"<#(\d+)>")


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


@dataclass
class Narrator:
    """Prints what members see: their commands, private replies, and the bot's public posts and edits."""

    stack: LocalStack
    out: TextIO
    started: float = field(default_factory=time.monotonic)
    _seen: dict[int, str] = field(default_factory=dict)

    async def command(
        self, user: int, sub: str, options: dict[str, Any], **attachments: tuple[str, str, bytes]
    ) -> str:
        """`user` types `/pika sub options…` in the demo channel; returns their private reply."""
        shown = " ".join(f'{k}:"{v}"' if isinstance(v, str) else f"{k}:{v}" for k, v in options.items())
        shown += "".join(f" {k}:{v[0]}" for k, v in attachments.items())
        self.say(f"{self.name(user)} › /pika {sub} {shown}")
        emu = self.stack.emulator.emu
        interaction = await emu.slash(
            user, emu.config.text_channel_id, "pika", sub, options, attachments=attachments or None
        )
        return await self.private_reply(interaction, user)

    def say(self, text: str) -> None:
        """One transcript line with the elapsed time."""
        print(f"[{time.monotonic() - self.started:5.1f}s] {text}", file=self.out, flush=True)

    def name(self, user_id: int) -> str:
        """@name of a member (or the bot)."""
        emu = self.stack.emulator.emu
        if user_id == emu.config.bot_user_id:
            return "pikabot"
        return "@" + emu.config.members.get(user_id, str(user_id))

    def channel(self, channel_id: int) -> str:
        """#name of a channel or thread."""
        found = self.stack.emulator.emu.channels.get(channel_id)
        return f"#{found.name}" if found else f"#{channel_id}"

    async def watch(self) -> None:
        """Report every new public bot post and every status change, until cancelled."""
        while True:
            self.report_public()
            await asyncio.sleep(0.05)

    def report_public(self) -> None:
        """Print public bot messages not yet shown, and changes of their status line."""
        emu = self.stack.emulator.emu
        for message in sorted(emu.messages.values(), key=lambda m: m.id):
            if message.ephemeral or message.deleted or message.author_id != emu.config.bot_user_id:
                continue
            summary = self.describe(message)
            if self._seen.get(message.id) == summary:
                continue
            verb = "updates" if message.id in self._seen else "posts"
            self._seen[message.id] = summary
            self.say(f"{self.channel(message.channel_id)} ‹pikabot {verb}› {summary}")

    def readable(self, text: str) -> str:
        """Show <@id> and <#id> mentions as Discord's client would: @name and #name."""
        text = _CHANNEL_MENTION.sub(lambda m: self.channel(int(m[1])), text)
        return _USER_MENTION.sub(lambda m: self.name(int(m[1])), text)

    def describe(self, message: EmuMessage) -> str:
        """A one-line rendering of a bot message."""
        parts: list[str] = []
        if message.content:
            parts.append(message.content.replace("\n", " "))
        for embed in message.embeds:
            fields = {f["name"]: f["value"] for f in embed.get("fields", [])}
            # The model a fal job runs on, beside the title: "[Pika · create · v2-turbo]".
            title = embed.get("title", "") + (f" · {fields['Model'].strip('`')}" if "Model" in fields else "")
            if "State" in fields and not message.attachments:
                parts.append(f"[{title}] {embed.get('footer', {}).get('text', '')}: {fields['State']}")
            elif "Seed" in fields or "Time taken" in fields:
                seed = f"seed {fields['Seed']}, " if "Seed" in fields else ""
                parts.append(f"[{title}: {seed}{fields.get('Time taken', '')}]")
        for attachment in message.attachments:
            kind = "MP4" if attachment.data[4:8] == b"ftyp" else "file"
            parts.append(f"📎 {attachment.filename} ({attachment.size:,} bytes, {kind})")
        buttons = [c.get("label", "") for row in message.components for c in row.get("components", [])]
        if buttons:
            parts.append(" ".join(f"[{label}]" for label in buttons))
        return self.readable(" ".join(parts))

    async def private_reply(self, interaction: EmuInteraction, user_id: int) -> str:
        """Wait for the final ephemeral answer to an interaction and print it."""
        emu = self.stack.emulator.emu
        # "✅ … Its status is on the way." is followed by the link to the job's thread: wait for that.
        await emu.wait_for(
            lambda: any(
                "❌" in t or ("✅" in t and "on the way" not in t) for t in emu.ephemeral_replies(interaction)
            ),
            15,
            "a reply",
        )
        reply = emu.ephemeral_replies(interaction)[-1]
        self.say(f"  (only {self.name(user_id)} sees) {self.readable(reply)}")
        return reply


async def run_demo(out: TextIO | None = None, *, speed: float = 1.0) -> int:
    """Run the scripted session (narrated to `out`, standard output by default); 0 when every job
    ended as the script expects."""
    workdir = Path(tempfile.mkdtemp(prefix="pikabot-demo-"))
    sim = SimConfig(
        job_started_delay=0.3 * speed, job_progress_delay=0.6 * speed, job_complete_delay=0.9 * speed
    )
    glue = GlueConfig(queued_delay=0.3 * speed, progress_delay=0.4 * speed, progress_steps=(10, 35, 60, 85))
    policy = RetryPolicy(busy_min=1.0 * speed, busy_max=2.0 * speed)
    stack = await LocalStack.start(
        workdir, sim_config=sim, glue_config=glue, policy=policy, status_interval=0.5 * speed
    )
    if stack.glue is not None:
        stack.glue.sim.faults.progress_callbacks = True  # API Glue reports each step: a live progress bar
    return await _narrated(stack, out or sys.stdout, _script)


async def _narrated(
    stack: LocalStack, out: TextIO, script: Callable[[LocalStack, Narrator], Awaitable[int]]
) -> int:
    """Run `script` while a narrator prints what members see; always stop the stack."""
    narrator = Narrator(stack, out)
    watcher = asyncio.create_task(narrator.watch())
    try:
        return await script(stack, narrator)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await stack.stop()


async def _script(stack: LocalStack, n: Narrator) -> int:
    emu = stack.emulator.emu
    channel = emu.config.text_channel_id
    alice, bob, carol = 101, 102, 103
    n.say(
        f"Discord emulator {stack.emulator.api_base_url}, useapi.net simulator {stack.simulator.base_url}, "
        f"API Glue simulator {stack.glue.base_url if stack.glue else '-'}, "
        f"callbacks {stack.settings.callbacks.public_url}; no token, no network"
    )
    n.say("the real pikabot is connected; one useapi.net Pika account and API Glue, 2 slots each")

    command = n.command
    await command(
        alice,
        "create",
        {"prompt": "a red fox running through fresh snow", "aspect_ratio": "16:9", "motion": 2},
    )
    await command(
        bob, "animate", {"prompt": "the cat slowly blinks"}, image=("cat.png", "image/png", tiny_png())
    )
    await command(carol, "create", {"prompt": "a castle in the clouds -size 100"})
    await command(carol, "create", {"prompt": "something forbidden"})
    fox_thread = emu.threads(channel)[0]
    fox_video = await emu.wait_for_message(
        lambda m: m.channel_id == fox_thread.id and bool(m.attachments), 30
    )
    n.report_public()
    retry_id = fox_video.custom_ids()[0]
    n.say(f"{n.name(carol)} clicks [Retry] under @alice's video")
    await n.private_reply(await emu.click(carol, fox_video.id, retry_id), carol)
    n.say(f"{n.name(alice)} clicks [Retry] under her video")
    await n.private_reply(await emu.click(alice, fox_video.id, retry_id), alice)
    await emu.wait_for_message(
        lambda m: m.channel_id == fox_thread.id and bool(m.attachments) and m.id != fox_video.id, 30
    )
    await command(
        bob,
        "generate",
        {"prompt": "a paper lantern drifting over a lake", "fps": 24, "motion": 2, "pan": "right"},
    )
    lantern = next(t for t in emu.threads(channel) if t.name.startswith("a paper lantern"))
    await emu.wait_for_message(lambda m: m.channel_id == lantern.id and bool(m.attachments), 30)
    store = stack.bot.runtime.store
    deadline = time.monotonic() + 30
    while not all(job.terminal and job.notified for job in await store.all_jobs()):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    n.report_public()
    return await _summary(stack, n)


async def _summary(stack: LocalStack, n: Narrator) -> int:
    jobs = await stack.bot.runtime.store.all_jobs()
    n.say("summary, read back from SQLite:")
    for job in jobs:
        took = (job.finished_at or 0) - job.created_at
        print(
            f"    job {job.id}  {job.kind.value:<8} {n.name(job.owner_id):<7} {job.state.value:<10} "
            f"{took:4.1f}s  {job.error_code or ''}",
            file=n.out,
        )
    emu = stack.emulator.emu
    # fox, cat, fox retry, the API Glue lantern; the forbidden prompt
    expected = {JobState.DELIVERED: 4, JobState.MODERATED: 1}
    counts = {state: sum(job.state is state for job in jobs) for state in expected}
    ok = (
        counts == expected
        and len(jobs) == 5
        and not emu.violations
        and await stack.bot.runtime.store.integrity_ok()
    )
    if emu.violations:
        n.say(f"the emulator saw Discord rules broken: {emu.violations}")
    n.say(
        "demo finished: every job ended and its member was told; Discord's limits were kept"
        if ok
        else f"unexpected outcome: {counts}"
    )
    return 0 if ok else 1


def main(provider: str = "all", *, speed: float = 1.0) -> int:
    """Entry point for `pikabot demo [--provider all|fal|useapi]`: with `all`, the fal.ai session (the
    live route) and then the useapi.net and API Glue one; non-zero if either went wrong."""
    if provider == "fal":
        return asyncio.run(run_fal_demo(speed=speed))
    if provider == "useapi":
        return asyncio.run(run_demo(speed=speed))
    print("── fal.ai, the live route to Pika ──", flush=True)
    fal = asyncio.run(run_fal_demo(speed=speed))
    print("\n── useapi.net and API Glue, kept to their documented contracts ──", flush=True)
    return max(fal, asyncio.run(run_demo(speed=speed)))


async def run_fal_demo(out: TextIO | None = None, *, speed: float = 1.0) -> int:
    """The session with /pika create routed to fal.ai (one job on a non-default model) and a /pika scenes,
    against the fal simulator."""
    workdir = Path(tempfile.mkdtemp(prefix="pikabot-demo-fal-"))
    fal = FalConfig(queue_delay=0.2 * speed, step_delay=0.5 * speed)
    stack = await LocalStack.start(
        workdir,
        fal=True,
        fal_config=fal,
        apiglue=False,
        policy=RetryPolicy(busy_min=1.0 * speed, busy_max=2.0 * speed),
        status_interval=0.5 * speed,
        routing=RoutingSettings(create="fal", animate="fal"),
    )
    return await _narrated(stack, out or sys.stdout, _fal_script)


async def _fal_members(stack: LocalStack, n: Narrator) -> None:
    """What members of no other bot have: their own defaults, Apps → Animate with Pika on a member's
    picture, and Remix under a finished video."""
    emu = stack.emulator.emu
    alice, carol = 101, 103
    channel = emu.config.text_channel_id
    await n.command(carol, "defaults", {"resolution": "1080p", "negative": "blurry", "ping": False})
    posted = emu.post_user_message(
        carol, channel, "my cat on the sofa", attachments=[("cat.png", "image/png", tiny_png(16, 16))]
    )
    n.say(f'{n.name(carol)} posts "my cat on the sofa" 📎 cat.png, then Apps → Animate with Pika on it')
    await n.private_reply(await emu.message_command(carol, posted.id, "Animate with Pika"), carol)
    first = await emu.wait_for_message(
        lambda m: bool(m.attachments) and any("pika:remix:" in c for c in m.custom_ids()), timeout=60
    )
    n.report_public()  # the video first, then the click on it
    remix_id = next(c for c in first.custom_ids() if c.startswith("pika:remix:"))
    n.say(f"{n.name(alice)} clicks [Remix] under her video")
    click = await emu.click(alice, first.id, remix_id)
    await emu.wait_for(lambda: click.modal is not None, 5, "the Remix form")
    n.say(f"  (only {n.name(alice)} sees) a form: {_form_text(click)}")
    prompt = "a red fox running through fresh snow at dusk"
    n.say(f'{n.name(alice)} changes the prompt to "{prompt}" and submits')
    await n.private_reply(await emu.submit_modal(alice, click, {"prompt": prompt}), alice)


def _form_text(click: EmuInteraction) -> str:
    """A modal's title and pre-filled fields, one line."""
    modal = click.modal or {}
    fields = []
    for top in modal.get("components", []):
        label, inner = top.get("label", ""), top.get("component") or top.get("components", [{}])[0]
        fields.append(f'{label} "{inner.get("value") or ""}"')
    return f"{modal.get('title', '')} — " + " · ".join(fields)


async def _fal_script(stack: LocalStack, n: Narrator) -> int:
    emu = stack.emulator.emu
    alice, bob = 101, 102
    fal_url = stack.fal.base_url if stack.fal else "-"
    n.say(
        f"Discord emulator {stack.emulator.api_base_url}, fal.ai queue simulator {fal_url} (signed "
        f"webhooks to {stack.settings.callbacks.public_url}); no key, no network"
    )
    n.say("the real pikabot is connected; [routing] sends /pika create to fal.ai (2 slots)")
    models = ", ".join(m.name for m in stack.settings.fal.models)
    n.say(
        f"fal models offered by /pika create's `model` option: {models} (default {stack.settings.fal.default_model})"
    )

    command = n.command
    await command(alice, "create", {"prompt": "a red fox running through fresh snow", "resolution": "720p"})
    await command(alice, "create", {"prompt": "a fox in snow", "motion": 3})
    # A member picks a cheaper, faster model than the default: one price per clip, whatever its length.
    await command(bob, "create", {"prompt": "a paper boat on a stream", "model": "v2-turbo", "duration": 10})
    await command(
        bob,
        "scenes",
        {"prompt": "the cat and the hat at the beach"},
        image1=("cat.png", "image/png", tiny_png()),
        image2=("hat.png", "image/png", tiny_png(12, 12)),
        image3=("beach.png", "image/png", tiny_png(10, 10)),
    )
    await _fal_members(stack, n)
    store = stack.bot.runtime.store
    deadline = time.monotonic() + 60
    while not (await store.all_jobs() and all(j.terminal and j.notified for j in await store.all_jobs())):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    n.report_public()
    jobs = await store.all_jobs()
    n.say("summary, read back from SQLite:")
    for job in jobs:
        cost = f"${job.cost_usd:.2f}" if job.cost_usd is not None else ""
        print(
            f"    job {job.id}  {job.kind.value:<7} {job.params.model or '':<8} {n.name(job.owner_id):<7} "
            f"{job.state.value:<10} {cost}"
            + (f"  remix of job {job.parent_id}" if job.parent_id else "")
            + (f"  your defaults: {', '.join(sorted(job.defaulted))}" if job.defaulted else ""),
            file=n.out,
        )
    ok = (
        len(jobs) == 5
        and all(job.state is JobState.DELIVERED for job in jobs)
        and not emu.violations
        and await store.integrity_ok()
    )
    n.say(
        "demo finished: every fal.ai job delivered on its model, each priced (a context-menu animate "
        "and a Remix among them); Discord's limits were kept"
        if ok
        else f"unexpected outcome: {[(j.id, j.state.value) for j in jobs]}"
    )
    return 0 if ok else 1
