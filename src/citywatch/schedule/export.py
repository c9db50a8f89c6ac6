"""Roster exports: CSV, GeoJSON of beats, iCalendar per team and printable briefings."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from citywatch.errors import GameError, ScenarioError, require
from citywatch.model.scenario import Scenario
from citywatch.schedule.beats import STATIC
from citywatch.schedule.missions import Mission, Roster
from citywatch.schedule.predictability import predictability
from citywatch.schedule.working_time import check_working_time

__all__ = [
    "COVERAGE_COLUMNS",
    "FORMATS",
    "MARKING",
    "ROSTER_COLUMNS",
    "export_roster",
    "mission_rows",
    "read_plan_coverage",
    "write_beats_geojson",
    "write_briefings",
    "write_coverage_csv",
    "write_ics",
    "write_predictability_csv",
    "write_roster_csv",
]

#: Government Security Classifications marking on every exported document.
MARKING = "OFFICIAL-SENSITIVE"
ROSTER_COLUMNS = ("mission_id", "team", "start", "end", "slot", "site_id", "site_name", "lat",
                  "lon", "dwell_minutes", "tactic", "beat_id", "stop", "hub")
COVERAGE_COLUMNS = ("site_id", "slot", "target_coverage", "realised_coverage")
FORMATS = ("csv", "geojson", "ics", "html")


def read_plan_coverage(scenario: Scenario, path: str | Path) -> npt.NDArray[np.float64]:
    """Coverage (slots, sites) from a ``plan.json`` written by ``citywatch plan --out``.

    Raises
    ------
    ScenarioError
        If the plan was made for another scenario or misses a (site, slot) pair.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    name = data.get("scenario", {}).get("name")
    if name != scenario.name:
        msg = f"`plan` {path} was made for scenario {name!r}, not {scenario.name!r}"
        raise ScenarioError(msg)
    level = data.get("threat_level")
    if level is not None and level != scenario.threat_level.name:
        msg = (f"`plan` {path} was made at threat level {level}, the scenario is at "
               f"{scenario.threat_level.name}; pass the same `--threat`")
        raise ScenarioError(msg)
    sites = {sid: i for i, sid in enumerate(scenario.site_ids)}
    slots = {sl: s for s, sl in enumerate(scenario.slot_names)}
    out = np.full((len(slots), len(sites)), np.nan)
    for row in data.get("coverage", []):
        if row.get("site") in sites and row.get("slot") in slots:
            out[slots[row["slot"]], sites[row["site"]]] = float(row["coverage"])
    missing = np.argwhere(np.isnan(out))
    if missing.size:
        s, i = (int(v) for v in missing[0])
        msg = (f"`plan` {path} has no coverage for site {scenario.site_ids[i]!r} in slot "
               f"{scenario.slot_names[s]!r} ({len(missing)} pairs missing)")
        raise ScenarioError(msg)
    return out


def _atomic_write(path: Path, data: str | bytes) -> Path:
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if isinstance(data, bytes):
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def mission_rows(missions: Iterable[Mission]) -> list[dict[str, Any]]:
    """Missions as CSV-ready records (times ISO-8601 with their UTC offset)."""
    return [{"mission_id": m.mission_id, "team": m.team, "start": m.start.isoformat(),
             "end": m.end.isoformat(), "slot": m.slot, "site_id": m.site_id,
             "site_name": m.site_name, "lat": f"{m.lat:.6f}", "lon": f"{m.lon:.6f}",
             "dwell_minutes": f"{m.dwell_minutes:g}", "tactic": m.tactic,
             "beat_id": m.beat_id, "stop": m.stop, "hub": m.hub}
            for m in missions]


