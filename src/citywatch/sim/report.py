"""A self-contained offline HTML report: map, coverage, simulation, what-if, assumptions."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from citywatch.geo.distance import straight_line_times
from citywatch.model.payoffs import expected_response_minutes

if TYPE_CHECKING:
    from citywatch.model.scenario import Scenario
    from citywatch.plan import Plan
    from citywatch.sim.results import SimulationResult
    from citywatch.sim.whatif import CapacityCurve, WhatIf

__all__ = ["MARKING", "ReportParts", "plot_map", "render_report", "response_grid",
           "write_report"]

FloatArray = npt.NDArray[np.float64]

#: Protective marking printed on every output page.
MARKING = "OFFICIAL-SENSITIVE"


@dataclass(frozen=True, eq=False)
class ReportParts:
    """What goes into a report besides the plan (each optional)."""

    result: SimulationResult | None = None
    whatif: WhatIf | None = None
    capacity: CapacityCurve | None = None
    slot: str | None = None


def response_grid(plan: Plan, *, slot: int, cells: int = 40
                  ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Expected minutes to armed intervention by ARV on a lat/lon grid over the scenario.

    Returns cell-centre latitudes, longitudes (each ``cells``) and minutes
    (``cells × cells``): dispatch + expected travel of the nearest available vehicle
    from the slot's posts (straight-line model, speed of the nearest zone) + engage.
    """
    sc = plan.scenario
    b = sc.bounds
    lats = np.linspace(b.min_lat, b.max_lat, cells + 1)
    lons = np.linspace(b.min_lon, b.max_lon, cells + 1)
    clat, clon = (lats[:-1] + lats[1:]) / 2, (lons[:-1] + lons[1:]) / 2
    glat, glon = (a.reshape(-1) for a in np.meshgrid(clat, clon, indexing="ij"))
    zlat = np.array([z.lat for z in sc.zones])
    zlon = np.array([z.lon for z in sc.zones])
    nearest = np.argmin((glat[:, None] - zlat) ** 2
                        + ((glon[:, None] - zlon) * np.cos(np.radians(51.5))) ** 2, axis=1)
    tm = sc.travel
    speed = np.where(np.array([sc.zones[j].inner for j in nearest]), tm.inner_speed_kmh,
                     tm.outer_speed_kmh)
    factors = tm.slot_speed_factor or (1.0,) * len(sc.slots)
    posts = list(plan.built.arv_posts[slot])
    plat = np.array([sc.standby[j].lat for j in posts])
    plon = np.array([sc.standby[j].lon for j in posts])
    minutes = straight_line_times(plat, plon, glat, glon, speed_kmh=speed * factors[slot],
                                  circuity=tm.circuity, short_trip_circuity=tm.short_trip_circuity,
                                  short_trip_m=tm.short_trip_m) / 60.0
    exp = expected_response_minutes(minutes, list(range(len(posts))),
                                    busy_probability=tm.arv_busy_probability)
    total = tm.dispatch_delay_min + tm.engage_min + exp
    return clat, clon, total.reshape(cells, cells)


#: Class limits and colours of the maps (the same as ``web/static/citymap.js``).
MINUTE_BREAKS = (6.0, 8.0, 10.0, 12.0, 15.0)
MINUTE_COLOURS = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
COVERAGE_BREAKS = (0.05, 0.2, 0.4, 0.6, 0.8)
COVERAGE_COLOURS = ("#f7fbff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")


def _static(*parts: str) -> str:
    """Text of a file of the dashboard's static folder (package data, no web import)."""
    from importlib import resources

    return resources.files("citywatch").joinpath("web", "static", *parts).read_text(
        encoding="utf-8")


def _offline_css(css: str) -> str:
    """Leaflet's CSS without its image references (the report draws no image markers)."""
    import re

    return re.sub(r"url\([^)]*\)", "none", css)


