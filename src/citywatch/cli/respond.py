"""``citywatch respond`` and ``citywatch dispatch``: where ARVs wait, and which one to send."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from citywatch.cli._common import console, load, print_json
from citywatch.errors import ScenarioError

MODELS = ("mclp", "lscp", "mexclp", "backup", "pmedian", "pcenter")
_BANDS = ((5.0, "#1a9850", "within 5 min"), (8.0, "#fee08b", "5-8 min"),
          (10.0, "#fc8d59", "8-10 min"), (math.inf, "#d73027", "over 10 min"))


def parse_standard(text: str, *, bare_unit: str) -> float:
    """Minutes from ``"8m"``, ``"8min"``, ``"480s"`` or a bare number in `bare_unit`."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|seconds|m|min|minutes)?\s*", text)
    if m is None:
        msg = f"`--standard` must look like 8m, 8min or 480s, got {text!r}"
        raise ScenarioError(msg)
    value = float(m.group(1))
    unit = m.group(2) or bare_unit
    minutes = value / 60.0 if unit.startswith("s") else value
    if minutes <= 0:
        msg = f"`--standard` must be positive, got {text!r}"
        raise ScenarioError(msg)
    return minutes


def _solve(problem: Any, model: str, vehicles: int | None, standard: float, busy: float,
           time_limit: float | None) -> Any:
    from citywatch.response import (
        solve_backup,
        solve_lscp,
        solve_mclp,
        solve_mexclp,
        solve_pcenter,
        solve_pmedian,
    )

    if model not in MODELS:
        msg = f"`--model` must be one of {', '.join(MODELS)}, got {model!r}"
        raise ScenarioError(msg)
    if model == "lscp":
        return solve_lscp(problem, standard_min=standard, time_limit=time_limit)
    if vehicles is None:
        msg = f"`--vehicles` is required for --model {model}"
        raise ScenarioError(msg)
    if model == "mclp":
        return solve_mclp(problem, vehicles, standard_min=standard, time_limit=time_limit)
    if model == "mexclp":
        return solve_mexclp(problem, vehicles, busy=busy, standard_min=standard,
                            time_limit=time_limit)
    if model == "backup":
        return solve_backup(problem, vehicles, standard_min=standard, time_limit=time_limit)
    if model == "pmedian":
        return solve_pmedian(problem, vehicles, time_limit=time_limit)
    return solve_pcenter(problem, vehicles, time_limit=time_limit)


