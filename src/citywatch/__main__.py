"""``python -m citywatch`` runs the command line."""

from citywatch.cli import main

main()
