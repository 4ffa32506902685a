"""Typed, validated configuration: a TOML file plus secrets from the environment.

Every mistake becomes one line naming the key path and what is allowed, e.g.
``useapi.accounts[0].max_jobs: must be between 1 and 10 (got 11)``. Secret values (the tokens)
never appear in a repr, an error message or the rendered config.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

__all__ = [
    "PROVIDER_KEYS_HINT",
    "ApiGlueSettings",
    "CallbackSettings",
    "ConfigError",
    "DatabaseSettings",
    "DiscordSettings",
    "DownloadSettings",
    "FalSettings",
    "JobSettings",
    "RoutingSettings",
    "Settings",
    "UseapiAccount",
    "UseapiSettings",
    "load_settings",
    "mask_secret",
    "parse_listen",
    "render_settings",
    "settings_warnings",
]

#: Environment variables that override the file's secrets: (variable, section, key).
SECRET_ENV: Final[tuple[tuple[str, str, str], ...]] = (
    ("DISCORD_TOKEN", "discord", "token"),
    ("USEAPI_TOKEN", "useapi", "token"),
    ("APIGLUE_TOKEN", "apiglue", "token"),
    ("FAL_KEY", "fal", "key"),
)

#: What to set for a first provider, live route first (useapi.net's Pika API is decommissioned).
PROVIDER_KEYS_HINT: Final = "FAL_KEY for fal.ai, USEAPI_TOKEN for useapi.net or APIGLUE_TOKEN for API Glue"

_NOT_SET: Final = "(not set)"
_MASK: Final = "…secured…"
# Our own validators raise this error type; its message is already complete ("what is allowed (got x)").
_OWN_ERROR: Final = "pikabot_config"


class ConfigError(Exception):
    """The configuration is unusable; ``problems`` holds one line per mistake, never a secret value."""

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: tuple[str, ...] = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__(*self.problems)

    def __str__(self) -> str:
        return "\n".join(self.problems)


# --- helpers shared by the validators ------------------------------------------------------------


def _show(value: object) -> str:
    """Describe an input value for an error message, in TOML terms and briefly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # Shown whole, never truncated: a cut-off token would slip past the secret scrubbing.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, dt.date | dt.time):
        return "a date/time"
    return type(value).__name__


def _reject(message: str) -> PydanticCustomError:
    # The message goes through the context so braces in user input are never treated as placeholders.
    return PydanticCustomError(_OWN_ERROR, "{detail}", {"detail": message})


def _explain(allowed: str, *, type_hint: str | None = None, item: str | None = None) -> dict[str, Any]:
    """Field metadata: how to say what is allowed when pydantic's own type/range checks fail."""
    extra: dict[str, Any] = {"allowed": allowed}
    if type_hint is not None:
        extra["type_hint"] = type_hint
    if item is not None:
        extra["item"] = item
    return extra


def _as_tuple(value: object) -> object:
    # TOML arrays arrive as lists; the models are frozen (hashable), so they store tuples.
    return tuple(value) if isinstance(value, list) else value


def _check_secret(value: object) -> SecretStr | None:
    """Blank means "not set"; anything else must be one printable word. Never echo the value."""
    if value is None:
        return None
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        raise _reject("must be a string (value not shown)")
    value = value.strip()
    if not value:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise _reject("must not contain spaces, line breaks or control characters (value not shown)")
    return SecretStr(value)


_HTTP: Final = (("http", "https"), "an http(s) URL")
_WEBSOCKET: Final = (("ws", "wss"), "a ws(s) URL")


def _check_url(value: str, accepted: tuple[tuple[str, ...], str], example: str) -> str:
    """Accept an absolute URL with an accepted scheme, a host, and no credentials, query or fragment."""
    schemes, kind = accepted

    def problem(qualifier: str = "", got: str | None = None) -> PydanticCustomError:
        shown = f" (got {got})" if got is not None else " (value not shown)"
        return _reject(f"must be {kind}{qualifier}, e.g. {example}{shown}")

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise problem(got=_show(value)) from None
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise problem(got=_show(value))
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL end up in logs; refuse rather than echo them back.
        raise problem(" without user:password@")
    if parts.query or parts.fragment:
        raise problem(" without ?query or #fragment", _show(value))
    return value


