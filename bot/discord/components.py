"""Every button pikabot shows, in one place: custom id template, label, emoji, style, and the views.

Buttons under a job are persistent: their custom id is ``pika:<action>:<job_id>`` and the cogs'
DynamicItems (cogs/_buttons.py) match it with the templates below, so a click works after a restart.
The views built here are layouts only; clicks are routed by custom id to those DynamicItems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord

from bot.domain.jobs import JobKind

# Discord allows 100 characters; "pika:upscale:" plus a 19-digit id is 32.
_JOB_ID = r"(?P<job_id>[0-9]{1,19})"


@dataclass(frozen=True)
class ButtonLook:
    """How a button looks: its label, emoji and style."""

    label: str
    emoji: str | None = None
    style: discord.ButtonStyle = discord.ButtonStyle.secondary


@dataclass(frozen=True)
class JobButton:
    """A persistent button under a job, clicked by custom id ``pika:<action>:<job_id>``."""

    action: str
    look: ButtonLook

    @property
    def template(self) -> str:
        """The regex a DynamicItem matches its custom ids with."""
        return rf"pika:{self.action}:{_JOB_ID}"

    def custom_id(self, job_id: int) -> str:
        """This button's custom id for a job, e.g. ``pika:retry:12``."""
        return f"pika:{self.action}:{job_id}"

    def button(self, job_id: int) -> discord.ui.Button[Any]:
        """The button itself, for a job."""
        look = self.look
        return discord.ui.Button(
            label=look.label, emoji=look.emoji, style=look.style, custom_id=self.custom_id(job_id)
        )


RETRY = JobButton("retry", ButtonLook("Retry", "🔁"))
REMIX = JobButton("remix", ButtonLook("Remix", "🎨"))
DELETE = JobButton("delete", ButtonLook("Delete", "🗑️", discord.ButtonStyle.danger))
# Follow-ups under a finished video (API Glue): the action is the new job's kind.
FOLLOW_UPS = {
    JobKind.EXTEND: JobButton(JobKind.EXTEND.value, ButtonLook("Extend +4s", "⏩")),
    JobKind.UPSCALE: JobButton(JobKind.UPSCALE.value, ButtonLook("Upscale", "🔍")),
}
FOLLOW_UP_TEMPLATE = rf"pika:(?P<action>{'|'.join(k.value for k in FOLLOW_UPS)}):{_JOB_ID}"

# Remix's form: its custom id carries the parent job, so a form opened before a restart is still
# answered after it (the job is read from the store, never from memory).
REMIX_FORM_TEMPLATE = rf"pika:remix-form:{_JOB_ID}"
REMIX_PROMPT, REMIX_NEGATIVE, REMIX_SEED = "prompt", "negative", "seed"


@dataclass(frozen=True)
class RemixDraft:
    """What the Remix form shows pre-filled: the parent job's prompt, negative prompt and seed."""

    job_id: int
    prompt: str
    negative: str | None
    seed: int | None


def remix_form(draft: RemixDraft, max_prompt: int) -> discord.ui.Modal:
    """The Remix form (a modal) for a job; stopped, so discord.py keeps no copy in memory and every
    submit, before or after a restart, reaches the one persistent handler by custom id."""
    modal = discord.ui.Modal(
        title=f"Remix job {draft.job_id}"[:45], custom_id=f"pika:remix-form:{draft.job_id}"
    )
    fields = (
        ("Prompt", REMIX_PROMPT, discord.TextStyle.paragraph, draft.prompt, max_prompt),
        ("Negative prompt (optional)", REMIX_NEGATIVE, discord.TextStyle.short, draft.negative, 500),
        ("Seed (optional, a whole number)", REMIX_SEED, discord.TextStyle.short, draft.seed, 16),
    )
    for label, custom_id, style, value, limit in fields:
        text = discord.ui.TextInput[Any](
            style=style,
            custom_id=custom_id,
            default=str(value) if value not in (None, "") else None,
            required=False,
            max_length=limit,
        )
        modal.add_item(discord.ui.Label(text=label, component=text))
    modal.stop()
    return modal


# Buttons without a custom id of ours: the link under an over-sized video, /pika jobs' pager.
OPEN_VIDEO = ButtonLook("Open video", style=discord.ButtonStyle.link)
PAGE_PREVIOUS = ButtonLook("Previous", "◀️")
PAGE_NEXT = ButtonLook("Next", "▶️")


def job_view(
    job_id: int,
    link: str | None = None,
    follow_ups: frozenset[JobKind] = frozenset(),
    *,
    deletable: bool = False,
    remixable: bool = False,
) -> discord.ui.View:
    """Retry (Remix, the provider's follow-ups, Delete, optionally a link button) under a job's post.

    The view is stopped before it is sent, so discord.py does not also keep one live View per post
    in memory: the persistent DynamicItems answer the clicks.
    """
    view = discord.ui.View(timeout=None)
    view.add_item(RETRY.button(job_id))
    if remixable:
        view.add_item(REMIX.button(job_id))
    for kind, follow_up in FOLLOW_UPS.items():
        if kind in follow_ups:
            view.add_item(follow_up.button(job_id))
    if deletable:
        view.add_item(DELETE.button(job_id))
    if link is not None:
        view.add_item(discord.ui.Button(label=OPEN_VIDEO.label, style=OPEN_VIDEO.style, url=link))
    view.stop()
    return view
