"""The /pika commands' shared option choices and descriptions, and typed options as PikaOptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from discord import app_commands

from bot.discord.errors import UserFacingError
from bot.domain.params import Transition
from bot.domain.prompt import AspectRatio, Camera, Font, PikaOptions

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
    "model": "fal.ai only: which Pika model makes it",
}
#: /pika frames: a prompt and a length for each move from one keyframe to the next.
TRANSITION_OPTIONS = 4
DESCRIBE_TRANSITIONS = {
    **{f"transition{n}": f"Optional: what happens from keyframe {n} to {n + 1}" for n in range(1, 5)},
    **{
        f"seconds{n}": f"Seconds from keyframe {n} to {n + 1}, 1-25 (default 5; 25 in all)"
        for n in range(1, 5)
    },
}

#: /pika generate: API Glue's typed options, with its own ranges and defaults.
DESCRIBE_GENERATE = {
    "prompt": "What the video shows",
    "image": "Optional starting image (PNG, JPEG, WebP or GIF)",
    "aspect_ratio": "Shape of the video (default 16:9)",
    "fps": "Frames per second, 1 to 24; default 24",
    "motion": "How much things move: 1 (a little) to 4 (a lot); default 1",
    "guidance": "How closely Pika follows the prompt: 5 (loose) to 25 (strict); default 12",
    "negative": "Things you do NOT want in the video, e.g. blurry, text",
    "seed": "Same seed + same prompt = a similar video; leave empty for a new one",
    "pan": "Camera pans left or right",
    "tilt": "Camera tilts up or down",
    "rotate": "Camera rotates",
    "zoom": "Camera zooms in or out",
}
#: /pika scenes: the prompt, 2 to 5 images and fal.ai's options.
DESCRIBE_SCENES = {
    "prompt": "What happens with the things in your images",
    "image1": "First image (PNG, JPEG, WebP or GIF)",
    "image2": "Second image",
    "image3": "Optional third image",
    "image4": "Optional fourth image",
    "image5": "Optional fifth image",
    "aspect_ratio": "Shape of the video (default 16:9)",
    "resolution": "720p or 1080p (default 1080p)",
    "duration": "5 (default) or 10 seconds",
    "negative": "Things you do NOT want in the video",
    "seed": "Same seed + same prompt = a similar video",
}
#: /pika frames: 2 to 5 keyframes, fal.ai's options and the transitions.
DESCRIBE_FRAMES = {
    "frame1": "First keyframe (PNG, JPEG, WebP or GIF)",
    "frame2": "Second keyframe",
    "frame3": "Optional third keyframe",
    "frame4": "Optional fourth keyframe",
    "frame5": "Optional fifth keyframe",
    "prompt": "Optional: what happens between the keyframes",
    "resolution": "720p (default) or 1080p",
    "negative": "Things you do NOT want in the video",
    "seed": "Same seed + same prompt = a similar video",
    **DESCRIBE_TRANSITIONS,
}


def set_choices(
    command: app_commands.Command[Any, ..., Any], option: str, values: Sequence[str], default: str
) -> None:
    """Give a command's option its choices from the configuration (fal's models) and name the default.

    Decorators fix choices when the module is imported; the models are known only once the bot has
    its settings. Each cog instance holds its own copy of the command (and of its parameter table),
    so replacing the parameter here changes only this bot's command.
    """
    parameter = command._params[option]  # discord.py has no public setter for choices
    described = f"{DESCRIBE[option]} (default {default})" if default else DESCRIBE[option]
    command._params[option] = replace(
        parameter, choices=[app_commands.Choice(name=v, value=v) for v in values], description=described
    )


def transitions_of(
    frames: int, prompts: Sequence[str | None], seconds: Sequence[int | None]
) -> tuple[Transition, ...] | None:
    """The transitions between ``frames`` keyframes from the transitionN/secondsN options; None when
    none is given (fal's default: 5 s each with the command's prompt). One past the last keyframe is refused."""
    given = [n for n, (p, s) in enumerate(zip(prompts, seconds, strict=True), start=1) if p or s is not None]
    if not given:
        return None
    beyond = [n for n in given if n >= frames]
    if beyond:
        n = beyond[0]
        raise UserFacingError(
            f"`transition{n}`/`seconds{n}` is the move from keyframe {n} to {n + 1}, but you attached "
            f"{frames} keyframes. Attach `frame{n + 1}` or leave those options out."
        )
    return tuple(Transition(prompts[i] or None, seconds[i]) for i in range(frames - 1))


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
