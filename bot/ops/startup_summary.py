"""What `pikabot run` logs at start and `check-config` prints: the environment keys used, the
database, callbacks and each command's route, in words an operator reads (never a password)."""

from __future__ import annotations

import os
from pathlib import Path

from bot.config import Settings
from bot.config.environment import environment_overrides
from bot.providers.registry import DISPLAY_NAMES, keyed_providers, routes_from


def describe_environment() -> str:
    """The ``PIKABOT_*`` variables that set keys (names only), or "" when none do."""
    used = sorted(environment_overrides(os.environ).sources.values())
    return ", ".join(used)


def describe_database(settings: Settings) -> str:
    """The database as an operator finds it: an absolute file path, or a URL without its password."""
    target = settings.database.target
    if target.backend != "sqlite":
        return target.masked()
    if target.path == ":memory:":
        return target.path
    return str(Path(target.path).absolute())


def describe_callbacks(settings: Settings) -> str:
    """Whether upstreams call back, or the bot only polls (and how often)."""
    every = f"{settings.jobs.poll_interval:g} s"
    if settings.callbacks.enabled:
        return f"on at {settings.callbacks.public_url} (polling every {every} as a backup)"
    return f"off, polling every {every} (set [callbacks] public_url to turn them on)"


def describe_routes(settings: Settings) -> str:
    """Each routed command and the provider it goes to, e.g. ``create → fal.ai``; unkeyed ones marked."""
    keyed = keyed_providers(settings)
    return ", ".join(
        f"{kind} → {DISPLAY_NAMES[name]}" + ("" if name in keyed else " (not set up)")
        for kind, name in routes_from(settings).items()
    )
