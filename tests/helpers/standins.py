"""Starting the installed ``pikabot`` against the stand-ins with nothing but environment variables."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sandbox.discord_emu import RunningEmulator
from sandbox.fal_sim import RunningFalSimulator

#: Every secret variable the bot reads; a test sets the ones it means to.
SECRETS = ("DISCORD_TOKEN", "USEAPI_TOKEN", "APIGLUE_TOKEN", "FAL_KEY")


def pikabot_command() -> list[str]:
    """The installed console script when there is one (what ``make install`` makes), else the same
    entry point by module."""
    script = Path(sys.executable).parent / "pikabot"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "bot"]


def clean_env() -> dict[str, str]:
    """This process's environment without any secret or PIKABOT_* setting of ours."""
    return {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith("PIKABOT_")}


def standin_env(emulator: RunningEmulator, fal: RunningFalSimulator, listen_port: int) -> dict[str, str]:
    """Where "Discord" and "fal.ai" are, as an operator behind a proxy would say it: PIKABOT_* only."""
    return {
        "PIKABOT_DISCORD_API_BASE_URL": emulator.api_base_url,
        "PIKABOT_DISCORD_GATEWAY_URL": emulator.gateway_url,
        "PIKABOT_FAL_BASE_URL": fal.base_url,
        "PIKABOT_FAL_REST_BASE_URL": fal.base_url,
        "PIKABOT_FAL_JWKS_URL": fal.jwks_url,
        # The simulator's "CDN" is 127.0.0.1, which the download guard refuses unless listed.
        "PIKABOT_DOWNLOADS_ALLOWED_HOSTS": "127.0.0.1",
        # The health server's default port 8787 may be taken by a test running alongside.
        "PIKABOT_CALLBACKS_LISTEN": f"127.0.0.1:{listen_port}",
    }
