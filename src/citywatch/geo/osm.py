"""Road networks from OpenStreetMap: PBF extracts (pyrosm), GraphML files and networkx graphs.

Edge times come from ``maxspeed`` where it parses (`parse_maxspeed`), else from the
UK speed limit of the road's ``highway`` class (`DEFAULT_SPEEDS_KMH`); one-way tags are
respected. Every loader returns a `citywatch.geo.network.RoadNetwork`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from citywatch.errors import TravelTimeError, require
from citywatch.geo.distance import haversine_m
from citywatch.geo.network import FloatArray, RoadNetwork, from_edges

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["DEFAULT_SPEEDS_KMH", "NETWORK_TYPES", "WALKING_SPEED_KMH", "from_networkx",
           "load_graphml", "load_osm_pbf", "parse_maxspeed"]

_MPH_KMH = 1.609344
_KNOT_KMH = 1.852

DEFAULT_SPEEDS_KMH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 70 * _MPH_KMH,
        "motorway_link": 40 * _MPH_KMH,
        "trunk": 50 * _MPH_KMH,
        "trunk_link": 30 * _MPH_KMH,
        "primary": 30 * _MPH_KMH,
        "primary_link": 30 * _MPH_KMH,
        "secondary": 30 * _MPH_KMH,
        "secondary_link": 30 * _MPH_KMH,
        "tertiary": 30 * _MPH_KMH,
        "tertiary_link": 30 * _MPH_KMH,
        "unclassified": 30 * _MPH_KMH,
        "busway": 30 * _MPH_KMH,
        "residential": 20 * _MPH_KMH,
        "road": 20 * _MPH_KMH,
        "living_street": 10 * _MPH_KMH,
        "service": 10 * _MPH_KMH,
        "default": 20 * _MPH_KMH,
    }
)
"""Driving speed in km/h by OSM ``highway`` class, used where ``maxspeed`` is missing or
unparseable. UK urban limits [est]: 70 mph motorways, 50 mph trunk roads, 30 mph main
roads, 20 mph residential streets (most London boroughs), 10 mph living streets and
service roads. ``"default"`` applies to classes not listed. These are legal limits,
not congested speeds; scale the times for traffic if needed."""

WALKING_SPEED_KMH = 5.0
"""Speed on every edge of a walking network unless `speeds_kmh` says otherwise."""

NETWORK_TYPES = ("driving", "driving+service", "walking")
"""Network types `load_osm_pbf` accepts (pyrosm's names)."""

_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
_ONEWAY_NO = frozenset({"no", "false", "0"})
_IMPLIED_ONEWAY_JUNCTIONS = frozenset({"roundabout", "circular"})
_IMPLIED_ONEWAY_HIGHWAYS = frozenset({"motorway"})

_MAXSPEED_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?")
_NATIONAL_LIMITS_KMH = {
    f"{country}:{code}": mph * _MPH_KMH
    for country in ("gb", "uk")
    for code, mph in (("nsl_single", 60), ("nsl_dual", 70), ("motorway", 70))
}

def parse_maxspeed(value: object) -> float | None:
    """An OSM ``maxspeed`` value in km/h, or ``None`` when it gives no usable number.

    Understands bare numbers (km/h), ``"30 mph"``, ``"50 km/h"``, ``"10 knots"``, the
    UK national-limit codes (``GB:nsl_single`` 60 mph, ``GB:nsl_dual`` and
    ``GB:motorway`` 70 mph, and ``UK:`` spellings), and lists (``"30;50"``, or a
    Python list from an OSMnx graph), of which the lowest is taken. ``"none"``,
    ``"signals"``, ``"walk"`` and other words give ``None``.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        return v if math.isfinite(v) and v > 0.0 else None
    if isinstance(value, list | tuple):
        parsed = [parse_maxspeed(item) for item in value]
        found = [p for p in parsed if p is not None]
        return min(found) if found else None
    if not isinstance(value, str):
        return None
    parts = re.split(r"[;|]", value)
    if len(parts) > 1:
        return parse_maxspeed(parts)
    text = value.strip().lower()
    if text in _NATIONAL_LIMITS_KMH:
        return _NATIONAL_LIMITS_KMH[text]
    match = _MAXSPEED_RE.fullmatch(text)
    if match is None:
        return None
    number = float(match.group(1))
    unit = match.group(2) or "km/h"
    kmh = number * {"mph": _MPH_KMH, "knots": _KNOT_KMH}.get(unit, 1.0)
    return kmh if kmh > 0.0 else None


def load_osm_pbf(
    path: str | os.PathLike[str],
    *,
    network_type: str = "driving",
    speeds_kmh: Mapping[str, float] | None = None,
) -> RoadNetwork:
    """Read a road network from an OpenStreetMap ``.osm.pbf`` file with pyrosm.

    Every segment between two OSM nodes becomes an edge. Its length is pyrosm's
    ``length`` column (metres). On driving networks its speed is the way's
    ``maxspeed`` when `parse_maxspeed` understands it, else the speed of its
    ``highway`` class in `DEFAULT_SPEEDS_KMH` updated with `speeds_kmh`. Ways
    run in one direction when tagged ``oneway=yes|true|1`` (against their node
    order for ``oneway=-1|reverse``), and, unless tagged ``oneway=no``, when
    they are roundabouts or motorways, as OSM implies. Walking networks are
    two-way throughout at `WALKING_SPEED_KMH` (or ``speeds_kmh["default"]``, or
    the class's entry in `speeds_kmh`), ignoring ``maxspeed``.

    Parameters
    ----------
    path
        Path of the ``.osm.pbf`` file; nothing is downloaded.
    network_type
        One of `NETWORK_TYPES`.
    speeds_kmh
        Speeds in km/h by ``highway`` class that replace the defaults; the key
        ``"default"`` sets the speed of unlisted classes.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    MissingDependencyError
        If pyrosm is not installed.
    TravelTimeError
        If the file does not exist, `network_type` or a speed is invalid, or the
        file holds no roads of the type asked for.
    """
    pyrosm: Any = require("pyrosm", "geo")
    if network_type not in NETWORK_TYPES:
        msg = f"`network_type` must be one of {NETWORK_TYPES}, got {network_type!r}"
        raise TravelTimeError(msg)
    if not Path(path).is_file():
        msg = f"`path` must be an existing .osm.pbf file, got {os.fspath(path)!r}"
        raise TravelTimeError(msg)
    walking = network_type == "walking"
    class_speeds = _class_speeds(speeds_kmh, walking=walking)

    result = pyrosm.OSM(os.fspath(path)).get_network(
        network_type=network_type, nodes=True, extra_attributes=["junction"]
    )
    if result is None:
        msg = f"`path` {os.fspath(path)!r} holds no {network_type} network"
        raise TravelTimeError(msg)
    nodes, edges = result
    if len(edges) == 0:
        msg = f"`path` {os.fspath(path)!r} holds no {network_type} network"
        raise TravelTimeError(msg)

    node_ids = nodes["id"].to_numpy(dtype=np.int64)
    lat = nodes["lat"].to_numpy(dtype=np.float64)
    lon = nodes["lon"].to_numpy(dtype=np.float64)
    u = edges["u"].to_numpy(dtype=np.int64)
    v = edges["v"].to_numpy(dtype=np.int64)
    # edges["length"], never edges.length: the latter is GeoPandas' length in degrees
    length = edges["length"].to_numpy(dtype=np.float64)

    highway = _column(edges, "highway")
    speed = _lookup(highway, lambda hw: _class_speed(hw, class_speeds))
    if not walking:
        maxspeed = _lookup(_column(edges, "maxspeed"), lambda m: _or_nan(parse_maxspeed(m)))
        speed = np.where(np.isnan(maxspeed), speed, maxspeed)

    if walking:
        forward = np.ones(len(edges), dtype=bool)
        backward = forward.copy()
    else:
        oneway = _normalised(_column(edges, "oneway"))
        junction = _normalised(_column(edges, "junction"))
        implied = np.isin(junction, list(_IMPLIED_ONEWAY_JUNCTIONS)) | np.isin(
            _normalised(highway), list(_IMPLIED_ONEWAY_HIGHWAYS)
        )
        is_forward = np.isin(oneway, list(_ONEWAY_FORWARD))
        is_backward = np.isin(oneway, list(_ONEWAY_BACKWARD))
        is_twoway_tag = np.isin(oneway, list(_ONEWAY_NO))
        one_direction = is_forward | is_backward | (implied & ~is_twoway_tag)
        forward = ~is_backward
        backward = ~one_direction | is_backward

    missing = np.isnan(length)
    if missing.any():
        lat_of = dict(zip(node_ids.tolist(), lat.tolist(), strict=True))
        lon_of = dict(zip(node_ids.tolist(), lon.tolist(), strict=True))
        idx = np.flatnonzero(missing)
        length[idx] = haversine_m(
            [lat_of.get(int(a), np.nan) for a in u[idx]],
            [lon_of.get(int(a), np.nan) for a in u[idx]],
            [lat_of.get(int(b), np.nan) for b in v[idx]],
            [lon_of.get(int(b), np.nan) for b in v[idx]],
        )
    seconds = length / (speed / 3.6)
    return from_edges(
        node_ids,
        lat,
        lon,
        edge_from=np.concatenate([u[forward], v[backward]]),
        edge_to=np.concatenate([v[forward], u[backward]]),
        edge_seconds=np.concatenate([seconds[forward], seconds[backward]]),
    )


def load_graphml(
    path: str | os.PathLike[str],
    *,
    speeds_kmh: Mapping[str, float] | None = None,
) -> RoadNetwork:
    """Read a road network saved by OSMnx (``osmnx.save_graphml``).

    Parameters
    ----------
    path
        Path of the GraphML file.
    speeds_kmh
        Speeds by ``highway`` class that replace `DEFAULT_SPEEDS_KMH`, used only for
        edges without ``travel_time``, ``speed_kph`` or a parseable ``maxspeed``.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    MissingDependencyError
        If OSMnx is not installed.
    TravelTimeError
        If the file does not exist or the graph is unusable (see `from_networkx`).
    """
    ox: Any = require("osmnx", "geo")
    if not Path(path).is_file():
        msg = f"`path` must be an existing GraphML file, got {os.fspath(path)!r}"
        raise TravelTimeError(msg)
    return from_networkx(ox.load_graphml(Path(path)), speeds_kmh=speeds_kmh)


def from_networkx(
    G: nx.Graph[Any],
    *,
    speeds_kmh: Mapping[str, float] | None = None,
) -> RoadNetwork:
    """Convert a NetworkX graph in OSMnx's conventions to a `RoadNetwork`.

    Nodes are integer OSM ids with ``x`` (longitude) and ``y`` (latitude)
    attributes. Each edge's time is its ``travel_time`` attribute (seconds) when
    present, else its ``length`` (metres; the great-circle distance between its
    ends when absent) over a speed taken from, in order, ``speed_kph``, a
    parseable ``maxspeed``, or its ``highway`` class in `DEFAULT_SPEEDS_KMH`
    updated with `speeds_kmh`. Directed graphs keep their direction (OSMnx
    already adds both directions of two-way streets); undirected graphs give
    edges both ways.

    Parameters
    ----------
    G
        The graph (``MultiDiGraph``, ``DiGraph``, ``Graph``...).
    speeds_kmh
        Speeds in km/h by ``highway`` class that replace the defaults.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    TravelTimeError
        If a node lacks coordinates or an integer id, or an edge's time cannot be
        worked out.
    """
    class_speeds = _class_speeds(speeds_kmh, walking=False)
    ids: list[int] = []
    lat: list[float] = []
    lon: list[float] = []
    for node, data in G.nodes(data=True):
        try:
            ids.append(int(node))
            lon.append(float(data["x"]))
            lat.append(float(data["y"]))
        except (KeyError, TypeError, ValueError) as err:
            msg = f"node {node!r} of `G` needs an integer id and numeric `x`/`y` attributes"
            raise TravelTimeError(msg) from err
    lat_of = dict(zip(ids, lat, strict=True))
    lon_of = dict(zip(ids, lon, strict=True))

    u_ids: list[int] = []
    v_ids: list[int] = []
    seconds: list[float] = []
    for a, b, data in G.edges(data=True):
        seconds.append(_edge_seconds(a, b, data, class_speeds, lat_of, lon_of))
        u_ids.append(int(a))
        v_ids.append(int(b))
    if not G.is_directed():
        u_ids, v_ids, seconds = u_ids + v_ids, v_ids + u_ids, seconds + seconds
    return from_edges(ids, lat, lon, edge_from=u_ids, edge_to=v_ids, edge_seconds=seconds)


def _class_speeds(speeds_kmh: Mapping[str, float] | None, *, walking: bool) -> dict[str, float]:
    base = {"default": WALKING_SPEED_KMH} if walking else dict(DEFAULT_SPEEDS_KMH)
    for key, value in (speeds_kmh or {}).items():
        try:
            v = float(value)
        except (TypeError, ValueError) as err:
            msg = f"`speeds_kmh[{key!r}]` must be a number, got {value!r}"
            raise TravelTimeError(msg) from err
        if not (math.isfinite(v) and v > 0.0):
            msg = f"`speeds_kmh[{key!r}]` must be positive and finite, got {value!r}"
            raise TravelTimeError(msg)
        base[str(key)] = v
    return base


def _class_speed(highway: object, class_speeds: Mapping[str, float]) -> float:
    """Speed of a ``highway`` value; for a list (a simplified OSMnx edge), the mean."""
    if isinstance(highway, list | tuple):
        if not highway:
            return class_speeds["default"]
        return float(np.mean([_class_speed(h, class_speeds) for h in highway]))
    if isinstance(highway, str):
        return class_speeds.get(highway.strip().lower(), class_speeds["default"])
    return class_speeds["default"]


def _edge_seconds(
    a: object,
    b: object,
    data: Mapping[str, Any],
    class_speeds: Mapping[str, float],
    lat_of: Mapping[int, float],
    lon_of: Mapping[int, float],
) -> float:
    travel_time = _finite_or_none(data.get("travel_time"))
    if travel_time is not None:
        if travel_time < 0.0:
            msg = f"edge ({a!r}, {b!r}) of `G` has negative `travel_time` {travel_time!r}"
            raise TravelTimeError(msg)
        return travel_time
    length = _finite_or_none(data.get("length"))
    if length is None:
        ia, ib = int(a), int(b)  # type: ignore[call-overload]
        length = float(haversine_m(lat_of[ia], lon_of[ia], lat_of[ib], lon_of[ib]))
    if length < 0.0:
        msg = f"edge ({a!r}, {b!r}) of `G` has negative `length` {length!r}"
        raise TravelTimeError(msg)
    speed = parse_maxspeed(data.get("speed_kph"))
    if speed is None:
        speed = parse_maxspeed(data.get("maxspeed"))
    if speed is None:
        speed = _class_speed(data.get("highway"), class_speeds)
    return length / (speed / 3.6)


def _finite_or_none(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def _column(frame: Any, name: str) -> npt.NDArray[np.object_]:
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return np.asarray(frame[name].to_numpy(dtype=object, na_value=None), dtype=object)


def _normalised(values: npt.NDArray[np.object_]) -> npt.NDArray[np.str_]:
    return np.array([v.strip().lower() if isinstance(v, str) else "" for v in values], dtype=str)


def _lookup(values: npt.NDArray[np.object_], func: Any) -> FloatArray:
    """``func`` applied to each value, computed once per distinct value."""
    memo: dict[object, float] = {}
    out = np.empty(values.shape[0], dtype=np.float64)
    for i, value in enumerate(values):
        key = value if isinstance(value, str | int | float) or value is None else repr(value)
        if key not in memo:
            memo[key] = float(func(value))
        out[i] = memo[key]
    return out


