"""Log redaction: no token, bearer header or callback secret reaches a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import load_settings
from bot.observability.logsetup import REDACTED, SecretRedactor, job_extra, setup_logging
from bot.providers.registry import SECRET_ENV

DISCORD_SECRET = "MTEdiscordSECRETvalue.abcdef.ghijklmnopqrstuvwxYz"
USEAPI_SECRET = "user:1234-useapiSECRETvalue"
CALLBACK_SECRET = "cb-s3cr3t-path-token"

_QUIETED = ("discord", "discord.http", "aiohttp.access")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """setup_logging changes process-wide state; put it back so other tests see pytest's own setup."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    filters = {handler: list(handler.filters) for handler in handlers}
    level = root.level
    levels = {name: logging.getLogger(name).level for name in _QUIETED}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler, saved in filters.items():
        handler.filters[:] = saved
    root.setLevel(level)
    for name, saved_level in levels.items():
        logging.getLogger(name).setLevel(saved_level)


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("bot.test", logging.INFO, __file__, 1, msg, args, exc_info)


def test_redacts_known_secret_passed_as_argument() -> None:
    """Secrets usually arrive as %-args, so the message is formatted before redaction."""
    redactor = SecretRedactor([DISCORD_SECRET])
    record = _record("logging in with %s (%d)", DISCORD_SECRET, 3)
    assert redactor.filter(record) is True
    assert record.getMessage() == f"logging in with {REDACTED} (3)"
    assert record.args is None


def test_redacts_bearer_header_of_unknown_token() -> None:
    redactor = SecretRedactor([])
    record = _record("headers: %r", {"Authorization": "Bearer someUnknownToken123", "Accept": "json"})
    redactor.filter(record)
    message = record.getMessage()
    assert "someUnknownToken123" not in message
    assert f"'Bearer {REDACTED}'" in message and "'Accept': 'json'" in message


def test_redacts_discord_bot_authorization() -> None:
    redactor = SecretRedactor([])
    record = _record("Authorization: Bot %s", DISCORD_SECRET)
    redactor.filter(record)
    assert record.getMessage() == f"Authorization: Bot {REDACTED}"


def test_plain_words_after_bot_are_kept() -> None:
    """Only token-shaped text after "Bot" is a credential; ordinary sentences survive."""
    redactor = SecretRedactor([])
    record = _record("Bot started in 3 guilds")
    redactor.filter(record)
    assert record.getMessage() == "Bot started in 3 guilds"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f'127.0.0.1 "POST /callbacks/useapi/{CALLBACK_SECRET} HTTP/1.1" 200',
            f'127.0.0.1 "POST /callbacks/useapi/{REDACTED} HTTP/1.1" 200',
        ),
        (
            f"replyUrl=https://bot.example.com/callbacks/apiglue/{CALLBACK_SECRET}?x=1",
            f"replyUrl=https://bot.example.com/callbacks/apiglue/{REDACTED}?x=1",
        ),
        (
            f"https://bot.example.com/hooks/useapi/{CALLBACK_SECRET}",
            f"https://bot.example.com/hooks/useapi/{REDACTED}",
        ),
        (
            f"PATCH /api/v10/webhooks/1234567890/{CALLBACK_SECRET}/messages/@original",
            f"PATCH /api/v10/webhooks/1234567890/{REDACTED}/messages/@original",
        ),
    ],
)
def test_redacts_callback_and_webhook_path_tokens(line: str, expected: str) -> None:
    redactor = SecretRedactor([])
    record = _record("%s", line)
    redactor.filter(record)
    assert record.getMessage() == expected


def test_longer_secret_wins_over_its_prefix() -> None:
    redactor = SecretRedactor(["abcd", "abcdefgh"])
    assert redactor.redact("x abcdefgh y abcd") == f"x {REDACTED} y {REDACTED}"


def test_add_secret_later() -> None:
    redactor = SecretRedactor([])
    assert redactor.redact(USEAPI_SECRET) == USEAPI_SECRET
    redactor.add_secret(USEAPI_SECRET)
    redactor.add_secret("")  # ignored: an empty secret would match everywhere
    assert redactor.redact(f"token={USEAPI_SECRET}") == f"token={REDACTED}"


def test_unformattable_record_does_not_raise_or_leak() -> None:
    redactor = SecretRedactor([USEAPI_SECRET])
    record = _record("two args %s %s", USEAPI_SECRET)
    assert redactor.filter(record) is True
    assert USEAPI_SECRET not in record.getMessage()


def test_end_to_end_log_output_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    """A real log line with a token, a bearer header, a callback URL and a traceback, as written."""
    settings = load_settings(
        None, env={"DISCORD_TOKEN": DISCORD_SECRET, "USEAPI_TOKEN": USEAPI_SECRET}, secret_env=SECRET_ENV
    )
    setup_logging("DEBUG", settings.secrets())
    log = logging.getLogger("bot.somewhere")
    log.info(
        "submit with token %s, header Authorization: Bearer %s, callback %s",
        USEAPI_SECRET,
        "unlisted-bearer-value",
        f"https://bot.example.com/callbacks/useapi/{CALLBACK_SECRET}",
    )
    try:
        raise RuntimeError(f"login failed for {DISCORD_SECRET}")
    except RuntimeError:
        log.exception("discord said no")
    logging.getLogger("aiohttp.access").warning("POST /callbacks/useapi/%s 200", CALLBACK_SECRET)

    err = capsys.readouterr().err
    for secret in (DISCORD_SECRET, USEAPI_SECRET, "unlisted-bearer-value", CALLBACK_SECRET):
        assert secret not in err
    assert f"submit with token {REDACTED}, header Authorization: Bearer {REDACTED}" in err
    assert f"/callbacks/useapi/{REDACTED}" in err
    assert f"RuntimeError: login failed for {REDACTED}" in err
    assert "[INFO   ] bot.somewhere: submit with token" in err


