"""PIKABOT_<SECTION>_<KEY> variables: every plain key settable without a file, mistakes named."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.config.environment import read_value, settable_keys
from bot.providers.registry import SECRET_ENV


def load(path: Path | None, env: dict[str, str]) -> Settings:
    return load_settings(path, env, secret_env=SECRET_ENV)


def problems(env: dict[str, str], path: Path | None = None) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        load(path, env)
    return caught.value.problems


def test_every_plain_key_has_a_variable_but_secrets_and_arrays_of_tables_do_not() -> None:
    keys = settable_keys()
    assert keys["PIKABOT_DISCORD_API_BASE_URL"] == ("discord", "api_base_url")
    assert keys["PIKABOT_DATABASE_PATH"] == ("database", "path")
    assert keys["PIKABOT_DOWNLOADS_ALLOWED_HOSTS"] == ("downloads", "allowed_hosts")
    assert "PIKABOT_FAL_KEY" not in keys and "PIKABOT_DISCORD_TOKEN" not in keys
    assert "PIKABOT_USEAPI_ACCOUNTS" not in keys
    assert len(keys) > 30  # every section, not a hand-kept list


def test_variables_set_keys_of_every_type_with_no_file() -> None:
    settings = load(
        None,
        {
            "PIKABOT_DISCORD_API_BASE_URL": "http://127.0.0.1:9000/api/v10/",
            "PIKABOT_DISCORD_MAX_IMAGE_BYTES": "2048",
            "PIKABOT_JOBS_POLL_INTERVAL": "2.5",
            "PIKABOT_JOBS_TIMEOUT": "60",
            "PIKABOT_DOWNLOADS_ALLOWED_HOSTS": " 127.0.0.1 , cdn.discordapp.com,",
            "PIKABOT_ROUTING_CREATE": "fal",
            "PIKABOT_DATABASE_PATH": "/var/lib/pikabot/pikabot.sqlite3",
            "PIKABOT_CALLBACKS_LISTEN": "127.0.0.1:9999",
            "PIKABOT_RETRY_SCALE": "0.5",  # not a section of ours: someone else's variable, left alone
            "PIKABOT_FAL_BASE_URL": "  ",  # blank: not set, as for the secrets
        },
    )
    assert settings.discord.api_base_url == "http://127.0.0.1:9000/api/v10"  # validated as from a file
    assert settings.discord.max_image_bytes == 2048
    assert (settings.jobs.poll_interval, settings.jobs.timeout) == (2.5, 60.0)
    assert settings.downloads.allowed_hosts == ("127.0.0.1", "cdn.discordapp.com")
    assert settings.routing.create == "fal"
    assert settings.database.path == "/var/lib/pikabot/pikabot.sqlite3"
    assert settings.callbacks.listen == "127.0.0.1:9999"
    assert settings.fal.base_url == "https://queue.fal.run"


def test_a_variable_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[database]\npath = "file.sqlite3"\n[jobs]\npoll_interval = 30\n', encoding="utf-8")
    settings = load(path, {"PIKABOT_DATABASE_PATH": "env.sqlite3"})
    assert (settings.database.path, settings.jobs.poll_interval) == ("env.sqlite3", 30.0)


def test_bad_values_name_the_key_and_the_variable() -> None:
    found = problems({"PIKABOT_JOBS_POLL_INTERVAL": "soon", "PIKABOT_LIMITS_IN_FLIGHT": "1.5"})
    assert 'jobs.poll_interval (from PIKABOT_JOBS_POLL_INTERVAL): must be a number >= 1 (got "soon")' in found
    assert any(
        p.startswith("limits.in_flight (from PIKABOT_LIMITS_IN_FLIGHT): must be an integer") for p in found
    )


def test_mistyped_and_misplaced_variables_are_refused_by_name() -> None:
    found = problems(
        {
            "PIKABOT_FAL_BASEURL": "http://127.0.0.1:1",
            "PIKABOT_FAL_KEY": "k:s",
            "PIKABOT_USEAPI_ACCOUNTS": "1183508299895820390",
            "PIKABOT_JOBS_POLL_INTERVAL": "0",
        }
    )
    assert 'PIKABOT_FAL_BASEURL: no such setting; did you mean "PIKABOT_FAL_BASE_URL"?' in found
    assert "PIKABOT_FAL_KEY: secrets are not read from PIKABOT_* variables; set FAL_KEY instead" in found
    assert "PIKABOT_USEAPI_ACCOUNTS: [[useapi.accounts]] can only be set in the config file" in found
    assert any(p.startswith("jobs.poll_interval (from PIKABOT_JOBS_POLL_INTERVAL)") for p in found)
    assert all("k:s" not in p for p in found)


def test_each_default_written_as_a_variable_reads_back_unchanged() -> None:
    """Every settable key, written as text the way an operator would, reads back as its own default."""
    defaults = Settings()
    env: dict[str, str] = {}
    for variable, (section, key) in settable_keys().items():
        value = getattr(getattr(defaults, section), key)
        if value is None:
            continue  # unset by default (e.g. database.url beside path): there is no text for "unset"
        env[variable] = ",".join(value) if isinstance(value, tuple) else str(value)
    assert load(None, env) == defaults


@pytest.mark.parametrize(
    ("text", "annotation", "value"),
    [
        ("0, 1", Annotated[tuple[int, ...], "meta"], [0, 1]),
        ("a,,b", tuple[str, ...], ["a", "b"]),
        ("x, 2", tuple[int, ...], ["x", 2]),  # "x" is left for validation to name
        ("true", Literal["auto"] | bool, True),
        ("Off", Literal["auto"] | bool, False),
        ("auto", Literal["auto"] | bool, "auto"),
        ("5", int | None, 5),
        ("2.5", float, 2.5),
        ("2.5", int, "2.5"),
        ("yes", bool, True),
        ("maybe", bool, "maybe"),
        ("15", str, "15"),
    ],
)
def test_values_are_read_as_the_key_s_type(text: str, annotation: object, value: object) -> None:
    """By the annotation, not the default, so keys such as a list of shard ids or "auto"-or-a-bool read right."""
    assert read_value(text, annotation) == value


def test_a_process_s_shards_come_from_the_environment() -> None:
    """Several processes share one config file; each gets its shards from its own variables."""
    settings = load(
        None,
        {
            "PIKABOT_DISCORD_SHARD_COUNT": "2",
            "PIKABOT_DISCORD_SHARD_IDS": "1",
            "PIKABOT_DISCORD_SYNC_COMMANDS": "false",
            "PIKABOT_JOBS_INSTANCE": "box-2",
        },
    )
    assert (settings.discord.shard_count, settings.discord.shard_ids) == (2, (1,))
    assert settings.discord.sync_commands is False and settings.jobs.instance == "box-2"
    found = problems({"PIKABOT_DISCORD_SHARD_COUNT": "2", "PIKABOT_DISCORD_SHARD_IDS": "0,one"})
    assert any(p.startswith("discord.shard_ids[1] (from PIKABOT_DISCORD_SHARD_IDS)") for p in found), found
