"""Remix (a form under a result that starts a changed copy of the job) and Apps → Animate with Pika.

The Remix button is routed in cogs/_buttons.py; its form and custom ids are in
bot/discord/components.py. A form's submit is answered here by custom id, with the parent job read
from the store, so a form opened before a restart still works after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.discord.components import (
    REMIX_FORM_TEMPLATE,
    REMIX_NEGATIVE,
    REMIX_PROMPT,
    REMIX_SEED,
    RemixDraft,
    remix_form,
)
from bot.discord.errors import UserFacingError, answering
from bot.domain.jobs import Job, JobKind
from bot.domain.params import VideoParams
from bot.domain.prompt import MAX_PROMPT_LENGTH, PikaOptions, PromptError
from bot.engine.service import JobNotFound, NotRetryable, Remix
from cogs._guards import check_banned, guard, limits_of_member
from cogs._launch import (
    IMAGE_TYPES,
    Placement,
    announce,
    launch,
    not_set_up,
    options_from_prompt,
    typed_params,
)

if TYPE_CHECKING:
    from bot.discord.app import PikaBot

ANIMATE_MENU_NAME = "Animate with Pika"
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")
_MAX_SEED = 2**53 - 1


# -- Apps → Animate with Pika -------------------------------------------------------------------


def first_image(attachments: Sequence[discord.Attachment]) -> discord.Attachment | None:
    """The first attachment that says it is an image (by type or name); read_image checks it for real."""
    for attachment in attachments:
        kind = (attachment.content_type or "").lower()
        if kind.startswith("image/") or attachment.filename.lower().endswith(_IMAGE_SUFFIXES):
            return attachment
    return None


@app_commands.guild_only()
async def animate_message(interaction: discord.Interaction[PikaBot], message: discord.Message) -> None:
    """Apps → Animate with Pika: /pika animate with the message's first image; its text, if any, is
    the prompt (a caption usually says what the picture shows)."""
    image = first_image(message.attachments)
    if image is None:
        kinds = ", ".join(sorted(IMAGE_TYPES.values()))
        raise UserFacingError(
            f"That message has no image to animate. Use **Apps → {ANIMATE_MENU_NAME}** on a message "
            f"with an image attached ({kinds}), or attach one to `/pika animate`."
        )
    caption = message.clean_content.strip()[:MAX_PROMPT_LENGTH]
    try:
        await launch(
            interaction,
            JobKind.ANIMATE,
            prompt=caption,
            options=PikaOptions(),
            images=[(image, "image")],
            provider=interaction.client.routes[JobKind.ANIMATE],
            params=VideoParams(),
        )
    except PromptError as error:
        if caption:
            raise
        # The menu has no prompt box: say where one goes.
        raise UserFacingError(f"{error}. Use `/pika animate` with this image and a prompt.") from error


def animate_menu() -> app_commands.ContextMenu:
    """The message context-menu command, one per bot (it is added to that bot's tree)."""
    return app_commands.ContextMenu(
        name=ANIMATE_MENU_NAME, callback=animate_message, type=discord.AppCommandType.message
    )


# -- Remix ----------------------------------------------------------------------------------------


def draft_of(job: Job) -> RemixDraft:
    """The Remix form's pre-filled values: typed options first, then Pika's prompt flags."""
    negative = job.params.negative or job.options.negative
    seed = job.params.seed if job.params.seed is not None else job.options.seed
    return RemixDraft(job.id, job.prompt, negative, seed)


async def remix_clicked(interaction: discord.Interaction[PikaBot], job_id: int) -> None:
    """Remix under a result: any member who may generate here gets the form (their job, their limits)."""
    parent = await interaction.client.runtime.service.store.get(job_id)
    if parent is None:
        raise JobNotFound(job_id)
    await guard(interaction)
    if parent.kind.follow_up:
        raise NotRetryable(f"job {job_id} was made from another video; remix that one instead")
    # A form must be the first answer (within 3 s): no defer before it.
    await interaction.response.send_modal(remix_form(draft_of(parent), MAX_PROMPT_LENGTH))


def form_values(data: Mapping[str, Any]) -> dict[str, str]:
    """A form submit's text inputs by custom id (in rows or labels, as Discord sends them)."""
    values: dict[str, str] = {}
    for top in data.get("components") or []:
        inner = top.get("components") or ([top["component"]] if top.get("component") else [])
        for item in inner:
            if "custom_id" in item and isinstance(item.get("value"), str):
                values[item["custom_id"]] = item["value"]
    return values


def seed_of(text: str) -> int | None:
    """The seed field: empty for none, else a whole number in Pika's range."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > _MAX_SEED:
        raise UserFacingError(f"The seed must be a whole number from 0 to {_MAX_SEED}, not `{text[:20]}`.")
    return int(text)


async def answer_form(interaction: discord.Interaction[PikaBot]) -> None:
    """Answer a Remix form's submit (any other interaction is someone else's to answer)."""
    if interaction.type is not discord.InteractionType.modal_submit or interaction.data is None:
        return
    match = re.fullmatch(REMIX_FORM_TEMPLATE, str(interaction.data.get("custom_id", "")))
    if match is not None:
        await answering(interaction, remix_submitted(interaction, int(match["job_id"])))


async def remix_submitted(interaction: discord.Interaction[PikaBot], job_id: int) -> None:
    """Start the remix in the parent's thread, under the server's rules as they are now."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    service = interaction.client.runtime.service
    values = form_values(interaction.data or {})
    parent = await service.store.get(job_id)
    if parent is None:
        raise JobNotFound(job_id)
    settings = await guard(interaction)
    prompt = values.get(REMIX_PROMPT, "")
    negative = values.get(REMIX_NEGATIVE, "").strip() or None
    seed = seed_of(values.get(REMIX_SEED, ""))
    upstream = service.provider_info(parent.provider)
    if upstream is None:
        raise UserFacingError(
            not_set_up(service.display_name(parent.provider), service.key_variable(parent.provider))
        )
    if upstream.capabilities.prompt_flags:
        kind = JobKind.CREATE if parent.kind is JobKind.RETRY else parent.kind
        typed = replace(parent.options, negative=negative, seed=seed)
        text, options = options_from_prompt(prompt, typed, kind)
        params = parent.params
    else:
        changed = replace(parent.params, negative=negative, seed=seed)
        text, params = typed_params(prompt, PikaOptions(), changed, upstream.display_name)
        options = PikaOptions()
    check_banned(settings, prompt, options.negative, *params.texts())
    limits = await limits_of_member(interaction, settings)
    ping = (await interaction.client.runtime.member_defaults.get(interaction.user.id)).ping
    change = Remix(interaction.user.id, text, options, params, ping)
    job = await service.remix(job_id, change, announce=True, limits=limits)
    in_thread = job.origin.thread_id is not None
    await announce(interaction, job, Placement(use_thread=in_thread, in_thread=in_thread))
