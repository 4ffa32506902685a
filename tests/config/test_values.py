"""Config values: wrong types and ranges, accounts, listen addresses, URLs, sharding and hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import CallbackSettings, Settings, render_settings
from tests.helpers.config_files import ALL_INTERFACES, CHANNEL, load, problems, write

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
