"""``[database]``: which store holds the jobs, a SQLite file (``path``) or a URL (``url``).

``sqlite:///pikabot.sqlite3`` (relative to the working directory), ``sqlite:////var/lib/pikabot/db``
(absolute), or ``postgresql://user[:password]@host[:port]/database``. A password never leaves this
module unmasked except through ``dsn`` (for the driver) and ``secrets()`` (for log redaction).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, Field, PlainValidator, field_validator, model_validator

from bot.config.checks import STRICT, explain, reject, show_value

SQLITE_PREFIX: Final = "sqlite:///"
POSTGRES_SCHEMES: Final = ("postgresql", "postgres")
MASK: Final = "***"
EXAMPLES: Final = '"sqlite:///pikabot.sqlite3" or "postgresql://pikabot:secret@127.0.0.1:5432/pikabot"'

Backend = Literal["sqlite", "postgresql"]


class DatabaseUrlError(ValueError):
    """The URL names no store pikabot can open; the message never contains a password."""


@dataclass(frozen=True)
class DatabaseUrl:
    """Where the jobs live. ``str()`` and ``repr()`` never show the password."""

    backend: Backend
    #: The SQLite file ("" for PostgreSQL).
    path: str = ""
    #: The PostgreSQL URL exactly as configured, password included: for the driver only.
    dsn: str = field(default="", repr=False)

    @classmethod
    def sqlite(cls, path: str | Path) -> DatabaseUrl:
        """A SQLite file (``:memory:`` too)."""
        return cls("sqlite", str(path))

    def masked(self) -> str:
        """The URL with any password replaced by ``***``, for logs and check-config."""
        if self.backend == "sqlite":
            return SQLITE_PREFIX + self.path
        return _masked_dsn(self.dsn)

    def secrets(self) -> tuple[str, ...]:
        """The password as written and percent-decoded (both may show up in a message), or ()."""
        found: list[str] = []
        for password in _passwords(self.dsn) if self.backend == "postgresql" else ():
            found.extend(dict.fromkeys((password, unquote(password))))
        return tuple(found)

    def __str__(self) -> str:
        return self.masked()


def parse_database_url(value: str) -> DatabaseUrl:
    """Parse a configured URL; DatabaseUrlError (password-free message) if it is not one we open."""
    text = value.strip()
    if text.startswith(SQLITE_PREFIX):
        path = text[len(SQLITE_PREFIX) :]
        if not path:
            raise DatabaseUrlError(f"a sqlite URL must name a file, e.g. {EXAMPLES}")
        return DatabaseUrl.sqlite(str(Path(path).expanduser()) if path.startswith("~") else path)
    scheme = text.partition(":")[0].lower()
    if scheme == "sqlite":
        raise DatabaseUrlError('a sqlite URL starts with "sqlite:///" (three slashes, then the path)')
    if scheme not in POSTGRES_SCHEMES:
        raise DatabaseUrlError(f"must be {EXAMPLES}")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise DatabaseUrlError(f"must be {EXAMPLES}; the host or port is malformed") from None
    if not parts.hostname and "host" not in dict(parse_qsl(parts.query)):
        raise DatabaseUrlError(f"a postgresql URL must name the server, e.g. {EXAMPLES}")
    if parts.fragment:
        raise DatabaseUrlError("a postgresql URL takes no #fragment")
    return DatabaseUrl("postgresql", dsn=text)


def _database_url(value: object) -> DatabaseUrl | None:
    """``[database] url``: "" means unset; errors show the URL with its password masked."""
    if value is None or isinstance(value, DatabaseUrl):
        return value
    if not isinstance(value, str):
        raise reject(f"must be {EXAMPLES} (got {show_value(value)})")
    if not value.strip():
        return None
    try:
        return parse_database_url(value)
    except DatabaseUrlError as exc:
        raise reject(f"{exc} {shown(value)}") from None


class DatabaseSettings(BaseModel):
    """``[database]``: where jobs are kept: a SQLite file (``path``, the default) or ``url``; and, on
    PostgreSQL, how many connections each process keeps (``pool_size``)."""

    model_config = STRICT

    path: str = Field(
        default="pikabot.sqlite3", json_schema_extra=explain('must be a file path, e.g. "pikabot.sqlite3"')
    )
    url: Annotated[DatabaseUrl | None, PlainValidator(_database_url)] = Field(
        default=None, json_schema_extra=explain(f"must be {EXAMPLES}")
    )

    pool_size: int = Field(
        default=10,
        ge=1,
        le=200,
        json_schema_extra=explain("must be a whole number from 1 to 200"),
    )

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise reject('must be a file path, e.g. "pikabot.sqlite3" (got "")')
        return str(Path(value).expanduser()) if value.startswith("~") else value

    @model_validator(mode="before")
    @classmethod
    def _sqlite_url_as_path(cls, data: Any) -> Any:
        # One spelling per store: a SQLite URL becomes `path`, so settings compare equal however the
        # file was named and code reading `path` sees the file. Invalid URLs are left to `url`'s check.
        if not isinstance(data, dict) or "path" in data:
            return data
        url = data.get("url")
        try:
            target = parse_database_url(url) if isinstance(url, str) else url
        except DatabaseUrlError:
            return data
        if not isinstance(target, DatabaseUrl) or target.backend != "sqlite":
            return data
        return {**{k: v for k, v in data.items() if k != "url"}, "path": target.path}

    @model_validator(mode="after")
    def _url_or_path(self) -> DatabaseSettings:
        if self.url is not None and "path" in self.model_fields_set:
            raise reject('set url or path, not both (path = "x" is short for url = "sqlite:///x")')
        return self

    @property
    def target(self) -> DatabaseUrl:
        """The store to open: ``url`` if set, else the SQLite file at ``path``."""
        return self.url if self.url is not None else DatabaseUrl.sqlite(self.path)


def shown(value: str) -> str:
    """How an error message ends for a rejected URL: ``(got "…")`` with the password masked, or
    ``(value not shown)`` when the password cannot be found to mask it."""
    text = value.strip()
    try:
        masked = _masked_dsn(text)
    except ValueError:
        return "(value not shown)"
    # An "@" that masking did not account for may be a password in a shape urlsplit misreads.
    if "@" in text and MASK not in masked:
        return "(value not shown)"
    return f"(got {json.dumps(masked, ensure_ascii=False)})"


def _passwords(dsn: str) -> list[str]:
    parts = urlsplit(dsn)
    found = [parts.password] if parts.password else []
    found.extend(v for k, v in parse_qsl(parts.query) if k == "password" and v)
    return found


def _masked_dsn(dsn: str) -> str:
    parts = urlsplit(dsn)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon and password else netloc
    query = parts.query
    if any(key == "password" for key, _ in parse_qsl(query)):
        query = urlencode(
            [(k, MASK if k == "password" else v) for k, v in parse_qsl(query, keep_blank_values=True)],
            safe="*",
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
