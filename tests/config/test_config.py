"""Config loading: typed settings, one clear problem per mistake, secrets never echoed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from bot.config import (
    CallbackSettings,
    ConfigError,
    DownloadSettings,
    JobSettings,
    RoutingSettings,
    Settings,
    UseapiAccount,
    UseapiSettings,
    mask_secret,
    render_settings,
    settings_warnings,
)
from bot.config import (
    load_settings as load_with,
)
from bot.domain.jobs import JobKind
from bot.providers.registry import SECRET_ENV, keyed_providers, provider_warnings, routes_from

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.toml"

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


# --- wrong types and ranges --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[jobs]\npoll_interval = "fast"', 'jobs.poll_interval: must be a number >= 1 (got "fast")'),
        ("[jobs]\npoll_interval = 0.5", "jobs.poll_interval: must be a number >= 1 (got 0.5)"),
        ("[jobs]\npoll_interval = true", "jobs.poll_interval: must be a number >= 1 (got true)"),
        ("[jobs]\ntimeout = inf", "jobs.timeout: must be a number >= 1 (got inf)"),
        ("[jobs]\ncallback_grace = -1", "jobs.callback_grace: must be a number >= 0 (got -1)"),
        ("[downloads]\nmax_bytes = 0", "downloads.max_bytes: must be between 1 and 2147483648 (got 0)"),
        (
            "[downloads]\nmax_bytes = 2147483649",
            "downloads.max_bytes: must be between 1 and 2147483648 (got 2147483649)",
        ),
        (
            "[downloads]\nmax_bytes = 1.5",
            "downloads.max_bytes: must be an integer between 1 and 2147483648 (got 1.5)",
        ),
        ("[database]\npath = 5", 'database.path: must be a file path, e.g. "pikabot.sqlite3" (got 5)'),
        ('[database]\npath = ""', 'database.path: must be a file path, e.g. "pikabot.sqlite3" (got "")'),
        ("[database]\npool_size = 0", "database.pool_size: must be a whole number from 1 to 200 (got 0)"),
        ("jobs = 5", "jobs: must be a table (got 5)"),
        ("[downloads]\nallowed_hosts = []", "downloads.allowed_hosts: must list at least one host"),
        (
            '[downloads]\nallowed_hosts = "cdn.discordapp.com"',
            "downloads.allowed_hosts: must be an array of hostnames",
        ),
    ],
)
def test_wrong_type_or_range(tmp_path: Path, toml: str, expected: str) -> None:
    (found,) = problems(tmp_path, toml)
    assert found.startswith(expected)


@pytest.mark.parametrize("max_jobs", [0, 11])
def test_account_max_jobs_range(tmp_path: Path, max_jobs: int) -> None:
    found = problems(tmp_path, f'[[useapi.accounts]]\nchannel = "{CHANNEL}"\nmax_jobs = {max_jobs}\n')
    assert found == (f"useapi.accounts[0].max_jobs: must be between 1 and 10 (got {max_jobs})",)


def test_account_max_jobs_wrong_type(tmp_path: Path) -> None:
    found = problems(tmp_path, f'[[useapi.accounts]]\nchannel = "{CHANNEL}"\nmax_jobs = "ten"\n')
    assert found == ('useapi.accounts[0].max_jobs: must be an integer between 1 and 10 (got "ten")',)


@pytest.mark.parametrize("channel", ['"12345"', '"11835082998958203x0"', "true", '""'])
def test_account_bad_channel(tmp_path: Path, channel: str) -> None:
    (found,) = problems(tmp_path, f"[[useapi.accounts]]\nchannel = {channel}\n")
    assert found.startswith("useapi.accounts[0].channel: must be a Discord channel id (15-21 digits)")


def test_account_channel_required(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, "[[useapi.accounts]]\nmax_jobs = 2\n")
    assert found.startswith("useapi.accounts[0].channel: required key is missing (must be a Discord")


def test_duplicate_account_channels(tmp_path: Path) -> None:
    """Two entries for one account would double its slot count."""
    text = f'[[useapi.accounts]]\nchannel = "{CHANNEL}"\n' * 2
    assert problems(tmp_path, text) == (
        f'useapi.accounts: each channel may be listed once (entries [0] and [1] both use "{CHANNEL}")',
    )


def test_accounts_written_as_single_table(tmp_path: Path) -> None:
    """[useapi.accounts] (one bracket pair) is the usual slip for [[useapi.accounts]]."""
    (found,) = problems(tmp_path, f'[useapi.accounts]\nchannel = "{CHANNEL}"\n')
    assert found == "useapi.accounts: must be an array of tables, written [[useapi.accounts]] (got a table)"


def test_account_entry_not_a_table(tmp_path: Path) -> None:
    assert problems(tmp_path, "[useapi]\naccounts = [1]\n") == (
        "useapi.accounts[0]: must be a table (got 1)",
    )


@pytest.mark.parametrize(
    "listen", ["8787", ":8787", "0.0.0.0:", "0.0.0.0:65536", "::1:8787", "a b:1", "[zz]:1"]
)
def test_bad_listen(tmp_path: Path, listen: str) -> None:
    (found,) = problems(tmp_path, f'[callbacks]\nlisten = "{listen}"\n')
    assert found.startswith("callbacks.listen: must be host:port")
    assert found.endswith(f'(got "{listen}")')


def test_listen_issue_example(tmp_path: Path) -> None:
    """The issue's own wording."""
    found = problems(tmp_path, '[callbacks]\nlisten = "8787"\n')
    assert found == ('callbacks.listen: must be host:port, e.g. 0.0.0.0:8787 (got "8787")',)


