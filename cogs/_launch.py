"""Starting a job from an interaction: checks, queueing, the private answer and the announcement."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import discord

from bot.discord.app import REQUIRED_PERMISSIONS
from bot.discord.delivery import Announcement
from bot.discord.errors import UserFacingError
from bot.discord.render import eta_text, size_text
from bot.domain.jobs import InputFile, Job, JobKind, JobRequest, Origin
from bot.domain.params import ParamName, VideoParams
from bot.domain.prompt import PikaOptions, PromptKind, merge_options, parse_prompt
from cogs._defaults import member_filled
from cogs._guards import check_banned, guard, limits_of_member

if TYPE_CHECKING:
    from bot.discord.app import PikaBot

log = logging.getLogger(__name__)

IMAGE_TYPES = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/webp": "WebP",
    "image/gif": "GIF",
}
_EXTENSIONS = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}


@dataclass(frozen=True)
class Placement:
    """Where the job's status and result go: a thread (new or the current one) or the channel."""

    use_thread: bool
    in_thread: bool
    note: str = ""


def placement_for(interaction: discord.Interaction[PikaBot]) -> Placement:
    """Decide thread or channel from the bot's own permissions here; refuse if it cannot post at all."""
    channel = interaction.channel
    perms = interaction.app_permissions
    in_thread = channel is not None and channel.type in (
        discord.ChannelType.public_thread,
        discord.ChannelType.private_thread,
    )
    missing = [
        name
        for name, needed in (("View Channel", perms.view_channel), ("Embed Links", perms.embed_links))
        if not needed
    ]
    if in_thread and not perms.send_messages_in_threads:
        missing.append("Send Messages in Threads")
    if not in_thread and not perms.send_messages:
        missing.append("Send Messages")
    if missing:
        log.warning("missing permissions in channel %s: %s", interaction.channel_id, ", ".join(missing))
        raise UserFacingError(
            f"I can't post here: I'm missing the **{', '.join(missing)}** permission"
            f"{'s' if len(missing) > 1 else ''} in this channel. Ask a server admin to grant "
            f"{'them' if len(missing) > 1 else 'it'}, or use me in another channel."
        )
    if not perms.attach_files:
        log.warning("no Attach Files permission in channel %s; results will be links", interaction.channel_id)
    files_note = (
        ""
        if perms.attach_files
        else " I may not attach files here (missing **Attach Files**), so you'll get a link."
    )
    if in_thread:
        return Placement(use_thread=True, in_thread=True, note=files_note)
    if not (perms.create_public_threads and perms.send_messages_in_threads):
        log.warning("no thread permissions in channel %s; posting in the channel", interaction.channel_id)
        return Placement(
            use_thread=False,
            in_thread=False,
            note=" I can't start threads here (missing **Create Public Threads** or **Send Messages in "
            "Threads**), so the result will be posted in this channel." + files_note,
        )
    return Placement(use_thread=True, in_thread=False, note=files_note)


async def read_image(
    attachment: discord.Attachment,
    max_bytes: int,
    what: str,
    *,
    field: str | None = None,
    by_url: bool = False,
) -> InputFile:
    """Check that an attachment is an image within the size limit and read it."""
    content_type = (attachment.content_type or "").split(";")[0].strip().lower()
    if not content_type:
        suffix = "." + attachment.filename.rsplit(".", 1)[-1].lower() if "." in attachment.filename else ""
        content_type = _EXTENSIONS.get(suffix, "")
    if content_type not in IMAGE_TYPES:
        shown = content_type or "an unknown type"
        raise UserFacingError(
            f"The {what} must be a PNG, JPEG, WebP or GIF image; `{attachment.filename}` is {shown}."
        )
    if attachment.size <= 0:
        raise UserFacingError(f"The {what} `{attachment.filename}` is empty.")
    if attachment.size > max_bytes:
        raise UserFacingError(
            f"The {what} `{attachment.filename}` is {size_text(attachment.size)}; the limit is "
            f"{size_text(max_bytes)}. Please attach a smaller image."
        )
    try:
        data = await attachment.read()
    except (discord.HTTPException, discord.NotFound) as exc:
        raise UserFacingError(
            f"I couldn't download `{attachment.filename}` from Discord; please try again."
        ) from exc
    field = field or ("message" if what == "hidden image" else "image")
    return InputFile(field, attachment.filename, content_type, data, attachment.url if by_url else None)


