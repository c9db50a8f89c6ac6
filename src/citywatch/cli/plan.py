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
    = 15.0,
    arv: Annotated[str, typer.Option(
        help="ARV posts: joint (with the patrols), sequential (MCLP first) or greedy.")]
    = "joint",
    arv_time_limit: Annotated[float, typer.Option(help="Seconds for the joint ARV search.")]
    = 8.0,
    top: Annotated[int, typer.Option(help="Sites listed per slot.")] = 5,
    json_out: Annotated[bool, typer.Option("--json", help="Print the full plan as JSON.")]
    = False,
    out: Annotated[Path | None, typer.Option(
        help="Write plan.json, coverage.csv and sites.geojson into this folder.")] = None,
    max_site_coverage: Annotated[float | None, typer.Option(
        help="Policy: cap on any site's coverage in a slot (0..1).")] = None,
    zone_min_teams: Annotated[float | None, typer.Option(
        help="Policy: expected armed teams every borough gets in each slot, at least.")]
    = None,
    zone_max_share: Annotated[float | None, typer.Option(
        help="Policy: largest share of a slot's teams one borough may take (0..1).")] = None,
    require: Annotated[list[str] | None, typer.Option(
        help="Policy: SITE=COVERAGE, a site's minimum coverage in every slot (repeatable).")]
    = None,
    roster_days: Annotated[int | None, typer.Option(
        help="Also sample a roster for this many days into OUT/roster (default OUT=plan).")]
    = None,
    seed: Annotated[int | None, typer.Option(
        help="Roster seed for drills and tests; without it rosters draw OS entropy.")] = None,
) -> None:
    """Plan where armed patrols stand, slot by slot (a Stackelberg security game)."""
    from citywatch.errors import ScenarioError
    from citywatch.plan import PolicyOptions, make_plan, write_plan

    sc = load(scenario, threat=threat, officers=officers)
    if top < 1:
        msg = f"`--top` must be >= 1, got {top}"
        raise ScenarioError(msg)
    required = []
    for item in require or []:
        site, sep, value = item.partition("=")
        try:
            required.append((site, float(value)))
        except ValueError:
            sep = ""
        if not sep:
            msg = f"`--require` must look like SITE=COVERAGE, got {item!r}"
            raise ScenarioError(msg)
    policy = PolicyOptions(max_site_coverage, zone_min_teams, zone_max_share, tuple(required))
    p = make_plan(sc, attacker=attacker, time_limit=time_limit, lam=lam, policy=policy,
                  arv=arv, arv_time_limit=arv_time_limit)
    written = write_plan(p, out) if out is not None else []
    if roster_days is not None:
        from citywatch.schedule import roster_from_plan
        from citywatch.schedule.export import export_roster

        if roster_days < 1:
            msg = f"`--roster-days` must be >= 1, got {roster_days}"
            raise ScenarioError(msg)
        roster = roster_from_plan(p, days=roster_days, seed=seed)
        written += export_roster(roster, (out or Path("plan")) / "roster")
    if json_out:
        print_json(p.to_dict())
        return
    posture = sc.postures[sc.threat_level]
    console.print(f"[bold]{sc.name}[/] — threat level [bold]{sc.threat_level.name}[/] "
                  f"({sc.threat_level.meaning}); {sc.force.officers} armed officers, "
                  f"{posture.deployed_share:.0%} of street officers deployed.")
    names = {s.id: s.name for s in sc.sites}
    table = Table(title=f"Teams on duty and the {top} most covered sites per slot",
                  show_edge=False, show_lines=True)
    table.add_column("slot", no_wrap=True)
    table.add_column("officers", justify="right")
    table.add_column("patrols", justify="right")
    table.add_column("ARVs", justify="right")
    table.add_column("most covered sites (share of the slot a patrol is there)")
    for t in p.built.teams:
        sites = " · ".join(f"{_short(names[sid])} {c:.0%}" for sid, c in
                           p.top_sites(t.slot, n=top))
        table.add_row(t.slot, f"{t.officers:.0f}", str(t.patrol_teams), str(t.arv_crews),
                      sites)
    console.print(table)
    indiff = p.indifferent_targets()
    by_site: dict[str, list[str]] = {}
    for sid, slot in indiff:
        by_site.setdefault(sid, []).append(slot)
    shown = "; ".join(f"{names[sid]} ({', '.join(slots)})"
                      for sid, slots in list(by_site.items())[:6])
    more = f"; and {len(by_site) - 6} more sites" if len(by_site) > 6 else ""
    console.print(f"Expected loss: [bold]{p.expected_loss:.2f}[/] casualty-equivalents per "
                  f"attack. The attacker is indifferent between {len(indiff)} (site, slot) "
                  f"targets: {shown}{more}.")
    console.print(p.summary())
    from citywatch.plausibility import check_plan

    for finding in check_plan(p):
        console.print(f"[yellow]Check:[/] {finding.text}")
    if p.policy is not None:
        pol = p.policy
        console.print(f"Policy cost: {pol.total_cost:.3g} casualty-equivalents per attack "
                      f"against the mixture attacker; "
                      + (", ".join(f"{fam} {cost:.3g}" for fam, cost in pol.costs.items())
                         or "no constraint binds") + ".")
    eq = p.equilibrium
    gap = "proven optimal" if eq.optimal else f"proven gap {eq.gap:.3g}"
    console.print(f"[dim]Model: {p.attacker_model} ({eq.method}, {gap}, {eq.seconds:.2f} s). "
                  + " ".join(p.notes) + "[/]")
    if p.arv_plan is not None:
        per_slot = "; ".join(f"{slot} {len(ids)} at {len(set(ids))}"
                             for slot, ids in p.arv_plan["arv_posts"].items())
        console.print(f"ARV standby (vehicles at posts): {per_slot}. The posts are listed "
                      "under `arv_posts` in --json and --out.")
    for path in written:
        console.print(f"wrote {path}")


def _short(name: str, width: int = 28) -> str:
    """A site name cut to `width` characters for tables."""
    return name if len(name) <= width else name[: width - 1].rstrip() + "…"
