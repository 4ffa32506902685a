"""Every provider pikabot knows, one entry each: the one place a provider is added.

An entry names the provider's class (its name, display name and capabilities are class attributes,
so the Discord layer can ask without a running engine), its config section and secret, how its
accounts are counted and how its client is built. The secret variables, the keyed providers, the
clients, the accounts, the display names and the capabilities all derive from ``PROVIDERS``.
Its ``[section]`` is still a model in ``bot.config.schema`` (the config sits below the providers
and cannot read this table), and ``[routing]`` lists which names may serve each command.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Final

from pydantic import SecretStr

from bot.config import DISCORD_SECRET, RoutingSettings, SecretEnv, Settings
from bot.domain.jobs import JobKind
from bot.providers.apiglue import ApiGlueProvider
from bot.providers.base import Account, Capabilities, Provider
from bot.providers.fal.client import RESULT_HOSTS as FAL_RESULT_HOSTS
from bot.providers.fal.pika import FalPikaProvider
from bot.providers.useapi import UseapiPikaProvider

# With no [[useapi.accounts]], useapi.net picks among its own accounts; its documented default
# maxJobs is 10, which is the most we let run at once.
DEFAULT_ACCOUNT = Account(name="default", channel=None, max_jobs=10)


@dataclass(frozen=True)
class ProviderEntry:
    """One provider: its class, where its settings and secret live, its accounts and its client."""

    cls: type[Provider]
    section: str  # its table in the config file, e.g. "fal" for [fal]
    env_var: str  # the environment variable holding its secret, e.g. "FAL_KEY"
    setting: str  # the key of its section that variable overrides, e.g. "key" for [fal] key
    accounts: Callable[[Settings], list[Account]]  # its accounts and their slots (keyed only)
    build: Callable[[Settings, str], Provider]  # its client, from the settings and the secret
    #: Hosts its result videos come from, allowed for download while it has a key (on top of
    #: [downloads] allowed_hosts), so a first run needs no list of hosts to post a video.
    result_hosts: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The name jobs, accounts and `[routing]` use, e.g. "fal"."""
        return self.cls.name

    @property
    def display_name(self) -> str:
        """How members and admins see the upstream named, e.g. "fal.ai"."""
        return self.cls.display_name

    @property
    def capabilities(self) -> Capabilities:
        """What the provider can do, declared on its class."""
        return self.cls.capabilities

    def secret(self, settings: Settings) -> str | None:
        """The key set for this provider (file or environment), None when it is not set up."""
        value: SecretStr | None = getattr(getattr(settings, self.section), self.setting)
        return None if value is None else value.get_secret_value()


def _useapi_accounts(settings: Settings) -> list[Account]:
    configured = [Account(a.channel, a.channel, a.max_jobs) for a in settings.useapi.accounts]
    return configured or [DEFAULT_ACCOUNT]


def _useapi(settings: Settings, token: str) -> Provider:
    return UseapiPikaProvider(settings.useapi.base_url, token)


def _apiglue(settings: Settings, token: str) -> Provider:
    return ApiGlueProvider(settings.apiglue.base_url, token)


def _fal(settings: Settings, key: str) -> Provider:
    fal = settings.fal
    return FalPikaProvider(
        fal.base_url, key, rest_base_url=fal.rest_base_url, jwks_url=fal.jwks_url, catalogue=fal.catalogue
    )


#: In `auto` routing order: fal.ai is the live route to Pika; useapi.net's Pika API was decommissioned
#: in December 2025; API Glue's status is unknown.
PROVIDERS: Final[tuple[ProviderEntry, ...]] = (
    ProviderEntry(
        FalPikaProvider,
        section="fal",
        env_var="FAL_KEY",
        setting="key",
        # fal queues excess requests itself; our cap keeps the queue (and its positions) ours.
        accounts=lambda s: [Account("fal", None, s.fal.max_jobs, provider=FalPikaProvider.name)],
        build=_fal,
        result_hosts=FAL_RESULT_HOSTS,
    ),
    ProviderEntry(
        UseapiPikaProvider,
        section="useapi",
        env_var="USEAPI_TOKEN",
        setting="token",
        accounts=_useapi_accounts,
        build=_useapi,
    ),
    ProviderEntry(
        ApiGlueProvider,
        section="apiglue",
        env_var="APIGLUE_TOKEN",
        setting="token",
        accounts=lambda s: [Account("apiglue", None, s.apiglue.max_jobs, provider=ApiGlueProvider.name)],
        build=_apiglue,
    ),
)