@pytest.mark.parametrize(
    ("listen", "qualifier"),
    [
        ("0.0.0.0:70000", "with a port from 0 to 65535"),
        ("::1:8787", "with an IPv6 host in brackets"),
        ("[zz]:1", "with a valid IPv6 address in the brackets"),
        ("a b:1", "with a valid hostname or IP address"),
    ],
)
def test_listen_says_what_is_wrong(tmp_path: Path, listen: str, qualifier: str) -> None:
    (found,) = problems(tmp_path, f'[callbacks]\nlisten = "{listen}"\n')
    assert found.startswith(f"callbacks.listen: must be host:port {qualifier}")


@pytest.mark.parametrize("listen", ["127.0.0.1:8787", "localhost:1", "[::]:8787", "bot.internal:65535"])
def test_good_listen(listen: str) -> None:
    assert CallbackSettings(listen=listen).listen == listen


@pytest.mark.parametrize(
    "url",
    [
        "bot.example.com",
        "ftp://bot.example.com",
        "https://",
        "https://bot.example.com/?a=1",
        "https://x:99999",
    ],
)
def test_bad_public_url(tmp_path: Path, url: str) -> None:
    (found,) = problems(tmp_path, f'[callbacks]\npublic_url = "{url}"\n')
    assert found.startswith("callbacks.public_url: must be an http(s) URL")


def test_public_url_with_credentials_is_not_echoed(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, '[callbacks]\npublic_url = "https://admin:hunter22@bot.example.com"\n')
    assert "hunter22" not in found and "value not shown" in found


@pytest.mark.parametrize(
    "url", ["api.useapi.net/v1", "ws://api.useapi.net/v1/", "", "https://api.useapi.net/v1/#x"]
)
def test_bad_base_url(tmp_path: Path, url: str) -> None:
    (found,) = problems(tmp_path, f'[useapi]\nbase_url = "{url}"\n')
    assert found.startswith("useapi.base_url: must be an http(s) URL")


def test_bad_discord_urls(tmp_path: Path) -> None:
    found = problems(
        tmp_path, '[discord]\napi_base_url = "ws://x/api"\ngateway_url = "http://127.0.0.1:9000/gateway"\n'
    )
    assert found[0].startswith("discord.api_base_url: must be an http(s) URL")
    assert found[1].startswith("discord.gateway_url: must be a ws(s) URL")


def test_a_rest_proxy_url_is_accepted(tmp_path: Path) -> None:
    """An http:// proxy on another host (one @discordjs/proxy for every process) is a valid REST base."""
    text = '[discord]\napi_base_url = "http://discord-proxy.internal:8080/api/v10/"\n'
    settings = load(write(tmp_path, text), env={})
    assert settings.discord.api_base_url == "http://discord-proxy.internal:8080/api/v10"


