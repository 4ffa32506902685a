"""Reading the configuration: the TOML file, secrets from the environment, and errors explained.

A ``ConfigError`` lists one line per mistake, with its key path and what is allowed; any secret
value found in the input is scrubbed from every line.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from bot.config.checks import OWN_ERROR, model_in, show_value
from bot.config.environment import environment_overrides
from bot.config.schema import Settings, secret_paths


class ConfigError(Exception):
    """The configuration is unusable; ``problems`` holds one line per mistake, never a secret value."""

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: tuple[str, ...] = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__(*self.problems)

    def __str__(self) -> str:
        return "\n".join(self.problems)


#: An environment variable that overrides one secret of the file: (variable, section, key).
SecretEnv = tuple[str, str, str]

#: The bot's own secret; each provider's comes from its registry entry (bot.providers.registry).
DISCORD_SECRET: Final[SecretEnv] = ("DISCORD_TOKEN", "discord", "token")


def load_settings(
    path: str | Path | None, env: Mapping[str, str] | None = None, *, secret_env: Iterable[SecretEnv]
) -> Settings:
    """Read and validate ``path`` (None: defaults only), with the environment overriding it.

    The ``secret_env`` variables set the secrets; they are given by the caller
    (``bot.providers.registry.SECRET_ENV``): providers are registered above the config layer.
    ``PIKABOT_<SECTION>_<KEY>`` variables set any other plain key (``bot.config.environment``).
    Raises ConfigError listing every problem found.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    raw: dict[str, Any] = {} if path is None else _read_toml(Path(path))
    secret_env = tuple(secret_env)
    overrides = environment_overrides(environ, {f"{s}.{k}": variable for variable, s, k in secret_env})
    from_env: dict[str, str] = dict(overrides.sources)  # "fal.base_url" -> "PIKABOT_FAL_BASE_URL"
    for (section, key), value in overrides.values.items():
        _set(raw, section, key, value)
    for variable, section, key in secret_env:
        value = environ.get(variable, "")
        if value.strip() and _set(raw, section, key, value):
            from_env[f"{section}.{key}"] = variable

    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(error, from_env) for error in exc.errors(include_url=False)]
        secrets = _raw_secrets(raw)
        # `from None`: the ValidationError carries the raw inputs, which may include a token.
        raise ConfigError(
            [*overrides.problems, *(_scrub(problem, secrets) for problem in dict.fromkeys(problems))]
        ) from None
    if overrides.problems:
        raise ConfigError(overrides.problems)
    return settings


def _set(raw: dict[str, Any], section: str, key: str, value: object) -> bool:
    """Put one value from the environment into the raw input; False if the section is not a table."""
    table = raw.setdefault(section, {})
    if not isinstance(table, dict):  # the section itself is then reported as "must be a table"
        return False
    table[key] = value
    return True


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
    for section, key in secret_paths():
        table = raw.get(section)
        value = table.get(key) if isinstance(table, dict) else None
        if isinstance(value, str) and value.strip():
            found.append(value.strip())
    return tuple(found)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret, as written and as quoted by ``show_value``, with ``[redacted]``."""
    forms = {form for secret in secrets for form in (secret, json.dumps(secret, ensure_ascii=False)[1:-1])}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "[redacted]")
    return text


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
            model = model_in(field.annotation) if field is not None else None

    kind: str = error["type"]
    # An item of a list set by a variable ("discord.shard_ids[1]") names that variable too.
    variable = from_env.get(path) or from_env.get(path.split("[", 1)[0])
    label = f"{path} (from {variable})" if variable else path
    if kind == "extra_forbidden":
        allowed = list(parent.model_fields)
        return f"{label}: unknown key (allowed: {', '.join(allowed)}{_suggest(name, allowed)})"
    if kind == OWN_ERROR:
        return f"{label}: {error['msg']}"

    extra = field.json_schema_extra if field is not None and isinstance(field.json_schema_extra, dict) else {}
    if model_in(field.annotation if field is not None else None) is not None and (
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
    return f"{label}: {text} (got {show_value(error.get('input'))})"


def _suggest(name: str, allowed: list[str]) -> str:
    """A "did you mean" hint; also maps useapi's camelCase (maxJobs) to our snake_case."""
    folded = {key.replace("_", "").lower(): key for key in allowed}
    match = folded.get(name.replace("_", "").replace("-", "").lower())
    if match is None:
        close = difflib.get_close_matches(name, allowed, n=1)
        match = close[0] if close else None
    return f'; did you mean "{match}"?' if match else ""