def options_from_prompt(raw_prompt: str, typed: PikaOptions, kind: JobKind) -> tuple[str, PikaOptions]:
    """Split raw `-flags` out of the prompt and merge them with the typed options (PromptError)."""
    text, parsed = parse_prompt(raw_prompt, PromptKind(kind.value))
    return text, merge_options(typed, parsed)


async def launch(
    interaction: discord.Interaction[PikaBot],
    kind: JobKind,
    *,
    prompt: str,
    options: PikaOptions,
    images: list[tuple[discord.Attachment, str]],
    message_text: str | None = None,
    font: str | None = None,
    provider: str = "useapi",
    params: VideoParams | None = None,
) -> None:
    """Defer, validate, queue the job, tell the member, and have its status message and thread posted."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    bot = interaction.client
    upstream = bot.runtime.service.provider_info(provider)
    if upstream is None:
        service = bot.runtime.service
        raise UserFacingError(not_set_up(service.display_name(provider), service.key_variable(provider)))
    placement = placement_for(interaction)
    settings = await guard(interaction)
    if upstream.capabilities.prompt_flags:
        text, merged = options_from_prompt(prompt, options, kind)
    else:
        # Typed-option providers: Pika's flags become typed params, or are refused by name.
        text, params = typed_params(prompt, options, params or VideoParams(), upstream.display_name)
        merged = PikaOptions()
    mine = await member_filled(interaction, kind, upstream, merged, params or VideoParams(), bool(images))
    merged, params = mine.options, with_model(bot, kind, mine.params, upstream.capabilities.params)
    # The raw prompt too: its -neg flag text is the member's words as well.
    check_banned(settings, prompt, merged.negative, *params.texts(), message_text)
    max_bytes = bot.settings.discord.max_image_bytes
    by_url = upstream.capabilities.image_urls
    inputs = tuple(
        [
            await read_image(attachment, max_bytes, what, field=_field_for(what, index), by_url=by_url)
            for index, (attachment, what) in enumerate(images, start=1)
        ]
    )
    request = JobRequest(
        kind=kind,
        owner_id=interaction.user.id,
        origin=origin_of(interaction, placement),
        prompt=text,
        options=merged,
        message_text=message_text,
        font=font,
        inputs=inputs,
        provider=provider,
        params=params,
        defaulted=mine.defaulted,
        ping=mine.ping,
    )
    limits = await limits_of_member(interaction, settings)
    job = await bot.runtime.service.submit(request, announce=True, limits=limits)
    await announce(interaction, job, placement)


def with_model(
    bot: PikaBot, kind: JobKind, params: VideoParams, declared: Collection[ParamName]
) -> VideoParams:
    """The model the job runs on, stored with it: the member's, or the default for the command when the
    routed provider has models (fal.ai). Stored, it is shown on the status message and result and a
    Retry runs on the same model even if the default changes meanwhile."""
    if params.model is not None or ParamName.MODEL not in declared:
        return params
    return replace(params, model=bot.settings.fal.catalogue.default_name(kind))


def not_set_up(name: str, variable: str | None) -> str:
    """The answer to a command whose provider (shown as `name`) this bot has no credentials for."""
    variable = variable or "its token"
    return (
        f"This command uses **{name}**, which is not set up on this bot. A bot admin can turn it on "
        f'by setting `{variable}` (see the README, "Choosing a provider").'
    )


def typed_params(
    raw_prompt: str, options: PikaOptions, params: VideoParams, provider_name: str
) -> tuple[str, VideoParams]:
    """For a provider without prompt flags: refuse -flags typed in the prompt, and carry the typed
    slash options (aspect, motion, guidance, fps, negative, seed, camera) over as VideoParams."""
    text = raw_prompt.strip()
    if re.search(r"(^|\s)-[a-z]+(\s|$)", text):
        raise UserFacingError(
            f"This command runs on **{provider_name}**, which takes the command's own options, not "
            "Pika's `-flags` in the prompt. Remove the flags and use the options instead."
        )
    camera = _camera_params(options.camera)
    merged = replace(
        params,
        aspect_ratio=params.aspect_ratio or (str(options.aspect_ratio) if options.aspect_ratio else None),
        motion=params.motion if params.motion is not None else options.motion,
        guidance=params.guidance if params.guidance is not None else options.guidance,
        fps=params.fps if params.fps is not None else options.fps,
        negative=params.negative or options.negative,
        seed=params.seed if params.seed is not None else options.seed,
        pan=params.pan or camera.get("pan"),
        tilt=params.tilt or camera.get("tilt"),
        rotate=params.rotate or camera.get("rotate"),
        zoom=params.zoom or camera.get("zoom"),
    )
    return text, merged


_CAMERA_WORDS = {
    "zoom in": ("zoom", "in"),
    "zoom out": ("zoom", "out"),
    "pan left": ("pan", "left"),
    "pan right": ("pan", "right"),
    "pan up": ("tilt", "up"),
    "pan down": ("tilt", "down"),
    "rotate clockwise": ("rotate", "cw"),
    "rotate counterclockwise": ("rotate", "ccw"),
}


def _camera_params(camera: str | None) -> dict[str, str]:
    """Pika's one-move camera flag as API Glue's separate axes ("pan up" is a tilt)."""
    if not camera:
        return {}
    axis, value = _CAMERA_WORDS[camera]
    return {axis: value}


def _field_for(what: str, index: int) -> str | None:
    """Upstream field of the n-th image: numbered for multi-image commands (scenes, frames)."""
    return f"image_{index}" if what in ("scene image", "keyframe") else None


def origin_of(interaction: discord.Interaction[PikaBot], placement: Placement) -> Origin:
    """Where the command was used; a thread's parent is the channel."""
    channel = interaction.channel
    parent_id = getattr(channel, "parent_id", None) if placement.in_thread else None
    return Origin(
        guild_id=interaction.guild_id,
        channel_id=parent_id or interaction.channel_id or 0,
        thread_id=interaction.channel_id if placement.in_thread else None,
        interaction_id=interaction.id,
        # No Attach Files permission: a limit of 0 makes the result a link (with a note) from the start.
        upload_limit=interaction.filesize_limit if interaction.app_permissions.attach_files else 0,
    )


async def announce(interaction: discord.Interaction[PikaBot], job: Job, placement: Placement) -> None:
    """Tell the member privately that the job is queued, then let the presentation pipeline post its
    status message (as this interaction's follow-up) and thread; the job is already in the queue."""
    bot = interaction.client
    service = bot.runtime.service
    position = await service.queue_position(job.id)
    eta = await service.queue_eta(job, position) if position else None
    ahead = f", position {position} in the queue" if position and position > 1 else ""
    if eta is not None:
        ahead += f"; video in about {eta_text(eta)}"
    accepted = f"✅ Job **{job.id}** is queued{ahead}."
    # Answered before the status follow-up: the first follow-up after a defer would replace this
    # private "thinking…" message instead of posting in public.
    await interaction.edit_original_response(content=f"{accepted} Its status is on the way.")
    bot.delivery.remember_interaction(
        job.id, Announcement(interaction, accepted, use_thread=placement.use_thread, note=placement.note)
    )
    service.present(job.id, (position, eta))


__all__ = [
    "IMAGE_TYPES",
    "REQUIRED_PERMISSIONS",
    "Placement",
    "UserFacingError",
    "announce",
    "launch",
    "placement_for",
    "read_image",
]
