"""The effective configuration for ``pikabot check-config``: TOML text, secrets masked, and warnings."""

from __future__ import annotations

import json
from typing import Final
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

from bot.config.checks import is_loopback_host, model_in
from bot.config.schema import Settings

_NOT_SET: Final = "(not set)"
_MASK: Final = "…secured…"


def mask_secret(value: str) -> str:
    """Mask like useapi.net does: ``MTE…secured…xYz``; values shorter than 8 chars show nothing."""
    if len(value) < 8:
        return _MASK
    return f"{value[:3]}{_MASK}{value[-3:]}"


def settings_warnings(settings: Settings) -> list[str]:
    """Valid but doubtful choices, one sentence each, for check-config and startup logs.

    Providers are not known here: ``bot.providers.registry.provider_warnings`` adds theirs.
    """
    warnings: list[str] = []
    jobs, callbacks = settings.jobs, settings.callbacks
    if settings.discord.token is None:
        warnings.append("discord.token is not set (DISCORD_TOKEN): the bot cannot log in to Discord")
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
        public_is_local = is_loopback_host(public_host)
        if callbacks.public_url.lower().startswith("http://") and not public_is_local:
            warnings.append(
                "callbacks.public_url uses http://: callbacks and their secret path travel unencrypted; "
                "use https:// (e.g. behind a reverse proxy)"
            )
        if is_loopback_host(callbacks.host) and not public_is_local:
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


def _toml_table(
    model: BaseModel, *, omit_unset: bool = False
) -> tuple[list[str], list[tuple[str, tuple[BaseModel, ...]]]]:
    """The ``key = value`` lines of one section, and its arrays of tables (rendered after them).

    ``omit_unset``: leave out keys whose value is None (an array entry's optional keys; TOML has
    no null, and a section's unset secrets are shown as ``(not set)`` instead).
    """
    lines: list[str] = []
    arrays: list[tuple[str, tuple[BaseModel, ...]]] = []
    for key in type(model).model_fields:
        value = getattr(model, key)
        if value is None and omit_unset:
            continue
        if isinstance(value, tuple) and model_in(type(model).model_fields[key].annotation) is not None:
            arrays.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return lines, arrays


def render_settings(settings: Settings) -> str:
    """The effective configuration as TOML text, secrets masked, ``(not set)`` for missing ones."""
    out: list[str] = []
    for section in Settings.model_fields:
        model: BaseModel = getattr(settings, section)
        lines, arrays = _toml_table(model) if section != "database" else ([], [])
        if section == "database":
            # One key, the effective one: path = "x" is url = "sqlite:///x", and both may not be set.
            lines = [f"url = {json.dumps(settings.database.target.masked(), ensure_ascii=False)}"]
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
            if not entries and section == "useapi":
                out.append(f"# no [[{section}.{key}]]: useapi.net picks among its configured accounts")
            for entry in entries:
                entry_lines, _ = _toml_table(entry, omit_unset=True)
                out.extend(["", f"[[{section}.{key}]]", *entry_lines])
    return "\n".join(out) + "\n"
