"""Road networks from OpenStreetMap and exact shortest travel times over them."""

from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from citywatch.errors import TravelTimeError, require
from citywatch.geo.distance import EARTH_RADIUS_M, _coordinates, haversine_m

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "ACCESS_SPEED_KMH",
    "DEFAULT_SPEEDS_KMH",
    "NETWORK_TYPES",
    "WALKING_SPEED_KMH",
    "RoadNetwork",
    "from_edges",
    "from_networkx",
    "load_graphml",
    "load_osm_pbf",
    "network_travel_times",
    "parse_maxspeed",
    "snap",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

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

ACCESS_SPEED_KMH = 5.0
"""Default speed in km/h over the straight line between a point and its snapped node: a
walking pace, a conservative figure for the off-network stretch (officers often cover
the last metres on foot)."""

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

_CACHE_FORMAT_VERSION = 1
_MAX_DIJKSTRA_ENTRIES = 1 << 24  # rows x nodes held at once: 128 MB of float64


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed road network with travel times in seconds on its edges.

    Build one with `load_osm_pbf`, `load_graphml`, `from_networkx` or `from_edges`;
    the arrays are made read-only so that `fingerprint` stays true to them.

    Attributes
    ----------
    node_ids
        OSM node ids, shape (n,), sorted ascending and unique.
    lat, lon
        Node coordinates in degrees, shape (n,).
    times
        Sparse (n, n) CSR matrix; ``times[i, j]`` is the travel time in seconds
        along the fastest edge from node ``i`` to node ``j`` (one-way streets give
        an entry in one direction only). Absent entries are not edges; stored
        zeros are zero-time edges.
    fingerprint
        SHA-256 hex digest of all the arrays above, used as a cache key.
    """

    node_ids: IntArray
    lat: FloatArray
    lon: FloatArray
    times: sp.csr_matrix
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        n = self.node_ids.shape[0] if isinstance(self.node_ids, np.ndarray) else -1
        for name, kind in (("node_ids", "i"), ("lat", "f"), ("lon", "f")):
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.shape != (n,) or arr.dtype.kind != kind:
                what = "integer" if kind == "i" else "float"
                msg = f"`{name}` must be a 1-D {what} array with one entry per node"
                raise TravelTimeError(msg)
        if self.node_ids.dtype != np.int64 or (n > 1 and np.any(np.diff(self.node_ids) <= 0)):
            msg = "`node_ids` must be int64, sorted ascending and unique (use `from_edges`)"
            raise TravelTimeError(msg)
        times = self.times
        if not (sp.issparse(times) and times.format == "csr" and times.shape == (n, n)):
            msg = f"`times` must be a scipy.sparse CSR matrix of shape ({n}, {n})"
            raise TravelTimeError(msg)
        if not times.has_canonical_format:
            msg = "`times` must be in canonical CSR format, without duplicates (use `from_edges`)"
            raise TravelTimeError(msg)
        if times.nnz and not (np.all(np.isfinite(times.data)) and times.data.min() >= 0.0):
            msg = "`times` must hold finite, non-negative seconds"
            raise TravelTimeError(msg)
        digest = hashlib.sha256()
        for arr in (self.node_ids, self.lat, self.lon, times.indptr, times.indices, times.data):
            arr.flags.writeable = False
            dtype = np.float64 if arr.dtype.kind == "f" else np.int64
            canonical = np.ascontiguousarray(arr, dtype=dtype)
            digest.update(f"{canonical.dtype.str}{canonical.shape}".encode())
            digest.update(canonical.tobytes())
        object.__setattr__(self, "fingerprint", digest.hexdigest())

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_ids.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.times.nnz)


def from_edges(
    node_ids: npt.ArrayLike,
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    *,
    edge_from: npt.ArrayLike,
    edge_to: npt.ArrayLike,
    edge_seconds: npt.ArrayLike,
) -> RoadNetwork:
    """Build a `RoadNetwork` from node and directed edge arrays.

    Self-loops are dropped; of parallel edges between the same ordered pair of
    nodes, the fastest is kept.

    Parameters
    ----------
    node_ids
        Node ids (integers, unique), shape (n,).
    lat, lon
        Node coordinates in degrees, shape (n,).
    edge_from, edge_to
        Node ids at each directed edge's start and end, shape (m,).
    edge_seconds
        Travel time along each edge in seconds, shape (m,).

    Returns
    -------
    RoadNetwork
        Nodes sorted by id.

    Raises
    ------
    TravelTimeError
        If the arrays disagree in length, node ids repeat, a coordinate is out of
        range, an edge names an unknown node, or a time is negative or not finite.
    """
    ids = np.asarray(node_ids, dtype=np.int64).reshape(-1)
    la, lo = _coordinates(lat, lon, "lat", "lon")
    if la.shape != ids.shape:
        msg = (
            f"`node_ids` and `lat` must have the same length, got {ids.shape[0]} and {la.shape[0]}"
        )
        raise TravelTimeError(msg)
    order = np.argsort(ids, kind="stable")
    ids, la, lo = ids[order], la[order], lo[order]
    dup = np.flatnonzero(np.diff(ids) == 0)
    if dup.size:
        msg = f"`node_ids` must be unique, got {int(ids[dup[0]])} more than once"
        raise TravelTimeError(msg)

    u_ids = np.asarray(edge_from, dtype=np.int64).reshape(-1)
    v_ids = np.asarray(edge_to, dtype=np.int64).reshape(-1)
    secs = np.asarray(edge_seconds, dtype=np.float64).reshape(-1)
    if not (u_ids.shape == v_ids.shape == secs.shape):
        msg = (
            "`edge_from`, `edge_to` and `edge_seconds` must have the same length, "
            f"got {u_ids.shape[0]}, {v_ids.shape[0]} and {secs.shape[0]}"
        )
        raise TravelTimeError(msg)
    bad = np.flatnonzero(~(np.isfinite(secs) & (secs >= 0.0)))
    if bad.size:
        i = int(bad[0])
        msg = f"`edge_seconds[{i}]` must be finite and >= 0, got {float(secs[i])!r}"
        raise TravelTimeError(msg)
    u = _index_of(ids, u_ids, "edge_from")
    v = _index_of(ids, v_ids, "edge_to")

    keep = u != v
    u, v, secs = u[keep], v[keep], secs[keep]
    # sort by (u, v, seconds) so the first of each (u, v) run is its fastest edge
    order = np.lexsort((secs, v, u))
    u, v, secs = u[order], v[order], secs[order]
    first = np.ones(u.shape[0], dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, secs = u[first], v[first], secs[first]

    n = ids.shape[0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    times = sp.csr_matrix((secs, v.astype(np.int64), indptr), shape=(n, n))
    return RoadNetwork(node_ids=ids, lat=la, lon=lo, times=times)


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


def snap(
    network: RoadNetwork,
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    *,
    max_distance_m: float = 500.0,
) -> tuple[IntArray, FloatArray]:
    """The nearest network node to each point.

    Nodes are searched with a k-d tree on an equirectangular projection centred on
    the network (accurate to well under 1% across a city); the distances returned
    are great-circle distances to the chosen nodes.

    Parameters
    ----------
    network
        The road network.
    lat, lon
        Point coordinates in degrees, shape (n,).
    max_distance_m
        Largest allowed distance from a point to its node, metres.

    Returns
    -------
    nodes : numpy.ndarray
        Index (not OSM id) of each point's node, shape (n,).
    distances : numpy.ndarray
        Metres from each point to its node, shape (n,).

    Raises
    ------
    TravelTimeError
        If a coordinate is invalid, the network has no nodes, `max_distance_m` is not
        positive, or a point is farther than `max_distance_m` from every node (the
        message names the first such point and its distance).
    """
    la, lo = _coordinates(lat, lon, "lat", "lon")
    return _snap(network, la, lo, max_distance_m=max_distance_m, what="point")


def network_travel_times(
    network: RoadNetwork,
    orig_lat: npt.ArrayLike,
    orig_lon: npt.ArrayLike,
    dest_lat: npt.ArrayLike,
    dest_lon: npt.ArrayLike,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    max_snap_m: float = 500.0,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    workers: int | None = None,
    limit_s: float | None = None,
) -> FloatArray:
    r"""Shortest travel times in seconds over the network from every origin to every destination.

    Each point is snapped to its nearest node (`snap`). With :math:`s_o`, :math:`s_d`
    the snap distances, :math:`v_a` the access speed and :math:`T(u, w)` the
    shortest-path time between nodes over the directed network (exact Dijkstra,
    :func:`scipy.sparse.csgraph.dijkstra`, run once per distinct origin node),

    .. math:: t(o, d) = T(u_o, w_d) + (s_o + s_d) / v_a,

    and :math:`t = \infty` where no path exists.

    With `limit_s` (e.g. the response standard, when only times within it matter) each
    search stops once it has settled every node within `limit_s` of its origin
    (Dijkstra's ``limit``): every time up to `limit_s` is exact, the same as without a
    limit, and every longer one is reported as :math:`\infty`. On a city network that
    is most of the work saved.

    Parameters
    ----------
    network
        The road network.
    orig_lat, orig_lon
        Origin coordinates in degrees, shape (n_orig,).
    dest_lat, dest_lon
        Destination coordinates in degrees, shape (n_dest,).
    cache_dir
        If given, a directory (created if missing) where the matrix is kept as
        ``traveltimes-<key>.npz``, the key being a SHA-256 digest of the network's
        fingerprint, the four coordinate arrays, `max_snap_m`, `access_speed_kmh`
        and a format version. A cached matrix is returned as stored (bit for bit);
        an unreadable or mismatched file is ignored and rewritten.
    max_snap_m
        Largest allowed distance from a point to its node, metres.
    access_speed_kmh
        Speed over the snap distances, km/h; defaults to `ACCESS_SPEED_KMH`.
    workers
        Processes to split the origins over (SciPy's Dijkstra holds the GIL, so threads
        would not help). ``None``: one per CPU when there are at least
        ``_PARALLEL_MIN_SOURCES`` distinct origins, else 1. The result is the same
        whatever the number.
    limit_s
        Longest time of interest, seconds; longer (or no) paths give ``inf``. ``None``:
        no limit.

    Returns
    -------
    numpy.ndarray
        Seconds, shape (n_orig, n_dest), ``inf`` where unreachable.

    Raises
    ------
    TravelTimeError
        If a coordinate or option is invalid, or a point cannot be snapped within
        `max_snap_m` (the message says which origin or destination).
    """
    olat, olon = _coordinates(orig_lat, orig_lon, "orig_lat", "orig_lon")
    dlat, dlon = _coordinates(dest_lat, dest_lon, "dest_lat", "dest_lon")
    if not (math.isfinite(access_speed_kmh) and access_speed_kmh > 0.0):
        msg = f"`access_speed_kmh` must be positive and finite, got {access_speed_kmh!r}"
        raise TravelTimeError(msg)
    if limit_s is not None and not (limit_s >= 0.0):  # rejects NaN too
        msg = f"`limit_s` must be >= 0 seconds (or None), got {limit_s!r}"
        raise TravelTimeError(msg)
    limit = math.inf if limit_s is None else float(limit_s)

    cache_path: Path | None = None
    if cache_dir is not None:
        key = _cache_key(network, (olat, olon, dlat, dlon), max_snap_m, access_speed_kmh,
                         *(() if limit_s is None else (limit,)))
        cache_path = Path(cache_dir) / f"traveltimes-{key}.npz"
        cached = _read_cache(cache_path, key, (olat.shape[0], dlat.shape[0]))
        if cached is not None:
            return cached

    o_nodes, o_dist = _snap(network, olat, olon, max_distance_m=max_snap_m, what="origin")
    d_nodes, d_dist = _snap(network, dlat, dlon, max_distance_m=max_snap_m, what="destination")
    sources, o_row = np.unique(o_nodes, return_inverse=True)
    if workers is None:
        workers = (os.cpu_count() or 1) if sources.shape[0] >= _PARALLEL_MIN_SOURCES else 1
    if workers < 1:
        msg = f"`workers` must be >= 1, got {workers}"
        raise TravelTimeError(msg)
    if workers == 1:
        node_times = _node_times(network.times, sources, d_nodes, limit)
    else:
        import concurrent.futures
        import multiprocessing

        parts = np.array_split(sources, workers)
        ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            results = list(pool.map(_node_times, [network.times] * workers, parts,
                                    [d_nodes] * workers, [limit] * workers))
        node_times = np.concatenate(results, axis=0)
    access = (o_dist[:, None] + d_dist[None, :]) / (access_speed_kmh / 3.6)
    seconds = np.asarray(node_times[o_row.reshape(-1)] + access, dtype=np.float64)
    if limit_s is not None:
        seconds[seconds > limit] = np.inf

    if cache_path is not None:
        _write_cache(cache_path, key, seconds)
    return seconds


# ---------------------------------------------------------------------------- helpers

#: Distinct origins from which `network_travel_times` splits the work over processes.
_PARALLEL_MIN_SOURCES = 64


def _node_times(times: sp.csr_array, sources: IntArray, d_nodes: IntArray,
                limit: float = math.inf) -> FloatArray:
    """Dijkstra from `sources` up to `limit`, keeping the columns of `d_nodes` (batched)."""
    out = np.empty((sources.shape[0], d_nodes.shape[0]), dtype=np.float64)
    batch = max(1, _MAX_DIJKSTRA_ENTRIES // max(times.shape[0], 1))
    for start in range(0, sources.shape[0], batch):
        chunk = sources[start : start + batch]
        dist = dijkstra(times, directed=True, indices=chunk, limit=limit)
        out[start : start + chunk.shape[0]] = np.asarray(dist)[:, d_nodes]
    return out



def _snap(
    network: RoadNetwork,
    lat: FloatArray,
    lon: FloatArray,
    *,
    max_distance_m: float,
    what: str,
) -> tuple[IntArray, FloatArray]:
    if not (max_distance_m > 0.0):  # rejects NaN too; inf means no limit
        msg = f"`max_distance_m` must be positive, got {max_distance_m!r}"
        raise TravelTimeError(msg)
    if network.n_nodes == 0:
        msg = "`network` has no nodes to snap to"
        raise TravelTimeError(msg)
    if lat.shape[0] == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    lat0 = float(np.mean(network.lat))
    lon0 = float(np.mean(network.lon))
    tree = cKDTree(_project(network.lat, network.lon, lat0, lon0))
    _, idx = tree.query(_project(lat, lon, lat0, lon0))
    nodes = np.asarray(idx, dtype=np.int64)
    dist = haversine_m(lat, lon, network.lat[nodes], network.lon[nodes])
    far = np.flatnonzero(dist > max_distance_m)
    if far.size:
        i = int(far[0])
        msg = (
            f"{what} {i} at ({lat[i]:.6f}, {lon[i]:.6f}) is {dist[i]:.0f} m from the nearest "
            f"road node, more than `max_distance_m` = {max_distance_m:g} m"
            + (f" ({far.size} {what}s in all)" if far.size > 1 else "")
        )
        raise TravelTimeError(msg)
    return nodes, dist


def _project(lat: FloatArray, lon: FloatArray, lat0: float, lon0: float) -> FloatArray:
    """Local equirectangular coordinates in metres around (lat0, lon0)."""
    dlon = (lon - lon0 + 180.0) % 360.0 - 180.0
    x = EARTH_RADIUS_M * np.radians(dlon) * math.cos(math.radians(lat0))
    y = EARTH_RADIUS_M * np.radians(lat - lat0)
    return np.column_stack([x, y])


def _index_of(sorted_ids: IntArray, wanted: IntArray, name: str) -> IntArray:
    pos = np.searchsorted(sorted_ids, wanted)
    ok = np.zeros(wanted.shape, dtype=bool)
    inside = pos < sorted_ids.shape[0]
    ok[inside] = sorted_ids[pos[inside]] == wanted[inside]
    bad = np.flatnonzero(~ok)
    if bad.size:
        i = int(bad[0])
        msg = f"`{name}[{i}]` = {int(wanted[i])} is not a node id"
        raise TravelTimeError(msg)
    return pos.astype(np.int64)


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


def _cache_key(
    network: RoadNetwork,
    arrays: Iterable[FloatArray],
    max_snap_m: float,
    access_speed_kmh: float,
    *limit: float,
) -> str:
    digest = hashlib.sha256(f"citywatch.traveltimes/{_CACHE_FORMAT_VERSION}".encode())
    digest.update(network.fingerprint.encode())
    for arr in arrays:
        a = np.ascontiguousarray(arr, dtype=np.float64)
        digest.update(f"|{a.shape}|".encode())
        digest.update(a.tobytes())
    digest.update(f"|{float(max_snap_m)!r}|{float(access_speed_kmh)!r}".encode())
    for value in limit:  # absent without a limit, so older cache files stay valid
        digest.update(f"|limit={float(value)!r}".encode())
    return digest.hexdigest()


def _read_cache(path: Path, key: str, shape: tuple[int, int]) -> FloatArray | None:
    """The cached matrix, or ``None`` when the file is absent, unreadable or not ours."""
    if not path.is_file():
        return None
    try:
        # our own handle, closed even when np.load fails half-way through a bad zip
        with path.open("rb") as fh, np.load(fh, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                return None
            seconds = np.array(stored["seconds"])
    except Exception:  # any failure to read a cache file is a miss, never an error
        return None
    if seconds.dtype != np.float64 or seconds.shape != shape:
        return None
    return seconds


def _write_cache(path: Path, key: str, seconds: FloatArray) -> None:
    """Write atomically (temporary file, then rename), so readers never see half a file."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".traveltimes-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, key=np.array(key), seconds=seconds)
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        warnings.warn(f"could not write travel-time cache {path}: {err}", stacklevel=3)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
