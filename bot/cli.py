"""The ``pikabot`` command line: one subcommand per operator task.

To add a subcommand, write ``def _cmd_x(args: argparse.Namespace) -> int`` (and, if it takes options,
``def _x_arguments(parser) -> None``), then add one ``Command`` entry to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bot import __version__
from bot.config import ConfigError, Settings, load_settings, render_settings, settings_warnings
from bot.logsetup import setup_logging

__all__ = ["COMMANDS", "DEFAULT_CONFIG", "Command", "build_parser", "load_config", "main"]

#: Used when --config is not given, if it exists; otherwise the built-in defaults apply.
DEFAULT_CONFIG: Final = Path("config.toml")

#: Exit status for an unusable configuration (and argparse's usage errors).
EXIT_CONFIG: Final = 2


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
        return load_settings(config_path(args))
    except ConfigError as exc:
        print(f"config: {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


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
    print(render_settings(settings), end="")
    for warning in settings_warnings(settings):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    """Start the bot, the webhook server and the poller until SIGTERM or Ctrl-C."""
    settings = load_config(args)
    if settings is None:
        return EXIT_CONFIG
    missing = [
        name
        for name, value in (
            ("DISCORD_TOKEN", settings.discord.token),
            ("USEAPI_TOKEN", settings.useapi.token),
        )
        if value is None
    ]
    if missing:
        print(f"config: set {' and '.join(missing)} in the environment (or the config file)", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(args.log_level, settings.secrets())
    from bot.runner import run_bot  # imported late: check-config must not need discord.py

    return asyncio.run(run_bot(settings))


def _cmd_sync(args: argparse.Namespace) -> int:
    """Register the slash commands with Discord now (globally, or in one guild for testing)."""
    settings = load_config(args)
    if settings is None:
        return EXIT_CONFIG
    if settings.discord.token is None:
        print("config: set DISCORD_TOKEN in the environment (or the config file)", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging("INFO", settings.secrets())
    from bot.runner import sync_commands

    return asyncio.run(sync_commands(settings, args.guild))


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="how much to log (secrets are redacted at every level)",
    )


def _sync_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--guild", type=int, metavar="ID", help="sync to this guild only (instant; for testing)"
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    """Run the engine against the local useapi.net simulator and narrate a member's session."""
    from bot.demo import main as demo_main  # imported late: check-config must not need the engine

    setup_logging("WARNING")
    return demo_main()


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
        takes_config=False,
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
