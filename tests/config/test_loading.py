"""Config loading: typed defaults and values, file-level errors, unknown keys reported at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import (
    CallbackSettings,
    ConfigError,
    DownloadSettings,
    JobSettings,
    Settings,
    UseapiAccount,
    UseapiSettings,
)
from tests.helpers.config_files import ALL_INTERFACES, CHANNEL, DISCORD_SECRET, load, problems, write

# --- loading and defaults ------------------------------------------------------------------------


def test_no_path_gives_defaults() -> None:
    """With no file, every section has its documented default."""
    settings = load(None, env={})
    assert settings == Settings()
    assert settings.discord.token is None and settings.useapi.token is None
    assert settings.useapi.base_url == "https://api.useapi.net/v1/"
    assert settings.useapi.accounts == ()
    assert (settings.callbacks.host, settings.callbacks.port) == (ALL_INTERFACES, 8787)
    assert settings.callbacks.enabled is False
    assert (settings.jobs.poll_interval, settings.jobs.timeout, settings.jobs.callback_grace) == (
        15,
        1800,
        300,
    )
    assert settings.downloads.allowed_hosts == ("cdn.discordapp.com", "media.discordapp.net")
    assert settings.downloads.max_bytes == 104857600
    assert settings.database.path == "pikabot.sqlite3"
    assert settings.media_dir == Path("pikabot-media")


def test_empty_file_is_valid(tmp_path: Path) -> None:
    """Every key is optional."""
    assert load(write(tmp_path, ""), env={}) == Settings()


def test_full_file_is_typed_and_normalised(tmp_path: Path) -> None:
    """Values arrive typed; URLs and hosts are normalised as the engine expects them."""
    settings = load(
        write(
            tmp_path,
            f"""
            [discord]
            api_base_url = "http://127.0.0.1:9000/api/v10/"
            gateway_url = "ws://127.0.0.1:9000/gateway"
            [useapi]
            base_url = "http://127.0.0.1:9001/v1"
            [[useapi.accounts]]
            channel = "{CHANNEL}"
            max_jobs = 3
            [[useapi.accounts]]
            channel = 1183508299895820391
            [callbacks]
            listen = "[::1]:0"
            public_url = "https://bot.example.com/pika/"
            [jobs]
            poll_interval = 12
            timeout = 60.5
            callback_grace = 0
            [downloads]
            allowed_hosts = ["CDN.Example.com.", "127.0.0.1", "[::1]", "cdn.example.com"]
            max_bytes = 1
            dir = "media"
            [database]
            path = "data/jobs.sqlite3"
            """,
        ),
        env={},
    )
    assert settings.discord.api_base_url == "http://127.0.0.1:9000/api/v10"
    assert settings.discord.gateway_url == "ws://127.0.0.1:9000/gateway"
    assert settings.useapi.base_url == "http://127.0.0.1:9001/v1/"
    assert settings.useapi.accounts == (
        UseapiAccount(channel=CHANNEL, max_jobs=3),
        UseapiAccount(channel="1183508299895820391", max_jobs=10),
    )
    assert (settings.callbacks.host, settings.callbacks.port) == ("::1", 0)
    assert settings.callbacks.public_url == "https://bot.example.com/pika"
    assert settings.callbacks.enabled is True
    assert isinstance(settings.jobs.poll_interval, float) and settings.jobs.poll_interval == 12
    assert settings.jobs.timeout == 60.5
    assert settings.downloads.allowed_hosts == ("cdn.example.com", "127.0.0.1", "::1")
    assert settings.media_dir == Path("media")


def test_media_dir_defaults_next_to_database(tmp_path: Path) -> None:
    """Without downloads.dir, videos wait in <database dir>/pikabot-media."""
    settings = load(write(tmp_path, '[database]\npath = "/srv/pika/jobs.sqlite3"\n'), env={})
    assert settings.media_dir == Path("/srv/pika/pikabot-media")


def test_settings_are_frozen() -> None:
    """Settings are shared across the engine, so nobody may change them after loading."""
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.jobs.timeout = 5
    hash(settings)  # frozen models with tuple fields are hashable


def test_models_accept_python_construction() -> None:
    """The engine and its tests build settings directly, with lists where TOML gives arrays."""
    useapi = UseapiSettings.model_validate({"accounts": [{"channel": CHANNEL}]})
    assert useapi.accounts[0].max_jobs == 10
    downloads = DownloadSettings.model_validate({"allowed_hosts": ["127.0.0.1"]})
    assert downloads.allowed_hosts == ("127.0.0.1",)
    assert JobSettings(poll_interval=1).poll_interval == 1
    assert CallbackSettings(listen="localhost:9000").port == 9000


# --- file-level errors ---------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is one clear problem."""
    with pytest.raises(ConfigError, match="config file not found: ") as caught:
        load(tmp_path / "nope.toml", env={})
    assert len(caught.value.problems) == 1


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load(tmp_path, env={})


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    """The problem says where the syntax error is, and does not quote the line (it may hold a token)."""
    found = problems(tmp_path, f'[discord]\ntoken = "{DISCORD_SECRET}\n')
    assert len(found) == 1
    assert "invalid TOML" in found[0] and re.search(r"line 2, column \d+", found[0])
    assert DISCORD_SECRET not in found[0]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[database]\npath = "\xff"\n')
    with pytest.raises(ConfigError, match="UTF-8"):
        load(path, env={})


# --- unknown keys ----------------------------------------------------------------------------------


def test_unknown_top_level_key(tmp_path: Path) -> None:
    assert problems(tmp_path, "[discrod]\n") == (
        "discrod: unknown key (allowed: discord, useapi, apiglue, fal, routing, callbacks, jobs, downloads, "
        "database, limits; "
        'did you mean "discord"?)',
    )


def test_unknown_nested_key(tmp_path: Path) -> None:
    """The problem names the section's allowed keys, exactly as the issue words it."""
    assert problems(tmp_path, '[database]\ncolour = "red"\n') == (
        "database.colour: unknown key (allowed: path, url, pool_size)",
    )


def test_unknown_key_in_account_entry_suggests_snake_case(tmp_path: Path) -> None:
    """useapi.net spells it maxJobs; the hint points at our max_jobs."""
    found = problems(tmp_path, f'[[useapi.accounts]]\nchannel = "{CHANNEL}"\nmaxJobs = 3\n')
    assert found == (
        'useapi.accounts[0].maxJobs: unknown key (allowed: channel, max_jobs; did you mean "max_jobs"?)',
    )


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Operators fix a file in one pass: all mistakes, one line each."""
    found = problems(
        tmp_path,
        """
        typo = 1
        [jobs]
        poll_interval = 0.5
        timeout = "long"
        [database]
        colour = "red"
        """,
    )
    assert len(found) == 4
    assert found[0] == "jobs.poll_interval: must be a number >= 1 (got 0.5)"
    assert found[1] == 'jobs.timeout: must be a number >= 1 (got "long")'
