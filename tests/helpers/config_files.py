"""Writing, loading and checking config files as `pikabot` does, for the config tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings
from bot.config import load_settings as load_with
from bot.providers.registry import SECRET_ENV

DISCORD_SECRET = "MTEdiscordSECRETvalue.abcdef.ghijklmnopqrstuvwxYz"
USEAPI_SECRET = "user:1234-useapiSECRETvalue"
CHANNEL = "1183508299895820390"
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - the documented default for the webhook server


def load(path: Path | None, env: dict[str, str] | None = None) -> Settings:
    """Load as `pikabot` does: every provider's secret variable from the registry."""
    return load_with(path, env, secret_env=SECRET_ENV)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, text), env={} if env is None else env)
    return caught.value.problems
