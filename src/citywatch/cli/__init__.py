"""The ``citywatch`` command line: a thin adapter over the Python API.

`main` (the ``citywatch`` script and ``python -m citywatch``) answers ``citywatch
version`` itself, printing what the ``version`` command prints, without importing typer
(whose start-up, pydantic included, is most of a short command's time); anything else
runs the typer application, `citywatch.cli.app.app`.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Run the CLI (see `citywatch.cli.app.main`)."""
    if sys.argv[1:] == ["version"]:
        from citywatch import __version__

        sys.stdout.write(f"{__version__}\n")
        return
    from citywatch.cli.app import main as run

    run()