def _script_json(data: object) -> str:
    """JSON safe inside a <script> element."""
    import json

    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def _maps_html(plan: Plan) -> tuple[str, str]:
    """One small interactive map per slot (HTML) and the script that draws them."""
    from citywatch.maps import map_data

    sc = plan.scenario
    data = map_data(plan)
    figures = "".join(
        f"<figure><figcaption>Slot {html.escape(slot)}: {t.patrol_teams} patrol teams, "
        f"{t.arv_crews} ARVs</figcaption><div class='cw-map small' id='map-{k}'></div>"
        f"</figure>" for k, (slot, t) in enumerate(zip(sc.slot_names, plan.built.teams,
                                                      strict=True)))
    credit = (f"<p class='meta'>Boundaries: {html.escape(sc.boundary_attribution)} "
              f"Map drawn with Leaflet (BSD 2-Clause).</p>" if sc.boundary_attribution
              else "<p class='meta'>Map drawn with Leaflet (BSD 2-Clause).</p>")
    body = (f"<div class='cw-maps'>{figures}</div><div id='map-legend'></div>{credit}")
    script = (f"<script>{_static('vendor', 'leaflet', 'leaflet.js')}</script>"
              f"<script>{_static('citymap.js')}</script>"
              f"<script>const CW_MAP = {_script_json(data)};"
              "CW_MAP.slots.forEach((s, i) => CityMap.draw(document.getElementById('map-' + i),"
              " CW_MAP, {slot: i, small: true}));"
              "document.getElementById('map-legend').innerHTML = CityMap.legendHTML(CW_MAP);"
              "</script>")
    return body, script


