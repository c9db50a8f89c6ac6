"""A compact basemap from OpenStreetMap: major roads, water and boundaries, as GeoJSON.

`build_basemap` reads an ``.osm.pbf`` extract with pyrosm (the ``geo`` extra) and keeps
what a planner needs to find their way on a coverage map, and nothing else:

* ``road``: ways tagged ``highway`` = motorway, trunk, primary or secondary (and their
  links), with their ``ref`` or ``name``;
* ``water``: ``natural=water``, ``waterway`` = river, riverbank or canal, and
  ``landuse=reservoir``;
* ``boundary``: ``boundary=administrative`` relations and ways.

Geometries are simplified (Douglas–Peucker, `simplify_m` metres, topology kept) and
their coordinates rounded to 5 decimals (about 1 m), so a city's basemap stays a few
hundred kilobytes. Every feature has a ``layer`` property; the collection carries the
OpenStreetMap credit (ODbL) as its ``attribution`` member. A scenario folder holding the
result as ``basemap.geojson`` has it drawn under the dashboard's and the report's maps.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from citywatch.errors import CityWatchError, require

__all__ = ["MAJOR_ROADS", "OSM_ATTRIBUTION", "build_basemap", "write_basemap"]

MAJOR_ROADS = ("motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
               "secondary", "secondary_link")
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
_WATER = {"natural": ["water"], "waterway": ["river", "riverbank", "canal"],
          "landuse": ["reservoir"]}


def build_basemap(path: str | Path, *, simplify_m: float = 20.0) -> dict[str, Any]:
    """The basemap of an OpenStreetMap extract as a GeoJSON FeatureCollection.

    Parameters
    ----------
    path
        An ``.osm.pbf`` file.
    simplify_m
        Douglas–Peucker tolerance in metres (0 keeps every vertex).

    Raises
    ------
    CityWatchError
        If the file is missing, is not a PBF extract, or holds none of the three layers.
    """
    require("pyrosm", "geo")
    require("shapely", "geo")
    from pyrosm import OSM
    from pyrosm.exceptions import PBFException

    path = Path(path)
    if not path.is_file():
        msg = f"`path` {str(path)!r} is not a file"
        raise CityWatchError(msg)
    if not math.isfinite(simplify_m) or simplify_m < 0:
        msg = f"`simplify_m` must be >= 0, got {simplify_m}"
        raise CityWatchError(msg)
    try:
        osm = OSM(str(path))
        roads = osm.get_data_by_custom_criteria(custom_filter={"highway": list(MAJOR_ROADS)},
                                                filter_type="keep", keep_nodes=False,
                                                keep_relations=False)
        water = osm.get_data_by_custom_criteria(custom_filter=_WATER, filter_type="keep",
                                                keep_nodes=False)
        bounds = osm.get_boundaries(boundary_type="administrative")
    except (OSError, ValueError, RuntimeError, PBFException) as err:
        msg = f"`path` {str(path)!r} is not a readable OpenStreetMap PBF extract ({err})"
        raise CityWatchError(msg) from err
    features: list[dict[str, Any]] = []
    for layer, frame in (("boundary", bounds), ("water", water), ("road", roads)):
        features += _features(layer, frame, simplify_m)
    if not features:
        msg = f"`path` {str(path)!r} holds no major roads, water or boundaries"
        raise CityWatchError(msg)
    return {"type": "FeatureCollection", "attribution": OSM_ATTRIBUTION, "features": features}


def _features(layer: str, frame: Any, simplify_m: float) -> list[dict[str, Any]]:
    if frame is None or len(frame) == 0:
        return []
    from shapely.geometry import mapping

    south, north = float(frame.total_bounds[1]), float(frame.total_bounds[3])
    lat = (south + north) / 2
    tolerance = simplify_m / (111_320.0 * max(math.cos(math.radians(lat)), 0.1))
    out = []
    for _, row in frame.iterrows():
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        kind = geom.geom_type
        if layer == "road" and kind not in ("LineString", "MultiLineString"):
            continue
        if layer != "road" and kind not in ("LineString", "MultiLineString", "Polygon",
                                            "MultiPolygon"):
            continue
        if tolerance > 0:
            geom = geom.simplify(tolerance, preserve_topology=True)
        props: dict[str, Any] = {"layer": layer}
        for key in ("name", "ref", "highway", "waterway", "natural", "admin_level"):
            value = row.get(key) if hasattr(row, "get") else None
            if isinstance(value, str) and value:
                props[key] = value
        out.append({"type": "Feature", "properties": props,
                    "geometry": _rounded(mapping(geom))})
    return out


def _rounded(geometry: dict[str, Any]) -> dict[str, Any]:
    def walk(c: Any) -> Any:
        if isinstance(c, list | tuple) and c and isinstance(c[0], int | float):
            return [round(float(c[0]), 5), round(float(c[1]), 5)]
        return [walk(x) for x in c]

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def write_basemap(basemap: dict[str, Any], path: str | Path) -> Path:
    """Write a basemap as compact GeoJSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(basemap, ensure_ascii=False, separators=(",", ":")),
                    encoding="utf-8")
    return path
