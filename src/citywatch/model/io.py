"""Read and write scenario folders: ``scenario.toml`` plus CSV or GeoJSON tables.

A scenario folder holds::

    scenario.toml      name, time zone, bounds, slots, force, travel, payoff parameters,
                       response standards (``[response] standards = ["15m@100%"]``),
                       attacker types, and the names of the tables below
    sites.csv          id, name, category, lat, lon, zone_id, symbolic_value, hardening,
                       people_<slot> for every slot (+ optional annual_entries_exits_m, capacity)
    zones.csv          id, name, population_2021, lat, lon, area_km2, inner
                       (or a GeoJSON table: polygons with those properties; lat/lon optional)
    zones.geojson      optional boundaries for zones.csv: one Polygon or MultiPolygon
                       feature per zone, its ``id`` property the zone id, and the credit
                       its licence asks for as the collection's ``attribution`` member
                       (another file name: ``[tables] boundaries``). Without a
                       ``[bounds]`` table the bounds are the polygons' extent.
    standby.csv        id, name, kind, lat, lon, zone_id, capacity
    basemap.geojson    optional background for maps: features with a ``layer`` property
                       (road, water, boundary); written by ``citywatch basemap build``
    protection.csv     optional (``[tables] protection``): site_id, force (met, btp, colp,
                       other), officers, slots (``;``-separated slot names, empty = all),
                       unit, source: armed officers permanently on site
    threat_levels.toml optional; the posture table (default: the one shipped with CityWatch)

Loading validates everything once and reports every problem together
(`citywatch.errors.ScenarioError.problems`); the core then trusts the objects.
"""

from __future__ import annotations

import csv
import json
import math
import tomllib
import zoneinfo
from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from citywatch.errors import Problem, ScenarioError
from citywatch.geo.polygon import multipolygon_bounds
from citywatch.model._geojson_io import (
    _read_boundaries,
    _read_zones_geojson,
    zones_feature_collection,
)
from citywatch.model._scenario_schema import (
    _PRIOR_TOL,
    _ProtectionRow,
    _problems,
    _ScenarioIn,
    _SiteRow,
    _StandbyRow,
    _TablesIn,
    _ZoneRow,
)
from citywatch.model.force import Force, Shift
from citywatch.model.scenario import (
    Bounds,
    MultiPolygonCoords,
    PayoffParameters,
    Scenario,
    Site,
    StandbyPoint,
    TimeSlot,
    TravelModel,
    Zone,
)
from citywatch.model.protection import ProtectionPost, officers_needed
from citywatch.model.standards import ResponseStandard, parse_standard
from citywatch.model.threat import (
    PostureTable,
    ThreatLevel,
    default_postures,
    load_postures,
)

__all__ = ["load_scenario", "save_scenario", "zones_feature_collection"]
def _default_slots() -> list[TimeSlot]:
    return [TimeSlot(f"{h:02d}-{h + 4:02d}", time(h, 0), 4.0) for h in range(0, 24, 4)]


