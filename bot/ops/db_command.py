"""``pikabot db copy`` once its arguments are parsed: pick the two databases (options, else the
config's ``[database]``), run the store's copy, and print the per-table summary without passwords."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass

from bot.config import Settings
from bot.config.database import DatabaseUrl, DatabaseUrlError
from bot.observability.logsetup import SecretRedactor, setup_logging
from bot.ops.exit_status import EXIT_CONFIG, EXIT_REFUSED
from bot.store import DatabaseUnavailable, MigrationError
from bot.store.backend import as_database_url
from bot.store.copy import CopyFailed, CopyRefused, CopyReport, copy_database


@dataclass(frozen=True)
class CopyEnds:
    """The databases a copy reads from and writes to."""

    source: DatabaseUrl
    target: DatabaseUrl


def db_copy(args: argparse.Namespace, settings: Settings) -> int:
    """``pikabot db copy``: resolve the two databases, copy, report; returns the exit status."""
    try:
        ends = copy_ends(args, settings)
    except DatabaseUrlError as exc:  # its message never holds a password
        print(f"config: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    secrets = (*settings.secrets(), *ends.source.secrets(), *ends.target.secrets())
    redactor = setup_logging("INFO", secrets, args.log_format)  # INFO: the target's migrations show
    return asyncio.run(run_db_copy(ends, redactor))


def copy_ends(args: argparse.Namespace, settings: Settings) -> CopyEnds:
    """--from and --to, each defaulting to the config's database when it is of the right kind."""
    configured = settings.database.target
    source = _option(args.source) or (configured if configured.backend == "sqlite" else None)
    target = _option(args.target) or (configured if configured.backend == "postgresql" else None)
    if source is None:
        raise DatabaseUrlError(
            "give --from sqlite:///path/to/pikabot.sqlite3 (the config names no SQLite file)"
        )
    if target is None:
        raise DatabaseUrlError(
            "give --to postgresql://user@host:port/database (the config's [database] is not PostgreSQL)"
        )
    return CopyEnds(source, target)


def _option(text: str | None) -> DatabaseUrl | None:
    return None if text is None else as_database_url(text)


async def run_db_copy(ends: CopyEnds, redactor: SecretRedactor) -> int:
    """Copy, print the summary on stdout (or why not on stderr); returns the exit status."""
    print(redactor.redact(f"copying {ends.source.masked()} to {ends.target.masked()}"))
    try:
        report = await copy_database(ends.source, ends.target, time.time())
    except (CopyRefused, MigrationError, DatabaseUnavailable) as exc:
        print(redactor.redact(f"refused: {exc}"), file=sys.stderr)
        return EXIT_CONFIG
    except CopyFailed as exc:
        print(redactor.redact(f"failed: {exc}"), file=sys.stderr)
        return EXIT_REFUSED
    print(redactor.redact(format_report(report)))
    return 0


def format_report(report: CopyReport) -> str:
    """The per-table counts, what was verified, and where the ids continue."""
    width = max([len("table"), *(len(table.name) for table in report.tables)])
    lines = [
        f"schema versions: SQLite {report.source_version}, PostgreSQL {report.target_version} (both the latest)",
        f"{'table':<{width}}  {'SQLite':>8}  {'PostgreSQL':>10}",
    ]
    lines += [f"{t.name:<{width}}  {t.source_rows:>8}  {t.target_rows:>10}" for t in report.tables]
    total = sum(table.target_rows for table in report.tables)
    lines.append(f"copied {total} rows in {len(report.tables)} tables in one transaction; counts verified")
    lines += [f"next {n.table}.{n.column}: {n.value}" for n in report.next_ids]
    lines.append("next: set [database] url to this PostgreSQL URL in every pikabot's config, then start them")
    return "\n".join(lines)
