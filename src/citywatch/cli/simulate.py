"""``citywatch simulate | compare | whatif | capacity | sweep | report``: evaluate plans."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from citywatch.cli._common import console, err_console, load, print_json

if TYPE_CHECKING:
    from citywatch.model.scenario import Scenario
    from citywatch.plan import Plan
    from citywatch.sim.results import Estimate, Metrics

Scn = Annotated[str, typer.Option(help="Embedded scenario name or scenario folder.")]
Threat = Annotated[str | None, typer.Option(
    help="Threat level: low, moderate, substantial, severe, critical.")]
Officers = Annotated[int | None, typer.Option(
    help="Armed officers in the force (default: the scenario's).")]
Attacks = Annotated[int, typer.Option("--attacks", "-n", help="Attacks to simulate per plan.")]
SeedOpt = Annotated[int | None, typer.Option(
    help="Seed for reproducible results; omit for fresh randomness.")]
Planner = Annotated[str, typer.Option(
    "--attacker", help="Attacker model the planner solves for when it solves: auto "
    "(= bayesian, the default plan), bayesian, mixture (fast) or qr.")]
Targeting = Annotated[str, typer.Option(
    help="How simulated attackers choose targets: plan (as the plan's attacker model "
         "assumes: estimates its expected casualties), best (best response to "
         "coverage), qr, people, fixed.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextmanager
def _progress(enabled: bool, what: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar with an ETA on stderr, or nothing."""
    if not enabled:
        yield None
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn(what), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=err_console,
                  transient=True) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _pm(est: Estimate, fmt: str) -> str:
    """``value ±half-width`` of a 95% interval (quantile intervals may be asymmetric)."""
    half = max(est.value - est.low, est.high - est.value)
    return f"{est.value:{fmt}} ±{half:{fmt}}"


def _metrics_table(title: str, rows: dict[str, Metrics], *, label: str) -> Table:
    t = Table(title=title, show_edge=False)
    for col in (label, "attacks", "casualties (sim.)", "interdicted", "median min", "p90 min",
                "≤8 min"):
        t.add_column(col, justify="left" if col == label else "right")
    for name, m in rows.items():
        t.add_row(name, f"{m.attacks:,}", _pm(m.casualties, ".2f"),
                  _pm(m.interdiction, ".3f"), _pm(m.median_minutes, ".1f"),
                  _pm(m.p90_minutes, ".1f"), f"{m.within[8.0].value:.1%}"
                  if 8.0 in m.within else "")
    return t


def _plan_for(spec: str, sc: Scenario, *, attacker: str, k: int | None,
              built_cache: dict[str, object]) -> Plan:
    """A plan from a name (optimal or a baseline) or a plan folder / plan.json.

    ``optimal`` is solved with ``PlanOptions(attacker=attacker)``: with the default
    attacker, the same plan as ``citywatch plan``; a folder is loaded, not re-solved.
    """
    from citywatch.model.payoffs import build_game
    from citywatch.options import PlanOptions
    from citywatch.plan import load_plan
    from citywatch.planner import make_plan
    from citywatch.sim.baselines import BASELINES, baseline

    options = PlanOptions(attacker=attacker)
    if spec == "optimal":
        return make_plan(sc, options)
    if spec in BASELINES:
        if "built" not in built_cache:
            built_cache["built"] = build_game(sc)
        return baseline(spec, sc, k=k, options=options,
                        built=built_cache["built"])  # type: ignore[arg-type]
    if Path(spec).exists():
        return load_plan(spec, sc)
    from citywatch.errors import ScenarioError

    msg = (f"`PLAN` must be optimal, {', '.join(BASELINES)} or a plan folder from "
           f"`citywatch plan --out`, got {spec!r}")
    raise ScenarioError(msg)