def _read_csv(path: Path, problems: list[Problem],
              required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        problems.append(Problem(path.name, "(file)", str(path), "an existing CSV file"))
        return []
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            for col in missing:
                problems.append(Problem(path.name, col, None, "a column named so in the header"))
            if missing:
                return []
            return [(i, row) for i, row in enumerate(reader, start=2)]
    except (UnicodeDecodeError, csv.Error) as err:
        problems.append(Problem(path.name, "(file)", str(path), f"readable UTF-8 CSV ({err})"))
        return []


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario folder (or its ``scenario.toml``).

    Raises
    ------
    ScenarioError
        With every problem found (file, row, field, value, what was expected) in
        ``.problems``.
    """
    path = Path(path)
    folder = path.parent if path.is_file() else path
    toml_path = path if path.is_file() else path / "scenario.toml"
    if not toml_path.is_file():
        msg = f"`path` {str(path)!r} holds no scenario.toml"
        raise ScenarioError(msg, [Problem(str(path), "scenario.toml", None,
                                          "an existing scenario folder or scenario.toml")])
    try:
        raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{toml_path}: invalid TOML: {err}",
                            [Problem("scenario.toml", "(file)", None, f"valid TOML ({err})")]
                            ) from err
    problems: list[Problem] = []
    try:
        spec = _ScenarioIn.model_validate(raw)
    except ValidationError as err:
        problems = _problems(err, "scenario.toml")
        raise ScenarioError(f"{len(problems)} problem(s) in {toml_path}", problems) from None

    f = "scenario.toml"
    try:
        zoneinfo.ZoneInfo(spec.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(Problem(f, "timezone", spec.timezone, "an IANA time zone name"))
    try:
        level = ThreatLevel.parse(spec.threat_level)
    except ScenarioError as err:
        problems.append(Problem(f, "threat_level", spec.threat_level, str(err).split(", got")[0]
                                .removeprefix("`threat_level` must be ")))
        level = ThreatLevel.SEVERE
    postures: PostureTable = default_postures()
    if spec.threat_levels is not None:
        try:
            postures = load_postures(folder / spec.threat_levels)
        except ScenarioError as err:
            problems.extend(err.problems or [Problem(f, "threat_levels", spec.threat_levels,
                                                     str(err))])
    zone_rows, zone_file, attribution = _read_zone_rows(folder, spec.tables, problems)
    b = spec.bounds
    polygons = [poly for _, _, poly in zone_rows if poly is not None]
    if b is not None:
        if b.min_lat >= b.max_lat or b.min_lon >= b.max_lon:
            problems.append(Problem(f, "bounds", b.model_dump(), "min_lat < max_lat and "
                                    "min_lon < max_lon"))
        bounds = Bounds(b.min_lat, b.min_lon, b.max_lat, b.max_lon)
    elif polygons:
        bounds = Bounds(*multipolygon_bounds(polygons))
    else:
        problems.append(Problem(f, "bounds", None, "a [bounds] table (min_lat, min_lon, "
                                "max_lat, max_lon), or zone polygons to take it from"))
        bounds = Bounds(-90.0, -180.0, 90.0, 180.0)

    slots = ([TimeSlot(s.name, s.start, s.hours, s.patrol_teams, s.arv_crews)
              for s in spec.slots] if spec.slots else _default_slots())
    names = [s.name for s in slots]
    if len(set(names)) != len(names):
        problems.append(Problem(f, "slots.name", names, "unique slot names"))
    if sum(s.hours for s in slots) > 24 + 1e-9:
        problems.append(Problem(f, "slots.hours", [s.hours for s in slots],
                                "slots that fit in one day (24 hours in all)"))

    priors = [a.prior for a in spec.attackers]
    if abs(sum(priors) - 1.0) > _PRIOR_TOL:
        problems.append(Problem(f, "attackers.prior", priors,
                                f"priors summing to 1 (they sum to {sum(priors):.6g})"))
    ids = [a.id for a in spec.attackers]
    if len(set(ids)) != len(ids):
        problems.append(Problem(f, "attackers.id", ids, "unique attacker ids"))
    attackers_list = []
    for a in spec.attackers:
        try:
            attackers_list.append(a.resolve())
        except ValueError as err:
            problems.append(Problem(f, f"attackers.{a.id}", a.kind, str(err)))
    attackers = tuple(attackers_list)

    fs = spec.force
    if fs.committed_officers > fs.officers:
        problems.append(Problem(f, "force.committed_officers", fs.committed_officers,
                                f"at most `force.officers` ({fs.officers})"))
    shifts = (tuple(Shift(s.name, s.start, s.share, s.hours) for s in fs.shifts) if fs.shifts
              else Force(officers=0).shifts)
    if abs(sum(s.share for s in shifts) - 1.0) > _PRIOR_TOL:
        problems.append(Problem(f, "force.shifts.share", [s.share for s in shifts],
                                "shares summing to 1"))
    force = Force(officers=fs.officers, committed_officers=fs.committed_officers,
                  abstraction_rate=fs.abstraction_rate, patrol_team_size=fs.patrol_team_size,
                  arv_crew_size=fs.arv_crew_size, arv_share=fs.arv_share,
                  weekly_hours=fs.weekly_hours, shift_hours=fs.shift_hours, shifts=shifts)
    for s in slots:
        if s.patrol_teams is None and s.arv_crews is None:
            continue
        need = (s.patrol_teams or 0) * force.patrol_team_size + (s.arv_crews or 0) \
            * force.arv_crew_size
        if need > force.street_officers:
            problems.append(Problem(f, f"slots.{s.name}.patrol_teams",
                                    {"patrol_teams": s.patrol_teams, "arv_crews": s.arv_crews},
                                    f"teams needing at most the force's {force.street_officers}"
                                    f" street officers (they need {need})"))

    unknown_factor = sorted(set(spec.travel.slot_speed_factor) - set(names))
    for name in unknown_factor:
        problems.append(Problem(f, f"travel.slot_speed_factor.{name}",
                                spec.travel.slot_speed_factor[name],
                                f"a known slot name ({', '.join(names)})"))
    if any(v <= 0 for v in spec.travel.slot_speed_factor.values()):
        problems.append(Problem(f, "travel.slot_speed_factor",
                                spec.travel.slot_speed_factor, "factors > 0"))
    tr = spec.travel.model_dump()
    tr["slot_speed_factor"] = tuple(spec.travel.slot_speed_factor.get(n, 1.0) for n in names)
    travel = TravelModel(**tr)

    standards: list[ResponseStandard] = []
    for k, text in enumerate(spec.response.standards):
        try:
            standards.append(parse_standard(text, name=f"response.standards[{k}]"))
        except ScenarioError as err:
            problems.append(Problem(f, f"response.standards[{k}]", text,
                                    "MINUTESm@SHARE%, e.g. 15m@100% or 10m@90%"))
            del err

    zones = _load_zones(zone_rows, zone_file, bounds, problems)
    basemap = _load_basemap(folder, spec.tables.basemap, problems)
    zone_ids = {z.id for z in zones}
    sites = _load_sites(folder / spec.tables.sites, names, bounds, zone_ids, problems)
    standby = _load_standby(folder / spec.tables.standby, bounds, zone_ids, problems)
    protection: tuple[ProtectionPost, ...] = ()
    if spec.tables.protection is not None:
        protection = _load_protection(folder / spec.tables.protection, names,
                                      {s.id for s in sites}, problems)
        need = officers_needed(protection, force, {s.name: s.hours for s in slots})
        if need > force.committed_officers + 1e-9:
            problems.append(Problem(spec.tables.protection, "officers",
                                    round(need), f"Met protection posts needing at most "
                                    f"`force.committed_officers` ({fs.committed_officers}) "
                                    f"officers to staff around the rota"))

    if problems:
        raise ScenarioError(f"{len(problems)} problem(s) in scenario {str(folder)!r}", problems)
    return Scenario(
        name=spec.name, version=spec.version, timezone=spec.timezone, bounds=bounds,
        slots=tuple(slots), sites=sites, zones=zones, standby=standby, attackers=attackers,
        force=force, threat_level=level, postures=postures, travel=travel,
        payoffs=PayoffParameters(**spec.payoffs.model_dump()),
        response_standards=tuple(standards), protection=protection,
        boundary_attribution=attribution, basemap=basemap,
    )


def _check_common(file: str, row: int, obj: Any, bounds: Bounds, zone_ids: set[str] | None,
                  seen: set[str], problems: list[Problem]) -> bool:
    ok = True
    if obj.id in seen:
        problems.append(Problem(file, "id", obj.id, "a unique id", row))
        ok = False
    seen.add(obj.id)
    if not bounds.contains(obj.lat, obj.lon):
        problems.append(Problem(file, "lat,lon", (obj.lat, obj.lon),
                                f"a point inside the scenario bounds (lat {bounds.min_lat}.."
                                f"{bounds.max_lat}, lon {bounds.min_lon}..{bounds.max_lon})",
                                row))
        ok = False
    if zone_ids is not None and zone_ids and obj.zone_id not in zone_ids:
        problems.append(Problem(file, "zone_id", obj.zone_id, "the id of a zone", row))
        ok = False
    return ok


ZoneRows = list[tuple[int, dict[str, Any], MultiPolygonCoords | None]]


def _read_zone_rows(folder: Path, tables: _TablesIn, problems: list[Problem]
                    ) -> tuple[ZoneRows, str, str]:
    """Zone rows with their polygons, the zones file's name, and the boundaries' credit.

    Zones come from a CSV table (with polygons joined by id from ``tables.boundaries``,
    or from ``zones.geojson`` beside it when that exists) or from a GeoJSON table whose
    features carry the zone properties.
    """
    path = folder / tables.zones
    if tables.zones.endswith((".geojson", ".json")):
        rows, attribution = _read_zones_geojson(path, problems)
        out: ZoneRows = [(i, r, p) for i, r, p in rows]
    else:
        out = [(i, r, None) for i, r in _read_csv(path, problems, ("id", "name", "lat", "lon"))]
        attribution = ""
        name = tables.boundaries
        if name is None and (folder / "zones.geojson").is_file():
            name = "zones.geojson"
        if name is not None:
            ids = [str(r.get("id", "")) for _, r, _ in out]
            polygons, attribution = _read_boundaries(folder / name, ids, problems)
            out = [(i, r, polygons.get(str(r.get("id", "")))) for i, r, _ in out]
    if not out and path.exists():
        problems.append(Problem(path.name, "(rows)", 0, "at least one zone"))
    return out, path.name, attribution


BASEMAP_LAYERS = ("road", "water", "boundary")


def _load_basemap(folder: Path, name: str | None, problems: list[Problem]) -> str:
    """The basemap's GeoJSON text (compact), checked; empty when the folder has none."""
    if name is None:
        if not (folder / "basemap.geojson").is_file():
            return ""
        name = "basemap.geojson"
    path = folder / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        features = data["features"]
        if not isinstance(features, list):
            raise TypeError("`features` is not a list")
    except (OSError, ValueError, KeyError, TypeError) as err:
        problems.append(Problem(path.name, "(file)", str(path),
                                f"a GeoJSON FeatureCollection ({err})"))
        return ""
    for i, feat in enumerate(features, start=1):
        layer = ((feat or {}).get("properties") or {}).get("layer") \
            if isinstance(feat, dict) else None
        if layer not in BASEMAP_LAYERS:
            problems.append(Problem(path.name, "properties.layer", layer,
                                    f"one of {', '.join(BASEMAP_LAYERS)}", i))
            return ""
        kind = ((feat.get("geometry") or {}).get("type"))
        if kind not in ("LineString", "MultiLineString", "Polygon", "MultiPolygon"):
            problems.append(Problem(path.name, "geometry.type", kind,
                                    "a LineString, MultiLineString, Polygon or MultiPolygon",
                                    i))
            return ""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _load_zones(rows: ZoneRows, file: str, bounds: Bounds,
                problems: list[Problem]) -> tuple[Zone, ...]:
    zones: list[Zone] = []
    seen: set[str] = set()
    for i, raw, polygon in rows:
        try:
            z = _ZoneRow.model_validate(raw)
        except ValidationError as err:
            problems.extend(_problems(err, file, row=i))
            continue
        if _check_common(file, i, z, bounds, None, seen, problems):
            zones.append(Zone(z.id, z.name, z.population_2021, z.lat, z.lon, z.area_km2,
                              z.inner, polygon))
    return tuple(zones)


def _load_sites(path: Path, slot_names: list[str], bounds: Bounds, zone_ids: set[str],
                problems: list[Problem]) -> tuple[Site, ...]:
    rows = _read_csv(path, problems, ("id", "name", "category", "lat", "lon", "zone_id"))
    if not rows:
        if path.is_file():
            problems.append(Problem(path.name, "(rows)", 0, "at least one site"))
        return ()
    header = list(rows[0][1].keys())
    people_cols = [c for c in header if c.startswith("people_")]
    for col in people_cols:
        if col.removeprefix("people_") not in slot_names:
            problems.append(Problem(path.name, col, col.removeprefix("people_"),
                                    f"a slot name ({', '.join(slot_names)})"))
    for name in slot_names:
        if f"people_{name}" not in header:
            problems.append(Problem(path.name, f"people_{name}", None,
                                    f"a column of people present in slot {name!r}"))
    sites: list[Site] = []
    seen: set[str] = set()
    for i, raw in rows:
        people = []
        good = True
        for name in slot_names:
            col = f"people_{name}"
            value = raw.get(col)
            if value is None:
                good = False
                continue
            try:
                v = float(value)
            except ValueError:
                problems.append(Problem(path.name, col, value, "a number of people", i))
                good = False
                continue
            if not math.isfinite(v) or v < 0:
                problems.append(Problem(path.name, col, value, "a number of people >= 0", i))
                good = False
            people.append(v)
        try:
            s = _SiteRow.model_validate(raw)
        except ValidationError as err:
            problems.extend(_problems(err, path.name, row=i))
            continue
        if _check_common(path.name, i, s, bounds, zone_ids, seen, problems) and good:
            sites.append(Site(s.id, s.name, s.category, s.lat, s.lon, s.zone_id, tuple(people),
                              s.symbolic_value, s.hardening, s.annual_entries_exits_m,
                              s.capacity))
    return tuple(sites)


def _load_standby(path: Path, bounds: Bounds, zone_ids: set[str],
                  problems: list[Problem]) -> tuple[StandbyPoint, ...]:
    rows = _read_csv(path, problems, ("id", "name", "kind", "lat", "lon", "zone_id"))
    points: list[StandbyPoint] = []
    seen: set[str] = set()
    for i, raw in rows:
        try:
            p = _StandbyRow.model_validate(raw)
        except ValidationError as err:
            problems.extend(_problems(err, path.name, row=i))
            continue
        if _check_common(path.name, i, p, bounds, zone_ids, seen, problems):
            points.append(StandbyPoint(p.id, p.name, p.kind, p.lat, p.lon, p.zone_id,
                                       p.capacity))
    if not rows and path.is_file():
        problems.append(Problem(path.name, "(rows)", 0, "at least one standby point"))
    return tuple(points)


def _load_protection(path: Path, slot_names: list[str], site_ids: set[str],
                     problems: list[Problem]) -> tuple[ProtectionPost, ...]:
    rows = _read_csv(path, problems, ("site_id", "force", "officers"))
    posts: list[ProtectionPost] = []
    for i, raw in rows:
        try:
            p = _ProtectionRow.model_validate(raw)
        except ValidationError as err:
            problems.extend(_problems(err, path.name, row=i))
            continue
        slots = tuple(x.strip() for x in p.slots.split(";") if x.strip())
        ok = True
        if p.site_id not in site_ids:
            problems.append(Problem(path.name, "site_id", p.site_id, "the id of a site", i))
            ok = False
        for name in slots:
            if name not in slot_names:
                problems.append(Problem(path.name, "slots", name,
                                        f"slot names ({', '.join(slot_names)}) separated by ;",
                                        i))
                ok = False
        if ok:
            posts.append(ProtectionPost(p.site_id, p.force, p.officers, slots, p.unit,
                                        p.source))
    return tuple(posts)


# -- writing ------------------------------------------------------------------------------

def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, time):
        return json.dumps(v.strftime("%H:%M"))
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)


