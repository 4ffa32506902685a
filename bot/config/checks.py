"""The value checks the config schema's validators share, and how an input is shown in a message.

Every check raises ``reject(...)``: a pydantic error of our own type (``OWN_ERROR``) whose message is
already complete ("what is allowed (got x)"), so the loader passes it on as written.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from typing import Annotated, Any, Final, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, SecretStr
from pydantic_core import PydanticCustomError

# Our own validators raise this error type; its message is already complete ("what is allowed (got x)").
OWN_ERROR: Final = "pikabot_config"


def show_value(value: object) -> str:
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


def reject(message: str) -> PydanticCustomError:
    # The message goes through the context so braces in user input are never treated as placeholders.
    return PydanticCustomError(OWN_ERROR, "{detail}", {"detail": message})


def explain(allowed: str, *, type_hint: str | None = None, item: str | None = None) -> dict[str, Any]:
    """Field metadata: how to say what is allowed when pydantic's own type/range checks fail."""
    extra: dict[str, Any] = {"allowed": allowed}
    if type_hint is not None:
        extra["type_hint"] = type_hint
    if item is not None:
        extra["item"] = item
    return extra


def as_tuple(value: object) -> object:
    # TOML arrays arrive as lists; the models are frozen (hashable), so they store tuples.
    return tuple(value) if isinstance(value, list) else value


def check_secret(value: object) -> SecretStr | None:
    """Blank means "not set"; anything else must be one printable word. Never echo the value."""
    if value is None:
        return None
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        raise reject("must be a string (value not shown)")
    value = value.strip()
    if not value:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise reject("must not contain spaces, line breaks or control characters (value not shown)")
    return SecretStr(value)


HTTP: Final = (("http", "https"), "an http(s) URL")
WEBSOCKET: Final = (("ws", "wss"), "a ws(s) URL")


def check_url(value: str, accepted: tuple[tuple[str, ...], str], example: str) -> str:
    """Accept an absolute URL with an accepted scheme, a host, and no credentials, query or fragment."""
    schemes, kind = accepted

    def problem(qualifier: str = "", got: str | None = None) -> PydanticCustomError:
        shown = f" (got {got})" if got is not None else " (value not shown)"
        return reject(f"must be {kind}{qualifier}, e.g. {example}{shown}")

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise problem(got=show_value(value)) from None
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise problem(got=show_value(value))
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL end up in logs; refuse rather than echo them back.
        raise problem(" without user:password@")
    if parts.query or parts.fragment:
        raise problem(" without ?query or #fragment", show_value(value))
    return value


#: A generous cap on ``shard_count``: Discord's largest bots run a few thousand shards.
MAX_SHARDS: Final = 65536


def check_shard_ids(ids: tuple[int, ...], count: int) -> tuple[int, ...]:
    """Shard ids need a count, each lies in [0, count), and none repeats (Discord closes 4010 otherwise)."""
    if not ids:
        return ids
    if count == 0:
        raise reject(
            "needs discord.shard_count: the total number of shards across all processes "
            f"(got {list(ids)} with shard_count 0)"
        )
    outside = [i for i in ids if not 0 <= i < count]
    if outside:
        raise reject(f"each id must be from 0 to {count - 1} (shard_count is {count}) (got {outside[0]})")
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise reject(f"each shard id may be listed once (got {repeated[0]} twice)")
    return ids


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


def is_loopback_host(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


HOST_ALLOWED: Final = (
    'must be a bare hostname or IP address without scheme, port or path, e.g. "cdn.discordapp.com"'
)


def check_download_host(value: str) -> str:
    """A bare hostname or IP literal; private addresses other than loopback are never allowed."""
    allowed = HOST_ALLOWED
    host = value.strip().lower().rstrip(".")
    if "://" in host or "/" in host:
        raise reject(f"{allowed} (got {show_value(value)})")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not _is_hostname(host):
            raise reject(f"{allowed} (got {show_value(value)})") from None
        return host
    private = address.is_private or address.is_link_local or address.is_reserved
    if not address.is_loopback and (private or address.is_multicast or address.is_unspecified):
        raise reject(
            "private and reserved addresses are never downloaded from; only loopback may be listed "
            f"(for the local simulators) (got {show_value(value)})"
        )
    return address.compressed


DownloadHost = Annotated[str, AfterValidator(check_download_host)]
Secret = Annotated[SecretStr | None, BeforeValidator(check_secret)]

STRICT: Final = ConfigDict(extra="forbid", frozen=True, strict=True)


def model_in(annotation: object) -> type[BaseModel] | None:
    """The model class inside an annotation such as ``UseapiAccount`` or ``tuple[UseapiAccount, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = model_in(arg)
        if found is not None:
            return found
    return None
