"""``citywatch game``: solve, generate and export security games in the interchange format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citywatch.cli._common import console, load, print_json
from citywatch.errors import GameError

app = typer.Typer(help="Solve, generate and export security games (JSON interchange format).",
                  no_args_is_help=True)

METHODS = ("auto", "single", "origami", "multiple-lps", "bayesian", "bayesian-milp", "qr")


@app.command()
def solve(
    file: Annotated[Path, typer.Argument(help="Game JSON file.")],
    method: Annotated[str, typer.Option(
        help="auto, single, multiple-lps, bayesian (level branch and bound), bayesian-milp "
             "or qr.")] = "auto",
    time_limit: Annotated[float | None, typer.Option(
        help="Seconds for LP/MILP solvers (a safety net).")] = None,
    node_limit: Annotated[int | None, typer.Option(
        help="Deterministic work limit of the Bayesian solvers (boxes or MILP nodes).")]
    = None,
    lam: Annotated[float | None, typer.Option("--lambda", help="QR rationality (with qr).")]
    = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON (compact).")] = False,
    pretty: Annotated[bool, typer.Option(help="Indent the JSON.")] = False,
) -> None:
    """Solve a game file and print its equilibrium."""
    from citywatch.games.io import equilibrium_to_dict, load_game
    from citywatch.games.solve import solve_sse

    if method not in METHODS:
        msg = f"`--method` must be one of {', '.join(METHODS)}, got {method!r}"
        raise GameError(msg)
    game = load_game(file)
    if method == "qr":
        from citywatch.games.quantal import solve_quantal

        eq = solve_quantal(game, lam=lam, time_limit=time_limit)
    else:
        eq = solve_sse(game, method=method, time_limit=time_limit, node_limit=node_limit)
    data = equilibrium_to_dict(game, eq)
    if json_out:
        print_json(data, pretty=pretty)
        return
    labels = game.target_labels or tuple(str(t) for t in range(game.n_targets))
    status = ("proven optimal" if eq.optimal else
              f"proven gap {eq.gap:.4g} ({eq.relative_gap:.3%})")
    console.print(f"{game.n_targets} targets, {game.n_types} attacker type(s), resources "
                  f"{game.resources.tolist()}: defender utility [bold]{eq.defender_utility:.6g}"
                  f"[/] ({eq.method}, {status}, {eq.seconds:.3f} s)")
    if eq.bound_source:
        console.print(f"  bound: {eq.bound_source}")
    for name, target in data["attack"].items():
        if isinstance(target, int):
            console.print(f"  {name} attacks {labels[target]}")
    t = Table(title="Most covered targets", show_edge=False)
    t.add_column("target")
    t.add_column("coverage", justify="right")
    for i in sorted(range(game.n_targets), key=lambda i: -eq.coverage[i])[:15]:
        t.add_row(labels[i], f"{eq.coverage[i]:.4f}")
    console.print(t)


@app.command()
def random(
    targets: Annotated[int, typer.Option(help="Number of targets.")],
    resources: Annotated[int, typer.Option(help="Teams per group.")],
    out: Annotated[Path, typer.Option(help="File to write.")],
    types: Annotated[int, typer.Option(help="Attacker types.")] = 1,
    groups: Annotated[int, typer.Option(help="Budget groups.")] = 1,
    generator: Annotated[str, typer.Option(help="uniform or covariance.")] = "uniform",
    covariance: Annotated[float, typer.Option(help="Covariance in [-1, 0] (covariance "
                                                   "generator).")] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    pretty: Annotated[bool, typer.Option(help="Indent the JSON (default: compact).")] = False,
) -> None:
    """Write a random game (the security-games literature's generators)."""
    from citywatch.games.io import save_game
    from citywatch.games.random import random_game

    for name, value in (("--targets", targets), ("--types", types), ("--groups", groups)):
        if value < 1:
            msg = f"`{name}` must be >= 1, got {value}"
            raise GameError(msg)
    game = random_game(targets=targets, types=types, resources=resources, groups=groups,
                       generator=generator, covariance=covariance, seed=seed)
    save_game(game, out, pretty=pretty)
    console.print(f"wrote {out}: {targets} targets, {types} type(s), {groups} group(s)")


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="File to write.")],
    scenario: Annotated[str, typer.Option(help="Embedded scenario name or folder.")]
    = "london",
    threat: Annotated[str | None, typer.Option(help="Threat level.")] = None,
    officers: Annotated[int | None, typer.Option(help="Armed officers.")] = None,
    pretty: Annotated[bool, typer.Option(help="Indent the JSON (default: compact).")] = False,
) -> None:
    """Write the game a scenario induces, so any tool can re-solve a plan."""
    from citywatch.games.io import save_game
    from citywatch.model.payoffs import build_game

    sc = load(scenario, threat=threat, officers=officers)
    built = build_game(sc)
    save_game(built.game, out, pretty=pretty)
    g = built.game
    console.print(f"wrote {out}: {g.n_targets} targets ((site, slot) pairs), {g.n_types} "
                  f"attacker types, teams per slot {g.resources.tolist()}")
