"""GeoJSON for scenario folders: zone polygons and their centroids, tables read from
GeoJSON, and the zones written back as a FeatureCollection (`citywatch.model.io`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from citywatch.errors import Problem
from citywatch.model.scenario import MultiPolygonCoords, Scenario


def _ring_centroid(ring: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Area centroid (lon, lat) and signed area of a polygon ring (shoelace formula)."""
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(a) < 1e-15:
        xs, ys = zip(*ring, strict=True)
        return sum(xs) / len(xs), sum(ys) / len(ys), 0.0
    return cx / (3 * a), cy / (3 * a), a / 2


def _centroid(polygon: MultiPolygonCoords) -> tuple[float, float]:
    """Area-weighted centroid (lon, lat) of the outer rings of a multipolygon."""
    parts = [_ring_centroid(list(p[0][:-1] if p[0][0] == p[0][-1] else p[0])) for p in polygon]
    total = sum(abs(a) for *_, a in parts)
    if total <= 0:
        return parts[0][0], parts[0][1]
    return (sum(x * abs(a) for x, _, a in parts) / total,
            sum(y * abs(a) for _, y, a in parts) / total)


def _geometry(geom: Any, file: str, row: int, problems: list[Problem]
              ) -> MultiPolygonCoords | None:
    """A feature's Polygon or MultiPolygon as MultiPolygon coordinates, or None (problem)."""
    kind = geom.get("type") if isinstance(geom, dict) else None
    coords = geom.get("coordinates") if isinstance(geom, dict) else None
    if kind not in ("Polygon", "MultiPolygon") or not isinstance(coords, list) or not coords:
        problems.append(Problem(file, "geometry.type", kind, "a Polygon or MultiPolygon", row))
        return None
    polygons = [coords] if kind == "Polygon" else coords
    out = []
    for i, poly in enumerate(polygons):
        rings = []
        for j, ring in enumerate(poly if isinstance(poly, list) else [None]):
            where = (f"geometry.coordinates[{i}][{j}]" if kind == "MultiPolygon"
                     else f"geometry.coordinates[{j}]")
            try:
                pts = tuple((float(p[0]), float(p[1])) for p in ring)
            except (TypeError, ValueError, IndexError):
                problems.append(Problem(file, where, _short(ring),
                                        "a ring of [lon, lat] number pairs", row))
                return None
            if len(pts) < 4 or pts[0] != pts[-1]:
                problems.append(Problem(file, where, f"{len(pts)} points",
                                        "a closed ring of at least 4 points (first = last)",
                                        row))
                return None
            bad = [p for p in pts if not (math.isfinite(p[0]) and math.isfinite(p[1])
                                          and -180 <= p[0] <= 180 and -90 <= p[1] <= 90)]
            if bad:
                problems.append(Problem(file, where, list(bad[0]),
                                        "[lon, lat] in degrees (lon -180..180, lat -90..90)",
                                        row))
                return None
            rings.append(pts)
        if rings:
            out.append(tuple(rings))
    return tuple(out) if out else None


def _short(value: object, n: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def _read_geojson(path: Path, problems: list[Problem]
                  ) -> tuple[list[tuple[int, dict[str, Any], MultiPolygonCoords]], str]:
    """Features of a zones GeoJSON as (row, properties, polygon), and its attribution.

    The attribution is the FeatureCollection's ``attribution`` member (a GeoJSON foreign
    member), which CityWatch prints on every map drawn from the boundaries.
    """
    if not path.is_file():
        problems.append(Problem(path.name, "(file)", str(path), "an existing GeoJSON file"))
        return [], ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        features = data["features"]
        if not isinstance(features, list):
            raise TypeError("`features` is not a list")
    except (ValueError, KeyError, TypeError) as err:
        problems.append(Problem(path.name, "(file)", str(path),
                                f"a GeoJSON FeatureCollection ({err})"))
        return [], ""
    attribution = data.get("attribution", "")
    if not isinstance(attribution, str):
        problems.append(Problem(path.name, "attribution", attribution, "a string"))
        attribution = ""
    out = []
    for i, feat in enumerate(features, start=1):
        if not isinstance(feat, dict):
            problems.append(Problem(path.name, "(feature)", _short(feat), "a GeoJSON Feature",
                                    i))
            continue
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            problems.append(Problem(path.name, "properties", _short(props), "an object", i))
            continue
        polygon = _geometry(feat.get("geometry"), path.name, i, problems)
        if polygon is not None:
            out.append((i, dict(props), polygon))
    return out, attribution


def _read_zones_geojson(path: Path, problems: list[Problem]
                        ) -> tuple[list[tuple[int, dict[str, Any], MultiPolygonCoords]], str]:
    rows, attribution = _read_geojson(path, problems)
    for _, props, polygon in rows:
        if "lat" not in props or "lon" not in props:
            lon, lat = _centroid(polygon)
            props.setdefault("lat", lat)
            props.setdefault("lon", lon)
    return rows, attribution


def _read_boundaries(path: Path, zone_ids: list[str], problems: list[Problem]
                     ) -> tuple[dict[str, MultiPolygonCoords], str]:
    """Zone polygons keyed by the features' ``id`` property, every zone exactly once."""
    rows, attribution = _read_geojson(path, problems)
    known = set(zone_ids)
    out: dict[str, MultiPolygonCoords] = {}
    for i, props, polygon in rows:
        zid = props.get("id")
        if zid is None:
            problems.append(Problem(path.name, "properties.id", None,
                                    "the id of a zone (a property named `id`)", i))
        elif zid not in known:
            problems.append(Problem(path.name, "properties.id", zid,
                                    f"the id of a zone in the zones table ("
                                    f"{', '.join(sorted(known)[:4])}, ...)", i))
        elif zid in out:
            problems.append(Problem(path.name, "properties.id", zid,
                                    "one feature per zone (a duplicate)", i))
        else:
            out[zid] = polygon
    missing = [z for z in zone_ids if z not in out]
    if rows and missing:
        problems.append(Problem(path.name, "(features)", missing[:5],
                                f"a feature for every zone ({len(missing)} missing)"))
    return out, attribution


def zones_feature_collection(scenario: Scenario,
                             properties: dict[str, dict[str, Any]] | None = None
                             ) -> dict[str, Any]:
    """The scenario's zone boundaries as a GeoJSON FeatureCollection.

    Each feature's ``id`` property is the zone id, with its ``name`` and any extra
    `properties` given per zone id; the boundaries' credit is the collection's
    ``attribution`` member. Zones without a polygon are left out.
    """
    features = []
    for z in scenario.zones:
        if z.polygon is None:
            continue
        props: dict[str, Any] = {"id": z.id, "name": z.name}
        props.update((properties or {}).get(z.id, {}))
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "MultiPolygon",
                                      "coordinates": [[list(map(list, ring)) for ring in poly]
                                                      for poly in z.polygon]}})
    out: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if scenario.boundary_attribution:
        out["attribution"] = scenario.boundary_attribution
    return out