_HOST_LABEL: Final = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME_RE: Final = re.compile(rf"(?=.{{1,253}}$){_HOST_LABEL}(?:\.{_HOST_LABEL})*")


def _is_hostname(value: str) -> bool:
    return _HOSTNAME_RE.fullmatch(value.lower()) is not None


def parse_listen(value: str) -> tuple[str, int]:
    """Split ``host:port`` (IPv6 as ``[::1]:8787``) into (host, port).

    Raises ValueError whose message qualifies what is wrong ("" when it is simply not host:port).
    """
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isascii() or not port_text.isdigit():
        raise ValueError("")
    port = int(port_text)
    if port > 65535:
        raise ValueError(" with a port from 0 to 65535")
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(" with a valid IPv6 address in the brackets") from None
        return host[1:-1], port
    if ":" in host:
        raise ValueError(" with an IPv6 host in brackets, e.g. [::1]:8787")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        if not _is_hostname(host):
            raise ValueError(" with a valid hostname or IP address") from None
    return host, port


def _is_loopback_host(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_HOST_ALLOWED: Final = (
    'must be a bare hostname or IP address without scheme, port or path, e.g. "cdn.discordapp.com"'
)


def _check_download_host(value: str) -> str:
    """A bare hostname or IP literal; private addresses other than loopback are never allowed."""
    allowed = _HOST_ALLOWED
    host = value.strip().lower().rstrip(".")
    if "://" in host or "/" in host:
        raise _reject(f"{allowed} (got {_show(value)})")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not _is_hostname(host):
            raise _reject(f"{allowed} (got {_show(value)})") from None
        return host
    private = address.is_private or address.is_link_local or address.is_reserved
    if not address.is_loopback and (private or address.is_multicast or address.is_unspecified):
        raise _reject(
            "private and reserved addresses are never downloaded from; only loopback may be listed "
            f"(for the local simulators) (got {_show(value)})"
        )
    return address.compressed


_DownloadHost = Annotated[str, AfterValidator(_check_download_host)]
_Secret = Annotated[SecretStr | None, BeforeValidator(_check_secret)]

_STRICT: Final = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- the schema ----------------------------------------------------------------------------------


class DiscordSettings(BaseModel):
    """``[discord]``: the bot token and optional REST/gateway overrides (proxies, the emulator)."""

    model_config = _STRICT

    token: _Secret = Field(default=None, json_schema_extra=_explain("must be a string"))
    api_base_url: str = Field(
        default="",
        json_schema_extra=_explain('must be empty or an http(s) URL, e.g. "http://127.0.0.1:9000/api/v10"'),
    )
    gateway_url: str = Field(
        default="",
        json_schema_extra=_explain('must be empty or a ws(s) URL, e.g. "ws://127.0.0.1:9000/gateway"'),
    )
    max_image_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1,
        le=100 * 1024 * 1024,
        json_schema_extra=_explain(
            f"must be between 1 and {100 * 1024 * 1024}",
            type_hint=f"must be an integer between 1 and {100 * 1024 * 1024}",
        ),
    )

    @field_validator("api_base_url")
    @classmethod
    def _check_api_base_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        # discord.py joins routes as base + "/channels/…", so the base carries no trailing slash.
        return _check_url(value, _HTTP, '"http://127.0.0.1:9000/api/v10"').rstrip("/")

    @field_validator("gateway_url")
    @classmethod
    def _check_gateway_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        return _check_url(value, _WEBSOCKET, '"ws://127.0.0.1:9000/gateway"')


_CHANNEL_ALLOWED: Final = 'must be a Discord channel id (15-21 digits), e.g. "1183508299895820390"'


