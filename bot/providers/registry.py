"""Every provider pikabot knows, by name: what each can do is known before any is configured."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

from bot.domain.jobs import JobKind
from bot.providers.apiglue import ApiGlueProvider
from bot.providers.base import Capabilities
from bot.providers.fal.pika import FalPikaProvider
from bot.providers.useapi import UseapiPikaProvider

# Class attributes, so the Discord layer can ask without a running engine (e.g. to build buttons).
CAPABILITIES: Final[Mapping[str, Capabilities]] = {
    UseapiPikaProvider.name: UseapiPikaProvider.capabilities,
    ApiGlueProvider.name: ApiGlueProvider.capabilities,
    FalPikaProvider.name: FalPikaProvider.capabilities,
}
DISPLAY_NAMES: Final[Mapping[str, str]] = {
    UseapiPikaProvider.name: UseapiPikaProvider.display_name,
    ApiGlueProvider.name: ApiGlueProvider.display_name,
    FalPikaProvider.name: FalPikaProvider.display_name,
}


def capabilities_of(provider: str) -> Capabilities:
    """The provider's declared capabilities; an unknown name can do nothing."""
    return CAPABILITIES.get(provider, Capabilities(kinds=frozenset()))


#: `auto` routing tries providers in this order: fal.ai is the live route to Pika; useapi.net's Pika
#: API was decommissioned in December 2025; API Glue's status is unknown.
AUTO_ORDER: Final[tuple[str, ...]] = (FalPikaProvider.name, UseapiPikaProvider.name, ApiGlueProvider.name)
AUTO: Final = "auto"


def route_for(kind: JobKind, chosen: str, keyed: Collection[str]) -> str:
    """The provider that serves `kind`: `chosen` as configured, or under `auto` the first in AUTO_ORDER
    that has a key and serves it (with none keyed, the first that serves it, so the answer names it)."""
    if chosen != AUTO:
        return chosen
    serving = [name for name in AUTO_ORDER if kind in CAPABILITIES[name].kinds]
    return next((name for name in serving if name in keyed), serving[0] if serving else AUTO_ORDER[0])
