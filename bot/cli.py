"""The ``pikabot`` command line: one subcommand per operator task.

To add a subcommand, write ``def _cmd_x(args: argparse.Namespace) -> int`` (and, if it takes options,
``def _x_arguments(parser) -> None``), then add one ``Command`` entry to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bot import __version__
from bot.config import ConfigError, Settings, load_settings, render_settings, settings_warnings
from bot.domain.jobs import JobState
from bot.observability.logsetup import LOG_FORMATS, setup_logging
from bot.ops.exit_status import EXIT_CONFIG
from bot.ops.startup_summary import (
    describe_callbacks,
    describe_database,
    describe_environment,
    describe_routes,
)
from bot.providers.registry import (
    PROVIDER_KEYS_HINT,
    SECRET_ENV,
    keyed_providers,
    provider_download_hosts,
    provider_warnings,
)

__all__ = ["COMMANDS", "DEFAULT_CONFIG", "Command", "build_parser", "load_config", "main"]

log = logging.getLogger(__name__)

#: Used when --config is not given, if it exists; otherwise the built-in defaults apply.
DEFAULT_CONFIG: Final = Path("config.toml")


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """For subcommands whose only option is the shared --config."""


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: its help line, the handler returning an exit code, and its extra options."""

    help: str
    handler: Callable[[argparse.Namespace], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    takes_config: bool = True


def config_path(args: argparse.Namespace) -> Path | None:
    """The file named by --config, else ./config.toml if present, else None (defaults only)."""
    explicit: Path | None = getattr(args, "config", None)
    if explicit is not None:
        return explicit
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def load_config(args: argparse.Namespace) -> Settings | None:
    """Load the settings for a subcommand, or print every problem to stderr and return None."""
    try:
        return load_settings(config_path(args), secret_env=SECRET_ENV)
    except ConfigError as exc:
        print(f"config: {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def describe_source(path: Path | None) -> str:
    """Where the settings come from: the file read, or that none was found and defaults apply."""
    if path is not None:
        return f"config file {path}"
    return f"no config file found (no --config, no ./{DEFAULT_CONFIG}): using built-in defaults and the environment"


# --- subcommands ---------------------------------------------------------------------------------


def _cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the config, print it with secrets masked, and list warnings on stderr."""
    settings = load_config(args)
    if settings is None:
        return EXIT_CONFIG
    path = config_path(args)
    source = str(path) if path is not None else f"built-in defaults ({DEFAULT_CONFIG} not found)"
    # stdout stays valid TOML (the header is a comment); warnings go to stderr.
    print(f"# pikabot {__version__}: effective configuration from {source}; secrets masked")
    if environment := describe_environment():
        print(f"# settings from the environment (they override the file): {environment}")
    print(render_settings(settings), end="")
    print(f"# effective routes: {describe_routes(settings)}")
    if extra_hosts := provider_download_hosts(settings):
        print(f"# result videos may also come from the keyed providers' hosts: {', '.join(extra_hosts)}")
    for warning in [*settings_warnings(settings), *provider_warnings(settings)]:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    """Start the bot, the webhook server and the poller until SIGTERM or Ctrl-C."""
    settings = load_config(args)
    if settings is None:
        return EXIT_CONFIG
    missing = []
    if settings.discord.token is None:
        missing.append("DISCORD_TOKEN")
    if not keyed_providers(settings):  # any one provider will do; none is required on its own
        missing.append(f"a provider key ({PROVIDER_KEYS_HINT})")
    if missing:
        print(f"config: set {' and '.join(missing)} in the environment (or the config file)", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(args.log_level, settings.secrets(), args.log_format)
    log.info("pikabot %s starting; %s", __version__, describe_source(config_path(args)))
    if environment := describe_environment():
        log.info("settings from the environment: %s", environment)
    log.info("routes: %s", describe_routes(settings))
    log.info("database: %s; videos wait in %s", describe_database(settings), settings.media_dir.absolute())
    log.info("callbacks: %s", describe_callbacks(settings))
    from bot.discord.runner import run_bot  # imported late: check-config must not need discord.py

    return asyncio.run(run_bot(settings))


def _cmd_sync(args: argparse.Namespace) -> int:
    """Register the slash commands with Discord now (globally, or in one guild for testing)."""
    settings = load_config(args)
    if settings is None:
        return EXIT_CONFIG
    if settings.discord.token is None:
        print("config: set DISCORD_TOKEN in the environment (or the config file)", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging("INFO", settings.secrets(), args.log_format)
    from bot.discord.runner import sync_commands

    return asyncio.run(sync_commands(settings, args.guild))


def _log_format_argument(parser: argparse.ArgumentParser, default: str | None = "text") -> None:
    # default None: argparse.SUPPRESS, so a repeated option on a nested parser keeps the outer value.
    parser.add_argument(
        "--log-format",
        default=argparse.SUPPRESS if default is None else default,
        choices=LOG_FORMATS,
        help="log lines as text, or as one JSON object per line (secrets are redacted in both)",
    )


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    _log_format_argument(parser)
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="how much to log (secrets are redacted at every level)",
    )


def _sync_arguments(parser: argparse.ArgumentParser) -> None:
    _log_format_argument(parser)
    parser.add_argument(
        "--guild", type=int, metavar="ID", help="sync to this guild only (instant; for testing)"
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    """Run the real bot against the local stand-ins and narrate a member's session."""
    try:
        # Imported late: check-config must not need the engine; the stand-ins are an extra.
        from sandbox.demo import main as demo_main
    except ModuleNotFoundError as exc:
        print(f"pikabot demo needs the sandbox extra ({exc.name} is missing): pip install 'pikabot[sandbox]'")
        return EXIT_CONFIG
    setup_logging("WARNING", log_format=args.log_format)
    return demo_main(args.provider)


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    _log_format_argument(parser)
    parser.add_argument(
        "--provider",
        choices=("all", "fal", "useapi"),
        default="all",
        help="all (default): the fal.ai session, then the useapi.net and API Glue one; fal or useapi: one of them",
    )


# --- pikabot jobs ----------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _action_options() -> argparse.ArgumentParser:
    # --config and --log-format are accepted after the action too ("jobs list --config x"); SUPPRESS
    # keeps a value given before the action from being reset by the action parser's default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, default=argparse.SUPPRESS, metavar="PATH", help="TOML config file"
    )
    _log_format_argument(common, default=None)
    return common


def _jobs_arguments(parser: argparse.ArgumentParser) -> None:
    _log_format_argument(parser)
    common = _action_options()
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[common], help="jobs newest first, as a table")
    listing.add_argument(
        "--state",
        choices=[state.value for state in JobState],
        metavar="STATE",
        help=f"only jobs in this state ({', '.join(JobState)})",
    )
    listing.add_argument("--owner", type=int, metavar="ID", help="only this member's jobs (Discord user id)")
    listing.add_argument("--limit", type=_positive_int, default=20, metavar="N", help="at most N jobs (20)")

    show = actions.add_parser("show", parents=[common], help="every field, inputs and state history of a job")
    show.add_argument("job_id", type=int, metavar="ID")
    retry = actions.add_parser(
        "retry", parents=[common], help="queue a new job with the same request, as the Retry button does"
    )
    retry.add_argument("job_id", type=int, metavar="ID")
    cancel = actions.add_parser(
        "cancel", parents=[common], help="cancel a queued job, or a running one upstream"
    )
    cancel.add_argument("job_id", type=int, metavar="ID")