def simulate(
    scenario: Scn = "london",
    threat: Threat = None,
    officers: Officers = None,
    plan_path: Annotated[Path | None, typer.Option(
        "--plan", help="Plan folder from `citywatch plan --out` (default: solve now).")] = None,
    attacker: Planner = "auto",
    targeting: Targeting = "plan",
    site: Annotated[str | None, typer.Option(help="Target site for --targeting fixed.")]
    = None,
    slot: Annotated[str | None, typer.Option(help="Slot for --targeting fixed.")] = None,
    lam: Annotated[float | None, typer.Option(
        "--lambda", help="Quantal-response rationality for --targeting qr.")] = None,
    attacks: Attacks = 1_000_000,
    seed: SeedOpt = None,
    rosters: Annotated[int | None, typer.Option(
        help="Read presence from this many sampled rosters instead of coverage.")] = None,
    dispatch_sigma: Annotated[float | None, typer.Option(
        help="Log-scale spread of the dispatch delay (default: the scenario's, which the "
             "plan's expected casualties use; another value simulates another response).")]
    = None,
    travel_sigma: Annotated[float | None, typer.Option(
        help="Log-scale spread of travel time (default: the scenario's).")] = None,
    by: Annotated[str, typer.Option(help="Breakdown table: type, slot, site or none.")]
    = "type",
    json_out: JsonOut = False,
) -> None:
    """Simulate attacks against a plan: interdiction, time to armed help, casualties."""
    from citywatch.errors import ScenarioError
    from citywatch.options import PlanOptions
    from citywatch.plan import load_plan
    from citywatch.planner import make_plan
    from citywatch.sim.model import Spread
    from citywatch.sim.results import casualties_label
    from citywatch.sim.simulate import simulate as run

    if by not in ("type", "slot", "site", "none"):
        msg = f"`--by` must be type, slot, site or none, got {by!r}"
        raise ScenarioError(msg)
    sc = load(scenario, threat=threat, officers=officers)
    p = load_plan(plan_path, sc) if plan_path is not None else make_plan(
        sc, PlanOptions(attacker=attacker))
    with _progress(not json_out, "simulating") as progress:
        r = run(p, n=attacks, seed=seed, targeting=targeting, lam=lam, site=site, slot=slot,
                spread=None if dispatch_sigma is None and travel_sigma is None else Spread(
                    sc.travel.dispatch_sigma if dispatch_sigma is None else dispatch_sigma,
                    sc.travel.travel_sigma if travel_sigma is None else travel_sigma),
                rosters=rosters,
                progress=progress, interruptible=True)
    if json_out:
        print_json(r.to_dict())
        return
    o = r.overall
    console.print(f"[bold]{sc.name}[/] — {r.attacks:,} simulated attacks "
                  f"(targeting: {targeting}) against the {p.attacker_model} plan "
                  f"({p.equilibrium.method}); 95% intervals in brackets.")
    console.print(f"Expected casualties per attack: [bold]{o.casualties:.2f}[/] "
                  f"({casualties_label(targeting)}); the plan's own figure: "
                  f"{p.expected_casualties_per_attack:.2f}")
    console.print(f"Interdicted by a team on site: {o.interdiction:.3f}; team on site: "
                  f"{o.on_site:.3f}")
    console.print(f"Minutes from first call to armed intervention: median "
                  f"{o.median_minutes:.1f}, 90th percentile {o.p90_minutes:.1f}, mean "
                  f"{o.mean_minutes:.1f}")
    within = ", ".join(f"{x:g} min {e.value:.1%}" for x, e in o.within.items())
    console.print(f"Attacks with armed help within: {within}")
    if r.people_within:
        people = ", ".join(f"{x:g} min {e.value:.1%}" for x, e in r.people_within.items())
        console.print(f"People within: {people}")
    if by != "none":
        rows = {"type": r.by_type, "slot": r.by_slot, "site": r.by_site}[by]
        console.print(_metrics_table(f"By {by}", rows, label=by))
    for note in r.notes:
        console.print(f"[yellow]{note}[/]")
    console.print(_seed_line(r.seed))


def _seed_line(seed: dict[str, object]) -> str:
    """How to reproduce a simulation: its root seed (drawn from OS entropy if not given)."""
    if not seed.get("spawn_key"):
        return f"Seed {seed.get('entropy')} (`--seed {seed.get('entropy')}` reproduces this run)."
    return f"Seed: entropy {seed.get('entropy')}, spawn key {seed.get('spawn_key')}."