def respond(
    scenario: Annotated[str, typer.Option(help="Embedded scenario name or scenario folder.")]
    = "london",
    model: Annotated[str, typer.Option(
        help="mclp, lscp, mexclp, backup, pmedian or pcenter.")] = "mclp",
    vehicles: Annotated[int | None, typer.Option(
        help="Vehicles to place (default: the slot's ARV crews).")] = None,
    standard: Annotated[str, typer.Option(
        help="Response standard: 8m, 480s (a bare number is minutes, or seconds with "
             "--instance).")] = "8m",
    slot: Annotated[str | None, typer.Option(help="Time slot (default: the first).")] = None,
    demand: Annotated[str, typer.Option(help="Demand: sites or grid (H3 cells).")] = "grid",
    busy: Annotated[float | None, typer.Option(
        help="Busy probability for mexclp (default: the scenario's).")] = None,
    time_limit: Annotated[float | None, typer.Option(
        help="Seconds for the solver; the answer then carries its proven gap.")] = None,
    instance: Annotated[Path | None, typer.Option(
        help="Solve a bare instance: .npz with `times` (demand x candidates, seconds) "
             "and `weights`.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    out: Annotated[Path | None, typer.Option(
        help="Write respond.json and cells.geojson into this folder.")] = None,
) -> None:
    """Place armed response vehicles: chosen standby points and people reached in time."""
    from citywatch.response import CoverageProblem

    if instance is not None:
        _instance(instance, model, vehicles, standard, busy, time_limit)
        return
    sc = load(scenario)
    s = 0 if slot is None else sc.slot_index(slot)
    minutes = parse_standard(standard, bare_unit="m")
    problem = CoverageProblem.from_scenario(sc, s, demand=demand)
    if vehicles is None and model != "lscp":
        from citywatch.model.force import teams_per_slot

        teams = teams_per_slot(sc.force, sc.slots, posture=sc.postures[sc.threat_level])
        vehicles = max(teams[s].arv_crews, 1)
    q = sc.travel.arv_busy_probability if busy is None else busy
    res = _solve(problem, model, vehicles, minutes, q, time_limit)
    data = res.to_dict(problem)
    data.update(scenario=sc.name, slot=sc.slot_names[s], demand=demand)
    written = _write(out, data, problem, res) if out is not None else []
    if json_out:
        print_json(data)
        return
    names = {p.id: p.name for p in sc.standby}
    proof = "proven optimal" if res.optimal else f"not proven optimal: gap {res.gap:.4g}"
    console.print(f"[bold]{sc.name}[/], slot {sc.slot_names[s]}: {model.upper()} with "
                  f"{res.n_vehicles} vehicles over {problem.n_demand} {demand} demand points "
                  f"({proof}, {res.seconds:.2f} s). Travel times exclude the dispatch delay.")
    t = Table(title="Chosen standby points", show_edge=False)
    t.add_column("standby point")
    t.add_column("vehicles", justify="right")
    for j in np.flatnonzero(res.vehicles):
        cid = problem.candidate_ids[j]
        t.add_row(f"{names.get(cid, cid)} ({cid})", str(int(res.vehicles[j])))
    console.print(t)
    st = res.stats
    shares = ", ".join(f"{v:.1%} within {s_:g} min" for s_, v in
                       zip(st.standards_min, st.share_within, strict=True))
    console.print(f"People reached: {shares}. Mean response {st.mean_min:.1f} min, 90th "
                  f"percentile {st.p90_min:.1f} min, worst {st.max_min:.1f} min.")
    unc = data["uncovered"]
    if unc:
        console.print(_uncovered_by_place(sc, problem, unc, standard), soft_wrap=True)
    for path in written:
        console.print(f"wrote {path}")


def _uncovered_by_place(sc: Any, problem: Any, uncovered: list[str], standard: str) -> str:
    """Demand beyond the standard, by borough, each with its most exposed place."""
    from citywatch.model.places import place_of

    index = {d: i for i, d in enumerate(problem.demand_ids)}
    idx = np.array([index[d] for d in uncovered], dtype=np.int64)
    weights = problem.weights[idx]
    places = place_of(sc, problem.demand_lat[idx], problem.demand_lon[idx])
    by_zone: dict[str, list[int]] = {}
    for k, p in enumerate(places):
        by_zone.setdefault(p.zone_name, []).append(k)
    ranked = sorted(by_zone.items(), key=lambda kv: -float(weights[kv[1]].sum()))
    total = float(problem.weights.sum()) or 1.0
    parts = []
    for zone, ks in ranked[:5]:
        worst = max(ks, key=lambda k: float(weights[k]))
        site = places[worst].site_name
        near = f"; the most exposed point is near {site}" if site else ""
        parts.append(f"{zone} ({float(weights[ks].sum()):,.0f} people{near})")
    more = f"; and {len(ranked) - 5} more boroughs" if len(ranked) > 5 else ""
    return (f"Beyond the {standard} standard: {len(uncovered)} demand points, "
            f"{float(weights.sum()) / total:.1%} of the people, in " + "; ".join(parts)
            + more + ". The points are in --json and --out.")


