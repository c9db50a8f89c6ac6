r"""Many-to-many travel times by a customizable contraction hierarchy (extra ``routing``).

The ``method="cch"`` backend of `citywatch.geo.traveltimes.network_travel_times`, for
repeated many-to-many queries on a fixed network. It uses RoutingKit's customizable
contraction hierarchy (Dibbelt, Strasser & Wagner 2016) through the PyPI package
``routingkit-cch``, in three phases:

1. **Order** (weight-independent, by far the most costly): a nested-dissection order of
   the nodes from their coordinates (inertial separators). Kept on disk as
   ``cch-order-<key>.npy`` in `cache_dir` (the key a digest of the network's
   fingerprint), so a network is ordered once.
2. **Contraction and customization**: the CCH of that order, then its shortcut weights
   from the edge weights. Done once per process and network and kept in memory (the
   last `_KEEP` networks).
3. **Queries**: for a pinned set of targets, one upward search per source and a sweep
   of the targets' search spaces gives the distances to every target.

RoutingKit's weights are 32-bit integers, so each edge's time :math:`\tau_e` seconds is
rounded to whole milliseconds, :math:`w_e = \lfloor 1000\,\tau_e + \tfrac12 \rfloor`,
and the result is :math:`T(u, v) = d_w(u, v) / 1000` with :math:`d_w` the exact
shortest-path length under :math:`w` (equal, bit for bit, to Dijkstra's on the rounded
weights: tests/geo/test_cch.py). It differs from the unrounded shortest time by at most
0.5 ms per edge of the path (33 ms at most on the 200k-node benchmark graph). Paths of
2^31 ms (24.8 days) or more are beyond RoutingKit's range and come back as unreachable;
no road path comes near it.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from citywatch.errors import TravelTimeError, require
from citywatch.geo.network import FloatArray, IntArray, RoadNetwork

__all__ = ["CCHIndex", "cch_index"]

#: Seconds per unit of RoutingKit's integer weights.
RESOLUTION_S = 1e-3
_INF_WEIGHT = 2**31 - 1  # RoutingKit's "no path"
_ORDER_FORMAT_VERSION = 1
#: Networks whose customized CCH stays in memory.
_KEEP = 2
_INDEXES: OrderedDict[str, CCHIndex] = OrderedDict()


class CCHIndex:
    """The customized CCH of one network: `node_times` answers many-to-many queries.

    Build one with `cch_index` (which caches the node order on disk and the index in
    memory).
    """

    def __init__(self, network: RoadNetwork, order: IntArray) -> None:
        rk: Any = require("routingkit_cch", "routing")
        coo = network.times.tocoo()
        weights = np.floor(coo.data / RESOLUTION_S + 0.5)
        if weights.size and weights.max() >= _INF_WEIGHT:
            msg = (f"an edge of {coo.data.max():.0f} s is beyond the contraction hierarchy's "
                   f"range ({_INF_WEIGHT * RESOLUTION_S:.0f} s)")
            raise TravelTimeError(msg)
        self.fingerprint = network.fingerprint
        self.n_nodes = network.n_nodes
        tail, head = coo.row.tolist(), coo.col.tolist()
        self._cch = rk.CCH(order.tolist(), tail, head, False)
        self._metric = rk.CCHMetric(self._cch, weights.astype(np.int64).tolist())
        self._rk = rk

    def node_times(self, sources: IntArray, targets: IntArray, limit: float = math.inf, *,
                   workers: int = 1) -> FloatArray:
        """Seconds from every node in `sources` to every node in `targets`, shape
        (sources, targets); ``inf`` where there is no path or it is longer than `limit`.

        `workers` threads split the sources (RoutingKit runs without the GIL; each thread
        pins the targets once); the result is the same whatever their number.
        """
        out = np.full((len(sources), len(targets)), np.inf)
        if len(sources) == 0 or len(targets) == 0:
            return out
        src = np.asarray(sources).tolist()
        pinned = np.asarray(targets).tolist()

        def rows(lo: int, hi: int) -> None:
            sweep = self._rk.CCHOneToMany(self._metric, pinned)
            for i in range(lo, hi):
                row = np.array([_INF_WEIGHT if d is None else d
                                for d in sweep.distances_from(src[i])], dtype=np.float64)
                reached = row < _INF_WEIGHT
                out[i, reached] = row[reached] * RESOLUTION_S

        bounds = np.linspace(0, len(src), max(1, min(workers, len(src))) + 1).astype(int)
        if bounds.size == 2:
            rows(0, len(src))
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(bounds.size - 1) as pool:
                for done in [pool.submit(rows, int(lo), int(hi))
                             for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]:
                    done.result()
        if math.isfinite(limit):
            out[out > limit] = np.inf
        return out


def cch_index(network: RoadNetwork, *,
              cache_dir: str | os.PathLike[str] | None = None) -> CCHIndex:
    """The customized CCH of `network`: from memory, else built (its node order read from
    `cache_dir` when cached there, else computed and written there)."""
    index = _INDEXES.get(network.fingerprint)
    if index is not None:
        _INDEXES.move_to_end(network.fingerprint)
        return index
    index = CCHIndex(network, node_order(network, cache_dir=cache_dir))
    _INDEXES[network.fingerprint] = index
    while len(_INDEXES) > _KEEP:
        _INDEXES.popitem(last=False)
    return index


def node_order(network: RoadNetwork, *,
               cache_dir: str | os.PathLike[str] | None = None) -> IntArray:
    """The nested-dissection node order of `network` (RoutingKit's inertial flow on the
    node coordinates), cached in `cache_dir` as ``cch-order-<key>.npy``."""
    path = None
    if cache_dir is not None:
        digest = hashlib.sha256(f"citywatch.cch-order/{_ORDER_FORMAT_VERSION}|".encode())
        digest.update(network.fingerprint.encode())
        path = Path(cache_dir) / f"cch-order-{digest.hexdigest()}.npy"
        order = _read_order(path, network.n_nodes)
        if order is not None:
            return order
    rk: Any = require("routingkit_cch", "routing")
    coo = network.times.tocoo()
    order = np.asarray(rk.compute_order_inertial(
        network.n_nodes, coo.row.astype(np.uint32), coo.col.astype(np.uint32),
        np.asarray(network.lat, dtype=np.float64), np.asarray(network.lon, dtype=np.float64)),
        dtype=np.int64)
    if path is not None:
        _write_order(path, order)
    return order


def _read_order(path: Path, n: int) -> IntArray | None:
    """The cached order, or ``None`` when absent, unreadable or not a permutation of n."""
    if not path.is_file():
        return None
    try:
        order = np.load(path, allow_pickle=False)
    except Exception:  # any failure to read a cache file is a miss, never an error
        return None
    if order.dtype != np.int64 or order.shape != (n,):
        return None
    seen = np.zeros(n, dtype=bool)
    if n and (order.min() < 0 or order.max() >= n):
        return None
    seen[order] = True
    return order if seen.all() else None


def _write_order(path: Path, order: IntArray) -> None:
    """Write atomically (temporary file, then rename), so readers never see half a file."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cch-order-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, order, allow_pickle=False)
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        warnings.warn(f"could not write contraction-hierarchy cache {path}: {err}",
                      stacklevel=3)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