def write_roster_csv(roster: Roster, path: str | Path, *,
                     missions: Sequence[Mission] | None = None) -> Path:
    """Write ``roster.csv``: one row per mission, columns `ROSTER_COLUMNS`."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ROSTER_COLUMNS)
    w.writeheader()
    w.writerows(mission_rows(roster.missions() if missions is None else missions))
    return _atomic_write(Path(path), buf.getvalue())


def write_coverage_csv(roster: Roster, path: str | Path) -> Path:
    """Write ``coverage.csv``: target coverage against the share of days the missions visit.

    ``realised_coverage`` counts a site in a slot when some mission (a stop that fits in
    a team's working window) is there that day.
    """
    sc = roster.scenario
    realised = roster.mission_visits().mean(axis=0)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COVERAGE_COLUMNS)
    for i, sid in enumerate(sc.site_ids):
        for s, slot in enumerate(sc.slot_names):
            w.writerow([sid, slot, f"{roster.target_coverage[s, i]:.6f}",
                        f"{realised[s, i]:.6f}"])
    return _atomic_write(Path(path), buf.getvalue())


def write_beats_geojson(roster: Roster, path: str | Path, *,
                        missions: Sequence[Mission] | None = None) -> Path:
    """Write a GeoJSON FeatureCollection with one feature per team deployment.

    A deployment is a team's beat in one slot of one day: a Point for a static beat,
    a LineString of the walk for a tour (hub, every stop in the order made, hub).
    Properties: team, date, slot, beat_id, tactic, site_ids, dwell_minutes, start,
    end, hub, stops (site, arrival, departure), marking.
    """
    groups: dict[tuple[str, str, str], list[Mission]] = defaultdict(list)
    for m in roster.missions() if missions is None else missions:
        groups[(m.team, m.mission_id[:8], m.slot)].append(m)
    beat_by_id = {b.id: b for b in roster.beats}
    sites = roster.scenario.sites
    features = []
    for (team, day, slot), ms in groups.items():
        beat = beat_by_id[ms[0].beat_id]
        coords = [[m.lon, m.lat] for m in ms]  # the walk: every stop in the order made
        if beat.tactic == STATIC:
            coords = coords[:1]
        elif beat.hub is not None:
            coords = [[beat.hub[3], beat.hub[2]], *coords, [beat.hub[3], beat.hub[2]]]
        geometry: dict[str, Any] = ({"type": "Point", "coordinates": coords[0]}
                                    if len(coords) == 1 else
                                    {"type": "LineString", "coordinates": coords})
        features.append({"type": "Feature", "geometry": geometry, "properties": {
            "team": team, "date": f"{day[:4]}-{day[4:6]}-{day[6:]}", "slot": slot,
            "beat_id": beat.id, "tactic": beat.tactic,
            "site_ids": [sites[i].id for i in beat.sites],
            "dwell_minutes": [m.dwell_minutes for m in ms],
            "start": ms[0].start.isoformat(), "end": ms[-1].end.isoformat(),
            "missions": [m.mission_id for m in ms],
            "hub": None if beat.hub is None else beat.hub[0],
            "stops": [{"site_id": m.site_id, "arrive": m.start.isoformat(),
                       "depart": m.end.isoformat()} for m in ms],
            "marking": MARKING}})
    doc = {"type": "FeatureCollection", "name": f"{roster.scenario.name} beats",
           "marking": MARKING, "features": features}
    return _atomic_write(Path(path), json.dumps(doc, indent=1))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def write_ics(roster: Roster, folder: str | Path, *,
              missions: Sequence[Mission] | None = None) -> list[Path]:
    """Write one iCalendar file (RFC 5545) per team into `folder`: ``<team>.ics``.

    Each mission is a VEVENT with a stable UID (``<mission_id>@citywatch``), local
    start and end with a VTIMEZONE, the site as LOCATION and GEO, and the
    OFFICIAL-SENSITIVE marking in CATEGORIES and the description.
    """
    icalendar: Any = require("icalendar", "schedule")
    out = Path(folder)
    by_team: dict[str, list[Mission]] = defaultdict(list)
    for m in roster.missions() if missions is None else missions:
        by_team[m.team].append(m)
    stamp = datetime.now(UTC).replace(microsecond=0)
    # One VTIMEZONE for the roster's dates (plus a margin), shared by every file.
    vtimezone = icalendar.Timezone.from_tzinfo(
        roster.tz, roster.scenario.timezone, first_date=roster.start - timedelta(days=2),
        last_date=roster.start + timedelta(days=roster.days + 2))
    written = []
    for team in roster.teams:
        cal = icalendar.Calendar()
        cal.add("prodid", "-//CityWatch//Armed patrol roster//EN")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("x-wr-calname", f"{team.name} ({MARKING})")
        cal.add_component(vtimezone)
        for m in by_team.get(team.name, []):
            ev = icalendar.Event()
            ev.add("uid", f"{m.mission_id}@citywatch")
            ev.add("dtstamp", stamp)
            ev.add("dtstart", m.start)
            ev.add("dtend", m.end)
            ev.add("summary", f"{m.tactic}: {m.site_name}")
            ev.add("location", m.site_name)
            ev.add("geo", (m.lat, m.lon))
            ev.add("categories", [MARKING, m.tactic])
            ev.add("class", "CONFIDENTIAL")
            ev.add("description", f"{MARKING}\nMission {m.mission_id}, slot {m.slot}, site "
                                  f"{m.site_id}, dwell {m.dwell_minutes:g} min, officers "
                                  f"{', '.join(team.officers)}."
                                  + (f" Beat {m.beat_id}, stop {m.stop}, from and back to "
                                     f"{m.hub}." if m.hub else ""))
            cal.add_component(ev)
        written.append(_atomic_write(out / f"{_safe(team.name)}.ics", cal.to_ical()))
    return written


_CSS = """
@page { size: A4; margin: 18mm 12mm; }
body { font-family: Arial, Helvetica, sans-serif; font-size: 10pt; }
.marking { text-align: center; font-weight: bold; letter-spacing: 0.1em; }
.marking.bottom { margin-top: 2em; }
@media print { .marking.top { position: fixed; top: 0; left: 0; right: 0; }
               .marking.bottom { position: fixed; bottom: 0; left: 0; right: 0; } }
table { border-collapse: collapse; width: 100%; margin-bottom: 1em; }
th, td { border: 1px solid #555; padding: 2px 4px; text-align: left; vertical-align: top; }
h2 { page-break-before: auto; }
"""


def write_briefings(roster: Roster, folder: str | Path, *,
                    missions: Sequence[Mission] | None = None) -> list[Path]:
    """Write one printable HTML briefing per shift and day, marked OFFICIAL-SENSITIVE.

    ``<date>-<shift>.html`` lists each team on that shift: officers, meal breaks and
    missions in time order. Print it from a browser for a paper copy.
    """
    out = Path(folder)
    ms_by_team_day: dict[tuple[str, str], list[Mission]] = defaultdict(list)
    for m in roster.missions() if missions is None else missions:
        ms_by_team_day[(m.team, m.start.date().isoformat())].append(m)
    by_shift: dict[tuple[int, str], list[int]] = defaultdict(list)
    for k, team in enumerate(roster.teams):
        for d in range(roster.days):
            if team.works(d):
                by_shift[(d, team.shift)].append(k)
    esc = html.escape
    written = []
    for (d, shift), members in sorted(by_shift.items()):
        day = roster.start + timedelta(days=d)
        parts = [f"<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
                 f"<title>{MARKING} {esc(roster.scenario.name)} {day} {esc(shift)}</title>"
                 f"<style>{_CSS}</style></head><body>",
                 f"<div class='marking top'>{MARKING}</div>",
                 f"<h1>{esc(roster.scenario.name)}: {esc(shift)} shift, {day:%A %d %B %Y}</h1>",
                 f"<p>Time zone {esc(roster.scenario.timezone)}. Do not copy or forward. "
                 f"Missions are randomised: do not swap sites or times between teams "
                 f"without the planner, or the plan becomes predictable.</p>"]
        for k in members:
            team = roster.teams[k]
            s0 = roster.shift_start(k, d)
            first, end = roster.at(s0), roster.at(s0 + team.hours * 60.0)
            breaks = ", ".join(f"{roster.at(s0 + o):%H:%M}-{roster.at(s0 + o + length):%H:%M}"
                               for o, length in team.breaks) or "none"
            parts.append(f"<h2>{esc(team.name)}</h2><p>Officers: "
                         f"{esc(', '.join(team.officers))}. On duty {first:%H:%M}-{end:%H:%M}; "
                         f"meal break {breaks}.</p>")
            rows = sorted((m for dd in sorted({first.date(), end.date()})
                           for m in ms_by_team_day.get((team.name, dd.isoformat()), [])
                           if first.timestamp() <= m.start.timestamp() < end.timestamp()),
                          key=lambda m: m.start.timestamp())
            if not rows:
                parts.append("<p>No mission: reserve.</p>")
                continue
            parts.append("<table><tr><th>arrive</th><th>depart</th><th>stop</th>"
                         "<th>site</th><th>tactic</th><th>dwell (min)</th><th>location</th>"
                         "<th>beat (from and back to)</th><th>mission</th></tr>")
            for m in rows:
                beat = esc(m.beat_id) + (f" ({esc(m.hub)})" if m.hub else "")
                parts.append(f"<tr><td>{m.start:%H:%M}</td><td>{m.end:%H:%M}</td>"
                             f"<td>{m.stop}</td><td>{esc(m.site_name)}</td>"
                             f"<td>{esc(m.tactic)}</td><td>{m.dwell_minutes:.0f}</td>"
                             f"<td>{m.lat:.5f}, {m.lon:.5f}</td><td>{beat}</td>"
                             f"<td>{esc(m.mission_id)}</td></tr>")
            parts.append("</table>")
        parts.append(f"<div class='marking bottom'>{MARKING}</div></body></html>")
        written.append(_atomic_write(out / f"{day.isoformat()}-{_safe(shift)}.html",
                                     "\n".join(parts)))
    return written


def write_predictability_csv(roster: Roster, path: str | Path) -> Path:
    """Write each site's visit entropy and predictability score (see `predictability`)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["site_id", "visits", "entropy_bits", "conditional_entropy_bits",
                "predictability"])
    for p in predictability(roster.mission_visits(), roster.scenario.site_ids):
        w.writerow([p.site_id, p.visits, f"{p.entropy_bits:.4f}",
                    f"{p.conditional_entropy_bits:.4f}", f"{p.predictability:.4f}"])
    return _atomic_write(Path(path), buf.getvalue())