def _instance(path: Path, model: str, vehicles: int | None, standard: str, busy: float | None,
              time_limit: float | None) -> None:
    """Solve a bare .npz instance and print comparable JSON (times in seconds)."""
    from citywatch.response import CoverageProblem

    try:
        with np.load(path, allow_pickle=False) as data:
            times = np.array(data["times"], dtype=np.float64)
            weights = np.array(data["weights"], dtype=np.float64) if "weights" in data \
                else None
    except (OSError, ValueError, KeyError) as err:
        msg = f"`--instance` {str(path)!r} must be an .npz with arrays `times` and `weights`: {err}"
        raise ScenarioError(msg) from None
    minutes = parse_standard(standard, bare_unit="s")
    problem = CoverageProblem.from_travel_times(times / 60.0, weights)
    res = _solve(problem, model, vehicles, minutes, 0.3 if busy is None else busy, time_limit)
    objective = res.objective * 60.0 if model in ("pmedian", "pcenter") else res.objective
    print_json({
        "model": model,
        "chosen": list(res.chosen),
        "covered_weight": res.covered_weight(problem, minutes),
        "objective": objective,
        "optimal": res.optimal,
        "gap": (res.gap * (60.0 if model in ("pmedian", "pcenter") else 1.0)
                if math.isfinite(res.gap) else None),
        "seconds": res.seconds,
        "status": res.status,
    })


def _write(out: Path, data: dict[str, Any], problem: Any, res: Any) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    p1 = out / "respond.json"
    p1.write_text(json.dumps(data, indent=2), encoding="utf-8")
    features = []
    resp = res.stats.response_min
    for i, did in enumerate(problem.demand_ids):
        r = float(resp[i])
        colour, band = next((c, b) for lim, c, b in _BANDS if r <= lim)
        geometry = _geometry(did, problem, i)
        features.append({"type": "Feature", "geometry": geometry, "properties": {
            "id": did, "weight": float(problem.weights[i]),
            "response_min": round(r, 2) if math.isfinite(r) else None,
            "band": band, "fill": colour}})
    for j in np.flatnonzero(res.vehicles):
        if problem.candidate_lat is not None:
            features.append({"type": "Feature", "geometry": {
                "type": "Point", "coordinates": [float(problem.candidate_lon[j]),
                                                 float(problem.candidate_lat[j])]},
                "properties": {"id": problem.candidate_ids[j], "standby": True,
                               "vehicles": int(res.vehicles[j]), "marker-color": "#000000"}})
    p2 = out / "cells.geojson"
    p2.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                  encoding="utf-8")
    return [p1, p2]


def _geometry(did: str, problem: Any, i: int) -> dict[str, Any]:
    import h3

    if h3.is_valid_cell(did):
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(did)]
        return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    return {"type": "Point", "coordinates": [float(problem.demand_lon[i]),
                                             float(problem.demand_lat[i])]}


