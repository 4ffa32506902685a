"""How jobs look in Discord: the status embed, the result embed and the notice texts."""

from __future__ import annotations

import time
from collections.abc import Mapping

import discord

from bot.domain.jobs import Job, JobKind, JobState
from bot.providers.registry import DISPLAY_NAMES

_COLOURS: Mapping[JobState, int] = {
    JobState.QUEUED: 0x95A5A6,
    JobState.SUBMITTING: 0x3498DB,
    JobState.RUNNING: 0x3498DB,
    JobState.COMPLETED: 0x2ECC71,
    JobState.DELIVERED: 0x2ECC71,
    JobState.FAILED: 0xE74C3C,
    JobState.MODERATED: 0xE67E22,
    JobState.CANCELLED: 0x95A5A6,
    JobState.EXPIRED: 0xE74C3C,
}
_TITLES: Mapping[JobKind, str] = {
    JobKind.CREATE: "create",
    JobKind.ANIMATE: "animate",
    JobKind.ENCRYPT_TEXT: "encrypt text",
    JobKind.ENCRYPT_IMAGE: "encrypt image",
    JobKind.RETRY: "retry",
    JobKind.GENERATE: "generate",
    JobKind.EXTEND: "extend +4s",
    JobKind.UPSCALE: "upscale",
    JobKind.SCENES: "scenes",
    JobKind.FRAMES: "frames",
}
_PARENT_WORDS: Mapping[JobKind, str] = {
    JobKind.EXTEND: "extends job",
    JobKind.UPSCALE: "upscales job",
}
PROGRESS_CELLS = 10
# What to tell a member whose job ended without a video, and what to try next.
ADVICE: Mapping[JobState, str] = {
    JobState.MODERATED: "Pika refused this prompt. Rephrase it (or remove the flagged parameter) and try again.",
    JobState.FAILED: "Press Retry to try again, or change the prompt if it keeps failing.",
    JobState.EXPIRED: "Pika did not finish in time. Press Retry to try again.",
    JobState.CANCELLED: "Start a new job whenever you like.",
}
RETRYABLE_ENDINGS = frozenset({JobState.FAILED, JobState.EXPIRED, JobState.DELIVERED, JobState.COMPLETED})


def thread_name(prompt: str, job_id: int) -> str:
    """A thread title from the prompt: one line, at most 100 characters."""
    text = " ".join(prompt.split()) or f"Pika job {job_id}"
    return text if len(text) <= 100 else text[:99].rstrip() + "…"


# Shown in fields of their own, not among the parameters.
_OWN_FIELDS = frozenset({"model", "transitions"})


# Pika's flags that a member's /pika defaults may fill, by the option they stand for.
_DEFAULTED_FLAGS = {"-ar": "aspect_ratio", "-neg": "negative"}
YOUR_DEFAULT = "(your default)"


def parameters_text(job: Job) -> str:
    """The job's Pika parameters as the member typed them, e.g. `-gs 12 -motion 2` or `fps 24 · pan right`;
    those filled from the member's /pika defaults follow, each marked "(your default)"."""
    mine: list[str] = []
    flag_parts: list[str] = []
    for flag, value in job.options.flags():
        if _DEFAULTED_FLAGS.get(flag) in job.defaulted:
            mine.append(f"{_DEFAULTED_FLAGS[flag].replace('_', ' ')} {value} {YOUR_DEFAULT}")
        else:
            flag_parts.append(f"{flag} {value}")
    typed_parts: list[str] = []
    for name, typed_value in job.params.to_json().items():
        if name in _OWN_FIELDS:
            continue
        shown = f"{name.replace('_', ' ')} {typed_value}"
        if name in job.defaulted:
            mine.append(f"{shown} {YOUR_DEFAULT}")
        else:
            typed_parts.append(shown)
    flags = " ".join(part for part in (" ".join(flag_parts), " · ".join(typed_parts)) if part)
    extras = []
    if job.message_text:
        extras.append(f'message "{job.message_text}"')
    if job.font:
        extras.append(f"font {job.font}")
    text = " ".join([flags, *extras]).strip()
    typed = f"`{text}`" if text else ("" if mine else "Pika's defaults")
    return " · ".join(part for part in (typed, *mine) if part)


def state_text(job: Job, queue_position: int | None, eta: float | None = None) -> str:
    """One line for the status message, e.g. "⏳ queued, position 3 · starts in about 2 min"."""
    if job.state is JobState.QUEUED:
        base = f"⏳ queued, position {queue_position}" if queue_position else "⏳ queued"
        if eta is not None:
            base += f" · video in about {eta_text(eta)}"
        return f"{base} ({job.progress})" if job.progress else base
    if job.state in (JobState.SUBMITTING, JobState.RUNNING):
        if job.progress and job.progress.isdigit():
            return f"🎨 generating {progress_bar(int(job.progress))}"
        return f"🎨 generating — {job.progress}" if job.progress else "🎨 generating"
    if job.state is JobState.COMPLETED:
        return "📤 finished; posting the video"
    if job.state is JobState.DELIVERED:
        return "✅ done — the video is in this thread"
    return f"❌ {job.state.value}: {job.error_message or 'no reason given'}"


