"""The configuration's schema: one frozen pydantic model per TOML section, strict and typo-proof.

Every mistake becomes one line naming the key path and what is allowed, e.g.
``useapi.accounts[0].max_jobs: must be between 1 and 10 (got 11)``. Secret values (the tokens)
never appear in a repr, an error message or the rendered config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, ValidationInfo, field_validator

from bot.config.checks import (
    HOST_ALLOWED,
    HTTP,
    MAX_SHARDS,
    STRICT,
    WEBSOCKET,
    DownloadHost,
    Secret,
    as_tuple,
    check_shard_ids,
    check_url,
    explain,
    model_in,
    parse_listen,
    reject,
    show_value,
)
from bot.config.database import DatabaseSettings
from bot.config.fal_models import FalSettings
from bot.config.useapi_apiglue import ApiGlueSettings, UseapiSettings


class DiscordSettings(BaseModel):
    """``[discord]``: the token, REST/gateway overrides (a proxy, the emulator), this process's shards."""

    model_config = STRICT

    token: Secret = Field(default=None, json_schema_extra=explain("must be a string"))
    api_base_url: str = Field(
        default="",
        json_schema_extra=explain('must be empty or an http(s) URL, e.g. "http://127.0.0.1:9000/api/v10"'),
    )
    gateway_url: str = Field(
        default="",
        json_schema_extra=explain('must be empty or a ws(s) URL, e.g. "ws://127.0.0.1:9000/gateway"'),
    )
    max_image_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1,
        le=100 * 1024 * 1024,
        json_schema_extra=explain(
            f"must be between 1 and {100 * 1024 * 1024}",
            type_hint=f"must be an integer between 1 and {100 * 1024 * 1024}",
        ),
    )
    # Gateway sharding across processes: 0 = unsharded (one process holds every guild).
    shard_count: int = Field(
        default=0,
        ge=0,
        le=MAX_SHARDS,
        json_schema_extra=explain(f"must be a whole number from 0 to {MAX_SHARDS}"),
    )
    shard_ids: Annotated[tuple[int, ...], BeforeValidator(as_tuple)] = Field(
        default=(),
        json_schema_extra=explain(
            "must be an array of shard ids, e.g. [0, 1]", item="must be a whole number (a shard id)"
        ),
    )
    sync_commands: Literal["auto"] | bool = Field(
        default="auto", json_schema_extra=explain('must be "auto", true or false')
    )

    @field_validator("api_base_url")
    @classmethod
    def _check_api_base_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        # discord.py joins routes as base + "/channels/…", so the base carries no trailing slash.
        return check_url(value, HTTP, '"http://127.0.0.1:9000/api/v10"').rstrip("/")

    @field_validator("gateway_url")
    @classmethod
    def _check_gateway_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        return check_url(value, WEBSOCKET, '"ws://127.0.0.1:9000/gateway"')

    @field_validator("shard_ids")
    @classmethod
    def _check_shard_ids(cls, ids: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        # shard_count is declared first, so it is validated (or failed) by now.
        count = info.data.get("shard_count")
        return check_shard_ids(ids, count) if isinstance(count, int) else ids

    @property
    def sharded(self) -> bool:
        """True when this process holds a set share of Discord's gateway (``shard_count`` set)."""
        return self.shard_count > 0

    @property
    def holds_shard_zero(self) -> bool:
        """Whether this process holds shard 0 (or is unsharded): the one that syncs commands on "auto"."""
        return not self.sharded or not self.shard_ids or 0 in self.shard_ids

    @property
    def syncs_commands(self) -> bool:
        """Whether this process registers the slash commands (when they changed) at start."""
        if self.sync_commands == "auto":
            return self.holds_shard_zero
        return self.sync_commands


class RoutingSettings(BaseModel):
    """``[routing]``: which provider serves each command; ``auto`` picks the first with a key."""

    model_config = STRICT

    create: Literal["auto", "useapi", "apiglue", "fal"] = Field(
        default="auto", json_schema_extra=explain('must be "auto", "useapi", "apiglue" or "fal"')
    )
    animate: Literal["auto", "useapi", "apiglue", "fal"] = Field(
        default="auto", json_schema_extra=explain('must be "auto", "useapi", "apiglue" or "fal"')
    )
    scenes: Literal["auto", "fal"] = Field(
        default="auto", json_schema_extra=explain('must be "auto" or "fal"')
    )
    frames: Literal["auto", "fal"] = Field(
        default="auto", json_schema_extra=explain('must be "auto" or "fal"')
    )
    generate: Literal["auto", "apiglue"] = Field(
        default="auto", json_schema_extra=explain('must be "auto" or "apiglue"')
    )


class CallbackSettings(BaseModel):
    """``[callbacks]``: the webhook server useapi.net calls when a job finishes."""

    model_config = STRICT

    listen: str = Field(
        default="0.0.0.0:8787",  # all interfaces: useapi.net must reach the webhook server from outside
        json_schema_extra=explain("must be host:port, e.g. 0.0.0.0:8787"),
    )
    public_url: str = Field(
        default="",
        json_schema_extra=explain('must be empty or an http(s) URL, e.g. "https://bot.example.com"'),
    )

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        value = value.strip()
        try:
            parse_listen(value)
        except ValueError as exc:
            raise reject(f"must be host:port{exc}, e.g. 0.0.0.0:8787 (got {show_value(value)})") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        # The bot appends its own callback paths, so the base is stored without a trailing slash.
        return check_url(value, HTTP, '"https://bot.example.com"').rstrip("/")

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

    model_config = STRICT

    poll_interval: float = Field(
        default=15.0, ge=1, allow_inf_nan=False, json_schema_extra=explain(f"{_SECONDS} >= 1")
    )
    timeout: float = Field(
        default=1800.0, ge=1, allow_inf_nan=False, json_schema_extra=explain(f"{_SECONDS} >= 1")
    )
    callback_grace: float = Field(
        default=300.0, ge=0, allow_inf_nan=False, json_schema_extra=explain(f"{_SECONDS} >= 0")
    )
    # Several processes on one database: a job stays with a process that stops renewing it this
    # long (it died), then another takes it over.
    lease: float = Field(
        default=30.0, ge=3, allow_inf_nan=False, json_schema_extra=explain(f"{_SECONDS} >= 3")
    )
    # Names this machine in leases ("" = its host name); a restarted process frees its dead
    # predecessor's leases on the same instance at once. Unique per machine or container.
    instance: str = Field(default="", max_length=100, json_schema_extra=explain("must be a string"))


class DownloadSettings(BaseModel):
    """``[downloads]``: where result videos may come from, how big they may be, where they wait."""

    model_config = STRICT

    allowed_hosts: Annotated[tuple[DownloadHost, ...], BeforeValidator(as_tuple)] = Field(
        default=("cdn.discordapp.com", "media.discordapp.net"),
        json_schema_extra=explain(
            'must be an array of hostnames, e.g. ["cdn.discordapp.com"]',
            item=HOST_ALLOWED,
        ),
    )
    max_bytes: int = Field(
        default=104857600,
        ge=1,
        le=2**31,
        json_schema_extra=explain(
            f"must be between 1 and {2**31}", type_hint=f"must be an integer between 1 and {2**31}"
        ),
    )
    dir: str = Field(default="", json_schema_extra=explain('must be a directory path, or "" for the default'))

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        if not hosts:
            raise reject('must list at least one host, e.g. ["cdn.discordapp.com"] (got [])')
        return tuple(dict.fromkeys(hosts))  # drop duplicates, keep the operator's order

    @field_validator("dir")
    @classmethod
    def _expand_dir(cls, value: str) -> str:
        value = value.strip()
        return str(Path(value).expanduser()) if value else ""


class LimitSettings(BaseModel):
    """``[limits]``: per-member limits on paid generations (guilds may override them)."""

    model_config = STRICT

    in_flight: int = Field(
        default=2,
        ge=1,
        le=100,
        json_schema_extra=explain(
            "must be between 1 and 100", type_hint="must be an integer between 1 and 100"
        ),
    )
    per_day: int = Field(
        default=0,
        ge=0,
        le=100_000,
        json_schema_extra=explain(
            "must be between 0 (no limit) and 100000", type_hint="must be an integer between 0 and 100000"
        ),
    )
    cooldown: float = Field(
        default=3.0,
        ge=0,
        le=3600,
        allow_inf_nan=False,
        json_schema_extra=explain(f"{_SECONDS} from 0 to 3600"),
    )


class Settings(BaseModel):
    """The whole configuration; every section has defaults, so an empty file is valid."""

    model_config = STRICT

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

    def secrets(self) -> tuple[str, ...]:
        """Every non-empty secret value, for log redaction."""
        found = (getattr(getattr(self, section), key) for section, key in secret_paths())
        tokens = tuple(secret.get_secret_value() for secret in found if secret is not None)
        return tokens + self.database.target.secrets()

    @property
    def media_dir(self) -> Path:
        """Where finished videos wait for delivery: downloads.dir, else pikabot-media beside the SQLite
        file, or in the working directory when the database is a server."""
        if self.downloads.dir:
            return Path(self.downloads.dir)
        target = self.database.target
        base = Path(target.path).parent if target.backend == "sqlite" else Path()
        return base / "pikabot-media"


def secret_paths() -> tuple[tuple[str, str], ...]:
    """Every (section, key) of the schema that holds a secret, e.g. ("fal", "key"), in schema order."""
    paths: list[tuple[str, str]] = []
    for section, field in Settings.model_fields.items():
        model = model_in(field.annotation)
        if model is not None:
            keys = (key for key, info in model.model_fields.items() if info.annotation == SecretStr | None)
            paths.extend((section, key) for key in keys)
    return tuple(paths)
