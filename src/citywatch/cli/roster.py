"""``citywatch roster``: sample named teams' missions from the plan and export them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from citywatch.cli._common import console, load
from citywatch.errors import GameError
from citywatch.schedule.overrides import Forbid, Pin

#: Days of roster needed before the CLI warns about routine-looking sites.
ROUTINE_MIN_DAYS = 28
#: Predictability above which a visited site is reported as routine.
ROUTINE_SCORE = 0.5


def parse_overrides(pins: list[str], forbids: list[str]) -> list[Pin | Forbid]:
    """Parse ``TEAM:SITE:DAY[:SLOT]`` pins and ``SITE:DAY[:SLOT]`` forbids (DAY: index or date)."""

    def day(text: str) -> int | date:
        return date.fromisoformat(text) if "-" in text else int(text)

    out: list[Pin | Forbid] = []
    for raw in pins:
        parts = raw.split(":")
        if len(parts) not in (3, 4):
            msg = f"`--pin` must be TEAM:SITE:DAY[:SLOT], got {raw!r}"
            raise GameError(msg)
        out.append(Pin(parts[0], parts[1], day(parts[2]), parts[3] if len(parts) == 4 else None))
    for raw in forbids:
        parts = raw.split(":")
        if len(parts) not in (2, 3):
            msg = f"`--forbid` must be SITE:DAY[:SLOT], got {raw!r}"
            raise GameError(msg)
        out.append(Forbid(parts[0], day(parts[1]), parts[2] if len(parts) == 3 else None))
    return out


def roster(
    scenario: Annotated[str, typer.Option(help="Embedded scenario name or scenario folder.")]
    = "london",
    days: Annotated[int, typer.Option(help="Days to roster.")] = 7,
    seed: Annotated[int | None, typer.Option(
        help="Seed for a reproducible roster (drills, tests); omit for OS entropy.")] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("roster"),
    format: Annotated[str, typer.Option(  # noqa: A002 - the option the issue names
        help="Comma-separated: csv, geojson, ics, html.")] = "csv,geojson,ics,html",
    start: Annotated[str | None, typer.Option(
        help="First day, YYYY-MM-DD (default tomorrow, local time).")] = None,
    threat: Annotated[str | None, typer.Option(help="Threat level override.")] = None,
    officers: Annotated[int | None, typer.Option(help="Armed officers in the force.")] = None,
    plan_json: Annotated[Path | None, typer.Option(
        "--plan", help="Sample from this plan (folder or plan.json from `citywatch plan "
                       "--out`) instead of solving again; with --beats, from the beats.json "
                       "beside it.")] = None,
    attacker: Annotated[str, typer.Option(
        help="Attacker model when solving: auto, bayesian, mixture or qr.")] = "auto",
    time_limit: Annotated[float, typer.Option(help="Seconds allowed for each solver.")] = 30.0,
    beats: Annotated[bool, typer.Option(
        help="Walk beats of nearby sites (schedule-constrained game) instead of one site "
             "per team.")] = False,
    pin: Annotated[list[str] | None, typer.Option(
        help="Pin a team to a site: TEAM:SITE:DAY[:SLOT] (repeatable).")] = None,
    forbid: Annotated[list[str] | None, typer.Option(
        help="Keep teams away from a site: SITE:DAY[:SLOT] (repeatable).")] = None,
) -> None:
    """Sample a roster from the plan and write roster.csv, coverage.csv and the exports."""
    from citywatch.options import PlanOptions
    from citywatch.plan import load_plan
    from citywatch.planner import make_plan
    from citywatch.schedule.export import FORMATS, export_roster
    from citywatch.schedule.predictability import predictability
    from citywatch.cli._run import run_long, writing
    from citywatch.schedule.roster import Roster, roster_from_plan

    formats = [f.strip().lower() for f in format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        msg = f"`--format` must be among {', '.join(FORMATS)}, got {', '.join(unknown)}"
        raise GameError(msg)
    first = date.fromisoformat(start) if start else None
    sc = load(scenario, threat=threat, officers=officers)
    overrides = parse_overrides(pin or [], forbid or [])
    if plan_json is not None and beats:
        import json

        from citywatch.errors import ScenarioError
        from citywatch.schedule.beat_plan import BeatPlan
        from citywatch.schedule.roster import make_beat_roster

        load_plan(plan_json, sc)  # the same scenario, threat level and game
        folder = Path(plan_json) if Path(plan_json).is_dir() else Path(plan_json).parent
        beats_json = folder / "beats.json"
        if not beats_json.is_file():
            msg = (f"`--plan` {plan_json} has no beats.json beside it; write it with "
                   f"`citywatch plan --beats --out {folder}`")
            raise ScenarioError(msg)
        beat_plan = BeatPlan.from_dict(json.loads(beats_json.read_text(encoding="utf-8")), sc)
        if overrides:
            msg = "overrides are supported for site rosters only, not with `--beats` yet"
            raise GameError(msg)
        r = run_long(lambda: make_beat_roster(sc, beat_plan, days=days, start=first,
                                              seed=seed), what="roster:")
    elif plan_json is not None:
        stored = load_plan(plan_json, sc)
        r = run_long(lambda: roster_from_plan(stored, days=days, start=first, seed=seed,
                                              overrides=overrides), what="roster:")
    else:
        def work() -> Roster:
            plan = make_plan(sc, PlanOptions(attacker=attacker))
            return roster_from_plan(plan, days=days, start=first, seed=seed, beats=beats,
                                    overrides=overrides, time_limit=max(time_limit, 120.0),
                                    beats_attacker="bayesian" if attacker == "bayesian"
                                    else "mixture")

        r = run_long(work, what="roster:")
    with writing("roster"):
        written = export_roster(r, out, formats=formats)
    visits = r.mission_visits()
    target = r.target_coverage
    if beats:
        realised = r.planned_presence()
        gap = float(np.abs(realised - target).mean())
        stops = sum(1 for _ in r.missions())
        console.print(f"[bold]{sc.name}[/]: {days}-day roster of walked beats from "
                      f"{r.start}, {len(r.teams)} teams, {stops} timed stops. The beats "
                      f"drawn give each site's presence share within {gap:.3f} of the plan "
                      f"on average over {target.size} (site, slot) pairs.")
    else:
        gap = float(np.abs(visits.mean(axis=0) - target).mean())
        # mean absolute deviation of a binomial share, normal approximation
        noise = float((np.sqrt(target * (1 - target) / days) * np.sqrt(2 / np.pi)).mean())
        console.print(f"[bold]{sc.name}[/]: {days}-day roster from {r.start}, {len(r.teams)} "
                      f"teams, {int(visits.sum())} site-slot visits. Realised coverage "
                      f"differs from the plan by {gap:.3f} on average over {target.size} "
                      f"(site, slot) pairs; independent draws alone give about {noise:.3f}.")
    for note in r.notes:
        console.print(f"[dim]{note}[/]")
    for impact in r.overrides:
        console.print(f"[yellow]warning:[/] {impact.warning()}")
    # Entropy estimates from a few days are biased towards "routine"; judge only from 4 weeks.
    if days >= ROUTINE_MIN_DAYS:
        scores = predictability(visits, sc.site_ids)
        routine = [p for p in scores if p.visits > 1 and p.predictability > ROUTINE_SCORE]
        if routine:
            console.print("[yellow]Sites whose visits look routine:[/] " + ", ".join(
                f"{p.site_id} ({p.predictability:.2f})" for p in routine[:8]))
    console.print(f"wrote {len(written)} files into {out}")