def transitions_text(job: Job) -> str | None:
    """/pika frames' moves between keyframes, one line each: `1→2 · 3 s · the fox leaps`; None without any."""
    if not job.params.transitions:
        return None
    lines = []
    for number, transition in enumerate(job.params.transitions, start=1):
        seconds = transition.seconds if transition.seconds is not None else 5
        prompt = f" · {transition.prompt}" if transition.prompt else ""
        lines.append(f"{number}→{number + 1} · {seconds} s{prompt}")
    return "\n".join(lines)


def _add_job_fields(embed: discord.Embed, job: Job) -> None:
    """Who asked, the model it runs on (when the provider has models), the parameters and transitions."""
    embed.add_field(name="Requested by", value=f"<@{job.owner_id}>", inline=True)
    if job.params.model:
        mark = f" {YOUR_DEFAULT}" if "model" in job.defaulted else ""
        embed.add_field(name="Model", value=f"`{_clip(job.params.model, 100)}`{mark}", inline=True)
    embed.add_field(name="Parameters", value=_clip(parameters_text(job), 1024), inline=True)
    transitions = transitions_text(job)
    if transitions:
        embed.add_field(name="Transitions", value=_clip(transitions, 1024), inline=False)


def progress_bar(percent: int) -> str:
    """A ten-cell bar for an upstream that reports progress in percent: `▰▰▰▱▱▱▱▱▱▱ 30%`."""
    percent = min(100, max(0, percent))
    filled = percent * PROGRESS_CELLS // 100
    return "▰" * filled + "▱" * (PROGRESS_CELLS - filled) + f" {percent}%"


def footer_text(job: Job) -> str:
    """`job 12 · useapi.net`, `job 12 · retry of job 9 · useapi.net`, `job 12 · extends job 9 · API Glue`,
    `job 12 · remix of job 9 · fal.ai`."""
    provider = DISPLAY_NAMES.get(job.provider, job.provider)
    if job.cost_usd is not None:
        provider += f" · ${job.cost_usd:.2f}"
    if not job.parent_id:
        return f"job {job.id} · {provider}"
    words = "remix of job" if job.remix else _PARENT_WORDS.get(job.kind, "retry of job")
    return f"job {job.id} · {words} {job.parent_id} · {provider}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_embed(job: Job, queue_position: int | None, eta: float | None = None) -> discord.Embed:
    """The status message: who asked, the prompt, the parameters and the state."""
    embed = discord.Embed(
        title=f"Pika · {_TITLES[job.kind]}",
        description=_clip(job.prompt or "(no prompt)", 4000),
        colour=_COLOURS[job.state],
    )
    _add_job_fields(embed, job)
    embed.add_field(name="State", value=_clip(state_text(job, queue_position, eta), 1024), inline=False)
    embed.set_footer(text=footer_text(job))
    return embed


def result_embed(job: Job, seed: int | None, *, now: float | None = None) -> discord.Embed:
    """The embed posted with the video."""
    took = (now or time.time()) - job.created_at
    embed = discord.Embed(
        title=f"Pika · {_TITLES[job.kind]}",
        description=_clip(job.prompt or "(no prompt)", 4000),
        colour=_COLOURS[JobState.DELIVERED],
    )
    _add_job_fields(embed, job)
    if seed is not None:
        embed.add_field(name="Seed", value=f"`{seed}`", inline=True)
    embed.add_field(name="Time taken", value=duration_text(took), inline=True)
    embed.set_footer(text=footer_text(job))
    return embed


def notice_text(job: Job) -> str:
    """The message for a job that ended without a video."""
    what = {
        JobState.MODERATED: "was refused by Pika's moderation",
        JobState.FAILED: "failed",
        JobState.EXPIRED: "took too long and was stopped",
        JobState.CANCELLED: "was cancelled",
    }.get(job.state, f"ended ({job.state.value})")
    reason = f"\n> {_clip(job.error_message, 1500)}" if job.error_message else ""
    return f"<@{job.owner_id}> job {job.id} {what}.{reason}\n{ADVICE.get(job.state, '')}".strip()


def eta_text(seconds: float) -> str:
    """A rough wait for people: "1 min", "12 min", "2 h 05 min" (never "0")."""
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def duration_text(seconds: float) -> str:
    """ "2 min 05 s" style."""
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def size_text(size: int) -> str:
    """Bytes for people: "9.5 MB"."""
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.0f} KB"
