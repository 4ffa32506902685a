"""The /pika commands and the persistent Retry button."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.custom_ids import DELETE_TEMPLATE, FOLLOW_UP_TEMPLATE, RETRY_TEMPLATE, retry_custom_id
from bot.discord.render import status_embed
from bot.domain.jobs import Job, JobKind, JobState
from bot.domain.limits import LimitExceeded, MemberLimits
from bot.domain.params import VideoParams
from bot.domain.prompt import MAX_MESSAGE_LENGTH, MAX_PROMPT_LENGTH, AspectRatio, Camera, Font, PikaOptions
from bot.engine.service import JobNotFound, NotRetryable
from cogs.admin import settings_for
from cogs.guards import check_banned, guard, limits_of_member
from cogs.launch import Placement, UserFacingError, announce, error_code, is_moderator, launch
from cogs.member import cancel_job, delete_result, show_jobs, show_quota

if TYPE_CHECKING:
    from bot.discord.app import PikaBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["PikaBot"]

ASPECT_CHOICES = [app_commands.Choice(name=ratio.value, value=ratio.value) for ratio in AspectRatio]
CAMERA_CHOICES = [app_commands.Choice(name=camera.value, value=camera.value) for camera in Camera]
FONT_CHOICES = [app_commands.Choice(name=font.value, value=font.value) for font in Font]
PAN_CHOICES = [app_commands.Choice(name=v, value=v) for v in ("left", "right")]
TILT_CHOICES = [app_commands.Choice(name=v, value=v) for v in ("up", "down")]
ROTATE_CHOICES = [
    app_commands.Choice(name="clockwise", value="cw"),
    app_commands.Choice(name="counterclockwise", value="ccw"),
]
ZOOM_CHOICES = [app_commands.Choice(name=v, value=v) for v in ("in", "out")]
RESOLUTION_CHOICES = [app_commands.Choice(name=v, value=v) for v in ("720p", "1080p")]
DURATION_CHOICES = [app_commands.Choice(name=f"{v} s", value=v) for v in (5, 10)]
FAL_ASPECT_CHOICES = [
    app_commands.Choice(name=v, value=v) for v in ("16:9", "9:16", "1:1", "4:5", "5:4", "3:2", "2:3")
]

# Shared option descriptions, written for members.
DESCRIBE = {
    "aspect_ratio": "Shape of the video (default 16:9, or the image's shape)",
    "motion": "How much things move: 0 (still) to 4 (a lot); default 1",
    "guidance": "How closely Pika follows the prompt: 8 (loose) to 24 (strict); default 12",
    "fps": "Frames per second, 8 to 24; default 24",
    "negative": "Things you do NOT want in the video, e.g. blurry, text",
    "seed": "Same seed + same prompt = a similar video; leave empty for a new one",
    "camera": "One camera move",
    "resolution": "fal.ai only: 720p (default) or 1080p",
    "duration": "fal.ai only: 5 (default) or 10 seconds",
}


def typed_options(
    aspect_ratio: str | None,
    motion: int | None,
    guidance: int | None,
    fps: int | None,
    negative: str | None,
    seed: int | None,
    camera: str | None,
) -> PikaOptions:
    """The slash command's typed options as PikaOptions (ranges are enforced by Discord and again here)."""
    return PikaOptions(
        guidance=guidance,
        negative=negative,
        aspect_ratio=AspectRatio(aspect_ratio) if aspect_ratio else None,
        seed=seed,
        motion=motion,
        fps=fps,
        camera=camera,
    )