class UseapiAccount(BaseModel):
    """One ``[[useapi.accounts]]`` entry: a Pika account configured at useapi.net, by its channel."""

    model_config = _STRICT

    channel: str = Field(json_schema_extra=_explain(_CHANNEL_ALLOWED))
    max_jobs: int = Field(
        default=10,
        ge=1,
        le=10,
        json_schema_extra=_explain(
            "must be between 1 and 10", type_hint="must be an integer between 1 and 10"
        ),
    )

    @field_validator("channel", mode="before")
    @classmethod
    def _channel_from_int(cls, value: object) -> object:
        # Snowflakes fit a TOML integer, and forgetting the quotes is the common slip: accept both.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("channel")
    @classmethod
    def _check_channel(cls, value: str) -> str:
        value = value.strip()
        if not (value.isascii() and value.isdigit() and 15 <= len(value) <= 21):
            raise _reject(f"{_CHANNEL_ALLOWED} (got {_show(value)})")
        return value


class UseapiSettings(BaseModel):
    """``[useapi]``: the API token, base URL and the accounts jobs may run on."""

    model_config = _STRICT

    token: _Secret = Field(default=None, json_schema_extra=_explain("must be a string"))
    base_url: str = Field(
        default="https://api.useapi.net/v1/",
        json_schema_extra=_explain('must be an http(s) URL, e.g. "https://api.useapi.net/v1/"'),
    )
    accounts: Annotated[tuple[UseapiAccount, ...], BeforeValidator(_as_tuple)] = Field(
        default=(),
        json_schema_extra=_explain(
            "must be an array of tables, written [[useapi.accounts]]", item="must be a table"
        ),
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = _check_url(value.strip(), _HTTP, '"https://api.useapi.net/v1/"')
        # Endpoints are joined relative to the base ("pika/create"), which needs the trailing slash.
        return value if value.endswith("/") else value + "/"

    @field_validator("accounts")
    @classmethod
    def _check_unique_channels(cls, accounts: tuple[UseapiAccount, ...]) -> tuple[UseapiAccount, ...]:
        seen: dict[str, int] = {}
        for index, account in enumerate(accounts):
            if account.channel in seen:
                raise _reject(
                    f"each channel may be listed once (entries [{seen[account.channel]}] and [{index}] "
                    f'both use "{account.channel}")'
                )
            seen[account.channel] = index
        return accounts


class ApiGlueSettings(BaseModel):
    """``[apiglue]``: API Glue's Pika web API; configured (``/pika generate`` on) once a token is set."""

    model_config = _STRICT

    token: _Secret = Field(default=None, json_schema_extra=_explain("must be a string"))
    base_url: str = Field(
        default="https://api.pikapikapika.io",
        json_schema_extra=_explain('must be an http(s) URL, e.g. "https://api.pikapikapika.io"'),
    )
    max_jobs: int = Field(
        default=3, ge=1, le=50, json_schema_extra=_explain("must be a whole number from 1 to 50")
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return _check_url(value.strip(), _HTTP, '"https://api.pikapikapika.io"').rstrip("/")

    @property
    def enabled(self) -> bool:
        """True when a token is set: the provider is built and its commands answer."""
        return self.token is not None


def _price(default: float) -> Any:
    return Field(
        default=default,
        ge=0,
        le=100,
        allow_inf_nan=False,
        json_schema_extra=_explain("must be USD from 0 to 100"),
    )


class FalSettings(BaseModel):
    """``[fal]``: Pika 2.2 on fal.ai's queue; configured once a key is set (``FAL_KEY``)."""

    model_config = _STRICT

    key: _Secret = Field(default=None, json_schema_extra=_explain("must be a string"))
    base_url: str = Field(
        default="https://queue.fal.run",
        json_schema_extra=_explain('must be an http(s) URL, e.g. "https://queue.fal.run"'),
    )
    rest_base_url: str = Field(
        default="https://rest.fal.ai",
        json_schema_extra=_explain('must be an http(s) URL, e.g. "https://rest.fal.ai"'),
    )
    jwks_url: str = Field(
        default="https://rest.fal.ai/.well-known/jwks.json",
        json_schema_extra=_explain(
            'must be an http(s) URL, e.g. "https://rest.fal.ai/.well-known/jwks.json"'
        ),
    )
    max_jobs: int = Field(
        default=2, ge=1, le=40, json_schema_extra=_explain("must be a whole number from 1 to 40")
    )
    price_720p_5s: float = _price(0.20)
    price_1080p_5s: float = _price(0.45)
    frames_720p_per_second: float = _price(0.04)
    frames_1080p_per_second: float = _price(0.06)

    @field_validator("base_url", "rest_base_url", "jwks_url")
    @classmethod
    def _check_urls(cls, value: str) -> str:
        return _check_url(value.strip(), _HTTP, '"https://queue.fal.run"').rstrip("/")

    @property
    def enabled(self) -> bool:
        """True when a key is set: the provider is built and commands routed to it answer."""
        return self.key is not None


class RoutingSettings(BaseModel):
    """``[routing]``: which provider serves each command; ``auto`` picks the first with a key."""

    model_config = _STRICT

    create: Literal["auto", "useapi", "apiglue", "fal"] = Field(
        default="auto", json_schema_extra=_explain('must be "auto", "useapi", "apiglue" or "fal"')
    )
    animate: Literal["auto", "useapi", "apiglue", "fal"] = Field(
        default="auto", json_schema_extra=_explain('must be "auto", "useapi", "apiglue" or "fal"')
    )
    scenes: Literal["auto", "fal"] = Field(
        default="auto", json_schema_extra=_explain('must be "auto" or "fal"')
    )
    frames: Literal["auto", "fal"] = Field(
        default="auto", json_schema_extra=_explain('must be "auto" or "fal"')
    )


class CallbackSettings(BaseModel):
    """``[callbacks]``: the webhook server useapi.net calls when a job finishes."""

    model_config = _STRICT

    listen: str = Field(
        default="0.0.0.0:8787",  # all interfaces: useapi.net must reach the webhook server from outside
        json_schema_extra=_explain("must be host:port, e.g. 0.0.0.0:8787"),
    )
    public_url: str = Field(
        default="",
        json_schema_extra=_explain('must be empty or an http(s) URL, e.g. "https://bot.example.com"'),
    )

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        value = value.strip()
        try:
            parse_listen(value)
        except ValueError as exc:
            raise _reject(f"must be host:port{exc}, e.g. 0.0.0.0:8787 (got {_show(value)})") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        # The bot appends its own callback paths, so the base is stored without a trailing slash.
        return _check_url(value, _HTTP, '"https://bot.example.com"').rstrip("/")

    @property
    def host(self) -> str:
        """The interface to bind, without IPv6 brackets."""
        return parse_listen(self.listen)[0]

    @property
    def port(self) -> int:
        """The port to bind (0 = any free port)."""
        return parse_listen(self.listen)[1]

    @property
    def enabled(self) -> bool:
        """Whether useapi.net is told to call back (otherwise the bot only polls)."""
        return bool(self.public_url)


_SECONDS: Final = "must be a number"


class JobSettings(BaseModel):
    """``[jobs]``: how often running jobs are polled and when they give up.

    ``callback_grace`` (callbacks on) is the backstop per-job poll of providers that list what they
    run (useapi.net); lost callbacks are found by that list, or by a poll every 2 x poll_interval.
    """

    model_config = _STRICT

    poll_interval: float = Field(
        default=15.0, ge=1, allow_inf_nan=False, json_schema_extra=_explain(f"{_SECONDS} >= 1")
    )
    timeout: float = Field(
        default=1800.0, ge=1, allow_inf_nan=False, json_schema_extra=_explain(f"{_SECONDS} >= 1")
    )
    callback_grace: float = Field(
        default=300.0, ge=0, allow_inf_nan=False, json_schema_extra=_explain(f"{_SECONDS} >= 0")
    )


class DownloadSettings(BaseModel):
    """``[downloads]``: where result videos may come from, how big they may be, where they wait."""

    model_config = _STRICT

    allowed_hosts: Annotated[tuple[_DownloadHost, ...], BeforeValidator(_as_tuple)] = Field(
        default=("cdn.discordapp.com", "media.discordapp.net"),
        json_schema_extra=_explain(
            'must be an array of hostnames, e.g. ["cdn.discordapp.com"]',
            item=_HOST_ALLOWED,
        ),
    )
    max_bytes: int = Field(
        default=104857600,
        ge=1,
        le=2**31,
        json_schema_extra=_explain(
            f"must be between 1 and {2**31}", type_hint=f"must be an integer between 1 and {2**31}"
        ),
    )
    dir: str = Field(
        default="", json_schema_extra=_explain('must be a directory path, or "" for the default')
    )

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        if not hosts:
            raise _reject('must list at least one host, e.g. ["cdn.discordapp.com"] (got [])')
        return tuple(dict.fromkeys(hosts))  # drop duplicates, keep the operator's order

    @field_validator("dir")
    @classmethod
    def _expand_dir(cls, value: str) -> str:
        value = value.strip()
        return str(Path(value).expanduser()) if value else ""


class DatabaseSettings(BaseModel):
    """``[database]``: the SQLite file holding jobs."""

    model_config = _STRICT

    path: str = Field(
        default="pikabot.sqlite3", json_schema_extra=_explain('must be a file path, e.g. "pikabot.sqlite3"')
    )

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise _reject('must be a file path, e.g. "pikabot.sqlite3" (got "")')
        return str(Path(value).expanduser()) if value.startswith("~") else value


class LimitSettings(BaseModel):
    """``[limits]``: per-member limits on paid generations (guilds may override them)."""

    model_config = _STRICT

    in_flight: int = Field(
        default=2,
        ge=1,
        le=100,
        json_schema_extra=_explain(
            "must be between 1 and 100", type_hint="must be an integer between 1 and 100"
        ),
    )
    per_day: int = Field(
        default=0,
        ge=0,
        le=100_000,
        json_schema_extra=_explain(
            "must be between 0 (no limit) and 100000", type_hint="must be an integer between 0 and 100000"
        ),
    )
    cooldown: float = Field(
        default=3.0,
        ge=0,
        le=3600,
        allow_inf_nan=False,
        json_schema_extra=_explain(f"{_SECONDS} from 0 to 3600"),
    )


class Settings(BaseModel):
    """The whole configuration; every section has defaults, so an empty file is valid."""

    model_config = _STRICT

    discord: DiscordSettings = DiscordSettings()  # frozen, so one shared default is safe
    useapi: UseapiSettings = UseapiSettings()
    apiglue: ApiGlueSettings = ApiGlueSettings()
    fal: FalSettings = FalSettings()
    routing: RoutingSettings = RoutingSettings()
    callbacks: CallbackSettings = CallbackSettings()
    jobs: JobSettings = JobSettings()
    downloads: DownloadSettings = DownloadSettings()
    database: DatabaseSettings = DatabaseSettings()
    limits: LimitSettings = LimitSettings()

    @property
    def keyed_providers(self) -> frozenset[str]:
        """The providers with a key set: the ones the bot can send work to."""
        sections = {"useapi": self.useapi.token, "apiglue": self.apiglue.token, "fal": self.fal.key}
        return frozenset(name for name, secret in sections.items() if secret is not None)

    def secrets(self) -> tuple[str, ...]:
        """Every non-empty secret value, for log redaction."""
        tokens = (self.discord.token, self.useapi.token, self.apiglue.token, self.fal.key)
        return tuple(token.get_secret_value() for token in tokens if token is not None)

    @property
    def media_dir(self) -> Path:
        """Where finished videos wait for delivery: downloads.dir or <database dir>/pikabot-media."""
        if self.downloads.dir:
            return Path(self.downloads.dir)
        return Path(self.database.path).parent / "pikabot-media"


# --- loading -------------------------------------------------------------------------------------


def load_settings(path: str | Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate ``path`` (None: defaults only), with the SECRET_ENV variables overriding it.

    Raises ConfigError listing every problem found.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    raw: dict[str, Any] = {} if path is None else _read_toml(Path(path))

    from_env: dict[str, str] = {}  # "discord.token" -> "DISCORD_TOKEN", for error messages
    for variable, section, key in SECRET_ENV:
        value = environ.get(variable, "")
        if not value.strip():
            continue
        table = raw.setdefault(section, {})
        if isinstance(table, dict):  # otherwise the section itself is reported as "must be a table"
            table[key] = value
            from_env[f"{section}.{key}"] = variable

    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(error, from_env) for error in exc.errors(include_url=False)]
        secrets = _raw_secrets(raw)
        # `from None`: the ValidationError carries the raw inputs, which may include a token.
        raise ConfigError(_scrub(problem, secrets) for problem in dict.fromkeys(problems)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file is a directory: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's messages carry "(at line L, column C)" and never quote the offending text.
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _raw_secrets(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """Secret-looking values from the unvalidated input, so they can be scrubbed from messages."""
    found: list[str] = []
    for _, section, key in SECRET_ENV:
        table = raw.get(section)
        value = table.get(key) if isinstance(table, dict) else None
        if isinstance(value, str) and value.strip():
            found.append(value.strip())
    return tuple(found)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret, as written and as quoted by ``_show``, with ``[redacted]``."""
    forms = {form for secret in secrets for form in (secret, json.dumps(secret, ensure_ascii=False)[1:-1])}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "[redacted]")
    return text


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model class inside an annotation such as ``UseapiAccount`` or ``tuple[UseapiAccount, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


_TYPE_ERRORS: Final = frozenset({"finite_number", "int_from_float", "model_type", "model_attributes_type"})


def _describe(error: Mapping[str, Any], from_env: Mapping[str, str]) -> str:
    """Turn one pydantic error into ``key.path: what is allowed (got value)``."""
    model: type[BaseModel] | None = Settings
    parent: type[BaseModel] = Settings
    field: FieldInfo | None = None
    name = ""
    is_item = False
    path = ""
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
            is_item = True
            continue
        if model is None and field is not None:
            continue  # a pydantic-internal tag below a leaf field, not a key the operator wrote
        path += f".{part}" if path else part
        name, is_item = part, False
        if model is not None:
            parent = model
            field = model.model_fields.get(part)
            model = _model_in(field.annotation) if field is not None else None

    kind: str = error["type"]
    label = f"{path} (from {from_env[path]})" if path in from_env else path
    if kind == "extra_forbidden":
        allowed = list(parent.model_fields)
        return f"{label}: unknown key (allowed: {', '.join(allowed)}{_suggest(name, allowed)})"
    if kind == _OWN_ERROR:
        return f"{label}: {error['msg']}"

    extra = field.json_schema_extra if field is not None and isinstance(field.json_schema_extra, dict) else {}
    if _model_in(field.annotation if field is not None else None) is not None and (
        is_item or kind in _TYPE_ERRORS
    ):
        text = str(extra.get("item", "must be a table")) if is_item else "must be a table"
    elif is_item and "item" in extra:
        text = str(extra["item"])
    elif kind.endswith(("_type", "_parsing")) or kind in _TYPE_ERRORS:
        text = str(extra.get("type_hint", extra.get("allowed", "has the wrong type")))
    else:
        text = str(extra.get("allowed", error["msg"].lower()))

    if kind == "missing":
        return f"{label}: required key is missing ({text})"
    if name == "token":
        return f"{label}: {text} (value not shown)"
    return f"{label}: {text} (got {_show(error.get('input'))})"


def _suggest(name: str, allowed: list[str]) -> str:
    """A "did you mean" hint; also maps useapi's camelCase (maxJobs) to our snake_case."""
    folded = {key.replace("_", "").lower(): key for key in allowed}
    match = folded.get(name.replace("_", "").replace("-", "").lower())
    if match is None:
        close = difflib.get_close_matches(name, allowed, n=1)
        match = close[0] if close else None
    return f'; did you mean "{match}"?' if match else ""


# --- reporting -----------------------------------------------------------------------------------


def mask_secret(value: str) -> str:
    """Mask like useapi.net does: ``MTE…secured…xYz``; values shorter than 8 chars show nothing."""
    if len(value) < 8:
        return _MASK
    return f"{value[:3]}{_MASK}{value[-3:]}"


def settings_warnings(settings: Settings) -> list[str]:
    """Valid but doubtful choices, one sentence each, for check-config and startup logs."""
    warnings: list[str] = []
    jobs, callbacks = settings.jobs, settings.callbacks
    if settings.discord.token is None:
        warnings.append("discord.token is not set (DISCORD_TOKEN): the bot cannot log in to Discord")
    if not settings.keyed_providers:
        warnings.append(f"no provider key is set ({PROVIDER_KEYS_HINT}): the bot cannot make videos")
    if jobs.poll_interval < 10:
        warnings.append(
            f"jobs.poll_interval is {_number(jobs.poll_interval)} s: useapi.net polls Discord every "
            "15-60 s; polling faster than every 10 s wastes requests"
        )
    if jobs.timeout <= jobs.poll_interval:
        warnings.append(
            f"jobs.timeout ({_number(jobs.timeout)} s) is not longer than jobs.poll_interval "
            f"({_number(jobs.poll_interval)} s): jobs expire before they are polled twice"
        )
    if callbacks.enabled:
        public_host = urlsplit(callbacks.public_url).hostname or ""
        public_is_local = _is_loopback_host(public_host)
        if callbacks.public_url.lower().startswith("http://") and not public_is_local:
            warnings.append(
                "callbacks.public_url uses http://: callbacks and their secret path travel unencrypted; "
                "use https:// (e.g. behind a reverse proxy)"
            )
        if _is_loopback_host(callbacks.host) and not public_is_local:
            warnings.append(
                f"callbacks.listen is {callbacks.listen} (this machine only) but callbacks.public_url is "
                "public: useapi.net reaches it only through a reverse proxy on this host"
            )
        if jobs.callback_grace >= jobs.timeout:
            warnings.append(
                f"jobs.callback_grace ({_number(jobs.callback_grace)} s) is not shorter than jobs.timeout "
                f"({_number(jobs.timeout)} s): should useapi.net's executing list fail too, a job whose "
                "callback is lost expires without being polled"
            )
    return warnings


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _toml_value(value: object) -> str:
    if isinstance(value, SecretStr):
        return json.dumps(mask_secret(value.get_secret_value()), ensure_ascii=False)
    if value is None:
        return json.dumps(_NOT_SET)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # JSON string escapes are a subset of TOML basic-string escapes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} as TOML")


def _toml_table(model: BaseModel) -> tuple[list[str], list[tuple[str, tuple[BaseModel, ...]]]]:
    """The ``key = value`` lines of one section, and its arrays of tables (rendered after them)."""
    lines: list[str] = []
    arrays: list[tuple[str, tuple[BaseModel, ...]]] = []
    for key in type(model).model_fields:
        value = getattr(model, key)
        if isinstance(value, tuple) and _model_in(type(model).model_fields[key].annotation) is not None:
            arrays.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return lines, arrays


def render_settings(settings: Settings) -> str:
    """The effective configuration as TOML text, secrets masked, ``(not set)`` for missing ones."""
    out: list[str] = []
    for section in Settings.model_fields:
        model: BaseModel = getattr(settings, section)
        lines, arrays = _toml_table(model)
        if out:
            out.append("")
        out.append(f"[{section}]")
        out.extend(lines)
        if section == "callbacks":
            mode = "callbacks + polling" if settings.callbacks.enabled else "polling only (no public_url)"
            out.append(f"# effective: {mode}")
        if section == "downloads" and not settings.downloads.dir:
            out.append(f"# effective dir: {settings.media_dir}")
        for key, entries in arrays:
            if not entries:
                out.append(f"# no [[{section}.{key}]]: useapi.net picks among its configured accounts")
            for entry in entries:
                entry_lines, _ = _toml_table(entry)
                out.extend(["", f"[[{section}.{key}]]", *entry_lines])
    return "\n".join(out) + "\n"
