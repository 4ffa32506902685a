"""The configuration: TOML file and environment secrets, validated, rendered for check-config.

``schema`` holds the models (a few sections have their own module: ``database``, ``fal_models``,
``useapi_apiglue``), ``loading`` reads the file and the environment, ``rendering`` prints
the effective settings; the names callers need are re-exported here.
"""

from bot.config.checks import parse_listen
from bot.config.database import DatabaseSettings, DatabaseUrl
from bot.config.fal_models import FalCatalogue, FalEndpoint, FalModelSettings, FalSettings
from bot.config.loading import DISCORD_SECRET, ConfigError, SecretEnv, load_settings
from bot.config.rendering import mask_secret, render_settings, settings_warnings
from bot.config.schema import (
    CallbackSettings,
    DiscordSettings,
    DownloadSettings,
    JobSettings,
    LimitSettings,
    RoutingSettings,
    Settings,
)
from bot.config.useapi_apiglue import ApiGlueSettings, UseapiAccount, UseapiSettings

__all__ = [
    "DISCORD_SECRET",
    "ApiGlueSettings",
    "CallbackSettings",
    "ConfigError",
    "DatabaseSettings",
    "DatabaseUrl",
    "DiscordSettings",
    "DownloadSettings",
    "FalCatalogue",
    "FalEndpoint",
    "FalModelSettings",
    "FalSettings",
    "JobSettings",
    "LimitSettings",
    "RoutingSettings",
    "SecretEnv",
    "Settings",
    "UseapiAccount",
    "UseapiSettings",
    "load_settings",
    "mask_secret",
    "parse_listen",
    "render_settings",
    "settings_warnings",
]
