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
_W, _H = 900, 620


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


def _colour(x: float) -> str:
    """Green (0) to amber to red (1)."""
    x = float(np.clip(x, 0.0, 1.0))
    r = int(255 * min(1.0, 2 * x))
    g = int(200 * min(1.0, 2 * (1 - x)))
    return f"#{r:02x}{g:02x}40"


def _map_svg(plan: Plan, slot: int) -> str:
    sc = plan.scenario
    b = sc.bounds
    kx = np.cos(np.radians((b.min_lat + b.max_lat) / 2))
    scale = min(_W / ((b.max_lon - b.min_lon) * kx), _H / (b.max_lat - b.min_lat))

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (lon - b.min_lon) * kx * scale, (b.max_lat - lat) * scale

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" '
           f'role="img" aria-label="map">']
    clat, clon, minutes = response_grid(plan, slot=slot)
    dlat = (b.max_lat - b.min_lat) / clat.size
    dlon = (b.max_lon - b.min_lon) / clon.size
    for i, la in enumerate(clat):
        for j, lo in enumerate(clon):
            x, y = xy(la + dlat / 2, lo - dlon / 2)
            m = float(minutes[i, j])
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{dlon * kx * scale + .5:.1f}" '
                       f'height="{dlat * scale + .5:.1f}" fill="{_colour((m - 3) / 12)}" '
                       f'fill-opacity="0.35"><title>{m:.1f} min</title></rect>')
    for z in sc.zones:
        x, y = xy(z.lat, z.lon)
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="9" fill="#555" '
                   f'text-anchor="middle">{html.escape(z.name)}</text>')
    ns = plan.built.n_sites
    cov = plan.coverage[slot * ns:(slot + 1) * ns]
    people = sc.people()[:, slot]
    radius = 2 + 8 * np.sqrt(people / max(people.max(), 1.0))
    for i, site in enumerate(sc.sites):
        x, y = xy(site.lat, site.lon)
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius[i]:.1f}" '
                   f'fill="#1f4e99" fill-opacity="{0.15 + 0.85 * cov[i]:.2f}" stroke="#1f4e99">'
                   f'<title>{html.escape(site.name)}: coverage {cov[i]:.0%}, '
                   f'{people[i]:.0f} people</title></circle>')
    for j in sorted(set(plan.built.arv_posts[slot])):
        p = sc.standby[j]
        x, y = xy(p.lat, p.lon)
        n = plan.built.arv_posts[slot].count(j)
        out.append(f'<path d="M{x:.1f},{y - 6:.1f} L{x + 5:.1f},{y + 4:.1f} '
                   f'L{x - 5:.1f},{y + 4:.1f} Z" fill="#d62728"><title>'
                   f'{html.escape(p.name)}: {n} ARV(s)</title></path>')
    out.append("</svg>")
    return "\n".join(out)


def plot_map(plan: Plan, path: str | Path, *, slot: int) -> Path:
    """The map (response-time cells, sites by coverage, ARV posts) as PNG or SVG."""
    from citywatch.errors import require

    require("matplotlib", "plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sc = plan.scenario
    b = sc.bounds
    clat, clon, minutes = response_grid(plan, slot=slot)
    fig, ax = plt.subplots(figsize=(10, 6.5), constrained_layout=True)
    im = ax.imshow(minutes, origin="lower", extent=(b.min_lon, b.max_lon, b.min_lat,
                                                    b.max_lat),
                   cmap="RdYlGn_r", vmin=3, vmax=15, alpha=0.45, aspect="auto")
    fig.colorbar(im, ax=ax, label="expected minutes to armed intervention by ARV")
    ns = plan.built.n_sites
    cov = plan.coverage[slot * ns:(slot + 1) * ns]
    people = sc.people()[:, slot]
    ax.scatter([s.lon for s in sc.sites], [s.lat for s in sc.sites],
               s=8 + 120 * np.sqrt(people / max(people.max(), 1.0)), c=cov, cmap="Blues",
               vmin=0, vmax=1, edgecolors="#1f4e99", linewidths=0.5, label="sites (coverage)")
    posts = sorted(set(plan.built.arv_posts[slot]))
    ax.scatter([sc.standby[j].lon for j in posts], [sc.standby[j].lat for j in posts],
               marker="^", c="#d62728", s=40, label="ARV posts")
    ax.set_aspect(1 / np.cos(np.radians((b.min_lat + b.max_lat) / 2)))
    ax.set_title(f"{sc.name}, slot {sc.slot_names[slot]}: patrol coverage and ARV reach")
    ax.legend(loc="lower left")
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


def _map_slot(plan: Plan, slot: str | None) -> int:
    """The slot shown on the map: `slot`, or the one with the most patrol teams."""
    if slot is not None:
        return plan.scenario.slot_index(slot)
    return int(np.argmax([t.patrol_teams for t in plan.built.teams]))


def render_report(plan: Plan, parts: ReportParts | None = None) -> str:
    """The report as one HTML string: no scripts, fonts, tiles or links to fetch."""
    parts = ReportParts() if parts is None else parts
    sc = plan.scenario
    slot = _map_slot(plan, parts.slot)
    slot_name = sc.slot_names[slot]
    names = {s.id: s.name for s in sc.sites}
    sections = [
        f"<h1>{html.escape(sc.name)} armed deployment plan</h1>",
        f"<p class='meta'>Scenario {html.escape(sc.name)} v{html.escape(sc.version)}, threat "
        f"level {sc.threat_level.name}; {html.escape(plan.attacker_model)} plan "
        f"({html.escape(plan.equilibrium.method)}); generated "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</p>",
        f"<p>{html.escape(plan.summary())}</p>",
        f"<h2>Map, slot {html.escape(slot_name)}</h2>",
        "<p>Blue circles: sites (size: people present; shade: patrol coverage). Red "
        "triangles: ARV posts. Background cells: expected minutes from call to armed "
        "intervention by ARV (green ≤ 3, red ≥ 15). Hover for figures.</p>",
        _map_svg(plan, slot),
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
             "color:#a00}.meta{color:#666}svg{width:100%;border:1px solid #ddd}"
             "img{max-width:100%}")
    mark = f"<div class='mark'>{MARKING}</div>"
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(sc.name)} plan report</title><style>{style}</style></head>"
            f"<body>{mark}{''.join(sections)}{mark}</body></html>")


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

