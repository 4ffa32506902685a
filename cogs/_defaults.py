"""My defaults: /pika defaults, and a member's defaults filled into the options they leave out."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import discord

from bot.config import FalEndpoint
from bot.domain.jobs import JobKind
from bot.domain.member_defaults import MemberDefaults
from bot.domain.params import ParamName, VideoParams
from bot.domain.prompt import AspectRatio, PikaOptions
from bot.engine.service import ProviderInfo
from cogs._options import FAL_ASPECT_CHOICES

if TYPE_CHECKING:
    from bot.discord.app import PikaBot

# The commands whose options the defaults stand for (all four, or the ones their provider takes).
_DEFAULTED_KINDS = frozenset({JobKind.CREATE, JobKind.ANIMATE, JobKind.GENERATE})
_PIKA_ASPECTS = frozenset(ratio.value for ratio in AspectRatio)
_FAL_ASPECTS = frozenset(str(choice.value) for choice in FAL_ASPECT_CHOICES)
#: /pika defaults' aspect ratio choices: every shape some provider takes, Pika's first.
ASPECTS = (*(r.value for r in AspectRatio), *sorted(_FAL_ASPECTS - _PIKA_ASPECTS))


@dataclass(frozen=True)
class Filled:
    """A command's options after the member's defaults: what changed and whether to ping them."""

    options: PikaOptions
    params: VideoParams
    defaulted: frozenset[str]
    ping: bool


def fill_defaults(
    defaults: MemberDefaults,
    kind: JobKind,
    upstream: ProviderInfo,
    options: PikaOptions,
    params: VideoParams,
    models: Collection[str],
) -> Filled:
    """Each option the member left out takes their default when this command and provider take it:
    Pika's prompt flags (aspect ratio, negative) or the provider's typed options; a model only when it
    serves this command (`models`). An aspect ratio the provider does not offer is left out."""
    if kind not in _DEFAULTED_KINDS:
        return Filled(options, params, frozenset(), defaults.ping)
    used: set[str] = set()
    if upstream.capabilities.prompt_flags:
        if options.aspect_ratio is None and defaults.aspect_ratio in _PIKA_ASPECTS:
            options = replace(options, aspect_ratio=AspectRatio(defaults.aspect_ratio))
            used.add("aspect_ratio")
        if options.negative is None and defaults.negative:
            options = replace(options, negative=defaults.negative)
            used.add("negative")
        return Filled(options, params, frozenset(used), defaults.ping)
    declared = upstream.capabilities.params
    aspects = _FAL_ASPECTS if ParamName.MODEL in declared else _PIKA_ASPECTS
    changes: dict[str, str] = {}
    for name, value in defaults.values().items():
        if getattr(params, name) is not None or ParamName(name) not in declared:
            continue
        if (name == "model" and value not in models) or (name == "aspect_ratio" and value not in aspects):
            continue
        changes[name] = value
    filled = replace(
        params,
        aspect_ratio=changes.get("aspect_ratio", params.aspect_ratio),
        resolution=changes.get("resolution", params.resolution),
        model=changes.get("model", params.model),
        negative=changes.get("negative", params.negative),
    )
    return Filled(options, filled, frozenset(changes), defaults.ping)


def models_for(bot: PikaBot, kind: JobKind, with_image: bool) -> tuple[str, ...]:
    """The configured models that can run this command (a model default naming another is skipped)."""
    catalogue = bot.settings.fal.catalogue
    image = with_image or kind is JobKind.ANIMATE
    return catalogue.names_serving(FalEndpoint.IMAGE_TO_VIDEO if image else FalEndpoint.TEXT_TO_VIDEO)


async def member_filled(
    interaction: discord.Interaction[PikaBot],
    kind: JobKind,
    upstream: ProviderInfo,
    options: PikaOptions,
    params: VideoParams,
    with_image: bool,
) -> Filled:
    """fill_defaults with the member's stored defaults (read now: another process may change them)."""
    bot = interaction.client
    defaults = await bot.runtime.member_defaults.get(interaction.user.id)
    return fill_defaults(defaults, kind, upstream, options, params, models_for(bot, kind, with_image))


async def defaults_command(
    interaction: discord.Interaction[PikaBot], given: MemberDefaults, ping: bool | None, *, clear: bool
) -> None:
    """/pika defaults: show (no options), change the given ones, or clear them all; answered privately."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    store = interaction.client.runtime.member_defaults
    user = interaction.user.id
    if clear:
        await store.clear(user)
        current, said = MemberDefaults(), "🧹 Your defaults are cleared: commands use their own again."
    elif given.values() or ping is not None:
        current = (await store.get(user)).changed(given, ping)
        await store.update(user, time.time(), current)
        said = "✅ Saved. Your defaults:"
    else:
        current, said = await store.get(user), "Your defaults:"
    lines = "\n".join(f"• {line}" for line in current.lines())
    hint = (
        "They fill any option you leave out of `/pika create`, `/pika animate` (and Apps → Animate with "
        'Pika); the status message shows them as "(your default)". `clear: True` resets them.'
    )
    await interaction.edit_original_response(content=f"{said}\n{lines}\n{hint}")
