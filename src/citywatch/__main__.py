"""``python -m citywatch`` runs the command line."""

from citywatch.cli import main

if __name__ == "__main__":
    main()
