"""Config secrets: tokens from the environment, never echoed in problems, masked when rendered."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import ConfigError, Settings, mask_secret, render_settings
from tests.helpers.config_files import CHANNEL, DISCORD_SECRET, USEAPI_SECRET, load, problems, write

# --- secrets -------------------------------------------------------------------------------------------


def test_env_overrides_file_tokens(tmp_path: Path) -> None:
    """DISCORD_TOKEN / USEAPI_TOKEN win over the file; blank variables are ignored."""
    path = write(tmp_path, '[discord]\ntoken = "from-file-discord"\n[useapi]\ntoken = "from-file-useapi"\n')
    settings = load(path, env={"DISCORD_TOKEN": DISCORD_SECRET, "USEAPI_TOKEN": " "})
    assert settings.discord.token == SecretStr(DISCORD_SECRET)
    assert settings.useapi.token == SecretStr("from-file-useapi")


def test_env_tokens_without_file() -> None:
    settings = load(None, env={"DISCORD_TOKEN": DISCORD_SECRET, "USEAPI_TOKEN": USEAPI_SECRET})
    assert settings.secrets() == (DISCORD_SECRET, USEAPI_SECRET)


def test_env_none_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USEAPI_TOKEN", USEAPI_SECRET)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert load(None).secrets() == (USEAPI_SECRET,)


def test_blank_file_token_means_not_set(tmp_path: Path) -> None:
    settings = load(write(tmp_path, '[discord]\ntoken = "  "\n'), env={})
    assert settings.discord.token is None
    assert settings.secrets() == ()


def test_secrets_absent_from_repr_and_str() -> None:
    settings = load(None, env={"DISCORD_TOKEN": DISCORD_SECRET, "USEAPI_TOKEN": USEAPI_SECRET})
    for text in (repr(settings), str(settings), repr(settings.discord), settings.model_dump_json()):
        assert DISCORD_SECRET not in text and USEAPI_SECRET not in text


def test_token_of_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    """`token = 123` is reported without showing the value."""
    found = problems(tmp_path, '[discord]\ntoken = 1234567890123\n[useapi]\ntoken = ["a-secret-in-a-list"]\n')
    assert found == (
        "discord.token: must be a string (value not shown)",
        "useapi.token: must be a string (value not shown)",
    )


def test_token_with_whitespace_is_not_echoed(tmp_path: Path) -> None:
    """A token pasted with a space inside is refused, naming the env variable it came from."""
    (found,) = problems(tmp_path, "", env={"USEAPI_TOKEN": "user:1234 useapiSECRET"})
    assert found.startswith("useapi.token (from USEAPI_TOKEN): must not contain spaces")
    assert "useapiSECRET" not in found


def test_secret_pasted_into_another_key_is_scrubbed(tmp_path: Path) -> None:
    """Defence in depth: a known token value never survives into any problem line."""
    text = f'[discord]\ntoken = "{DISCORD_SECRET}"\napi_base_url = "{DISCORD_SECRET}"\n[database]\npath = 1\n'
    found = problems(tmp_path, text, env={"USEAPI_TOKEN": USEAPI_SECRET})
    joined = "\n".join(found)
    assert "discord.api_base_url" in joined and "[redacted]" in joined
    assert DISCORD_SECRET not in joined


def test_long_secret_pasted_into_another_key_is_scrubbed(tmp_path: Path) -> None:
    """Values are never cut short in messages, so a long token is scrubbed whole, quotes and all."""
    secret = "MTE" + "x" * 90 + '"quoted\\tail'
    toml_secret = secret.replace("\\", "\\\\").replace('"', '\\"')
    text = f'[discord]\ntoken = "{toml_secret}"\napi_base_url = "{toml_secret}"\n'
    (found,) = problems(tmp_path, text)
    assert found.startswith("discord.api_base_url: must be an http(s) URL")
    assert found.endswith('(got "[redacted]")')
    assert "xxxxxxxx" not in found


def test_config_error_hides_pydantic_context(tmp_path: Path) -> None:
    """The pydantic error (which holds the raw inputs) is not chained into tracebacks."""
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, f'[discord]\ntoken = "{DISCORD_SECRET}"\n[jobs]\ntimeout = 0\n'), env={})
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert DISCORD_SECRET not in str(caught.value) and DISCORD_SECRET not in repr(caught.value)


def test_config_error_str_is_one_problem_per_line() -> None:
    error = ConfigError(["a: one", "b: two"])
    assert str(error) == "a: one\nb: two"
    assert ConfigError("only").problems == ("only",)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("MTE1234567890xYz", "MTE…secured…xYz"),
        ("12345678", "123…secured…678"),
        ("1234567", "…secured…"),
        ("", "…secured…"),
    ],
)
def test_mask_secret(value: str, masked: str) -> None:
    assert mask_secret(value) == masked


# --- rendering -------------------------------------------------------------------------------------------


def test_render_masks_secrets_and_marks_missing(tmp_path: Path) -> None:
    settings = load(None, env={"DISCORD_TOKEN": DISCORD_SECRET})
    text = render_settings(settings)
    assert DISCORD_SECRET not in text
    assert 'token = "MTE…secured…xYz"' in text
    assert 'token = "(not set)"' in text


def test_render_round_trips(tmp_path: Path) -> None:
    """Apart from the masked tokens, the rendered text is valid TOML that loads to the same settings."""
    source = write(
        tmp_path,
        f"""
        [useapi]
        base_url = "http://127.0.0.1:9001/v1/"
        [[useapi.accounts]]
        channel = "{CHANNEL}"
        max_jobs = 2
        [callbacks]
        public_url = "https://bot.example.com"
        [jobs]
        poll_interval = 12.5
        [downloads]
        allowed_hosts = ["127.0.0.1"]
        dir = "media"
        """,
    )
    settings = load(source, env={"USEAPI_TOKEN": USEAPI_SECRET})
    rendered = render_settings(settings)
    assert "[[useapi.accounts]]" in rendered
    without_tokens = "\n".join(
        line for line in rendered.splitlines() if not line.startswith(("token = ", "key = "))
    )
    again = load(write(tmp_path, without_tokens), env={"USEAPI_TOKEN": USEAPI_SECRET})
    assert again == settings


def test_render_notes_polling_only_and_no_accounts() -> None:
    text = render_settings(Settings())
    assert "polling only" in text
    assert "no [[useapi.accounts]]" in text
    assert "pikabot-media" in text