def compare(
    plans: Annotated[list[str] | None, typer.Argument(
        help="Plans: optimal, uniform, footfall, static, pre-2016, or a plan folder. The "
             "first is the reference.")] = None,
    scenario: Scn = "london",
    threat: Threat = None,
    officers: Officers = None,
    attacker: Planner = "auto",
    k: Annotated[int | None, typer.Option(
        help="Sites guarded by the static baseline (default: all teams).")] = None,
    attacks: Attacks = 1_000_000,
    seed: SeedOpt = None,
    alpha: Annotated[float, typer.Option(help="Family-wise significance level.")] = 0.05,
    json_out: JsonOut = False,
) -> None:
    """Compare plans side by side, with intervals and significance tests."""
    from citywatch.sim.baselines import COMPARED_METRICS
    from citywatch.sim.baselines import compare as run

    sc = load(scenario, threat=threat, officers=officers)
    specs = plans or (["optimal", "uniform", "footfall", "static"]
                      + (["pre-2016"] if sc.name == "London" else []))
    cache: dict[str, object] = {}
    named = {spec: _plan_for(spec, sc, attacker=attacker, k=k, built_cache=cache)
             for spec in specs}
    c = run(named, n=attacks, seed=seed, alpha=alpha)
    if json_out:
        print_json(c.to_dict())
        return
    console.print(_metrics_table(f"{sc.name}: {attacks:,} simulated attacks per plan "
                                 f"(95% intervals)", {k: v.overall for k, v in
                                                      c.results.items()}, label="plan"))
    labels = {"casualties": "casualties/attack", "interdiction": "interdiction",
              "mean_minutes": "mean min", "within_8": "≤8 min"}
    labels = {k: labels.get(k, k) for k, _ in COMPARED_METRICS}
    t = Table(title=f"Against {c.reference} (Holm-adjusted, alpha {alpha:g})", show_edge=False)
    for col in ("plan", "metric", "difference", "p (adjusted)", "significant"):
        t.add_column(col)
    for d in c.differences:
        t.add_row(d.plan, labels[d.metric], f"{d.difference:+.3f}", f"{d.p_adjusted:.2g}",
                  "yes" if d.significant else "no")
    console.print(t)


