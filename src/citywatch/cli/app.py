"""The typer application and its entry point, with subcommands imported lazily.

``citywatch --help`` and ``citywatch version`` import typer and this module only; a
subcommand's module (and NumPy, SciPy, HiGHS, ... behind it) is imported when that
subcommand runs or its own ``--help`` is asked for. Registering a command is one line::

    lazy("backtest", "citywatch.cli.backtest:backtest", "Back-test the casualty curve.")

The target is ``module:attribute``, either a command function (registered as
``app.command(name)(function)`` would) or a `typer.Typer` sub-app (as
``app.add_typer(sub_app, name=name)`` would). The text is what ``citywatch --help``
lists for the command before importing it: the first paragraph of the function's
docstring, or the sub-app's ``help=``; tests/cli/test_app.py checks every command's text
against the loaded command.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from difflib import get_close_matches
from importlib import import_module
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand, TyperGroup

from citywatch import __version__
from citywatch.cli import _help  # noqa: F401  (plain flags show no <bool> in --help)
from citywatch.errors import CityWatchError, ScenarioError

if TYPE_CHECKING:
    import click

__all__ = ["LazyCommand", "app", "command_names", "lazy", "load_command", "main"]


@dataclass(frozen=True)
class LazyCommand:
    """A subcommand known by name before its module is imported."""

    target: str
    """``"module:attribute"``: a command function or a `typer.Typer` sub-app."""
    help: str
    """Short help listed by ``citywatch --help``."""


_LAZY: dict[str, LazyCommand] = {}


def lazy(name: str, target: str, help: str) -> None:
    """Register subcommand `name`, imported from `target` (``module:attribute``) on use."""
    if ":" not in target:
        msg = f"`target` must look like 'module:attribute', got {target!r}"
        raise ValueError(msg)
    _LAZY[name] = LazyCommand(target, help)


lazy("plan", "citywatch.cli.plan:plan",
     "Plan where armed patrols stand, slot by slot (a Stackelberg security game).")
lazy("roster", "citywatch.cli.roster:roster",
     "Sample a roster from the plan and write roster.csv, coverage.csv and the exports.")
lazy("respond", "citywatch.cli.respond:respond",
     "Place armed response vehicles: chosen standby points and people reached in time.")
lazy("dispatch", "citywatch.cli.respond:dispatch",
     "Recommend the armed units to send to an incident, ranked by ETA (advice, not orders).")
lazy("simulate", "citywatch.cli.simulate:simulate",
     "Simulate attacks against a plan: interdiction, time to armed help, casualties.")
lazy("compare", "citywatch.cli.simulate:compare",
     "Compare plans side by side, with intervals and significance tests.")
lazy("whatif", "citywatch.cli.simulate:whatif",
     "Re-plan after a change (officers, threat, closures, events) and report the change.")
lazy("capacity", "citywatch.cli.simulate:capacity",
     "Expected loss and response time against officers added, as a table and a plot.")
lazy("sweep", "citywatch.cli.simulate:sweep",
     "Run many what-ifs × seeds on Dask distributed (citywatch[dist]).")
lazy("report", "citywatch.cli.simulate:report",
     "Write one self-contained HTML report (works offline), plus plots as PNG.")
lazy("serve", "citywatch.cli.serve:serve",
     "Run the CityWatch web service and dashboard (migrates the database first).")
lazy("version", "citywatch.cli.app:version", "Print CityWatch's version.")
lazy("scenario", "citywatch.cli.scenario:app", "Export, validate and explain scenarios.")
lazy("game", "citywatch.cli.game:app",
     "Solve, generate and export security games (JSON interchange format).")
lazy("audit", "citywatch.cli.serve:app", "The tamper-evident audit log.")
lazy("backtest", "citywatch.cli.backtest:backtest",
     "Predict each attack's casualties and time to armed help; compare with what happened.")
lazy("basemap", "citywatch.cli.basemap:app",
     "Build the basemap the dashboard and the report draw under the plan.")


def command_names() -> list[str]:
    """Every subcommand's name, lazy ones included, in ``--help`` order."""
    return [*_LAZY, *(c.name for c in app.registered_commands if c.name not in _LAZY)]


def load_command(name: str) -> click.Command:
    """Import lazy subcommand `name` and build its click command as typer would."""
    spec = _LAZY[name]
    module, _, attribute = spec.target.partition(":")
    obj: Any = getattr(import_module(module), attribute)
    holder = typer.Typer()
    if isinstance(obj, typer.Typer):
        holder.add_typer(obj, name=name)
    else:
        holder.command(name)(obj)
    group = typer.main.get_group(holder)
    return group.commands[name]


class LazyGroup(TyperGroup):
    """A typer group that lists lazy subcommands and imports one only when it is used."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Lazy subcommands first (registration order), then the eager ones."""
        eager = super().list_commands(ctx)
        return [*(n for n in _LAZY if n not in self.commands), *eager]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand, imported on first use (a light stand-in while listing help)."""
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None or cmd_name not in _LAZY:
            return cmd
        if self._listing:
            return TyperCommand(cmd_name, help=_LAZY[cmd_name].help)
        cmd = load_command(cmd_name)
        self.add_command(cmd, cmd_name)
        return cmd

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        """The subcommand `args` start with; an unknown name suggests close lazy ones."""
        try:
            return super().resolve_command(ctx, args)
        except Exception as err:  # typer's or click's UsageError: add what typer cannot see
            message = getattr(err, "message", None)
            if args and isinstance(message, str) and "Did you mean" not in message:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    names = ", ".join(repr(m) for m in matches)
                    err.message = f"{message.rstrip('.')}. Did you mean {names}?"
            raise

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The group's help, listing lazy subcommands without importing them."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="citywatch",
    cls=LazyGroup,
    help="Plan, schedule and evaluate armed police deployments against terrorism.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    # a callback keeps `app` a group although every subcommand is registered lazily
    pass


def version() -> None:
    """Print CityWatch's version."""
    typer.echo(__version__)


def main() -> None:
    """Run the CLI; expected errors print one line and exit with status 2."""
    try:
        app()
    except CityWatchError as err:
        from citywatch.cli._common import fail

        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        if isinstance(err, ScenarioError) and err.problems:
            message += f"; first: {err.problems[0]}"
        fail(message)
    except (OSError, ValueError) as err:
        from citywatch.cli._common import fail

        fail(f"{type(err).__name__}: {err}")
    except KeyboardInterrupt:
        # long runs print what they finished themselves (cli/_run.py); this is the rest
        sys.stderr.write("interrupted: stopped before any output was written\n")
        sys.exit(130)