def test_sharding_defaults_to_one_unsharded_process_that_syncs() -> None:
    discord = Settings().discord
    assert (discord.shard_count, discord.shard_ids, discord.sync_commands) == (0, (), "auto")
    assert not discord.sharded and discord.holds_shard_zero and discord.syncs_commands


@pytest.mark.parametrize(
    ("text", "syncs"),
    [
        ("shard_count = 2\nshard_ids = [0]", True),
        ("shard_count = 2\nshard_ids = [1]", False),
        ("shard_count = 4\nshard_ids = [3, 0]", True),
        ("shard_count = 2", True),  # every shard in this process, shard 0 among them
        ("shard_count = 2\nshard_ids = [1]\nsync_commands = true", True),
        ("shard_count = 2\nshard_ids = [0]\nsync_commands = false", False),
        ("sync_commands = false", False),
    ],
)
def test_which_process_syncs_commands(tmp_path: Path, text: str, syncs: bool) -> None:
    """On "auto" only the process holding shard 0 syncs; true and false decide it outright."""
    settings = load(write(tmp_path, f"[discord]\n{text}\n"), env={})
    assert settings.discord.syncs_commands is syncs
    rendered = render_settings(settings)
    assert f"shard_count = {settings.discord.shard_count}" in rendered and "sync_commands = " in rendered


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "shard_ids = [0]",
            "discord.shard_ids: needs discord.shard_count: the total number of shards across all "
            "processes (got [0] with shard_count 0)",
        ),
        (
            "shard_count = 2\nshard_ids = [2]",
            "discord.shard_ids: each id must be from 0 to 1 (shard_count is 2) (got 2)",
        ),
        (
            "shard_count = 2\nshard_ids = [-1]",
            "discord.shard_ids: each id must be from 0 to 1 (shard_count is 2) (got -1)",
        ),
        (
            "shard_count = 3\nshard_ids = [1, 2, 1]",
            "discord.shard_ids: each shard id may be listed once (got 1 twice)",
        ),
        ("shard_count = -1", "discord.shard_count: must be a whole number from 0 to 65536 (got -1)"),
        ('shard_count = "2"', 'discord.shard_count: must be a whole number from 0 to 65536 (got "2")'),
        ('shard_ids = "0"', 'discord.shard_ids: must be an array of shard ids, e.g. [0, 1] (got "0")'),
        (
            'shard_count = 2\nshard_ids = ["a"]',
            'discord.shard_ids[0]: must be a whole number (a shard id) (got "a")',
        ),
        ('sync_commands = "yes"', 'discord.sync_commands: must be "auto", true or false (got "yes")'),
    ],
)
def test_bad_sharding_is_refused_with_its_key(tmp_path: Path, text: str, problem: str) -> None:
    assert problems(tmp_path, f"[discord]\n{text}\n") == (problem,)


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("https://cdn.discordapp.com", "without scheme, port or path"),
        ("cdn.discordapp.com/attachments", "without scheme, port or path"),
        ("cdn.discordapp.com:443", "without scheme, port or path"),
        ("*.discordapp.com", "without scheme, port or path"),
        ("10.1.2.3", "private and reserved addresses"),
        ("192.168.0.10", "private and reserved addresses"),
        ("169.254.169.254", "private and reserved addresses"),
        ("fd00::1", "private and reserved addresses"),
        (ALL_INTERFACES, "private and reserved addresses"),
    ],
)
def test_bad_allowed_host(tmp_path: Path, host: str, fragment: str) -> None:
    (found,) = problems(tmp_path, f'[downloads]\nallowed_hosts = ["cdn.discordapp.com", "{host}"]\n')
    assert found.startswith("downloads.allowed_hosts[1]: ") and fragment in found


def test_allowed_host_wrong_type(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, "[downloads]\nallowed_hosts = [5]\n")
    assert found.startswith("downloads.allowed_hosts[0]: must be a bare hostname") and found.endswith(
        "(got 5)"
    )


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


# --- config.example.toml stays true ----------------------------------------------------------------------