BY_NAME: Final[Mapping[str, ProviderEntry]] = {entry.name: entry for entry in PROVIDERS}

#: Environment variables that override the file's secrets: (variable, section, key).
SECRET_ENV: Final[tuple[SecretEnv, ...]] = (
    DISCORD_SECRET,
    *((entry.env_var, entry.section, entry.setting) for entry in PROVIDERS),
)
CAPABILITIES: Final[Mapping[str, Capabilities]] = {entry.name: entry.capabilities for entry in PROVIDERS}
DISPLAY_NAMES: Final[Mapping[str, str]] = {entry.name: entry.display_name for entry in PROVIDERS}

#: What to set for a first provider, live route first (useapi.net's Pika API is decommissioned).
PROVIDER_KEYS_HINT: Final = (
    ", ".join(f"{e.env_var} for {e.display_name}" for e in PROVIDERS[:-1])
    + f" or {PROVIDERS[-1].env_var} for {PROVIDERS[-1].display_name}"
)


def capabilities_of(provider: str) -> Capabilities:
    """The provider's declared capabilities; an unknown name can do nothing."""
    return CAPABILITIES.get(provider, Capabilities(kinds=frozenset()))


def keyed_providers(settings: Settings) -> frozenset[str]:
    """The providers with a key set: the ones the bot can send work to."""
    return frozenset(entry.name for entry in PROVIDERS if entry.secret(settings) is not None)


def providers_from(settings: Settings) -> dict[str, Provider]:
    """One client per provider that has a key; none of them is required on its own."""
    built: dict[str, Provider] = {}
    for entry in PROVIDERS:
        secret = entry.secret(settings)
        if secret is not None:
            built[entry.name] = entry.build(settings, secret)
    return built


def accounts_from(settings: Settings) -> list[Account]:
    """The upstream accounts of every keyed provider, in registry order."""
    return [
        account
        for entry in PROVIDERS
        if entry.secret(settings) is not None
        for account in entry.accounts(settings)
    ]


def provider_download_hosts(settings: Settings) -> tuple[str, ...]:
    """The result hosts of every keyed provider that [downloads] allowed_hosts does not list."""
    listed = set(settings.downloads.allowed_hosts)
    hosts = (host for entry in PROVIDERS if entry.secret(settings) is not None for host in entry.result_hosts)
    return tuple(host for host in dict.fromkeys(hosts) if host not in listed)


def download_hosts_from(settings: Settings) -> frozenset[str]:
    """Every host result videos may be downloaded from: the configured ones and the keyed providers'."""
    return frozenset(settings.downloads.allowed_hosts) | frozenset(provider_download_hosts(settings))


def provider_warnings(settings: Settings) -> list[str]:
    """What check-config says about providers: nothing, unless no provider has a key."""
    if keyed_providers(settings):
        return []
    return [f"no provider key is set ({PROVIDER_KEYS_HINT}): the bot cannot make videos"]


AUTO: Final = "auto"
#: The commands `[routing]` chooses a provider for: one key per command in RoutingSettings.
ROUTED_KINDS: Final[tuple[JobKind, ...]] = tuple(JobKind(name) for name in RoutingSettings.model_fields)


def route_for(kind: JobKind, chosen: str, keyed: Collection[str]) -> str:
    """The provider that serves `kind`: `chosen` as configured, or under `auto` the first entry in
    PROVIDERS that has a key and serves it (with none keyed, the first that serves it, so the answer
    names it)."""
    if chosen != AUTO:
        return chosen
    serving = [entry.name for entry in PROVIDERS if kind in entry.capabilities.kinds]
    return next((name for name in serving if name in keyed), serving[0] if serving else PROVIDERS[0].name)


def routes_from(settings: Settings) -> dict[JobKind, str]:
    """The provider each routed command goes to, with `auto` resolved against the keys that are set."""
    keyed = keyed_providers(settings)
    return {kind: route_for(kind, getattr(settings.routing, kind.value), keyed) for kind in ROUTED_KINDS}
