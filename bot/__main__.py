"""``python -m bot``: the same command line as the ``pikabot`` console script."""

from bot.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