def export_roster(roster: Roster, folder: str | Path, *,
                  formats: Sequence[str] = FORMATS) -> list[Path]:
    """Publish a roster: check working time, then write every requested format.

    Always writes ``roster.csv``, ``coverage.csv`` and ``predictability.csv``;
    ``"geojson"`` adds ``beats.geojson``, ``"ics"`` the folder ``ics/`` (one file per
    team), ``"html"`` the folder ``briefings/`` (one page per shift and day).

    Raises
    ------
    RosterError
        If the roster breaks a working-time rule: nothing is written.
    GameError
        If a format is unknown.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        msg = f"`formats` must be among {', '.join(FORMATS)}, got {', '.join(unknown)}"
        raise GameError(msg)
    if "ics" in formats:
        require("icalendar", "schedule")
    check_working_time(roster)
    out = Path(folder)
    missions = list(roster.missions())
    written = [write_roster_csv(roster, out / "roster.csv", missions=missions),
               write_coverage_csv(roster, out / "coverage.csv"),
               write_predictability_csv(roster, out / "predictability.csv")]
    if "geojson" in formats:
        written.append(write_beats_geojson(roster, out / "beats.geojson", missions=missions))
    if "ics" in formats:
        written += write_ics(roster, out / "ics", missions=missions)
    if "html" in formats:
        written += write_briefings(roster, out / "briefings", missions=missions)
    return written