def _cmd_jobs(args: argparse.Namespace) -> int:
    """Inspect and act on the running bot's jobs from the shell (same database as the bot)."""
    settings = load_config(args)
    if settings is None:
        return EXIT_CONFIG
    # WARNING: the service's routine INFO lines would only clutter the operator's answer.
    redactor = setup_logging("WARNING", settings.secrets(), args.log_format)
    from bot.ops.jobs_command import run_jobs  # imported late: check-config must not need the engine

    return asyncio.run(run_jobs(args, settings, redactor))


# --- pikabot db -------------------------------------------------------------------------------------

_DB_COPY_HELP = """\
Copy every row of a SQLite database into an empty PostgreSQL one, in one transaction (all or nothing).
Stop every pikabot on the SQLite file first. Refused (exit 2, nothing written): a source not at the
latest schema, a job lease in it not run out (a bot may be running), a target holding any row.
Exit 1: the copy failed and was rolled back. The password is never printed; keep it out of --to
(PGPASSWORD or ~/.pgpass): the process list would show it."""


def _db_arguments(parser: argparse.ArgumentParser) -> None:
    _log_format_argument(parser)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    copy = actions.add_parser(
        "copy",
        parents=[_action_options()],
        help="copy a SQLite database into an empty PostgreSQL one (moving to several processes)",
        description=_DB_COPY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    copy.add_argument(
        "--from",
        dest="source",
        metavar="URL",
        help="sqlite:///path/to/pikabot.sqlite3 (default: the config's [database], if a SQLite file)",
    )
    copy.add_argument(
        "--to",
        dest="target",
        metavar="URL",
        help="postgresql://user@host:port/database (default: the config's [database] url, if PostgreSQL)",
    )


def _cmd_db(args: argparse.Namespace) -> int:
    """Operator tasks on the database itself; today one: copy SQLite into PostgreSQL."""
    settings = load_config(args)
    if settings is None:
        return EXIT_CONFIG
    from bot.ops.db_command import db_copy  # imported late, as for jobs

    return db_copy(args, settings)


# The dispatch table.
COMMANDS: Final[dict[str, Command]] = {
    "check-config": Command(
        help="validate the config file and print the effective settings (secrets masked)",
        handler=_cmd_check_config,
    ),
    "run": Command(
        help="start the bot (Discord, the webhook server and the job engine)",
        handler=_cmd_run,
        add_arguments=_run_arguments,
    ),
    "sync": Command(
        help="register the /pika commands with Discord now",
        handler=_cmd_sync,
        add_arguments=_sync_arguments,
    ),
    "demo": Command(
        help="run the engine offline against the local useapi.net simulator and print a transcript",
        handler=_cmd_demo,
        add_arguments=_demo_arguments,
        takes_config=False,
    ),
    "jobs": Command(
        help="list, show, retry or cancel jobs in the bot's database (for operators)",
        handler=_cmd_jobs,
        add_arguments=_jobs_arguments,
    ),
    "db": Command(
        help="copy a SQLite database into an empty PostgreSQL one (for operators)",
        handler=_cmd_db,
        add_arguments=_db_arguments,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand in COMMANDS."""
    parser = argparse.ArgumentParser(
        prog="pikabot", description="A Discord bot relaying /pika commands to Pika video APIs."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        if command.takes_config:
            sub.add_argument(
                "--config",
                type=Path,
                metavar="PATH",
                help=f"TOML config file (default: {DEFAULT_CONFIG} if it exists, else built-in defaults)",
            )
        command.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit status (the console script passes it to sys.exit)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: report the status, don't exit
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_CONFIG)
    return COMMANDS[args.command].handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