@app_commands.guild_only()
class PikaCog(commands.GroupCog, group_name="pika", group_description="Make videos with Pika"):
    """The member-facing commands."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(
        name="create", description="Make a video from a text prompt (and an optional image)"
    )
    @app_commands.describe(
        prompt="What the video shows; you may add Pika flags like -gs 12 -motion 2",
        image="Optional starting image (PNG, JPEG, WebP or GIF)",
        **DESCRIBE,
    )
    @app_commands.choices(aspect_ratio=ASPECT_CHOICES, camera=CAMERA_CHOICES, resolution=RESOLUTION_CHOICES)
    @app_commands.choices(duration=DURATION_CHOICES)
    async def create(
        self,
        interaction: Interaction,
        prompt: app_commands.Range[str, 1, MAX_PROMPT_LENGTH],
        image: discord.Attachment | None = None,
        aspect_ratio: str | None = None,
        motion: app_commands.Range[int, 0, 4] | None = None,
        guidance: app_commands.Range[int, 8, 24] | None = None,
        fps: app_commands.Range[int, 8, 24] | None = None,
        negative: app_commands.Range[str, 1, 500] | None = None,
        seed: app_commands.Range[int, 0, 2**53 - 1] | None = None,
        camera: str | None = None,
        resolution: str | None = None,
        duration: int | None = None,
    ) -> None:
        """/pika create"""
        options = typed_options(aspect_ratio, motion, guidance, fps, negative, seed, camera)
        images = [(image, "image")] if image else []
        await launch(
            interaction,
            JobKind.CREATE,
            prompt=prompt,
            options=options,
            images=images,
            provider=self.bot.routes[JobKind.CREATE],
            params=VideoParams(resolution=resolution, duration=duration),
        )

    @app_commands.command(name="animate", description="Bring an image to life (the prompt is optional)")
    @app_commands.describe(
        image="The image to animate (PNG, JPEG, WebP or GIF)",
        prompt="Optional: what should happen; you may add Pika flags like -motion 3",
        **DESCRIBE,
    )
    @app_commands.choices(aspect_ratio=ASPECT_CHOICES, camera=CAMERA_CHOICES, resolution=RESOLUTION_CHOICES)
    @app_commands.choices(duration=DURATION_CHOICES)
    async def animate(
        self,
        interaction: Interaction,
        image: discord.Attachment,
        prompt: app_commands.Range[str, 0, MAX_PROMPT_LENGTH] | None = None,
        aspect_ratio: str | None = None,
        motion: app_commands.Range[int, 0, 4] | None = None,
        guidance: app_commands.Range[int, 8, 24] | None = None,
        fps: app_commands.Range[int, 8, 24] | None = None,
        negative: app_commands.Range[str, 1, 500] | None = None,
        seed: app_commands.Range[int, 0, 2**53 - 1] | None = None,
        camera: str | None = None,
        resolution: str | None = None,
        duration: int | None = None,
    ) -> None:
        """/pika animate"""
        options = typed_options(aspect_ratio, motion, guidance, fps, negative, seed, camera)
        await launch(
            interaction,
            JobKind.ANIMATE,
            prompt=prompt or "",
            options=options,
            images=[(image, "image")],
            provider=self.bot.routes[JobKind.ANIMATE],
            params=VideoParams(resolution=resolution, duration=duration),
        )

    @app_commands.command(
        name="generate",
        description="Make a video with API Glue: typed options, progress bar, extend, upscale",
    )
    @app_commands.describe(
        prompt="What the video shows",
        image="Optional starting image (PNG, JPEG, WebP or GIF)",
        aspect_ratio="Shape of the video (default 16:9)",
        fps="Frames per second, 1 to 24; default 24",
        motion="How much things move: 1 (a little) to 4 (a lot); default 1",
        guidance="How closely Pika follows the prompt: 5 (loose) to 25 (strict); default 12",
        negative="Things you do NOT want in the video, e.g. blurry, text",
        seed="Same seed + same prompt = a similar video; leave empty for a new one",
        pan="Camera pans left or right",
        tilt="Camera tilts up or down",
        rotate="Camera rotates",
        zoom="Camera zooms in or out",
    )
    @app_commands.choices(
        aspect_ratio=ASPECT_CHOICES,
        pan=PAN_CHOICES,
        tilt=TILT_CHOICES,
        rotate=ROTATE_CHOICES,
        zoom=ZOOM_CHOICES,
    )
    async def generate(
        self,
        interaction: Interaction,
        prompt: app_commands.Range[str, 1, MAX_PROMPT_LENGTH],
        image: discord.Attachment | None = None,
        aspect_ratio: str | None = None,
        fps: app_commands.Range[int, 1, 24] | None = None,
        motion: app_commands.Range[int, 1, 4] | None = None,
        guidance: app_commands.Range[int, 5, 25] | None = None,
        negative: app_commands.Range[str, 1, 500] | None = None,
        seed: app_commands.Range[int, 0, 2**53 - 1] | None = None,
        pan: str | None = None,
        tilt: str | None = None,
        rotate: str | None = None,
        zoom: str | None = None,
    ) -> None:
        """/pika generate"""
        params = VideoParams(
            aspect_ratio=aspect_ratio,
            fps=fps,
            motion=motion,
            guidance=guidance,
            negative=negative,
            seed=seed,
            pan=pan,
            tilt=tilt,
            rotate=rotate,
            zoom=zoom,
        )
        images = [(image, "image")] if image else []
        await launch(
            interaction,
            JobKind.GENERATE,
            prompt=prompt,
            options=PikaOptions(),
            images=images,
            provider=self.bot.routes[JobKind.GENERATE],
            params=params,
        )

    @app_commands.command(name="scenes", description="fal.ai Pikascenes: one video combining 2 to 5 images")
    @app_commands.describe(
        prompt="What happens with the things in your images",
        image1="First image (PNG, JPEG, WebP or GIF)",
        image2="Second image",
        image3="Optional third image",
        image4="Optional fourth image",
        image5="Optional fifth image",
        aspect_ratio="Shape of the video (default 16:9)",
        resolution="720p or 1080p (default 1080p)",
        duration="5 (default) or 10 seconds",
        negative="Things you do NOT want in the video",
        seed="Same seed + same prompt = a similar video",
    )
    @app_commands.choices(aspect_ratio=FAL_ASPECT_CHOICES, resolution=RESOLUTION_CHOICES)
    @app_commands.choices(duration=DURATION_CHOICES)
    async def scenes(
        self,
        interaction: Interaction,
        prompt: app_commands.Range[str, 1, MAX_PROMPT_LENGTH],
        image1: discord.Attachment,
        image2: discord.Attachment,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        duration: int | None = None,
        negative: app_commands.Range[str, 1, 500] | None = None,
        seed: app_commands.Range[int, 0, 2**53 - 1] | None = None,
    ) -> None:
        """/pika scenes"""
        attached = [a for a in (image1, image2, image3, image4, image5) if a is not None]
        await launch(
            interaction,
            JobKind.SCENES,
            prompt=prompt,
            options=PikaOptions(),
            images=[(a, "scene image") for a in attached],
            provider=self.bot.routes[JobKind.SCENES],
            params=VideoParams(
                aspect_ratio=aspect_ratio,
                resolution=resolution,
                duration=duration,
                negative=negative,
                seed=seed,
            ),
        )

    @app_commands.command(name="frames", description="fal.ai Pikaframes: a video through 2 to 5 keyframes")
    @app_commands.describe(
        frame1="First keyframe (PNG, JPEG, WebP or GIF)",
        frame2="Second keyframe",
        frame3="Optional third keyframe",
        frame4="Optional fourth keyframe",
        frame5="Optional fifth keyframe",
        prompt="Optional: what happens between the keyframes",
        resolution="720p (default) or 1080p",
        negative="Things you do NOT want in the video",
        seed="Same seed + same prompt = a similar video",
    )
    @app_commands.choices(resolution=RESOLUTION_CHOICES)
    async def frames(
        self,
        interaction: Interaction,
        frame1: discord.Attachment,
        frame2: discord.Attachment,
        frame3: discord.Attachment | None = None,
        frame4: discord.Attachment | None = None,
        frame5: discord.Attachment | None = None,
        prompt: app_commands.Range[str, 0, MAX_PROMPT_LENGTH] | None = None,
        resolution: str | None = None,
        negative: app_commands.Range[str, 1, 500] | None = None,
        seed: app_commands.Range[int, 0, 2**53 - 1] | None = None,
    ) -> None:
        """/pika frames"""
        attached = [a for a in (frame1, frame2, frame3, frame4, frame5) if a is not None]
        await launch(
            interaction,
            JobKind.FRAMES,
            prompt=prompt or "",
            options=PikaOptions(),
            images=[(a, "keyframe") for a in attached],
            provider=self.bot.routes[JobKind.FRAMES],
            params=VideoParams(resolution=resolution, negative=negative, seed=seed),
        )

    @app_commands.command(name="encrypt_text", description="Hide a short text inside a video")
    @app_commands.describe(
        message=f"The text to hide, up to {MAX_MESSAGE_LENGTH} characters",
        prompt="What the video shows; you may add flags like -w 2 -size 100",
        font="Font for the hidden text",
        image="Optional reference image (PNG, JPEG, WebP or GIF)",
    )
    @app_commands.choices(font=FONT_CHOICES)
    async def encrypt_text(
        self,
        interaction: Interaction,
        message: app_commands.Range[str, 1, MAX_MESSAGE_LENGTH],
        prompt: app_commands.Range[str, 1, MAX_PROMPT_LENGTH],
        font: str | None = None,
        image: discord.Attachment | None = None,
    ) -> None:
        """/pika encrypt_text"""
        images = [(image, "image")] if image else []
        await launch(
            interaction,
            JobKind.ENCRYPT_TEXT,
            prompt=prompt,
            options=PikaOptions(),
            images=images,
            message_text=message,
            font=font,
        )

    @app_commands.command(name="encrypt_image", description="Hide an image or logo inside a video")
    @app_commands.describe(
        message="The image or logo to hide (PNG, JPEG, WebP or GIF)",
        prompt="What the video shows; you may add flags like -w 2 -size 100",
        image="Optional reference image (PNG, JPEG, WebP or GIF)",
    )
    async def encrypt_image(
        self,
        interaction: Interaction,
        message: discord.Attachment,
        prompt: app_commands.Range[str, 1, MAX_PROMPT_LENGTH],
        image: discord.Attachment | None = None,
    ) -> None:
        """/pika encrypt_image"""
        images = [(message, "hidden image")] + ([(image, "image")] if image else [])
        await launch(interaction, JobKind.ENCRYPT_IMAGE, prompt=prompt, options=PikaOptions(), images=images)

    @app_commands.command(name="job", description="Show the state of one of your jobs")
    @app_commands.describe(id="The job number (shown under each status message)")
    async def job(self, interaction: Interaction, id: app_commands.Range[int, 1, 2**53 - 1]) -> None:
        """/pika job"""
        await interaction.response.defer(ephemeral=True, thinking=True)
        service = self.bot.runtime.service
        found = await service.store.get(id)
        if found is None or (found.owner_id != interaction.user.id and not await is_moderator(interaction)):
            # Same answer for "missing" and "not yours", so job ids cannot be probed.
            await interaction.edit_original_response(content=f"❌ You have no job {id}.")
            return
        position = await service.queue_position(found.id) if found.state is JobState.QUEUED else None
        thread = found.origin.thread_id or found.origin.channel_id
        link = f"https://discord.com/channels/{found.origin.guild_id}/{thread}"
        await interaction.edit_original_response(
            content=f"Job **{found.id}** — [open its thread]({link})", embed=status_embed(found, position)
        )

    @app_commands.command(name="jobs", description="Your recent jobs: state, queue position, links")
    async def jobs(self, interaction: Interaction) -> None:
        """/pika jobs"""
        await show_jobs(interaction)

    @app_commands.command(name="cancel", description="Cancel one of your jobs (queued or running)")
    @app_commands.describe(job="The job number (see /pika jobs)")
    async def cancel(self, interaction: Interaction, job: app_commands.Range[int, 1, 2**53 - 1]) -> None:
        """/pika cancel"""
        await cancel_job(interaction, job, await is_moderator(interaction))

    @app_commands.command(name="quota", description="What you have left today, and when it resets")
    async def quota(self, interaction: Interaction) -> None:
        """/pika quota"""
        await show_quota(interaction, await member_limits_of(interaction))

    async def cog_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """Any unexpected failure: an ephemeral apology with a code that is also in the log."""
        await reply_error(interaction, error)


async def reply_error(interaction: Interaction, error: BaseException) -> None:
    """Tell the member something went wrong, without internals; log the details with a code."""
    code = error_code()
    log.error("interaction failed [%s]", code, exc_info=error)
    text = f"❌ Something went wrong on my side (error `{code}`). Please try again in a moment."
    try:
        if interaction.response.is_done():
            await interaction.edit_original_response(content=text)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not report error %s to the member", code)


class RetryButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=RETRY_TEMPLATE):
    """The persistent Retry button under results; the state comes from SQLite, so it survives restarts."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Retry",
                emoji="🔁",
                style=discord.ButtonStyle.secondary,
                custom_id=retry_custom_id(job_id),
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RetryButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Owner or moderator: start a new job (same thread). Anyone else: an ephemeral refusal."""
        # discord.py only logs exceptions raised here, so every path answers the member itself.
        try:
            await retry_clicked(interaction, self.job_id)
        except Exception as exc:
            await reply_error(interaction, exc)


async def retry_clicked(interaction: Interaction, job_id: int) -> None:
    """Handle a Retry click."""
    service = interaction.client.runtime.service
    user = interaction.user.id
    await start_from_job(
        interaction,
        job_id,
        "retry",
        lambda limits: service.retry(job_id, user, announce=True, limits=limits),
        " Start your own with /pika create.",
    )


async def start_from_job(
    interaction: Interaction,
    job_id: int,
    verb: str,
    start: Callable[[MemberLimits | None], Awaitable[Job]],
    refusal_hint: str = "",
) -> None:
    """A button under a job (Retry, Extend, Upscale): owner or moderator, the server's rules as they
    are now (channel, role, words banned since the first run), then a new job in the same thread."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    parent = await interaction.client.runtime.service.store.get(job_id)
    if parent is None:
        await interaction.edit_original_response(content=f"❌ Job {job_id} no longer exists.")
        return
    if parent.owner_id != interaction.user.id and not await is_moderator(interaction):
        await interaction.edit_original_response(
            content=f"❌ Only <@{parent.owner_id}> (or a moderator) can {verb} job {job_id}.{refusal_hint}"
        )
        return
    try:
        settings = await guard(interaction)
        check_banned(settings, parent.prompt, parent.options.negative, parent.params.negative)
        job = await start(await limits_of_member(interaction, settings))
    except (JobNotFound, NotRetryable, UserFacingError, LimitExceeded) as error:
        await interaction.edit_original_response(content=f"❌ {error}")
        return
    in_thread = job.origin.thread_id is not None
    await announce(interaction, job, Placement(use_thread=in_thread, in_thread=in_thread))


