"""``citywatch plan``: solve the deployment game for a scenario and explain it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citywatch.cli._common import console, load, print_json


def plan(
    scenario: Annotated[str, typer.Option(help="Embedded scenario name or scenario folder.")]
    = "london",
    threat: Annotated[str | None, typer.Option(
        help="Threat level: low, moderate, substantial, severe, critical.")] = None,
    officers: Annotated[int | None, typer.Option(
        help="Armed officers in the force (default: the scenario's).")] = None,
    attacker: Annotated[str, typer.Option(
        help="Attacker model: auto, bayesian, mixture or qr.")] = "auto",
    lam: Annotated[float | None, typer.Option("--lambda", help="Quantal-response rationality.")]
    = None,
    time_limit: Annotated[float, typer.Option(help="Seconds allowed for the Bayesian solver.")]
    = 30.0,
    top: Annotated[int, typer.Option(help="Sites listed per slot.")] = 5,
    json_out: Annotated[bool, typer.Option("--json", help="Print the full plan as JSON.")]
    = False,
    out: Annotated[Path | None, typer.Option(
        help="Write plan.json, coverage.csv and sites.geojson into this folder.")] = None,
) -> None:
    """Plan where armed patrols stand, slot by slot (a Stackelberg security game)."""
    from citywatch.plan import make_plan, write_plan

    sc = load(scenario, threat=threat, officers=officers)
    if top < 1:
        msg = f"`--top` must be >= 1, got {top}"
        raise typer.BadParameter(msg)
    p = make_plan(sc, attacker=attacker, time_limit=time_limit, lam=lam)
    written = write_plan(p, out) if out is not None else []
    if json_out:
        print_json(p.to_dict())
        return
    posture = sc.postures[sc.threat_level]
    console.print(f"[bold]{sc.name}[/] — threat level [bold]{sc.threat_level.name}[/] "
                  f"({sc.threat_level.meaning}); {sc.force.officers} armed officers, "
                  f"{posture.deployed_share:.0%} of street officers deployed.")
    teams = Table(title="Teams on duty", show_edge=False)
    teams.add_column("slot")
    teams.add_column("officers", justify="right")
    teams.add_column("patrol teams", justify="right")
    teams.add_column("ARV crews", justify="right")
    for t in p.built.teams:
        teams.add_row(t.slot, f"{t.officers:.0f}", str(t.patrol_teams), str(t.arv_crews))
    console.print(teams)
    names = {s.id: s.name for s in sc.sites}
    cov = Table(title=f"Top {top} sites by patrol coverage", show_edge=False)
    cov.add_column("slot")
    for r in range(top):
        cov.add_column(f"#{r + 1}")
    for slot in sc.slot_names:
        cov.add_row(slot, *(f"{names[sid]} {c:.0%}" for sid, c in p.top_sites(slot, n=top)))
    console.print(cov)
    indiff = p.indifferent_targets()
    shown = ", ".join(f"{names[s]} ({sl})" for s, sl in indiff[:8])
    more = f" and {len(indiff) - 8} more" if len(indiff) > 8 else ""
    console.print(f"Expected loss: [bold]{p.expected_loss:.2f}[/] casualty-equivalents per "
                  f"attack; the attacker is indifferent between {len(indiff)} targets: "
                  f"{shown}{more}.")
    console.print(p.summary())
    eq = p.equilibrium
    gap = "proven optimal" if eq.optimal else f"proven gap {eq.gap:.3g}"
    console.print(f"[dim]Model: {p.attacker_model} ({eq.method}, {gap}, {eq.seconds:.2f} s). "
                  + " ".join(p.notes) + "[/]")
    for path in written:
        console.print(f"wrote {path}")
