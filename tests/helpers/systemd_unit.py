"""Reading deploy/pikabot.service and its env file the way systemd does, closely enough for tests."""

from __future__ import annotations

import configparser
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "pikabot.service"
ENV_EXAMPLE = REPO / "deploy" / "pikabot.env.example"


@dataclass(frozen=True)
class Unit:
    """The parts of a unit file the tests check."""

    sections: dict[str, dict[str, str]]

    @property
    def service(self) -> dict[str, str]:
        """The [Service] section."""
        return self.sections["Service"]

    @property
    def exec_start(self) -> list[str]:
        """ExecStart= split into argv (none of its special prefixes are used)."""
        return shlex.split(self.service["ExecStart"])

    @property
    def environment(self) -> dict[str, str]:
        """The Environment= assignments (one per line in our unit)."""
        text = self.service.get("Environment", "")
        return dict(item.split("=", 1) for item in shlex.split(text))

    @property
    def stop_timeout(self) -> float:
        """TimeoutStopSec= in seconds (plain seconds, or with an s/min suffix)."""
        text = self.service["TimeoutStopSec"].strip()
        if text.endswith("min"):
            return float(text[:-3]) * 60
        return float(text.removesuffix("s"))


def read_unit(path: Path = UNIT) -> Unit:
    """Parse a unit file: sections of key=value lines, '#' and ';' comments, later keys winning."""
    parser = configparser.ConfigParser(
        strict=False, interpolation=None, delimiters=("=",), comment_prefixes=("#", ";")
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return Unit({name: dict(parser[name]) for name in parser.sections()})


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """An EnvironmentFile=: VARIABLE=value lines; blank lines and '#' comments skipped."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    return found
