"""The /pika commands' shared option choices and descriptions, and typed options as PikaOptions."""

from __future__ import annotations

from discord import app_commands

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
