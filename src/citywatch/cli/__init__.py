"""The ``citywatch`` command line: a thin adapter over the Python API."""

from citywatch.cli.app import app, main

__all__ = ["app", "main"]
