"""Settings from the environment: ``PIKABOT_<SECTION>_<KEY>`` sets one key of the config.

Service managers and containers configure by environment, and a first run needs no file at all:
``PIKABOT_DATABASE_PATH=/var/lib/pikabot/pikabot.sqlite3`` is ``[database] path``. A variable
overrides the file. Values are text, read as the key's type (``PIKABOT_JOBS_POLL_INTERVAL=5``); a
list is comma-separated (``PIKABOT_DOWNLOADS_ALLOWED_HOSTS=cdn.discordapp.com,v3.fal.media``).
Secrets keep their own variables (``DISCORD_TOKEN``, ``FAL_KEY``, …), and the arrays of tables
(``[[useapi.accounts]]``) need the file. Other ``PIKABOT_*`` variables (``PIKABOT_RETRY_SCALE``,
for tests) name no section and are left alone.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from pydantic import SecretStr

from bot.config.checks import model_in
from bot.config.schema import Settings

PREFIX: Final = "PIKABOT_"

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class EnvOverrides:
    """What the ``PIKABOT_*`` variables set: values by (section, key), their sources, and mistakes."""

    values: dict[tuple[str, str], object] = field(default_factory=dict)
    #: "jobs.poll_interval" -> "PIKABOT_JOBS_POLL_INTERVAL", so errors name the variable.
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def variable_name(section: str, key: str) -> str:
    """The variable that sets ``[section] key``, e.g. ``PIKABOT_FAL_BASE_URL``."""
    return f"{PREFIX}{section}_{key}".upper()


def _schema_keys() -> list[tuple[str, str, str]]:
    """Every (section, key, kind) of the schema; kind is "value", "secret" or "tables"."""
    found: list[tuple[str, str, str]] = []
    for section, section_field in Settings.model_fields.items():
        model = model_in(section_field.annotation)
        if model is None:
            continue
        for key, info in model.model_fields.items():
            if info.annotation == SecretStr | None:
                kind = "secret"
            elif model_in(info.annotation) is not None:
                kind = "tables"
            else:
                kind = "value"
            found.append((section, key, kind))
    return found


def settable_keys() -> dict[str, tuple[str, str]]:
    """Every variable name the environment may set, mapped to its (section, key)."""
    return {variable_name(s, k): (s, k) for s, k, kind in _schema_keys() if kind == "value"}


def environment_overrides(
    environ: Mapping[str, str], secret_variables: Mapping[str, str] | None = None
) -> EnvOverrides:
    """Read the ``PIKABOT_<SECTION>_<KEY>`` variables of ``environ``; blank ones are ignored.

    ``secret_variables`` ("fal.key" -> "FAL_KEY") lets a misplaced secret be pointed at its variable.
    """
    keys = settable_keys()
    sections = {section.upper() for section in Settings.model_fields}
    found = EnvOverrides()
    for variable in sorted(environ):
        text = environ[variable]
        if not variable.startswith(PREFIX) or not text.strip():
            continue
        if variable not in keys:
            section = variable[len(PREFIX) :].partition("_")[0]
            if section in sections:  # a typo in a key of ours, not someone else's variable
                found.problems.append(_unknown(variable, keys, secret_variables or {}))
            continue
        section, key = keys[variable]
        found.values[(section, key)] = read_value(text.strip(), _annotation_of(section, key))
        found.sources[f"{section}.{key}"] = variable
    return found


def _annotation_of(section: str, key: str) -> Any:
    model = model_in(Settings.model_fields[section].annotation)
    assert model is not None
    return model.model_fields[key].annotation


def read_value(text: str, annotation: Any) -> object:
    """A variable's ``text`` read as a key of type ``annotation``: a tuple's items comma-separated,
    each read as the item type (``"0, 1"`` for ``tuple[int, ...]`` is ``[0, 1]``)."""
    if get_origin(annotation) is Annotated:
        return read_value(text, get_args(annotation)[0])
    if get_origin(annotation) is tuple:
        item = get_args(annotation)[0]
        return [_scalar(part.strip(), item) for part in text.split(",") if part.strip()]
    return _scalar(text, annotation)


def _scalar(text: str, annotation: Any) -> object:
    """One value as the first type of the annotation that reads it; text none reads is passed on as
    is, so validation reports it with the key, the variable and what is allowed."""
    kinds = _kinds(annotation)
    lowered = text.lower()
    if bool in kinds and lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    for kind in (int, float):
        if kind in kinds:
            try:
                return kind(text)
            except ValueError:
                pass
    return text


def _kinds(annotation: Any) -> set[type]:
    """The plain types an annotation admits: through Annotated, unions and Literal values."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kinds(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return {kind for arg in get_args(annotation) for kind in _kinds(arg)}
    if origin is Literal:
        return {type(value) for value in get_args(annotation)}
    return {annotation} if isinstance(annotation, type) else set()


def _unknown(variable: str, keys: Mapping[str, tuple[str, str]], secret_variables: Mapping[str, str]) -> str:
    for section, key, kind in _schema_keys():
        if variable != variable_name(section, key):
            continue
        if kind == "secret":
            own = secret_variables.get(f"{section}.{key}", "its own variable")
            return f"{variable}: secrets are not read from PIKABOT_* variables; set {own} instead"
        return f"{variable}: [[{section}.{key}]] can only be set in the config file"
    close = difflib.get_close_matches(variable, list(keys), n=1)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    return f"{variable}: no such setting{hint}"
