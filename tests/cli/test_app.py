"""The lazily loaded command tree: help listed without imports, commands as registered."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from _cli import assert_clean_error, run

from citywatch import __version__
from citywatch.cli.app import _LAZY, command_names, lazy, load_command

#: What must not be imported to list the commands or print the version.
HEAVY = ("numpy", "scipy", "highspy", "citywatch.model", "citywatch.games",
         "citywatch.plan", "citywatch.planner", "citywatch.cli._common", "citywatch.cli.plan",
         "citywatch.cli.simulate", "citywatch.cli.game")

_PROBE = """
import json, sys
sys.argv = ["citywatch", *sys.argv[1:]]
from citywatch.cli.app import main
try:
    main()
except SystemExit:
    pass
heavy = {heavy!r}
print(json.dumps(sorted(m for m in sys.modules if m in heavy or m.split(".")[0] in heavy)))
"""


def _imported(*args: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["version"], []])
def test_help_and_version_import_no_subcommand(args: list[str]) -> None:
    assert _imported(*args) == []


def test_a_subcommand_is_imported_when_used() -> None:
    assert "citywatch.cli.game" in _imported("game", "--help")


@pytest.mark.parametrize("name", list(_LAZY))
def test_listed_help_is_the_commands_own(name: str) -> None:
    """The text `--help` lists before importing equals the loaded command's first paragraph."""
    cmd = load_command(name)
    assert cmd.name == name
    own = " ".join((cmd.help or "").split("\n\n")[0].split())
    assert own == _LAZY[name].help


def test_help_lists_every_command_in_order() -> None:
    proc = run("--help")
    assert proc.returncode == 0, proc.stderr
    listed = [line.split()[1] for line in proc.stdout.splitlines()
              if line.startswith("│ ") and line[2] != " " and line.split()[1] in command_names()]
    assert listed == command_names()
    assert {"plan", "simulate", "game", "audit", "version"} <= set(listed)


def test_version_and_unknown_command() -> None:
    proc = run("version")
    assert proc.returncode == 0 and proc.stdout.strip() == __version__
    proc = run("plann")
    assert proc.returncode == 2 and "Did you mean 'plan'?" in proc.stderr
    proc = run("game", "slve")
    assert proc.returncode == 2 and "Did you mean 'solve'?" in proc.stderr


def test_version_answers_without_typer_and_as_the_command_does() -> None:
    probe = ("import sys; sys.argv = ['citywatch', *sys.argv[1:]]\n"
             "from citywatch.cli import main\nmain()\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', "
             "'pydantic', 'rich'}))")
    fast = subprocess.run([sys.executable, "-c", probe, "version"], capture_output=True,
                          text=True, timeout=120)
    assert fast.returncode == 0, fast.stderr
    assert fast.stdout.splitlines() == [__version__, "[]"]
    typer_way = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), "version"],
                               capture_output=True, text=True, timeout=120)
    assert typer_way.stdout.splitlines()[0] == __version__
    # anything else goes to typer, `version` with options included
    assert "Usage" in run("version", "--help").stdout


def test_subcommands_run_as_before() -> None:
    proc = run("scenario", "validate", "/no/such/folder")
    assert_clean_error(proc, "scenario.toml")


def test_lazy_rejects_a_target_without_attribute() -> None:
    with pytest.raises(ValueError, match="module:attribute"):
        lazy("broken", "citywatch.cli.plan", "No attribute named.")
    assert "broken" not in _LAZY