def _fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def save_scenario(scenario: Scenario, folder: str | Path) -> Path:
    """Write a scenario as a folder that `load_scenario` reads back to an equal scenario."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    tm = scenario.travel
    lines = [
        "# CityWatch scenario. Edit the numbers here and the CSV tables beside this file;",
        "# `citywatch scenario validate DIR` checks everything.",
        f"name = {_toml_value(scenario.name)}",
        f"version = {_toml_value(scenario.version)}",
        f"timezone = {_toml_value(scenario.timezone)}",
        f"threat_level = {_toml_value(scenario.threat_level.name)}",
        'threat_levels = "threat_levels.toml"',
        "",
        "[bounds]",
        *(f"{k} = {getattr(scenario.bounds, k)!r}" for k in ("min_lat", "min_lon", "max_lat",
                                                            "max_lon")),
        "",
        "[tables]",
        'sites = "sites.csv"',
        'zones = "zones.csv"',
        'standby = "standby.csv"',
        *(['boundaries = "zones.geojson"'] if any(z.polygon for z in scenario.zones) else []),
        *(['basemap = "basemap.geojson"'] if scenario.basemap else []),
        *(['protection = "protection.csv"'] if scenario.protection else []),
        "",
    ]
    for s in scenario.slots:
        lines += ["[[slots]]", f"name = {_toml_value(s.name)}", f"start = {_toml_value(s.start)}",
                  f"hours = {s.hours!r}"]
        if s.patrol_teams is not None:
            lines.append(f"patrol_teams = {s.patrol_teams}")
        if s.arv_crews is not None:
            lines.append(f"arv_crews = {s.arv_crews}")
        lines.append("")
    fo = scenario.force
    lines.append("[force]")
    for k in ("officers", "committed_officers", "abstraction_rate", "patrol_team_size",
              "arv_crew_size", "arv_share", "weekly_hours", "shift_hours"):
        lines.append(f"{k} = {_toml_value(getattr(fo, k))}")
    lines.append("")
    for sh in fo.shifts:
        lines += ["[[force.shifts]]", f"name = {_toml_value(sh.name)}",
                  f"start = {_toml_value(sh.start)}", f"share = {sh.share!r}"]
        if sh.hours is not None:
            lines.append(f"hours = {sh.hours!r}")
        lines.append("")
    lines.append("[travel]")
    for k in ("circuity", "short_trip_circuity", "short_trip_m", "inner_speed_kmh",
              "outer_speed_kmh", "dispatch_delay_min", "engage_min", "arv_busy_probability",
              "dispatch_sigma", "travel_sigma"):
        lines.append(f"{k} = {_toml_value(getattr(tm, k))}")
    if tm.slot_speed_factor:
        lines.append("slot_speed_factor = " + _toml_value(
            dict(zip(scenario.slot_names, tm.slot_speed_factor, strict=True))))
    lines += ["", "[payoffs]",
              f"on_site_intervention_min = {scenario.payoffs.on_site_intervention_min!r}",
              f"symbolic_weight = {scenario.payoffs.symbolic_weight!r}", "",
              "[response]",
              "standards = " + _toml_value([str(x) for x in scenario.response_standards]),
              ""]
    for a in scenario.attackers:
        lines.append("[[attackers]]")
        for k in ("id", "name", "prior", "kind", "initial_casualties", "casualties_per_minute",
                  "people_cap", "crowd_exponent", "reference_people", "targets", "max_reach",
                  "interdiction", "capture_penalty", "hardening_effect", "description"):
            if getattr(a, k) is not None:
                lines.append(f"{k} = {_toml_value(getattr(a, k))}")
        lines.append("")
    (out / "scenario.toml").write_text("\n".join(lines), encoding="utf-8")
    _write_postures(scenario.postures, out / "threat_levels.toml")

    def write(name: str, header: list[str], rows: Iterable[list[object]]) -> None:
        with (out / name).open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for r in rows:
                w.writerow([_fmt(v) for v in r])

    write("sites.csv", ["id", "name", "category", "lat", "lon", "zone_id", "symbolic_value",
                        "hardening", "annual_entries_exits_m", "capacity",
                        *(f"people_{n}" for n in scenario.slot_names)],
          ([s.id, s.name, s.category, s.lat, s.lon, s.zone_id, s.symbolic_value, s.hardening,
            s.annual_entries_exits_m, s.capacity, *s.people] for s in scenario.sites))
    write("zones.csv", ["id", "name", "population_2021", "lat", "lon", "area_km2", "inner"],
          ([z.id, z.name, z.population, z.lat, z.lon, z.area_km2, str(z.inner).lower()]
           for z in scenario.zones))
    write("standby.csv", ["id", "name", "kind", "lat", "lon", "zone_id", "capacity"],
          ([p.id, p.name, p.kind, p.lat, p.lon, p.zone_id, p.capacity]
           for p in scenario.standby))
    if scenario.protection:
        write("protection.csv", ["site_id", "force", "officers", "slots", "unit", "source"],
              ([p.site_id, p.force, p.officers, ";".join(p.slots), p.unit, p.source]
               for p in scenario.protection))
    if any(z.polygon for z in scenario.zones):
        (out / "zones.geojson").write_text(json.dumps(zones_feature_collection(scenario)),
                                           encoding="utf-8")
    if scenario.basemap:
        (out / "basemap.geojson").write_text(scenario.basemap, encoding="utf-8")
    return out


def _write_postures(table: PostureTable, path: Path) -> None:
    lines = ["# Threat-level postures (assumptions; see citywatch/data/threat_levels.toml).",
             f"version = {_toml_value(table.version)}", ""]
    for p in table.postures:
        lines += [f"[{p.level.name}]", f"meaning = {_toml_value(p.level.meaning)}",
                  f"attack_likelihood = {p.attack_likelihood!r}",
                  f"deployed_share = {p.deployed_share!r}",
                  f"shift_extension_hours = {p.shift_extension_hours!r}",
                  f"committed_released_share = {p.committed_released_share!r}"]
        if p.priors:
            lines.append("priors = { " + ", ".join(f"{_toml_value(k)} = {v!r}"
                                                   for k, v in p.priors) + " }")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