def _uncommented_example() -> str:
    """The example with its commented-out [[useapi.accounts]] block switched on."""
    text = EXAMPLE.read_text(encoding="utf-8")
    return re.sub(r"(?m)^# (\[\[useapi\.accounts\]\]|channel = |max_jobs = )", r"\1", text)


def _key_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for name, field in model.model_fields.items():
        inner = next(
            (arg for arg in (field.annotation, *getattr(field.annotation, "__args__", ())) if _is_model(arg)),
            None,
        )
        if inner is not None:
            paths |= _key_paths(inner, f"{prefix}{name}.")
        else:
            paths.add(prefix + name)
    return paths


def _is_model(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _toml_paths(table: dict[str, object], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, value in table.items():
        if isinstance(value, dict):
            paths |= _toml_paths(value, f"{prefix}{key}.")
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                paths |= _toml_paths(item, f"{prefix}{key}.")
        else:
            paths.add(prefix + key)
    return paths


def test_example_config_loads_as_defaults() -> None:
    """config.example.toml is valid and shows the real defaults."""
    assert load(EXAMPLE, env={}) == Settings()


def test_example_config_documents_every_key(tmp_path: Path) -> None:
    """Every settings key appears in the example (accounts as a commented block that also loads)."""
    text = _uncommented_example()
    settings = load(write(tmp_path, text), env={})
    assert settings.useapi.accounts == (UseapiAccount(channel=CHANNEL, max_jobs=10),)
    assert _toml_paths(tomllib.loads(text)) == _key_paths(Settings)


def test_example_config_has_blank_secrets() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert data["discord"]["token"] == "" and data["useapi"]["token"] == ""
    assert "DISCORD_TOKEN" in EXAMPLE.read_text(encoding="utf-8")


def test_apiglue_is_off_until_a_token_is_set(tmp_path: Path) -> None:
    """[apiglue] needs APIGLUE_TOKEN (or token) to be enabled; the token is a masked secret."""
    assert not load(None, env={}).apiglue.enabled
    settings = load(None, env={"APIGLUE_TOKEN": "glue-secret-123"})
    assert settings.apiglue.enabled
    assert "glue-secret-123" in settings.secrets()
    assert "glue-secret-123" not in render_settings(settings)
    assert settings.apiglue.base_url == "https://api.pikapikapika.io"


def test_fal_and_routing() -> None:
    """[fal] is off until FAL_KEY is set; [routing] only names providers that serve the command."""
    assert not load(None, env={}).fal.enabled
    settings = load(None, env={"FAL_KEY": "key-id:key-secret"})
    assert settings.fal.enabled and "key-id:key-secret" in settings.secrets()
    assert "key-id:key-secret" not in render_settings(settings)
    assert (settings.routing.create, settings.routing.scenes) == ("auto", "auto")


def test_routing_names_only_providers_that_serve_the_command(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, '[routing]\nscenes = "useapi"\n')
    assert found == 'routing.scenes: must be "auto" or "fal" (got "useapi")'


def test_auto_routes_go_to_the_first_keyed_provider_that_serves_the_command() -> None:
    """fal.ai, then useapi.net, then API Glue; a command no keyed provider serves names the live route."""
    kinds = (JobKind.CREATE, JobKind.ANIMATE, JobKind.SCENES, JobKind.FRAMES)

    def routes(env: dict[str, str]) -> tuple[str, ...]:
        found = routes_from(load(None, env=env))
        return tuple(found[kind] for kind in kinds)

    assert routes({"FAL_KEY": "k:s"}) == ("fal", "fal", "fal", "fal")
    assert routes({"USEAPI_TOKEN": "user:1"}) == ("useapi", "useapi", "fal", "fal")
    assert routes({"APIGLUE_TOKEN": "glue"}) == ("apiglue", "apiglue", "fal", "fal")
    assert routes({"USEAPI_TOKEN": "user:1", "FAL_KEY": "k:s"}) == ("fal", "fal", "fal", "fal")
    assert routes({}) == ("fal", "fal", "fal", "fal")
    chosen = Settings(routing=RoutingSettings(create="useapi"))
    assert routes_from(chosen)[JobKind.CREATE] == "useapi"
