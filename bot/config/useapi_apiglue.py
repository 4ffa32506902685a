"""``[useapi]`` and ``[apiglue]``: the sections of the two HTTP relays to Pika (fal's is in
``fal_models``), strict like every section of the schema."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from bot.config.checks import HTTP, STRICT, Secret, as_tuple, check_url, explain, reject, show_value

_CHANNEL_ALLOWED: Final = 'must be a Discord channel id (15-21 digits), e.g. "1183508299895820390"'


class UseapiAccount(BaseModel):
    """One ``[[useapi.accounts]]`` entry: a Pika account configured at useapi.net, by its channel."""

    model_config = STRICT

    channel: str = Field(json_schema_extra=explain(_CHANNEL_ALLOWED))
    max_jobs: int = Field(
        default=10,
        ge=1,
        le=10,
        json_schema_extra=explain(
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
            raise reject(f"{_CHANNEL_ALLOWED} (got {show_value(value)})")
        return value


class UseapiSettings(BaseModel):
    """``[useapi]``: the API token, base URL and the accounts jobs may run on."""

    model_config = STRICT

    token: Secret = Field(default=None, json_schema_extra=explain("must be a string"))
    base_url: str = Field(
        default="https://api.useapi.net/v1/",
        json_schema_extra=explain('must be an http(s) URL, e.g. "https://api.useapi.net/v1/"'),
    )
    accounts: Annotated[tuple[UseapiAccount, ...], BeforeValidator(as_tuple)] = Field(
        default=(),
        json_schema_extra=explain(
            "must be an array of tables, written [[useapi.accounts]]", item="must be a table"
        ),
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = check_url(value.strip(), HTTP, '"https://api.useapi.net/v1/"')
        # Endpoints are joined relative to the base ("pika/create"), which needs the trailing slash.
        return value if value.endswith("/") else value + "/"

    @field_validator("accounts")
    @classmethod
    def _check_unique_channels(cls, accounts: tuple[UseapiAccount, ...]) -> tuple[UseapiAccount, ...]:
        seen: dict[str, int] = {}
        for index, account in enumerate(accounts):
            if account.channel in seen:
                raise reject(
                    f"each channel may be listed once (entries [{seen[account.channel]}] and [{index}] "
                    f'both use "{account.channel}")'
                )
            seen[account.channel] = index
        return accounts


class ApiGlueSettings(BaseModel):
    """``[apiglue]``: API Glue's Pika web API; configured (``/pika generate`` on) once a token is set."""

    model_config = STRICT

    token: Secret = Field(default=None, json_schema_extra=explain("must be a string"))
    base_url: str = Field(
        default="https://api.pikapikapika.io",
        json_schema_extra=explain('must be an http(s) URL, e.g. "https://api.pikapikapika.io"'),
    )
    max_jobs: int = Field(
        default=3, ge=1, le=50, json_schema_extra=explain("must be a whole number from 1 to 50")
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_url(value.strip(), HTTP, '"https://api.pikapikapika.io"').rstrip("/")

    @property
    def enabled(self) -> bool:
        """True when a token is set: the provider is built and its commands answer."""
        return self.token is not None