_FOLLOW_UP_KINDS = {"extend": JobKind.EXTEND, "upscale": JobKind.UPSCALE}


class FollowUpButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=FOLLOW_UP_TEMPLATE):
    """Extend +4s / Upscale under a finished video; persistent, owner or moderator only."""

    def __init__(self, action: str, job_id: int) -> None:
        super().__init__(discord.ui.Button(label=action, custom_id=f"pika:{action}:{job_id}"))
        self.action = action
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FollowUpButton:
        """Rebuild the button from its custom_id."""
        return cls(match["action"], int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Start the follow-up job in the same thread, or refuse ephemerally."""
        try:
            await follow_up_clicked(interaction, self.job_id, _FOLLOW_UP_KINDS[self.action])
        except Exception as exc:
            await reply_error(interaction, exc)


async def follow_up_clicked(interaction: Interaction, job_id: int, kind: JobKind) -> None:
    """Handle an Extend or Upscale click."""
    service = interaction.client.runtime.service
    user = interaction.user.id
    await start_from_job(
        interaction,
        job_id,
        kind.value,
        lambda limits: service.follow_up(job_id, kind, user, announce=True, limits=limits),
    )


class DeleteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=DELETE_TEMPLATE):
    """Delete under a result: the owner or a moderator removes the bot's post; persistent."""

    def __init__(self, job_id: int) -> None:
        super().__init__(discord.ui.Button(label="Delete", custom_id=f"pika:delete:{job_id}"))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> DeleteButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Delete the post, or refuse ephemerally."""
        try:
            await delete_result(interaction, self.job_id, await is_moderator(interaction))
        except Exception as exc:
            await reply_error(interaction, exc)


async def member_limits_of(interaction: Interaction) -> MemberLimits | None:
    """The member's limits when a role override applies to them; None = the guild's."""
    if interaction.guild_id is None:
        return None
    return await limits_of_member(interaction, await settings_for(interaction.client, interaction.guild_id))


async def setup(bot: PikaBot) -> None:
    """Extension entry point: the command group and the persistent buttons."""
    await bot.add_cog(PikaCog(bot))
    bot.add_dynamic_items(RetryButton, FollowUpButton, DeleteButton)


async def teardown(bot: PikaBot) -> None:
    """Extension exit point."""
    bot.remove_dynamic_items(RetryButton, FollowUpButton, DeleteButton)
