"""``citywatch scenario``: export, validate and explain scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citywatch.cli._common import console, err_console, load
from citywatch.errors import ScenarioError

app = typer.Typer(help="Export, validate and explain scenarios.", no_args_is_help=True)


@app.command()
def export(
    name: Annotated[str, typer.Argument(help="Embedded scenario to export (london).")],
    out: Annotated[Path, typer.Option(help="Folder to write.")],
) -> None:
    """Write an embedded scenario as an editable folder (scenario.toml + CSV tables)."""
    from citywatch.model.io import save_scenario

    sc = load(name)
    folder = save_scenario(sc, out)
    console.print(f"wrote {sc.name} ({len(sc.sites)} sites, {len(sc.zones)} zones, "
                  f"{len(sc.standby)} standby points) to {folder}")


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="Scenario folder or scenario.toml.")],
) -> None:
    """Check a scenario folder and list every problem (exit status 2 if any)."""
    from citywatch.model.io import load_scenario

    try:
        sc = load_scenario(path)
    except ScenarioError as err:
        problems = err.problems or []
        err_console.print(f"[bold red]invalid:[/] {err}", soft_wrap=True)
        for p in problems:
            err_console.print(f"  {p}", soft_wrap=True, markup=False)
        raise SystemExit(2) from None
    console.print(f"ok: {sc.name} v{sc.version}: {len(sc.slots)} slots, {len(sc.sites)} "
                  f"sites, {len(sc.zones)} zones, {len(sc.standby)} standby points, "
                  f"{len(sc.attackers)} attacker types")
    from citywatch.model.zones import share_inside, zone_mismatches

    outside = zone_mismatches(sc)
    if any(z.polygon is not None for z in sc.zones):
        console.print(f"{share_inside(sc):.1%} of the sites lie inside their own zone's "
                      f"boundary" + (":" if outside else "."))
    for m in outside:
        where = f"in {m.found_in}" if m.found_in else "in no zone"
        console.print(f"  note: {m.table} {m.id} ({m.name}) is assigned to {m.zone_id} but "
                      f"lies {where}, {m.distance_m:,.0f} m outside its boundary",
                      markup=False, soft_wrap=True)


@app.command()
def explain(
    site: Annotated[str, typer.Argument(help="Site id, e.g. oxford_circus.")],
    scenario: Annotated[str, typer.Option(help="Embedded scenario name or folder.")]
    = "london",
    threat: Annotated[str | None, typer.Option(help="Threat level.")] = None,
    plan: Annotated[Path | None, typer.Option(
        help="A plan.json (or the folder `plan --out` wrote) whose ARV posts to use; "
             "default: the default plan's posts (the joint ARV search).")] = None,
) -> None:
    """Show how a site's payoffs arise: people, response time, casualties per attack type.

    Response times are those of the plan's own ARV posts.
    """
    from citywatch.model.payoffs import build_game, explain_site

    sc = load(scenario, threat=threat)
    sc.site(site)  # a clear error before any solving
    posts, source = _plan_posts(sc, plan)
    ex = explain_site(sc, site, built=build_game(sc, arv_posts=posts))
    console.print(f"[dim]ARV posts: {source}.[/]")
    if ex.protection:
        console.print("[bold]Armed officers on site[/]: " + "; ".join(ex.protection)
                      + f" — an attack there is met in {sc.payoffs.on_site_intervention_min:g}"
                        " min, so patrols are not needed in those slots.")
    console.print(f"[bold]{ex.name}[/] ({ex.site_id}) — {ex.category} in {ex.zone}; "
                  f"hardening {ex.hardening:.2f}, symbolic value {ex.symbolic_value:g}")
    t = Table(title="Per slot (payoffs prior-weighted over the attack types)", show_edge=False)
    for col in ("slot", "people", "ARV response (min)", "nearest ARV post",
                "defender covered / uncovered", "attacker covered / uncovered"):
        t.add_column(col, justify="left" if col in ("slot", "nearest ARV post") else "right")
    for s, slot in enumerate(ex.slots):
        t.add_row(slot, f"{ex.people[s]:,.0f}", f"{ex.response_minutes[s]:.1f}",
                  ex.nearest_post[s],
                  f"{ex.defender_covered[s]:.1f} / {ex.defender_uncovered[s]:.1f}",
                  f"{ex.attacker_covered[s]:.1f} / {ex.attacker_uncovered[s]:.1f}")
    console.print(t)
    c = Table(title="Casualties if armed officers are on site / arrive by ARV", show_edge=False)
    c.add_column("attack type")
    for slot in ex.slots:
        c.add_column(slot, justify="right")
    for k, attacker in enumerate(sc.attackers):
        c.add_row(attacker.id, *(f"{ex.casualties_covered[k][s]:.1f} / "
                                 f"{ex.casualties_uncovered[k][s]:.1f}"
                                 for s in range(len(ex.slots))))
    console.print(c)
    console.print("Casualties K(T) = min(cap × people, first-minute + rate × T) × f, with "
                  "f = 1 − hardening effect × hardening (f also scales the symbolic value); "
                  "on-site armed officers intervene in "
                  f"{sc.payoffs.on_site_intervention_min:g} min, otherwise after dispatch "
                  f"({sc.travel.dispatch_delay_min:g} min) + travel of the nearest available "
                  f"ARV + engagement ({sc.travel.engage_min:g} min). Payoffs are prior-weighted "
                  "over the attack types; `scenario.toml` holds every parameter.")


def _plan_posts(sc: object, plan: Path | None) -> tuple[tuple[tuple[int, ...], ...], str]:
    """The ARV posts per slot of a stored plan, or of the default plan's joint search."""
    import json

    from citywatch.model.scenario import Scenario

    assert isinstance(sc, Scenario)
    if plan is None:
        from citywatch.planner import plan_arv_posts

        posts, _ = plan_arv_posts(sc)   # exactly the default plan's (`citywatch plan`)
        return posts, "the default plan's (joint ARV search)"
    path = plan / "plan.json" if plan.is_dir() else plan
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        by_slot = data["arv_posts"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        msg = f"`--plan` {str(plan)!r} is not a readable plan.json with arv_posts ({err})"
        raise ScenarioError(msg) from None
    ids = [p.id for p in sc.standby]
    try:
        posts = tuple(tuple(ids.index(j) for j in by_slot[slot]) for slot in sc.slot_names)
    except (KeyError, ValueError) as err:
        msg = f"`--plan` {str(plan)!r} does not fit scenario {sc.name!r}: {err}"
        raise ScenarioError(msg) from None
    return posts, f"from {path}"
