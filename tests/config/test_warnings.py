"""Config warnings: what a loadable but doubtful config warns about."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings, settings_warnings
from bot.providers.registry import keyed_providers, provider_warnings
from tests.helpers.config_files import DISCORD_SECRET, USEAPI_SECRET, load, write

# --- warnings ------------------------------------------------------------------------------------------


def _warnings(tmp_path: Path, text: str) -> list[str]:
    env = {"DISCORD_TOKEN": DISCORD_SECRET, "USEAPI_TOKEN": USEAPI_SECRET}
    return settings_warnings(load(write(tmp_path, text), env=env))


def test_no_warnings_for_a_sound_config(tmp_path: Path) -> None:
    assert _warnings(tmp_path, '[callbacks]\npublic_url = "https://bot.example.com"\n') == []


def test_warns_about_missing_tokens() -> None:
    warnings = settings_warnings(Settings()) + provider_warnings(Settings())
    assert any(w.startswith("discord.token is not set (DISCORD_TOKEN)") for w in warnings)
    assert any(w.startswith("no provider key is set (FAL_KEY for fal.ai, USEAPI_TOKEN") for w in warnings)


def test_any_one_provider_key_is_enough() -> None:
    """No provider's key is required on its own: with any one set, nothing warns about the others."""
    for variable in ("FAL_KEY", "USEAPI_TOKEN", "APIGLUE_TOKEN"):
        settings = load(None, env={"DISCORD_TOKEN": DISCORD_SECRET, variable: "key-id:secret-1"})
        assert len(keyed_providers(settings)) == 1
        assert settings_warnings(settings) == provider_warnings(settings) == []


def test_warns_when_polling_faster_than_10s(tmp_path: Path) -> None:
    (warning,) = _warnings(tmp_path, "[jobs]\npoll_interval = 5\n")
    assert warning.startswith("jobs.poll_interval is 5 s")
    assert "useapi.net polls Discord every 15-60 s; polling faster than every 10 s wastes requests" in warning


def test_no_poll_warning_at_10s(tmp_path: Path) -> None:
    assert _warnings(tmp_path, "[jobs]\npoll_interval = 10\n") == []


def test_warns_about_plain_http_public_url(tmp_path: Path) -> None:
    (warning,) = _warnings(tmp_path, '[callbacks]\npublic_url = "http://bot.example.com"\n')
    assert warning.startswith("callbacks.public_url uses http://")


def test_warns_about_loopback_listen_with_public_url(tmp_path: Path) -> None:
    text = '[callbacks]\nlisten = "127.0.0.1:8787"\npublic_url = "https://bot.example.com"\n'
    (warning,) = _warnings(tmp_path, text)
    assert warning.startswith("callbacks.listen is 127.0.0.1:8787 (this machine only)")


def test_local_simulator_setup_has_no_callback_warnings(tmp_path: Path) -> None:
    """The demo and tests run everything on 127.0.0.1 over http; that is not a mistake."""
    text = '[callbacks]\nlisten = "127.0.0.1:0"\npublic_url = "http://127.0.0.1:8787"\n'
    assert _warnings(tmp_path, text) == []


def test_warns_about_timeouts_shorter_than_polls(tmp_path: Path) -> None:
    text = '[jobs]\npoll_interval = 30\ntimeout = 20\ncallback_grace = 25\n[callbacks]\npublic_url = "https://b.example"\n'
    warnings = _warnings(tmp_path, text)
    assert any(w.startswith("jobs.timeout (20 s) is not longer than jobs.poll_interval") for w in warnings)
    assert any(w.startswith("jobs.callback_grace (25 s) is not shorter than jobs.timeout") for w in warnings)