def test_redaction_covers_other_root_handlers(caplog: pytest.LogCaptureFixture) -> None:
    """Handlers already on the root (here pytest's capture) get the redactor too."""
    setup_logging("INFO", [USEAPI_SECRET])
    logging.getLogger("bot.x").warning("token %s", USEAPI_SECRET)
    assert caplog.messages[-1] == f"token {REDACTED}"


def test_levels_and_no_duplicate_handlers(capsys: pytest.CaptureFixture[str]) -> None:
    """discord/http/access loggers are quieted; a second setup replaces the first."""
    setup_logging("DEBUG")
    redactor = setup_logging("INFO", ["s3cret-value"])
    assert logging.getLogger().level == logging.INFO
    assert logging.getLogger("discord").level == logging.INFO
    assert logging.getLogger("discord.http").level == logging.WARNING
    assert logging.getLogger("aiohttp.access").level == logging.WARNING
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_pikabot_handler", False)]
    assert len(ours) == 1 and redactor in ours[0].filters

    logging.getLogger("bot.y").info("once s3cret-value")
    err = capsys.readouterr().err
    assert err.count("once [redacted]") == 1


def test_quiet_loggers_never_below_requested_level() -> None:
    setup_logging("ERROR")
    assert logging.getLogger("discord").level == logging.ERROR
    assert logging.getLogger("aiohttp.access").level == logging.ERROR


def test_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        setup_logging("LOUD")


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        setup_logging("INFO", log_format="xml")


def test_text_lines_carry_job_and_guild(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """job_extra() puts "[job N guild G]" before the message; other handlers see the plain message."""
    setup_logging("INFO")
    log = logging.getLogger("bot.engine.service")
    log.info("job %s queued", 12, extra=job_extra(12, 34))
    log.info("job %s queued", 13, extra=job_extra(13, None))
    log.info("no job here")

    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith("[INFO   ] bot.engine.service: [job 12 guild 34] job 12 queued")
    assert lines[1].endswith("bot.engine.service: [job 13] job 13 queued")  # a DM: no guild
    assert lines[2].endswith("bot.engine.service: no job here")
    assert caplog.messages[-3:] == ["job 12 queued", "job 13 queued", "no job here"]
    record = caplog.records[-3]
    assert getattr(record, "job_id", None) == 12 and getattr(record, "guild_id", None) == 34


def _json_lines(text: str) -> list[dict[str, object]]:
    """Every line of `text` parsed as JSON (fails if any line is not a complete object)."""
    parsed = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(entry, dict) for entry in parsed)
    return parsed


def test_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """One object per line: ts in UTC, level, logger, message, and job_id/guild_id when given."""
    setup_logging("INFO", log_format="json")
    before = datetime.now(UTC)
    logging.getLogger("bot.engine.service").info("job %s ended %s", 12, "failed", extra=job_extra(12, 34))
    logging.getLogger("bot.engine.service").info("job 13 queued", extra=job_extra(13, None))
    logging.getLogger("discord.gateway").warning('gateway says "hi"\nsecond line')

    first, dm, plain = _json_lines(capsys.readouterr().err)
    assert first == {
        "ts": first["ts"],
        "level": "INFO",
        "logger": "bot.engine.service",
        "message": "job 12 ended failed",
        "job_id": 12,
        "guild_id": 34,
    }
    assert isinstance(first["ts"], str) and first["ts"].endswith("Z")
    stamp = datetime.fromisoformat(first["ts"].replace("Z", "+00:00"))
    assert stamp.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC)
    assert dm["job_id"] == 13 and dm["guild_id"] is None
    assert plain["message"] == 'gateway says "hi"\nsecond line' and plain["level"] == "WARNING"
    assert "job_id" not in plain and "guild_id" not in plain


def test_json_lines_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    """Secrets in the message and in an exception's traceback are redacted in JSON as in text."""
    settings = load_settings(
        None, env={"DISCORD_TOKEN": DISCORD_SECRET, "USEAPI_TOKEN": USEAPI_SECRET}, secret_env=SECRET_ENV
    )
    setup_logging("INFO", settings.secrets(), log_format="json")
    log = logging.getLogger("bot.somewhere")
    log.info(
        "submit with token %s to /callbacks/useapi/%s", USEAPI_SECRET, CALLBACK_SECRET, extra=job_extra(5, 6)
    )
    try:
        raise RuntimeError(f"login failed for {DISCORD_SECRET} with Bearer unlisted-bearer-value")
    except RuntimeError:
        log.exception("discord said no", extra=job_extra(5, 6))

    err = capsys.readouterr().err
    for secret in (DISCORD_SECRET, USEAPI_SECRET, CALLBACK_SECRET, "unlisted-bearer-value"):
        assert secret not in err
    submit, failure = _json_lines(err)
    assert submit["message"] == f"submit with token {REDACTED} to /callbacks/useapi/{REDACTED}"
    assert failure["message"] == "discord said no" and failure["level"] == "ERROR"
    exception = failure["exception"]
    assert isinstance(exception, str) and exception.startswith("Traceback (most recent call last):")
    assert exception.endswith(f"RuntimeError: login failed for {REDACTED} with Bearer {REDACTED}")
    assert failure["job_id"] == 5 and failure["guild_id"] == 6


def test_job_extra() -> None:
    assert job_extra(1, 2) == {"job_id": 1, "guild_id": 2}
