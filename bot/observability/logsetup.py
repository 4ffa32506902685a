"""Logging set up once, centrally, with secrets scrubbed from every line before it is written."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

__all__ = [
    "LOG_FORMAT",
    "LOG_FORMATS",
    "REDACTED",
    "JsonFormatter",
    "SecretRedactor",
    "TextFormatter",
    "job_extra",
    "setup_logging",
]

LOG_FORMAT: Final = "[{asctime}] [{levelname:<7}] {name}: {message}"
REDACTED: Final = "[redacted]"
#: What ``--log-format`` accepts: human-readable lines, or one JSON object per line for collectors.
LOG_FORMATS: Final = ("text", "json")

# The ``extra`` keys job_extra() sets; both formatters look for them on every record.
_JOB_ID: Final = "job_id"
_GUILD_ID: Final = "guild_id"

# Credentials that can show up in a log line even when we do not know their value:
_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # An Authorization header value (useapi.net, API Glue): "Bearer <token>".
    (re.compile(r"(?i)\b(bearer)\s+[^\s'\",;]+"), rf"\1 {REDACTED}"),
    # A Discord bot token in an Authorization header: "Bot <id>.<timestamp>.<hmac>".
    (re.compile(r"\b(Bot)\s+[\w-]{16,}\.[\w-]{4,}\.[\w-]{16,}"), rf"\1 {REDACTED}"),
    # The last path segment of our callback URLs is their shared secret ("/callbacks/useapi/<token>",
    # aiohttp.access logs it); Discord's "/webhooks/<app id>/<interaction token>" is one too.
    (re.compile(r"(/(?:callbacks|hooks|webhooks)/[\w.-]+/)[^/\s?#'\"]+"), rf"\1{REDACTED}"),
)


class SecretRedactor(logging.Filter):
    """Replace known secret values, bearer tokens and callback-path tokens with ``[redacted]``.

    Install it on handlers (not loggers): a logger's filters do not see records propagated from
    its children, while a handler's filters see every record it writes.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._known: re.Pattern[str] | None = None
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str) -> None:
        """Start redacting ``value`` too (e.g. a token learned after startup)."""
        if not value or value in self._secrets:
            return
        self._secrets.add(value)
        # Longest first, so a secret that contains another one is replaced whole.
        ordered = sorted(self._secrets, key=len, reverse=True)
        self._known = re.compile("|".join(re.escape(secret) for secret in ordered))

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret replaced."""
        if self._known is not None:
            text = self._known.sub(REDACTED, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Format the message first (secrets usually arrive as %-args), then redact it in place."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not let the raw args reach logging's error report
            message = f"{record.msg!s} (unformattable arguments: {record.args!r})"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info is not None and record.exc_info[0] is not None:
            # Formatter.format() reuses exc_text when it is set, so the traceback is written redacted.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def job_extra(job_id: int, guild_id: int | None) -> dict[str, object]:
    """The ``extra=`` for a log call about one job, so the line carries its job id and guild."""
    return {_JOB_ID: job_id, _GUILD_ID: guild_id}


def _job_tag(record: logging.LogRecord) -> str:
    """``[job 12 guild 34]`` (``[job 12]`` outside a guild) for a record logged with job_extra()."""
    job_id = getattr(record, _JOB_ID, None)
    if job_id is None:
        return ""
    guild_id = getattr(record, _GUILD_ID, None)
    return f"[job {job_id}]" if guild_id is None else f"[job {job_id} guild {guild_id}]"


class TextFormatter(logging.Formatter):
    """LOG_FORMAT, with ``[job 12 guild 34]`` in front of the message of a record about a job."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT, "%Y-%m-%d %H:%M:%S", style="{")

    def formatMessage(self, record: logging.LogRecord) -> str:
        """Format as usual, with the job tag prepended to the message for this line only."""
        tag = _job_tag(record)
        if not tag:
            return super().formatMessage(record)
        # Other handlers (e.g. pytest's capture) format the same record: put the message back.
        message = record.message
        record.message = f"{tag} {message}"
        try:
            return super().formatMessage(record)
        finally:
            record.message = message


def _iso_utc(timestamp: float) -> str:
    """``2025-01-31T12:00:00.123Z``: ISO-8601 in UTC, whatever the host's time zone."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (ISO-8601 UTC), level, logger, message, job_id/guild_id, exception.

    It formats what the handler's SecretRedactor left, like the text format, so it never sees secrets;
    only the keys above are written, never arbitrary ``extra`` values.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, object] = {
            "ts": _iso_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in (_JOB_ID, _GUILD_ID):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info and not record.exc_text:
            # Only reached without a redactor (it fills exc_text, redacted, before we run).
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an odd job id type must not cost the line; newlines are escaped, so one line.
        return json.dumps(entry, default=str)


_OUR_HANDLER: Final = "_pikabot_handler"


def setup_logging(
    level: str = "INFO", secrets: Iterable[str] = (), log_format: str = "text"
) -> SecretRedactor:
    """Log to stderr at ``level`` in ``log_format`` (text or json) through a redactor; return the redactor.

    The redactor covers every logger. Calling it again replaces the previous setup instead of
    doubling every line.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r} (allowed: DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    if log_format not in LOG_FORMATS:
        raise ValueError(f"unknown log format {log_format!r} (allowed: {', '.join(LOG_FORMATS)})")

    redactor = SecretRedactor(secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OUR_HANDLER, False):
            root.removeHandler(handler)
        for old in [f for f in handler.filters if isinstance(f, SecretRedactor)]:
            handler.removeFilter(old)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    setattr(handler, _OUR_HANDLER, True)
    root.addHandler(handler)
    root.setLevel(numeric)
    # Every handler on the root (ours, and any a host such as pytest installed) writes redacted text.
    for existing in root.handlers:
        existing.addFilter(redactor)

    # discord.py is chatty at DEBUG and discord.http logs every request; aiohttp.access logs every
    # callback hit. Quiet them, but never below the level the operator asked for.
    logging.getLogger("discord").setLevel(max(logging.INFO, numeric))
    logging.getLogger("discord.http").setLevel(max(logging.WARNING, numeric))
    logging.getLogger("aiohttp.access").setLevel(max(logging.WARNING, numeric))
    return redactor
