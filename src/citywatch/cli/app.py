"""The typer application and its entry point."""

from __future__ import annotations

import sys

import typer

from citywatch import __version__
from citywatch.cli import basemap as basemap_cmd
from citywatch.cli import game as game_cmd
from citywatch.cli import plan as plan_cmd
from citywatch.cli import respond as respond_cmd
from citywatch.cli import roster as roster_cmd
from citywatch.cli import scenario as scenario_cmd
from citywatch.cli import serve as serve_cmd
from citywatch.cli import simulate as simulate_cmd
from citywatch.cli._common import fail
from citywatch.errors import CityWatchError, ScenarioError

app = typer.Typer(
    name="citywatch",
    help="Plan, schedule and evaluate armed police deployments against terrorism.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("plan")(plan_cmd.plan)
app.command("roster")(roster_cmd.roster)
app.command("respond")(respond_cmd.respond)
app.command("dispatch")(respond_cmd.dispatch)
app.add_typer(scenario_cmd.app, name="scenario")
for _name in ("simulate", "compare", "whatif", "capacity", "sweep", "report"):
    app.command(_name)(getattr(simulate_cmd, _name))
app.add_typer(game_cmd.app, name="game")
app.command("serve")(serve_cmd.serve)
app.add_typer(serve_cmd.app, name="audit")
app.add_typer(basemap_cmd.app, name="basemap")


@app.command()
def version() -> None:
    """Print CityWatch's version."""
    typer.echo(__version__)


def main() -> None:
    """Run the CLI; expected errors print one line and exit with status 2."""
    try:
        app()
    except CityWatchError as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        if isinstance(err, ScenarioError) and err.problems:
            message += f"; first: {err.problems[0]}"
        fail(message)
    except (OSError, ValueError) as err:
        fail(f"{type(err).__name__}: {err}")
    except KeyboardInterrupt:
        sys.exit(130)
