"""``[database] url``: SQLite and PostgreSQL URLs, the old ``path``, and a password that never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings, render_settings
from bot.config.database import DatabaseUrl, DatabaseUrlError, parse_database_url
from bot.observability.logsetup import SecretRedactor
from bot.providers.registry import SECRET_ENV

PASSWORD = "s3cret-Pa55word"
PG_URL = f"postgresql://pikabot:{PASSWORD}@127.0.0.1:5432/pikabot"


def load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env={}, secret_env=SECRET_ENV)


def problems(tmp_path: Path, text: str) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return caught.value.problems


def test_default_is_the_sqlite_file_beside_the_working_directory() -> None:
    """No [database] at all: SQLite at pikabot.sqlite3, media beside it, as before."""
    settings = Settings()
    assert settings.database.target == DatabaseUrl.sqlite("pikabot.sqlite3")
    assert settings.database.target.masked() == "sqlite:///pikabot.sqlite3"
    assert settings.media_dir == Path("pikabot-media")


def test_path_keeps_working(tmp_path: Path) -> None:
    """The old key: a path is a SQLite file."""
    settings = load(tmp_path, '[database]\npath = "/var/lib/pikabot/jobs.sqlite3"\n')
    assert settings.database.target == DatabaseUrl.sqlite("/var/lib/pikabot/jobs.sqlite3")
    assert settings.media_dir == Path("/var/lib/pikabot/pikabot-media")


@pytest.mark.parametrize(
    ("url", "path"),
    [("sqlite:///pikabot.sqlite3", "pikabot.sqlite3"), ("sqlite:////srv/bot/jobs.db", "/srv/bot/jobs.db")],
)
def test_sqlite_urls_relative_and_absolute(tmp_path: Path, url: str, path: str) -> None:
    """Three slashes then the path: relative to the working directory, or absolute with a fourth."""
    settings = load(tmp_path, f'[database]\nurl = "{url}"\n')
    assert settings.database.target == DatabaseUrl.sqlite(path)
    # One spelling per store: the same file named by url or by path is the same setting.
    assert settings.database.path == path
    assert settings == load(tmp_path, f'[database]\npath = "{path}"\n')


def test_postgresql_url(tmp_path: Path) -> None:
    """A server URL: its password is a secret (redacted from logs), masked everywhere it is shown."""
    settings = load(tmp_path, f'[database]\nurl = "{PG_URL}"\n')
    target = settings.database.target
    assert target.backend == "postgresql" and target.dsn == PG_URL
    assert target.masked() == "postgresql://pikabot:***@127.0.0.1:5432/pikabot"
    assert PASSWORD in settings.secrets()
    assert PASSWORD not in repr(settings) and PASSWORD not in str(target)
    rendered = render_settings(settings)
    assert PASSWORD not in rendered
    assert 'url = "postgresql://pikabot:***@127.0.0.1:5432/pikabot"' in rendered
    # Media cannot live beside a server's database: the working directory, as for a relative file.
    assert settings.media_dir == Path("pikabot-media")


def test_password_forms_are_all_secrets() -> None:
    """A percent-encoded password is redacted as written and decoded; one in ?password= too."""
    target = parse_database_url("postgres://bot:p%40ss@db.internal/pikabot?password=other&sslmode=require")
    assert set(target.secrets()) == {"p%40ss", "p@ss", "other"}
    assert target.masked() == "postgres://bot:***@db.internal/pikabot?password=***&sslmode=require"


def test_a_url_without_password_has_no_secret() -> None:
    target = parse_database_url("postgresql://bot@127.0.0.1/pikabot")
    assert target.secrets() == () and target.masked() == "postgresql://bot@127.0.0.1/pikabot"


def test_url_and_path_together_are_refused(tmp_path: Path) -> None:
    """Two answers to one question: say so rather than pick one."""
    found = problems(tmp_path, f'[database]\npath = "x.sqlite3"\nurl = "{PG_URL}"\n')
    assert found == ('database: set url or path, not both (path = "x" is short for url = "sqlite:///x")',)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://bot:hunter2-secret@127.0.0.1/pikabot",
            'database.url: must be "sqlite:///pikabot.sqlite3" or "postgresql://pikabot:secret@127.0.0.1:5432/'
            'pikabot" (got "mysql://bot:***@127.0.0.1/pikabot")',
        ),
        ("sqlite://pikabot.sqlite3", 'database.url: a sqlite URL starts with "sqlite:///"'),
        ("sqlite:///", "database.url: a sqlite URL must name a file"),
        ("postgresql://bot:hunter2-secret@127.0.0.1:99999/pikabot", "the host or port is malformed"),
        ("postgresql:///pikabot", "a postgresql URL must name the server"),
    ],
)
def test_bad_urls_are_explained_without_the_password(tmp_path: Path, url: str, message: str) -> None:
    (found,) = problems(tmp_path, f'[database]\nurl = "{url}"\n')
    assert message in found
    assert "hunter2" not in found


def test_an_unparsable_url_with_credentials_is_not_shown(tmp_path: Path) -> None:
    """If masking cannot find the password, the value is not shown at all."""
    (found,) = problems(tmp_path, '[database]\nurl = "bot:hunter2-secret@127.0.0.1"\n')
    assert found.endswith("(value not shown)") and "hunter2" not in found


def test_parse_rejects_what_it_cannot_open() -> None:
    with pytest.raises(DatabaseUrlError):
        parse_database_url("redis://127.0.0.1")


def test_logs_redact_the_password(tmp_path: Path) -> None:
    """Even a line that carried the whole URL by mistake shows no password: it is a redacted secret."""
    settings = load(tmp_path, f'[database]\nurl = "{PG_URL}"\n')
    assert PASSWORD not in SecretRedactor(settings.secrets()).redact(f"careless: {PG_URL}")