def dispatch(
    at: Annotated[str, typer.Option(help="Incident location as LAT,LON.")],
    busy: Annotated[str, typer.Option(help="Committed units, comma-separated (ARV01,...).")]
    = "",
    scenario: Annotated[str, typer.Option(help="Embedded scenario name or scenario folder.")]
    = "london",
    slot: Annotated[str | None, typer.Option(
        help="Time slot (default: the current one in the scenario's time zone).")] = None,
    top: Annotated[int, typer.Option(help="Units listed.")] = 5,
    standard: Annotated[str, typer.Option(
        help="Standard for the move-up options when units are busy (e.g. 8m).")] = "8m",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recommend the armed units to send to an incident, ranked by ETA (advice, not orders).

    With --busy, also offers move-ups: free ARVs to relocate to restore coverage of the
    crowded places, ranked by coverage restored against travel time.
    """
    from citywatch.response.dispatch import incident_is_inner, recommend, scenario_units

    parts = at.split(",")
    try:
        lat, lon = (float(x) for x in parts)
    except ValueError:
        msg = f"`--at` must be LAT,LON in degrees, e.g. 51.5074,-0.1278; got {at!r}"
        raise ScenarioError(msg) from None
    if top < 1:
        msg = f"`--top` must be >= 1, got {top}"
        raise ScenarioError(msg)
    from citywatch.model.clock import slot_at

    sc = load(scenario)
    s = slot_at(sc) if slot is None else sc.slot_index(slot)
    committed = [u.strip() for u in busy.split(",") if u.strip()]
    units = scenario_units(sc, s, busy=committed)
    factors = sc.travel.slot_speed_factor or (1.0,) * len(sc.slots)
    ranked = recommend(lat, lon, units, travel=sc.travel, inner=incident_is_inner(sc, lat, lon),
                       speed_factor=factors[s], top=top)
    post_of = {u.id: u.post for u in units}
    rows: list[dict[str, Any]] = [{"rank": r.rank, "unit": r.unit_id,
             "standby": post_of[r.unit_id],
             "eta_min": round(r.eta_min, 2), "travel_min": round(r.travel_min, 2),
             "distance_km": round(r.distance_km, 2)} for r in ranked]
    moveups = _moveups(sc, s, units, committed, parse_standard(standard, bare_unit="m"))
    if json_out:
        print_json({"incident": {"lat": lat, "lon": lon}, "slot": sc.slot_names[s],
                    "committed": committed, "recommended": rows, "moveups": moveups})
        return
    if not rows:
        console.print("No armed unit is available: every unit is committed.")
        return
    t = Table(title=f"Units for the incident at {lat:.5f}, {lon:.5f} ({sc.slot_names[s]})",
              show_edge=False)
    for col in ("rank", "unit", "standby point", "ETA (min)", "km"):
        t.add_column(col, justify="right" if col in ("rank", "ETA (min)", "km") else "left")
    names = {p.id: p.name for p in sc.standby}
    for r in rows:
        t.add_row(str(r["rank"]), r["unit"], names[r["standby"]], f"{r['eta_min']:.1f}",
                  f"{r['distance_km']:.1f}")
    console.print(t)
    if committed:
        console.print(f"Left out (committed): {', '.join(committed)}.")
    for k, m in enumerate(moveups, 1):
        moves = "; ".join(f"{mv['unit']} {names[mv['from']]} -> {names[mv['to']]} "
                          f"({mv['minutes']:.0f} min)" for mv in m["moves"])
        console.print(f"Move-up option {k}: {moves}: people at sites reached within "
                      f"{standard} {m['share_now']:.0%} -> {m['share_after']:.0%} "
                      f"(before the incident {m['share_before_incident']:.0%}; "
                      f"{100 * m['gain_per_minute']:.2f} points restored per minute of "
                      f"travel).")
    console.print("[dim]ETA = dispatch delay + straight-line travel estimate; options, not "
                  "orders: the controller decides.[/]")


def _moveups(sc: Any, s: int, units: Any, committed: list[str], standard: float
             ) -> list[dict[str, Any]]:
    """Move-up options (as JSON-ready dicts) when some units are committed."""
    if not committed:
        return []
    from citywatch.response import CoverageProblem
    from citywatch.response.moveup import recommend_moveups

    problem = CoverageProblem.from_scenario(sc, s, demand="sites")
    index = {p.id: j for j, p in enumerate(sc.standby)}
    positions = [index[u.post] for u in units]
    gone = [k for k, u in enumerate(units) if u.id in committed]
    options = recommend_moveups(problem, positions, gone, standard_min=standard, top=3)
    return [{"moves": [{"unit": units[m.vehicle].id, "from": m.from_id, "to": m.to_id,
                        "minutes": round(m.minutes, 1)} for m in o.moves],
             "share_before_incident": o.share_before_incident, "share_now": o.share_now,
             "share_after": o.share_after, "restored": o.restored,
             "travel_minutes": round(o.travel_minutes, 1), "efficient": o.efficient,
             "gain_per_minute": round(o.gain_per_minute, 5)}
            for o in options]
