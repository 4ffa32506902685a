"""Every provider pikabot knows, by name: what each can do is known before any is configured."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from bot.providers.apiglue import ApiGlueProvider
from bot.providers.base import Capabilities
from bot.providers.fal_pika import FalPikaProvider
from bot.providers.useapi_pika import UseapiPikaProvider

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