def whatif(
    scenario: Scn = "london",
    add_officers: Annotated[int, typer.Option(help="Armed officers added (negative removes).")]
    = 0,
    threat: Annotated[str | None, typer.Option(
        help="Threat level after the change: low ... critical.")] = None,
    close_site: Annotated[list[str] | None, typer.Option(
        help="Close a site (repeatable).")] = None,
    event: Annotated[list[str] | None, typer.Option(
        help="An event: 'site,slot,people' (repeatable).")] = None,
    attacker: Planner = "auto",
    attacks: Attacks = 1_000_000,
    seed: SeedOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Re-plan after a change (officers, threat, closures, events) and report the change."""
    from citywatch.options import PlanOptions
    from citywatch.sim.whatif import parse_event
    from citywatch.sim.whatif import whatif as run

    sc = load(scenario)
    events = [parse_event(e) for e in event or []]
    from citywatch.cli._run import run_long

    w = run_long(lambda: run(sc, add_officers=add_officers, threat=threat,
                             close_sites=close_site or [], events=events,
                             options=PlanOptions(attacker=attacker), n=attacks, seed=seed),
                 what="whatif:")
    data = w.to_dict()
    if json_out:
        print_json(data)
        return
    b, a = data["before"], data["after"]
    console.print(f"[bold]{sc.name}[/] — what if: {', '.join(w.changes) or 'no change'}")
    t = Table(show_edge=False)
    for col in ("", "before", "after", "change"):
        t.add_column(col, justify="right" if col else "left")

    def row(label: str, key: str, fmt: str = ".2f") -> None:
        t.add_row(label, f"{b[key]:{fmt}} [{b[key + '_ci'][0]:{fmt}}, {b[key + '_ci'][1]:{fmt}}]",
                  f"{a[key]:{fmt}} [{a[key + '_ci'][0]:{fmt}}, {a[key + '_ci'][1]:{fmt}}]",
                  f"{a[key] - b[key]:+{fmt}}")

    row("casualties per attack (simulated)", "expected_casualties_per_attack")
    for label, key in (("casualties per attack (plan)", "plan_expected_casualties_per_attack"),
                       ("game value (casualty-equivalents)", "plan_defender_utility")):
        t.add_row(label, f"{b[key]:.2f}", f"{a[key]:.2f}", f"{a[key] - b[key]:+.2f}")
    row("median min to armed help", "median_minutes_to_armed_intervention")
    row("p90 min to armed help", "p90_minutes_to_armed_intervention")
    row("interdiction", "interdiction_probability", ".3f")
    for slot, teams in b["teams_on_duty"].items():
        after = a["teams_on_duty"].get(slot, 0)
        t.add_row(f"patrol teams {slot}", str(teams), str(after), f"{after - teams:+d}")
    for slot, crews in b.get("arv_crews_on_duty", {}).items():
        after = a.get("arv_crews_on_duty", {}).get(slot, 0)
        t.add_row(f"ARV crews {slot}", str(crews), str(after), f"{after - crews:+d}")
    console.print(t)
    names = {x.id: x.name for x in sc.sites}
    busy = Table(title="Coverage of the busiest sites (mean over slots)", show_edge=False)
    for col in ("site", "before", "after"):
        busy.add_column(col, justify="left" if col == "site" else "right")
    for sid, cov in b["busiest_sites_coverage"].items():
        after_cov = a["busiest_sites_coverage"].get(sid)
        busy.add_row(names.get(sid, sid), f"{sum(cov.values()) / len(cov):.0%}",
                     "closed" if after_cov is None else
                     f"{sum(after_cov.values()) / len(after_cov):.0%}")
    console.print(busy)


def capacity(
    scenario: Scn = "london",
    threat: Threat = None,
    officers: Annotated[str, typer.Option(
        help="Officers added: start:stop:step (stop included) or a,b,c.")] = "0:1200:100",
    attacker: Annotated[str, typer.Option(
        "--attacker", help="Attacker model each point is solved for (default mixture with "
        "greedy ARV posts: a curve re-plans many times).")] = "mixture",
    attacks: Attacks = 500_000,
    seed: SeedOpt = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the plot here (.png or .svg; needs citywatch[plot]).")] = None,
    json_out: JsonOut = False,
) -> None:
    """Expected loss and response time against officers added, as a table and a plot."""
    import dataclasses

    from citywatch.options import QUICK
    from citywatch.sim.whatif import capacity as run
    from citywatch.sim.whatif import parse_range, plot_capacity

    sc = load(scenario, threat=threat)
    added = parse_range(officers)
    if out is not None:
        from citywatch.errors import require

        require("matplotlib", "plot")  # fail before the long run, not after
    with _progress(not json_out, "re-planning") as progress:
        curve = run(sc, added=added, options=dataclasses.replace(QUICK, attacker=attacker),
                    n=attacks, seed=seed,
                    progress=progress, interruptible=True)
    if not curve.points:
        raise KeyboardInterrupt
    written = plot_capacity(curve, out) if out is not None else None
    if json_out:
        data = curve.to_dict()
        data["plot"] = None if written is None else str(written)
        print_json(data)
        return
    t = Table(title=f"{sc.name}: what more armed officers buy (95% intervals)",
              show_edge=False)
    for col in ("added", "officers", "ARV crew-slots", "casualties/attack", "median min",
                "p90 min", "Δ casualties per 100"):
        t.add_column(col, justify="right")
    marg = [None, *curve.marginal()]
    for p, m in zip(curve.points, marg, strict=True):
        t.add_row(f"{p.added:+d}", f"{p.officers:,}", str(p.arv_crew_slots),
                  f"{p.casualties:.2f}", f"{p.median_minutes:.1f}", f"{p.p90_minutes:.1f}",
                  "" if m is None else f"{m['casualties_per_100']:+.2f}")
    console.print(t)
    if len(curve.points) < len(added):
        console.print(f"[yellow]interrupted: {len(curve.points)} of {len(added)} points[/]")
    if written is not None:
        console.print(f"wrote {written}")


def sweep(
    spec: Annotated[Path, typer.Argument(
        help="Sweep spec (.toml or .json): scenario, attacks, seeds, changes.")],
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address tcp://HOST:PORT (default: start a local cluster).")]
    = None,
    workers: Annotated[int | None, typer.Option(
        help="Local cluster workers (default: one per CPU).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write all results as JSON here (also after Ctrl-C: what finished).")] = None,
    resume: Annotated[bool, typer.Option(
        help="Reuse the results already in --out and run only the missing tasks.")] = False,
    json_out: JsonOut = False,
) -> None:
    """Run many what-ifs × seeds on Dask distributed (citywatch[dist])."""
    import json

    from citywatch.dist import connect, load_spec
    from citywatch.dist import sweep as run
    from citywatch.errors import ScenarioError

    s = load_spec(spec)
    done: list[dict[str, object]] = []
    if resume:
        if out is None or not out.exists():
            msg = "`--resume` needs an existing `--out` file from an earlier run"
            raise ScenarioError(msg)
        done = json.loads(out.read_text(encoding="utf-8"))
    n_tasks = len(s.tasks())
    with connect(scheduler, workers=workers) as client, \
            _progress(not json_out, f"{n_tasks} tasks") as progress:
        results = run(s, client=client, progress=progress, done=done, interruptible=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if json_out:
        print_json(results)
        return
    t = Table(title=f"Sweep {spec.name}: {len(results)} of {n_tasks} tasks",
              show_edge=False)
    for col in ("change", "seed", "casualties/attack", "median min", "p90 min"):
        t.add_column(col, justify="left" if col == "change" else "right")
    for r in results:
        t.add_row(str(r["label"]), str(r["seed"]),
                  f"{r['expected_casualties_per_attack']:.2f}",
                  f"{r['median_minutes_to_armed_intervention']:.1f}",
                  f"{r['p90_minutes_to_armed_intervention']:.1f}")
    console.print(t)
    if len(results) < n_tasks:
        console.print(f"[yellow]interrupted: {len(results)} of {n_tasks} tasks done"
                      + (f"; rerun with --resume --out {out}" if out else "") + "[/]")
    if out is not None:
        console.print(f"wrote {out}")


def report(
    plan_spec: Annotated[str, typer.Argument(
        metavar="PLAN", help="optimal (solve now), a baseline name, or a plan folder.")]
    = "optimal",
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    scenario: Scn = "london",
    threat: Threat = None,
    officers: Officers = None,
    attacker: Planner = "auto",
    attacks: Attacks = 1_000_000,
    seed: SeedOpt = None,
    add_officers: Annotated[int, typer.Option(
        help="What-if section: officers added (0 skips it).")] = 600,
    capacity_range: Annotated[str | None, typer.Option(
        "--capacity", help="Capacity section: officers added, start:stop:step "
        "(e.g. 0:1200:200); omitted skips it.")] = None,
    slot: Annotated[str | None, typer.Option(
        help="Slot shown on the map (default: the busiest).")] = None,
) -> None:
    """Write one self-contained HTML report (works offline), plus plots as PNG."""
    import dataclasses

    from citywatch.options import QUICK
    from citywatch.sim.report import ReportParts, write_report
    from citywatch.sim.simulate import simulate as run
    from citywatch.sim.whatif import capacity as run_capacity
    from citywatch.sim.whatif import parse_range
    from citywatch.sim.whatif import whatif as run_whatif

    sc = load(scenario, threat=threat, officers=officers)
    from citywatch.cli._run import run_long, writing

    if slot is not None:
        sc.slot_index(slot)
    p = run_long(lambda: _plan_for(plan_spec, sc, attacker=attacker, k=None, built_cache={}),
                 what="report: plan:")
    with _progress(True, "simulating") as progress:
        result = run(p, n=attacks, seed=seed, progress=progress)
    w = (run_long(lambda: run_whatif(
        sc, add_officers=add_officers, options=p.options, n=attacks // 2, seed=seed,
        before=p if plan_spec == "optimal" or Path(plan_spec).exists() else None),
        what="report: what-if:",
        nothing_written="the plan and simulation are done; nothing was written")
        if add_officers else None)
    curve = None
    if capacity_range is not None:
        with _progress(True, "capacity") as progress:
            curve = run_capacity(sc, added=parse_range(capacity_range),
                                 options=dataclasses.replace(QUICK, attacker=attacker),
                                 n=attacks // 4, seed=seed, progress=progress)
    with writing("report"):
        written = write_report(p, out, ReportParts(result, w, curve, slot))
    for path in written:
        console.print(f"wrote {path}")
