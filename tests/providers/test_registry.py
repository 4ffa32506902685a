"""The provider registry: one entry per provider, and everything derived from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import (
    ApiGlueSettings,
    ConfigError,
    DatabaseSettings,
    DownloadSettings,
    FalSettings,
    Settings,
    UseapiSettings,
    load_settings,
)
from bot.domain.jobs import JobKind
from bot.providers.apiglue import ApiGlueProvider
from bot.providers.base import Provider
from bot.providers.fal.pika import FalPikaProvider
from bot.providers.registry import (
    CAPABILITIES,
    DISPLAY_NAMES,
    PROVIDER_KEYS_HINT,
    PROVIDERS,
    ROUTED_KINDS,
    SECRET_ENV,
    accounts_from,
    download_hosts_from,
    keyed_providers,
    provider_download_hosts,
    providers_from,
    routes_from,
)
from bot.providers.useapi import UseapiPikaProvider

KEYED = Settings(
    useapi=UseapiSettings(token=SecretStr("user:1")),
    apiglue=ApiGlueSettings(token=SecretStr("glue-1")),
    fal=FalSettings(key=SecretStr("id:secret")),
)


@pytest.mark.parametrize(
    ("cls", "section", "variable", "display"),
    [
        (FalPikaProvider, "fal", "FAL_KEY", "fal.ai"),
        (UseapiPikaProvider, "useapi", "USEAPI_TOKEN", "useapi.net"),
        (ApiGlueProvider, "apiglue", "APIGLUE_TOKEN", "API Glue"),
    ],
)
def test_each_entry_names_its_section_secret_and_display_name(
    cls: type[Provider], section: str, variable: str, display: str
) -> None:
    (entry,) = (e for e in PROVIDERS if e.cls is cls)
    assert (entry.section, entry.env_var, entry.display_name) == (section, variable, display)
    assert (variable, section, entry.setting) in SECRET_ENV
    assert DISPLAY_NAMES[entry.name] == display
    assert CAPABILITIES[entry.name] is cls.capabilities


def test_secret_env_starts_with_discord_and_has_one_variable_per_provider() -> None:
    assert SECRET_ENV[0] == ("DISCORD_TOKEN", "discord", "token")
    assert len({variable for variable, _, _ in SECRET_ENV}) == len(PROVIDERS) + 1
    assert (
        PROVIDER_KEYS_HINT == "FAL_KEY for fal.ai, USEAPI_TOKEN for useapi.net or APIGLUE_TOKEN for API Glue"
    )


def test_every_entry_s_secret_is_read_from_the_environment() -> None:
    """Each provider's variable reaches its section: keyed exactly when its variable is set."""
    for entry in PROVIDERS:
        settings = load_settings(None, env={entry.env_var: "key-id:secret-1"}, secret_env=SECRET_ENV)
        assert keyed_providers(settings) == {entry.name}
        assert entry.secret(settings) == "key-id:secret-1"


def test_only_keyed_providers_get_clients_and_accounts() -> None:
    assert keyed_providers(Settings()) == frozenset()
    assert providers_from(Settings()) == {} and accounts_from(Settings()) == []
    assert keyed_providers(KEYED) == {"fal", "useapi", "apiglue"}
    assert {name: type(p) for name, p in providers_from(KEYED).items()} == {
        "fal": FalPikaProvider,
        "useapi": UseapiPikaProvider,
        "apiglue": ApiGlueProvider,
    }
    assert [(a.name, a.provider, a.max_jobs) for a in accounts_from(KEYED)] == [
        ("fal", "fal", 2),
        ("default", "useapi", 10),
        ("apiglue", "apiglue", 3),
    ]


def test_every_command_is_routed_and_generate_goes_to_api_glue_under_auto() -> None:
    assert set(ROUTED_KINDS) == {
        JobKind.CREATE,
        JobKind.ANIMATE,
        JobKind.SCENES,
        JobKind.FRAMES,
        JobKind.GENERATE,
    }
    assert routes_from(Settings())[JobKind.GENERATE] == "apiglue"  # named even when not set up
    assert routes_from(KEYED) == {
        JobKind.CREATE: "fal",
        JobKind.ANIMATE: "fal",
        JobKind.SCENES: "fal",
        JobKind.FRAMES: "fal",
        JobKind.GENERATE: "apiglue",
    }


def test_generate_routed_to_a_provider_that_cannot_serve_it_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[routing]\ngenerate = "useapi"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={}, secret_env=SECRET_ENV)
    assert caught.value.problems == ('routing.generate: must be "auto" or "apiglue" (got "useapi")',)


def test_a_keyed_provider_s_result_hosts_are_allowed_for_download() -> None:
    """fal.ai's videos come from its CDN: with FAL_KEY set they download without listing its hosts
    (a first run has no [downloads] list); without the key, only the configured hosts."""
    discord_cdn = frozenset(Settings().downloads.allowed_hosts)
    assert download_hosts_from(Settings()) == discord_cdn
    fal_only = Settings(fal=FalSettings(key=SecretStr("id:secret")))
    assert download_hosts_from(fal_only) == discord_cdn | {
        "v3.fal.media",
        "v3b.fal.media",
        "v2.fal.media",
        "fal.media",
    }
    assert provider_download_hosts(fal_only)[0] == "v3.fal.media"
    listed = fal_only.model_copy(update={"downloads": DownloadSettings(allowed_hosts=("v3.fal.media",))})
    assert "v3.fal.media" not in provider_download_hosts(listed)  # already listed: not named twice


async def test_the_running_engine_downloads_from_the_keyed_providers_hosts(tmp_path: Path) -> None:
    """The assembly hands the downloader the widened list, not only [downloads] allowed_hosts."""
    from bot.ops.operator_jobs import OperatorDelivery
    from bot.runtime import Runtime

    settings = Settings(
        fal=FalSettings(key=SecretStr("id:secret")),
        database=DatabaseSettings(path=str(tmp_path / "pikabot.sqlite3")),
    )
    runtime = await Runtime.open(settings, OperatorDelivery(), start_loop=False, serve_webhooks=False)
    try:
        assert "v3.fal.media" in runtime.downloader.policy.allowed_hosts
    finally:
        await runtime.stop()
