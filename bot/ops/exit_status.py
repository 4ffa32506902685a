"""The exit statuses of the ``pikabot`` command line, shared by its commands and the jobs actions."""

from __future__ import annotations

from typing import Final

#: Exit status for an unusable configuration (and argparse's usage errors).
EXIT_CONFIG: Final = 2

#: Exit status for a job that is not there, or an action refused (e.g. cancelling a finished job).
EXIT_REFUSED: Final = 1
