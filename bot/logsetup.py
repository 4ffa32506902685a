"""Logging set up once, centrally, with secrets scrubbed from every line before it is written."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Final

__all__ = ["LOG_FORMAT", "REDACTED", "SecretRedactor", "setup_logging"]

LOG_FORMAT: Final = "[{asctime}] [{levelname:<7}] {name}: {message}"
REDACTED: Final = "[redacted]"

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


_OUR_HANDLER: Final = "_pikabot_handler"


def setup_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> SecretRedactor:
    """Log to stderr at ``level`` through a redactor covering every logger; return the redactor.

    Calling it again replaces the previous setup instead of doubling every line.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r} (allowed: DEBUG, INFO, WARNING, ERROR, CRITICAL)")

    redactor = SecretRedactor(secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OUR_HANDLER, False):
            root.removeHandler(handler)
        for old in [f for f in handler.filters if isinstance(f, SecretRedactor)]:
            handler.removeFilter(old)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, "%Y-%m-%d %H:%M:%S", style="{"))
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
