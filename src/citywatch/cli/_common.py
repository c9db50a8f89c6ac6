"""Helpers shared by the CLI commands: loading scenarios, printing errors and JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console, ConsoleRenderable, RenderHook
from rich.markup import escape
from rich.table import Table

from citywatch._json import dumps
from citywatch.cli import _help  # noqa: F401  (no <bool> on flags in --help)
from citywatch.errors import ScenarioError

if TYPE_CHECKING:
    from citywatch.model.scenario import Scenario

class _ReadableTables(RenderHook):
    """Tables stay readable in a narrow terminal (80 columns): headers are never cut
    (each column is at least as wide as its header's longest word, the header wraps at
    spaces) and cell text wraps instead of ending in an ellipsis."""

    def process_renderables(self, renderables: list[ConsoleRenderable]
                            ) -> list[ConsoleRenderable]:
        for r in renderables:
            if isinstance(r, Table):
                for col in r.columns:
                    words = str(col.header).split()
                    longest = max((len(w) for w in words), default=0)
                    col.min_width = max(col.min_width or 0, longest)
                    if not col.no_wrap:
                        col.overflow = "fold"
        return renderables


console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)
console.push_render_hook(_ReadableTables())
err_console.push_render_hook(_ReadableTables())




def fail(message: str) -> NoReturn:
    """Print a one-line error to stderr and exit with status 2."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise SystemExit(2)


def load(scenario: str, *, threat: str | None = None, officers: int | None = None) -> Scenario:
    """Load an embedded scenario by name or a scenario folder by path, with overrides."""
    from citywatch.data import london, scenario_names
    from citywatch.model.io import load_scenario

    if scenario.lower() in scenario_names():
        sc = london()
    elif Path(scenario).exists():
        try:
            sc = load_scenario(scenario)
        except ScenarioError as err:
            msg = f"{err} (run `citywatch scenario validate {scenario}` for the full list)"
            raise ScenarioError(msg, err.problems) from None
    else:
        names = ", ".join(scenario_names())
        msg = f"`--scenario` must be an embedded scenario ({names}) or a folder, got {scenario!r}"
        raise ScenarioError(msg)
    if threat is not None:
        sc = sc.with_threat(threat)
    if officers is not None:
        if officers < sc.force.committed_officers:
            msg = (f"`--officers` must be at least the {sc.force.committed_officers} officers "
                   f"committed to other duties, got {officers}")
            raise ScenarioError(msg)
        sc = sc.with_force(officers=officers)
    return sc


def scenario_folder(scenario: str) -> Path | None:
    """The folder of a scenario given by path (``None`` for an embedded scenario)."""
    from citywatch.data import scenario_names

    if scenario.lower() in scenario_names():
        return None
    path = Path(scenario)
    return path if path.is_dir() else path.parent


def print_json(data: Any, *, pretty: bool = True) -> None:
    """Print JSON to stdout without rich markup: indented, or compact (``pretty=False``)."""
    sys.stdout.write(dumps(data, pretty=pretty) + "\n")
