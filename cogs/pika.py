"""The /pika commands, Apps → Animate with Pika, and the persistent buttons under jobs (their callbacks
are in cogs/_buttons.py; Remix's form and the context menu in cogs/_remix.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import FalEndpoint
from bot.domain.jobs import JobKind
from bot.domain.member_defaults import MemberDefaults
from bot.domain.params import VideoParams
from bot.domain.prompt import MAX_MESSAGE_LENGTH, MAX_PROMPT_LENGTH, PikaOptions
from cogs._buttons import BUTTONS
from cogs._defaults import ASPECTS, defaults_command
from cogs._guards import is_moderator, member_limits_of
from cogs._launch import launch
from cogs._member import cancel_job, show_job, show_jobs, show_quota
from cogs._options import (
    ASPECT_CHOICES,
    CAMERA_CHOICES,
    DESCRIBE,
    DESCRIBE_FRAMES,
    DESCRIBE_GENERATE,
    DESCRIBE_SCENES,
    DURATION_CHOICES,
    FAL_ASPECT_CHOICES,
    FONT_CHOICES,
    PAN_CHOICES,
    RESOLUTION_CHOICES,
    ROTATE_CHOICES,
    TILT_CHOICES,
    ZOOM_CHOICES,
    set_choices,
    transitions_of,
    typed_options,
)
from cogs._remix import ANIMATE_MENU_NAME, animate_menu, answer_form

if TYPE_CHECKING:
    from bot.discord.app import PikaBot

Interaction = discord.Interaction["PikaBot"]


@app_commands.guild_only()
class PikaCog(commands.GroupCog, group_name="pika", group_description="Make videos with Pika"):
    """The member-facing commands."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot
        super().__init__()
        # The model option lists fal's configured models: any with a text- or image-to-video
        # endpoint for create, with image-to-video for animate.
        catalogue = bot.settings.fal.catalogue
        text, image = FalEndpoint.TEXT_TO_VIDEO, FalEndpoint.IMAGE_TO_VIDEO
        set_choices(self.create, "model", catalogue.names_serving(text, image), catalogue.default)
        set_choices(self.animate, "model", catalogue.names_serving(image), catalogue.default)
        set_choices(self.defaults, "model", catalogue.names_serving(text, image), catalogue.default)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: Interaction) -> None:
        """Remix forms: answered by custom id, so one opened before a restart still works after it."""
        await answer_form(interaction)

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
        model: str | None = None,
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
            params=VideoParams(resolution=resolution, duration=duration, model=model),
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
        model: str | None = None,
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
            params=VideoParams(resolution=resolution, duration=duration, model=model),
        )

    @app_commands.command(
        name="generate",
        description="Make a video with API Glue: typed options, progress bar, extend, upscale",
    )
    @app_commands.describe(**DESCRIBE_GENERATE)
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
    @app_commands.describe(**DESCRIBE_SCENES)
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
    @app_commands.describe(**DESCRIBE_FRAMES)
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
        transition1: app_commands.Range[str, 1, MAX_PROMPT_LENGTH] | None = None,
        seconds1: app_commands.Range[int, 1, 25] | None = None,
        transition2: app_commands.Range[str, 1, MAX_PROMPT_LENGTH] | None = None,
        seconds2: app_commands.Range[int, 1, 25] | None = None,
        transition3: app_commands.Range[str, 1, MAX_PROMPT_LENGTH] | None = None,
        seconds3: app_commands.Range[int, 1, 25] | None = None,
        transition4: app_commands.Range[str, 1, MAX_PROMPT_LENGTH] | None = None,
        seconds4: app_commands.Range[int, 1, 25] | None = None,
    ) -> None:
        """/pika frames"""
        attached = [a for a in (frame1, frame2, frame3, frame4, frame5) if a is not None]
        transitions = transitions_of(
            len(attached),
            (transition1, transition2, transition3, transition4),
            (seconds1, seconds2, seconds3, seconds4),
        )
        await launch(
            interaction,
            JobKind.FRAMES,
            prompt=prompt or "",
            options=PikaOptions(),
            images=[(a, "keyframe") for a in attached],
            provider=self.bot.routes[JobKind.FRAMES],
            params=VideoParams(resolution=resolution, negative=negative, seed=seed, transitions=transitions),
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
        await show_job(interaction, id)

    @app_commands.command(name="jobs", description="Your recent jobs: state, queue position, links")
    async def jobs(self, interaction: Interaction) -> None:
        """/pika jobs"""
        await show_jobs(interaction)

    @app_commands.command(name="cancel", description="Cancel one of your jobs (queued or running)")
    @app_commands.describe(job="The job number (see /pika jobs)")
    async def cancel(self, interaction: Interaction, job: app_commands.Range[int, 1, 2**53 - 1]) -> None:
        """/pika cancel"""
        await cancel_job(interaction, job, await is_moderator(interaction))

    @app_commands.command(name="defaults", description="Your own defaults for the options you leave out")
    @app_commands.describe(
        aspect_ratio="Your shape of video",
        resolution="fal.ai only: your resolution",
        model="fal.ai only: your Pika model",
        negative="Things you never want in your videos",
        ping="Whether your finished videos mention (ping) you",
        clear="True: forget all your defaults",
    )
    @app_commands.choices(
        aspect_ratio=[app_commands.Choice(name=v, value=v) for v in ASPECTS], resolution=RESOLUTION_CHOICES
    )
    async def defaults(
        self,
        interaction: Interaction,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        model: str | None = None,
        negative: app_commands.Range[str, 1, 500] | None = None,
        ping: bool | None = None,
        clear: bool = False,
    ) -> None:
        """/pika defaults"""
        given = MemberDefaults(aspect_ratio, resolution, model, negative)
        await defaults_command(interaction, given, ping, clear=clear)

    @app_commands.command(name="quota", description="What you have left today, and when it resets")
    async def quota(self, interaction: Interaction) -> None:
        """/pika quota"""
        await show_quota(interaction, await member_limits_of(interaction))


async def setup(bot: PikaBot) -> None:
    """Extension entry point: the command group and the persistent buttons."""
    await bot.add_cog(PikaCog(bot))
    bot.tree.add_command(animate_menu())
    bot.add_dynamic_items(*BUTTONS)


async def teardown(bot: PikaBot) -> None:
    """Extension exit point."""
    bot.tree.remove_command(ANIMATE_MENU_NAME, type=discord.AppCommandType.message)
    bot.remove_dynamic_items(*BUTTONS)