def plot_map(plan: Plan, path: str | Path, *, slot: int) -> Path:
    """One slot's map as PNG or SVG, with the dashboard's symbology and both scales.

    Response-time cells (minutes from call to armed help by ARV from the slot's
    posts), borough boundaries and the basemap, sites by patrol coverage (area by
    people present) and ARV posts, with a colour bar for the minutes and one for the
    coverage.
    """
    from citywatch.errors import require

    require("matplotlib", "plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import BoundaryNorm, ListedColormap

    from citywatch.maps import response_cells

    sc = plan.scenario
    b = sc.bounds
    cells = response_cells(plan)
    fig, ax = plt.subplots(figsize=(11, 7), constrained_layout=True)
    m_cmap = ListedColormap(list(MINUTE_COLOURS))
    m_norm = BoundaryNorm([0.0, *MINUTE_BREAKS, 60.0], m_cmap.N)
    hexes = PolyCollection([np.asarray(r)[:, :2] for r in cells.boundaries], cmap=m_cmap,
                           norm=m_norm, edgecolors="none", alpha=0.6)
    hexes.set_array(cells.minutes[slot])
    ax.add_collection(hexes)
    fig.colorbar(hexes, ax=ax, shrink=0.7, label="minutes from call to armed help (ARV)")
    rings = [np.asarray(r) for z in sc.zones if z.polygon for poly in z.polygon for r in poly]
    ax.add_collection(LineCollection(rings, colors="#333", linewidths=0.6))
    if sc.basemap:
        import json

        style = {"water": ("#2b7bba", 1.8), "road": ("#777", 0.6), "boundary": ("#555", 0.6)}
        for feat in json.loads(sc.basemap)["features"]:
            g = feat["geometry"]
            lines = ([g["coordinates"]] if g["type"] == "LineString" else g["coordinates"]
                     if g["type"] == "MultiLineString" else
                     [r for poly in ([g["coordinates"]] if g["type"] == "Polygon"
                                     else g["coordinates"]) for r in poly])
            colour, width = style.get(feat["properties"]["layer"], ("#555", 0.6))
            ax.add_collection(LineCollection([np.asarray(x)[:, :2] for x in lines],
                                             colors=colour, linewidths=width))
    ns = plan.built.n_sites
    cov = plan.coverage[slot * ns:(slot + 1) * ns]
    people = sc.people()[:, slot]
    c_cmap = ListedColormap(list(COVERAGE_COLOURS))
    c_norm = BoundaryNorm([0.0, *COVERAGE_BREAKS, 1.0], c_cmap.N)
    order = np.argsort(-people, kind="stable")
    pts = ax.scatter(np.array([s.lon for s in sc.sites])[order],
                     np.array([s.lat for s in sc.sites])[order],
                     s=(14 * np.sqrt(people[order] / 5000)) ** 2 + 4, c=cov[order],
                     cmap=c_cmap, norm=c_norm, edgecolors="#222", linewidths=0.4)
    fig.colorbar(pts, ax=ax, shrink=0.7, label="patrol coverage (share of the slot)")
    posts = sorted(set(plan.built.arv_posts[slot]))
    ax.scatter([sc.standby[j].lon for j in posts], [sc.standby[j].lat for j in posts],
               marker="s", c="#1f3a93", edgecolors="white", s=40, label="ARV posts")
    ax.set_xlim(b.min_lon, b.max_lon)
    ax.set_ylim(b.min_lat, b.max_lat)
    ax.set_aspect(1 / np.cos(np.radians((b.min_lat + b.max_lat) / 2)))
    ax.set_title(f"{sc.name}, slot {sc.slot_names[slot]}: patrol coverage and ARV reach")
    ax.legend(loc="lower left")
    if sc.boundary_attribution:
        fig.text(0.01, 0.005, sc.boundary_attribution, fontsize=6, color="#555")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _capacity_png(curve: CapacityCurve) -> bytes | None:
    try:
        from citywatch.sim.whatif import plot_capacity

        buf = Path(_tmp_name("capacity.png"))
        plot_capacity(curve, buf)
        data = buf.read_bytes()
        buf.unlink(missing_ok=True)
        return data
    except ImportError:
        return None


def _tmp_name(name: str) -> str:
    import tempfile

    return str(Path(tempfile.mkdtemp(prefix="citywatch-")) / name)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _assumptions(sc: Scenario) -> str:
    tm = sc.travel
    rows = [
        ["Force", f"{sc.force.officers:,} armed officers, {sc.force.committed_officers:,} on "
                  f"other duties; abstraction {sc.force.abstraction_rate:.0%}; ARV share "
                  f"{sc.force.arv_share:.0%}"],
        ["Threat level", f"{sc.threat_level.name} ({html.escape(sc.threat_level.meaning)})"],
        ["Travel", f"straight line × {tm.circuity} ({tm.short_trip_circuity} under "
                   f"{tm.short_trip_m:.0f} m); {tm.inner_speed_kmh} km/h inner, "
                   f"{tm.outer_speed_kmh} km/h outer London, by slot factor"],
        ["Response", f"dispatch {tm.dispatch_delay_min} min + travel + engage "
                     f"{tm.engage_min} min; each ARV busy with p = "
                     f"{tm.arv_busy_probability}; nearest available answers"],
        ["Spread (simulation)", "dispatch and travel × mean-one lognormal (σ 0.5 and 0.3)"],
        ["On site", f"armed team stops the attack in {sc.payoffs.on_site_intervention_min} "
                    f"min, or interdicts it before harm (by attack type)"],
        ["Casualties", "min(cap × people, initial + rate × minutes) × (1 − hardening effect × "
                       "hardening)"],
    ]
    types = [[html.escape(a.name), f"{a.prior:.2f}", f"{a.initial_casualties:g}",
              f"{a.casualties_per_minute:g}", f"{a.interdiction:.2f}"] for a in sc.attackers]
    return (_table(["assumption", "value"], rows)
            + _table(["attack type", "prior", "initial", "per minute", "interdiction"], types))


_MODELS = {
    "bayesian": "Bayesian Stackelberg plan (each attack type answers it on its own)",
    "mixture": "Stackelberg plan against the prior-weighted mixture of the attack types",
    "qr": "plan against a quantal-response (boundedly rational) attacker",
    "none": "baseline plan (not an equilibrium)",
}


def model_and_method(plan: Plan) -> str:
    """The plan's attacker model and solver in words, e.g. for the report's header."""
    eq = plan.equilibrium
    model = _MODELS.get(plan.attacker_model, f"{plan.attacker_model} plan")
    method = eq.method.removeprefix("file:")
    if eq.optimal:
        proof = "proven optimal"
    elif np.isfinite(eq.gap):
        proof = f"proven gap {eq.gap:.3g}"
    else:
        proof = "no optimality proof"
    return f"{model}; solver {method}, {proof}"


def _map_slot(plan: Plan, slot: str | None) -> int:
    """The slot shown on the map: `slot`, or the one with the most patrol teams."""
    if slot is not None:
        return plan.scenario.slot_index(slot)
    return int(np.argmax([t.patrol_teams for t in plan.built.teams]))


def render_report(plan: Plan, parts: ReportParts | None = None) -> str:
    """The report as one HTML file: Leaflet and the map script inlined, nothing to fetch."""
    parts = ReportParts() if parts is None else parts
    sc = plan.scenario
    names = {s.id: s.name for s in sc.sites}
    maps_body, maps_script = _maps_html(plan)
    sections = [
        f"<h1>{html.escape(sc.name)} armed deployment plan</h1>",
        f"<p class='meta'>Scenario {html.escape(sc.name)} v{html.escape(sc.version)}, threat "
        f"level {sc.threat_level.name}; {html.escape(model_and_method(plan))}; generated "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</p>",
        f"<p>{html.escape(plan.summary())}</p>",
        "<h2>Maps by slot</h2>",
        "<p>Circles: sites (area: people present; colour: patrol coverage). Squares: ARV "
        "posts (the number of vehicles waiting). Hexagons: minutes from call to armed "
        "help by the nearest available ARV. Lines: borough boundaries and the River "
        "Thames. Drag to pan, scroll to zoom, hover for figures.</p>",
        maps_body,
        "<h2>Teams and coverage by slot</h2>",
        _table(["slot", "patrol teams", "ARV crews", "most covered sites"],
               [[html.escape(t.slot), str(t.patrol_teams), str(t.arv_crews),
                 ", ".join(f"{html.escape(names[s])} {c:.0%}"
                           for s, c in plan.top_sites(t.slot, n=5))]
                for t in plan.built.teams]),
    ]
    if parts.result is not None:
        r = parts.result
        o = r.overall

        def cell(e: object) -> str:
            return f"{e:.2f}"

        sections += [
            f"<h2>Simulated attacks ({r.attacks:,}, {html.escape(r.targeting)} attacker; 95% "
            f"intervals)</h2>",
            _table(["", "casualties per attack", "interdicted", "median min", "p90 min"],
                   [["all", cell(o.casualties), f"{o.interdiction:.3f}",
                     cell(o.median_minutes), cell(o.p90_minutes)]]
                   + [[html.escape(k), cell(m.casualties), f"{m.interdiction:.3f}",
                       cell(m.median_minutes), cell(m.p90_minutes)]
                      for k, m in r.by_type.items()]),
        ]
        if r.people_within:
            sections.append("<p>Share of people within reach of armed help: "
                            + ", ".join(f"{x:g} min {e.value:.0%}"
                                        for x, e in r.people_within.items()) + ".</p>")
    if parts.whatif is not None:
        d = parts.whatif.to_dict()
        keys = [("expected_casualties_per_attack", "casualties per attack"),
                ("median_minutes_to_armed_intervention", "median minutes"),
                ("p90_minutes_to_armed_intervention", "p90 minutes")]
        sections += [f"<h2>What if: {html.escape(', '.join(parts.whatif.changes))}</h2>",
                     _table(["", "before", "after", "change"],
                            [[label, f"{d['before'][k]:.2f}", f"{d['after'][k]:.2f}",
                              f"{d['after'][k] - d['before'][k]:+.2f}"] for k, label in keys])]
    if parts.capacity is not None:
        png = _capacity_png(parts.capacity)
        sections.append("<h2>Capacity: what more officers buy</h2>")
        if png is not None:
            sections.append(f"<img alt='capacity curve' src='data:image/png;base64,"
                            f"{base64.b64encode(png).decode()}'>")
        sections.append(_table(["added", "casualties per attack", "median min", "p90 min"],
                               [[f"{p.added:+d}", f"{p.casualties:.2f}",
                                 f"{p.median_minutes:.2f}", f"{p.p90_minutes:.2f}"]
                                for p in parts.capacity.points]))
    sections += ["<h2>Assumptions</h2>", _assumptions(sc)]
    style = ("body{font-family:sans-serif;max-width:960px;margin:auto;padding:1em;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
             "padding:3px 6px;font-size:13px}.mark{text-align:center;font-weight:bold;"
             "color:#a00}.meta{color:#666}img{max-width:100%}"
             + _offline_css(_static("vendor", "leaflet", "leaflet.css")) + _static("citymap.css"))
    mark = f"<div class='mark'>{MARKING}</div>"
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(sc.name)} plan report</title><style>{style}</style></head>"
            f"<body>{mark}{''.join(sections)}{mark}{maps_script}</body></html>")


def write_report(plan: Plan, path: str | Path, parts: ReportParts | None = None, *,
                 png: bool = True) -> list[Path]:
    """Write the HTML report (and, with matplotlib, the capacity plot as PNG beside it)."""
    parts = ReportParts() if parts is None else parts
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(plan, parts), encoding="utf-8")
    written = [path]
    if png:
        slot = _map_slot(plan, parts.slot)
        try:
            written.append(plot_map(plan, path.with_name(path.stem + "_map.png"), slot=slot))
        except ImportError:
            pass
    if png and parts.capacity is not None:
        data = _capacity_png(parts.capacity)
        if data is not None:
            p = path.with_name(path.stem + "_capacity.png")
            p.write_bytes(data)
            written.append(p)
    return written

