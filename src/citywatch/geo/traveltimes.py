"""Exact shortest travel times over a road network, cached on disk, bounded if asked."""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from citywatch.errors import TravelTimeError
from citywatch.geo.distance import _coordinates
from citywatch.geo.network import (
    ACCESS_SPEED_KMH,
    FloatArray,
    IntArray,
    RoadNetwork,
    _snap,
)

__all__ = ["network_travel_times"]

_CACHE_FORMAT_VERSION = 1
_METHODS = ("dijkstra", "cch")
_MAX_DIJKSTRA_ENTRIES = 1 << 24  # rows x nodes held at once: 128 MB of float64


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
    method: str = "dijkstra",
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

    With ``method="cch"`` (extra ``routing``) :math:`T` comes from a customizable
    contraction hierarchy instead (`citywatch.geo.cch`): for repeated many-to-many
    queries on a fixed network, its preprocessing cached in `cache_dir` and in memory.
    Its edge times are rounded to the millisecond (at most 0.5 ms per edge of a path
    from Dijkstra's times); `limit_s` then only masks the longer times.

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
        would not help; with ``method="cch"``, threads). ``None``: one per CPU when
        there are at least ``_PARALLEL_MIN_SOURCES`` distinct origins, else 1. The
        result is the same whatever the number.
    limit_s
        Longest time of interest, seconds; longer (or no) paths give ``inf``. ``None``:
        no limit.
    method
        ``"dijkstra"`` (exact, the default) or ``"cch"`` (contraction hierarchy; its
        `workers` are threads).

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
    if method not in _METHODS:
        msg = f"`method` must be one of {', '.join(_METHODS)}, got {method!r}"
        raise TravelTimeError(msg)

    cache_path: Path | None = None
    if cache_dir is not None:
        key = _cache_key(network, (olat, olon, dlat, dlon), max_snap_m, access_speed_kmh,
                         *(() if limit_s is None else (limit,)), method=method)
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
    if method == "cch":
        from citywatch.geo.cch import cch_index

        node_times = cch_index(network, cache_dir=cache_dir).node_times(
            sources, d_nodes, limit, workers=workers)
    elif workers == 1:
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



def _cache_key(
    network: RoadNetwork,
    arrays: Iterable[FloatArray],
    max_snap_m: float,
    access_speed_kmh: float,
    *limit: float,
    method: str = "dijkstra",
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
    if method != "dijkstra":  # likewise
        digest.update(f"|method={method}".encode())
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
