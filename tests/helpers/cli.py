"""The pikabot command line tests' isolation: no real tokens or config, and pytest's logging restored."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

DISCORD_SECRET = "MTEdiscordSECRETvalue.abcdef.ghijklmnopqrstuvwxYz"
USEAPI_SECRET = "user:1234-useapiSECRETvalue"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real tokens or ./config.toml from the developer's environment leak into these tests."""
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    for variable in ("USEAPI_TOKEN", "APIGLUE_TOKEN", "FAL_KEY"):
        monkeypatch.delenv(variable, raising=False)
    for variable in [v for v in os.environ if v.startswith("PIKABOT_")]:
        monkeypatch.delenv(variable)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Subcommands set up process-wide logging; put pytest's own setup back afterwards."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    filters = {handler: list(handler.filters) for handler in handlers}
    level = root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler, saved in filters.items():
        handler.filters[:] = saved
    root.setLevel(level)
