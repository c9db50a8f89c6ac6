"""``citywatch plan``: solve the deployment game for a scenario and explain it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from citywatch.cli._common import console, load, print_json
from citywatch.cli._run import run_long, writing
from citywatch.options import ARV_EVALUATIONS


def plan(
    scenario: Annotated[str, typer.Option(help="Embedded scenario name or scenario folder.")]
    = "london",
    threat: Annotated[str | None, typer.Option(
        help="Threat level: low, moderate, substantial, severe, critical.")] = None,
    officers: Annotated[int | None, typer.Option(
        help="Armed officers in the force (default: the scenario's).")] = None,
    attacker: Annotated[str, typer.Option(
        help="Attacker model: auto (= bayesian), bayesian, mixture or qr.")] = "auto",
    lam: Annotated[float | None, typer.Option("--lambda", help="Quantal-response rationality.")]
    = None,
    mip_nodes: Annotated[int, typer.Option(
        help="Work limit of the Bayesian solver: boxes of its level branch and bound (0: "
             "the profile-LP heuristic, with a proven gap; -1: solve to the proven "
             "optimum).")] = 2_000,
    time_limit: Annotated[float, typer.Option(
        help="Wall-clock safety net for the patrol solver, seconds (it normally stops at "
             "the proven optimum first).")] = 300.0,
    arv: Annotated[str, typer.Option(
        help="ARV posts: joint (with the patrols), sequential (MCLP first) or greedy.")]
    = "joint",
    arv_evaluations: Annotated[int, typer.Option(
        help="Work limit of the joint ARV search: placements evaluated (it stops at a "
             "local optimum first).")] = ARV_EVALUATIONS,
    arv_time_limit: Annotated[float, typer.Option(
        help="Wall-clock safety net for the joint ARV search, seconds.")] = 300.0,
    response_standard: Annotated[list[str] | None, typer.Option(
        help="ARV response standard every slot must meet, MINUTESm@SHARE% of people "
             "(100% = every site), e.g. 10m@90%; repeatable; 'none' for none "
             "(default: the scenario's, London 15m@100%).")] = None,
    optimise_shifts: Annotated[bool, typer.Option(
        "--optimise-shifts", help="Choose how many officers start each shift (8, 10 or "
        "12 hours on the hour, within the working-time rules) for the least expected "
        "casualties, and report the gain over the scenario's fixed pattern.")] = False,
    shift_lengths: Annotated[str, typer.Option(
        help="Shift lengths --optimise-shifts may use, hours, comma-separated.")]
    = "8,10,12",
    shift_evaluations: Annotated[int, typer.Option(
        help="Work limit of --optimise-shifts: shift patterns scored.")] = 400,
    top: Annotated[int, typer.Option(help="Sites listed per slot.")] = 5,
    json_out: Annotated[bool, typer.Option("--json", help="Print the full plan as JSON.")]
    = False,
    out: Annotated[Path | None, typer.Option(
        help="Write plan.json, coverage.csv, sites.geojson and zones.geojson here.")] = None,
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
        help="Seed recorded in the plan for its rosters and simulations; without it OS "
             "entropy is drawn and recorded.")] = None,
    beats: Annotated[bool, typer.Option(
        "--beats", help="Also plan walked beats (stops of 10-20 min, loops that fit the slot) "
                        "and report what walking costs; writes beats.geojson and beats.json "
                        "with --out.")] = False,
    beats_attacker: Annotated[str, typer.Option(
        help="Attacker model of the beat plan: mixture (proven within 0.1%) or bayesian "
             "(with its proven gap).")] = "mixture",
    beats_time_limit: Annotated[float, typer.Option(
        help="Seconds allowed for the beat solver (a safety net).")] = 240.0,
) -> None:
    """Plan where armed patrols stand, slot by slot (a Stackelberg security game)."""
    import numpy as np

    from citywatch.errors import ScenarioError
    from citywatch.options import PlanOptions, PolicyOptions, SolveLimits
    from citywatch.plan import write_plan
    from citywatch.planner import make_plan

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
    from citywatch.model.standards import parse_standards

    standards = (None if not response_standard else
                 parse_standards(response_standard, name="--response-standard"))
    lengths = _shift_lengths(shift_lengths)
    if shift_evaluations < 1:
        msg = f"`--shift-evaluations` must be >= 1, got {shift_evaluations}"
        raise ScenarioError(msg)
    options = PlanOptions(attacker=attacker, arv=arv, lam=lam, policy=policy,
                          limits=SolveLimits(mip_nodes=None if mip_nodes < 0 else mip_nodes,
                                             arv_evaluations=arv_evaluations,
                                             time_limit=time_limit,
                                             arv_time_limit=arv_time_limit,
                                             shift_evaluations=shift_evaluations),
                          response_standards=standards, optimise_shifts=optimise_shifts,
                          shift_lengths=lengths)
    if roster_days is not None and roster_days < 1:
        msg = f"`--roster-days` must be >= 1, got {roster_days}"
        raise ScenarioError(msg)
    p = run_long(lambda: make_plan(sc, options, seed=seed), what="plan:")
    with writing("plan"):
        written = write_plan(p, out) if out is not None else []
    beat_plan = None
    if beats:
        from citywatch.cli._common import scenario_folder
        from citywatch.schedule.beat_plan import (
            beats_for,
            price_of_beats,
            solve_beats,
            write_beat_plan,
        )

        def plan_beats() -> tuple[Any, dict[str, Any]]:
            candidates = beats_for(sc, folder=scenario_folder(scenario))
            bp = solve_beats(p.built.game, candidates, n_sites=len(sc.sites),
                             slot_minutes=[s.hours * 60.0 for s in sc.slots],
                             attacker=beats_attacker, time_limit=beats_time_limit)
            return bp, price_of_beats(p, bp)

        beat_plan, price = run_long(plan_beats, what="plan: beats:",
                                    nothing_written="the plan was written, no beats"
                                    if written else "nothing was written")
        if out is not None:
            with writing("beats"):
                written += write_beat_plan(beat_plan, p, price, out)
    if roster_days is not None:
        from citywatch.schedule import roster_from_plan
        from citywatch.schedule.export import export_roster

        assert p.seed is not None
        roster = run_long(lambda: roster_from_plan(
            p, days=roster_days, seed=np.random.default_rng(np.random.SeedSequence(p.seed)),
            beats=beat_plan is not None, beat_plan=beat_plan),
            what="roster:", nothing_written="the plan was written, no roster"
            if written else "nothing was written")
        with writing("roster"):
            written += export_roster(roster, (out or Path("plan")) / "roster")
    if json_out:
        data = p.to_dict()
        if beat_plan is not None:
            data["beats"] = {**beat_plan.to_dict(), "price": price}
        print_json(data)
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
        sites = " · ".join(f"{names[sid]} {c:.0%}" for sid, c in
                           p.top_sites(t.slot, n=top))
        table.add_row(t.slot, f"{t.officers:.0f}", str(t.patrol_teams), str(t.arv_crews),
                      sites)
    console.print(table)
    console.print(f"Expected casualties per attack: [bold]"
                  f"{p.expected_casualties_per_attack:.2f}[/] people killed or injured "
                  f"(each attack type best-responding, the {p.attacker_model} model); game "
                  f"value (defender utility, symbolic damage included): "
                  f"{p.defender_utility:.2f} casualty-equivalents. "
                  f"{_attack_sentence(p, names)}")
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
    if p.clock_limited:
        console.print("[yellow]A wall-clock safety net stopped a solve: this plan may "
                      "differ on another machine.[/]")
    console.print(f"[dim]Seed recorded for rosters and simulations: {p.seed}[/]")
    eq = p.equilibrium
    gap = "proven optimal" if eq.optimal else (
        f"proven gap {eq.gap:.3g} ({eq.relative_gap:.2%})" if np.isfinite(eq.gap) else
        "no proven gap")
    bound = f", bound: {eq.bound_source}" if eq.bound_source else ""
    console.print(f"[dim]Model: {p.attacker_model} ({eq.method}, {gap}{bound}, "
                  f"{eq.seconds:.2f} s). " + " ".join(p.notes) + "[/]")
    if p.arv_plan is not None:
        per_slot = "; ".join(f"{slot} {len(ids)} at {len(set(ids))}"
                             for slot, ids in p.arv_plan["arv_posts"].items())
        console.print(f"ARV standby (vehicles at posts): {per_slot}. The posts are listed "
                      "under `arv_posts` in --json and --out.")
    _print_response(p)
    if p.shift_optimisation is not None:
        _print_shifts(p)
    if beat_plan is not None:
        _print_beats(beat_plan, price)
    for path in written:
        console.print(f"wrote {path}")


def _shift_lengths(text: str) -> tuple[float, ...]:
    """``--shift-lengths`` ("8,10,12") as hours; a clear error naming the option."""
    from citywatch.errors import ScenarioError
    from citywatch.options import SHIFT_LENGTHS

    try:
        out = tuple(float(x) for x in text.split(","))
    except ValueError:
        out = ()
    if not out or any(x not in SHIFT_LENGTHS for x in out) or len(set(out)) != len(out):
        msg = f"`--shift-lengths` must be distinct hours among 8, 10 and 12, got {text!r}"
        raise ScenarioError(msg)
    return out


def _print_shifts(p: object) -> None:
    """Officers on duty per slot on the fixed and the optimised pattern, and the gain."""
    from citywatch.plan import Plan

    assert isinstance(p, Plan) and p.shift_optimisation is not None
    so = p.shift_optimisation
    table = Table(title="Shift optimisation: officers on duty per slot", show_edge=False)
    table.add_column("slot", no_wrap=True)
    table.add_column("fixed pattern", justify="right")
    table.add_column("optimised", justify="right")
    for slot, a, b in zip(p.scenario.slot_names, so.officers_before, so.officers_after,
                          strict=True):
        table.add_row(slot, f"{a:.0f}", f"{b:.0f}")
    console.print(table)
    starting = ", ".join(f"{k}: {v:g}" for k, v in so.starting.items())
    console.print(f"Officers starting each shift a day: {starting}.")
    console.print(f"Expected casualties per attack: {so.plan_before:.2f} on the fixed pattern, "
                  f"{so.plan_after:.2f} on the chosen one (gain {so.gain:.2f}"
                  + ("; the fixed pattern is kept" if so.kept_fixed else "")
                  + f"); {so.evaluations} patterns scored"
                  + ("" if so.finished else ", stopped at the work limit") + ".")


def _print_response(p: object) -> None:
    """Per slot: share of people within 5/8/10/15 minutes of armed help, the worst site."""
    from citywatch.plan import Plan

    assert isinstance(p, Plan)
    names = {s.id: s.name for s in p.scenario.sites}
    report = p.response_report()
    stds = ", ".join(str(x) for x in p.response_standards) or "none"
    table = Table(title=f"Armed response: share of people within 5/8/10/15 minutes of the "
                        f"call (expected, no patrol on site; standard {stds})",
                  show_edge=False)
    table.add_column("slot", no_wrap=True)
    for m in ("5", "8", "10", "15"):
        table.add_column(f"≤{m}", justify="right", no_wrap=True)
    table.add_column("worst site (minutes)", ratio=1, overflow="fold")
    for slot, rep in report.items():
        within = rep["within"]
        table.add_row(slot, *(f"{within[m]:.0%}" for m in ("5", "8", "10", "15")),
                      f"{names[rep['worst_site']]} ({rep['worst_minutes']:.1f})")
    console.print(table)


def _print_beats(beat_plan: Any, price: dict[str, Any]) -> None:
    """The price of walking beats, overall and per slot."""
    eq = beat_plan.equilibrium
    used = {b for s in range(len(beat_plan.budgets)) for b in beat_plan.marginals(s)}
    rel = eq.gap / max(abs(eq.defender_utility), 1e-12)
    console.print(f"[bold]Beats[/]: {len(beat_plan.beats)} candidate beats, {len(used)} used; "
                  f"solved for the {beat_plan.attacker_model} attacker in {eq.seconds:.1f} s "
                  f"({eq.method}, proven gap {eq.gap:.3g} = {rel:.2%}).")
    m, e = price["mixture"], price["each_type"]
    console.print(f"Price of beats: {m['beats']:.2f} against {m['unconstrained']:.2f} "
                  f"casualty-equivalents per attack for the mixture attacker (+{m['price']:.2f});"
                  f" with each attack type responding {e['beats']:.2f} against "
                  f"{e['unconstrained']:.2f} (+{e['price']:.2f}).")
    table = Table(title="Price of beats per slot (mixture attacker striking in that slot)",
                  show_edge=False)
    for col in ("slot", "beats", "unconstrained", "price", "presence per team"):
        table.add_column(col, justify="left" if col == "slot" else "right")
    for slot, row in price["per_slot"].items():
        table.add_row(slot, f"{row['beats']:.2f}", f"{row['unconstrained']:.2f}",
                      f"{row['price']:+.2f}", f"{price['presence_per_team'][slot]:.0%}")
    console.print(table)


def _attack_sentence(p: Any, names: dict[str, str]) -> str:
    """What the attacker does against the plan, in words that fit the attacker model."""
    import numpy as np

    eq = p.equilibrium
    if p.attacker_model == "qr" and eq.attack_distribution is not None:
        dist = np.asarray(eq.attack_distribution, dtype=np.float64)
        priors = np.asarray(p.built.game.priors, dtype=np.float64)
        mix = priors @ dist if dist.ndim == 2 else dist
        top = np.argsort(-mix, kind="stable")[:3]
        shown = "; ".join(f"{names[sid]} ({slot}) {mix[t]:.0%}" for t in top
                          for sid, slot in [p.built.target_label(int(t))])
        return (f"A quantal-response attacker chooses at random, likelier where it gains "
                f"more; its most likely targets: {shown}.")
    indiff = p.indifferent_targets()
    if len(indiff) == 1:
        sid, slot = indiff[0]
        return (f"The attacker's best target is {names[sid]} ({slot}); no other target is "
                f"as attractive to it.")
    by_site: dict[str, list[str]] = {}
    for sid, slot in indiff:
        by_site.setdefault(sid, []).append(slot)
    shown = "; ".join(f"{names[sid]} ({', '.join(slots)})"
                      for sid, slots in list(by_site.items())[:6])
    more = f"; and {len(by_site) - 6} more sites" if len(by_site) > 6 else ""
    return (f"The attacker is indifferent between {len(indiff)} (site, slot) targets: "
            f"{shown}{more}.")
