"""Road networks: a directed graph with travel times on its edges, and points snapped to it.

One idea per module: this one holds `RoadNetwork`, `from_edges` and `snap`;
`citywatch.geo.osm` loads networks from OpenStreetMap (PBF extracts, GraphML,
networkx graphs) and `citywatch.geo.traveltimes` computes shortest travel times over
them. Their public names are importable from here too, as before the split.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.spatial import cKDTree

from citywatch.errors import TravelTimeError
from citywatch.geo.distance import EARTH_RADIUS_M, _coordinates, haversine_m

__all__ = ["ACCESS_SPEED_KMH", "RoadNetwork", "from_edges", "snap"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ACCESS_SPEED_KMH = 5.0
"""Default speed in km/h over the straight line between a point and its snapped node: a
walking pace, a conservative figure for the off-network stretch (officers often cover
the last metres on foot)."""


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




_MOVED = {**dict.fromkeys(("DEFAULT_SPEEDS_KMH", "NETWORK_TYPES", "WALKING_SPEED_KMH",
                           "from_networkx", "load_graphml", "load_osm_pbf", "parse_maxspeed"),
                          "citywatch.geo.osm"),
          "network_travel_times": "citywatch.geo.traveltimes"}


def __getattr__(name: str) -> Any:
    """Names that moved to `citywatch.geo.osm` and `citywatch.geo.traveltimes` (imported
    on first use: both modules import this one)."""
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
