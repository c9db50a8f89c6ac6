"""The contraction-hierarchy backend (extra ``routing``) against Dijkstra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from citywatch.errors import TravelTimeError
from citywatch.geo import cch
from citywatch.geo.distance import haversine_m
from citywatch.geo.network import RoadNetwork, from_edges, network_travel_times

rk = pytest.importorskip("routingkit_cch")


def _grid(n_side: int, seed: int) -> RoadNetwork:
    """A perturbed street grid with one-way streets and a few removed (as bench_response's
    graph, smaller); node 0 has no way in."""
    rng = np.random.default_rng(seed)
    n = n_side * n_side
    ii, jj = np.divmod(np.arange(n), n_side)
    lat = 51.5 + ii * 0.00054 + rng.normal(0, 0.00008, n)
    lon = -0.1 + jj * 0.00086 + rng.normal(0, 0.00012, n)
    right, down = np.flatnonzero(jj < n_side - 1), np.flatnonzero(ii < n_side - 1)
    u, v = np.concatenate([right, down]), np.concatenate([right + 1, down + n_side])
    keep = rng.random(u.size) > 0.08
    u, v = u[keep], v[keep]
    secs = haversine_m(lat[u], lon[u], lat[v], lon[v]) / rng.uniform(5.0, 14.0, u.size)
    oneway = rng.random(u.size) < 0.2
    eu, ev = np.concatenate([u, v[~oneway]]), np.concatenate([v, u[~oneway]])
    es = np.concatenate([secs, secs[~oneway]])
    into_0 = ev == 0  # node 0 can be left but not reached
    return from_edges(np.arange(n), lat, lon, edge_from=eu[~into_0], edge_to=ev[~into_0],
                      edge_seconds=es[~into_0])


def _rounded(net: RoadNetwork) -> sp.csr_array:
    """The network's edge times in the hierarchy's integer units (exact in float64)."""
    t = sp.csr_array(net.times)
    units = np.floor(t.data / cch.RESOLUTION_S + 0.5)
    return sp.csr_array((units, t.indices, t.indptr), shape=t.shape)


@pytest.fixture(scope="module")
def grid() -> RoadNetwork:
    return _grid(25, 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_node_times_equal_dijkstra_on_the_rounded_weights(seed: int) -> None:
    net = _grid(20, seed)
    rng = np.random.default_rng(seed)
    src, dst = rng.choice(net.n_nodes, 30, replace=False), rng.choice(net.n_nodes, 45)
    src[0], dst[0] = 0, 0
    times = cch.cch_index(net).node_times(src, dst)
    np.testing.assert_array_equal(cch.cch_index(net).node_times(src, dst, workers=3), times)
    exact = dijkstra(_rounded(net), directed=True, indices=src)[:, dst] * cch.RESOLUTION_S
    np.testing.assert_array_equal(times, exact)  # bit for bit, inf where no path
    assert np.isinf(times).any() and np.isfinite(times).mean() > 0.5
    # and within half a millisecond per edge of the unrounded shortest times
    full = dijkstra(net.times, directed=True, indices=src)[:, dst]
    finite = np.isfinite(full)
    assert np.array_equal(finite, np.isfinite(times))
    assert np.all(np.abs(times[finite] - full[finite]) <= 0.5e-3 * net.n_nodes)


def test_network_travel_times_by_cch(grid: RoadNetwork, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    o, d = rng.choice(grid.n_nodes, 20, replace=False), rng.choice(grid.n_nodes, 30)
    args = (grid, grid.lat[o] + 2e-5, grid.lon[o], grid.lat[d], grid.lon[d] - 2e-5)
    by_cch = network_travel_times(*args, method="cch", cache_dir=tmp_path)
    by_dijkstra = network_travel_times(*args)
    finite = np.isfinite(by_dijkstra)
    assert np.array_equal(finite, np.isfinite(by_cch))
    assert np.all(np.abs(by_cch[finite] - by_dijkstra[finite]) <= 0.5e-3 * grid.n_nodes)
    # the matrix and the node order are cached, keyed apart from Dijkstra's matrix
    assert len(list(tmp_path.glob("traveltimes-*.npz"))) == 1
    assert len(list(tmp_path.glob("cch-order-*.npy"))) == 1
    limit = float(np.median(by_cch[finite]))
    bounded = network_travel_times(*args, method="cch", limit_s=limit)
    within = by_cch <= limit
    np.testing.assert_array_equal(bounded[within], by_cch[within])
    assert np.all(np.isinf(bounded[~within])) and within.any() and (~within).any()
    with pytest.raises(TravelTimeError, match="`method`"):
        network_travel_times(*args, method="astar")


def test_the_node_order_is_read_back_from_the_cache(
        grid: RoadNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = cch.node_order(grid, cache_dir=tmp_path)
    assert sorted(first.tolist()) == list(range(grid.n_nodes))

    def fail(*_: object) -> None:
        raise AssertionError("the order was computed again")

    monkeypatch.setattr(rk, "compute_order_inertial", fail)
    np.testing.assert_array_equal(cch.node_order(grid, cache_dir=tmp_path), first)
    # a damaged file is a miss, never an error: it is computed (here: fails) again
    (path,) = tmp_path.glob("cch-order-*.npy")
    path.write_bytes(b"not an array")
    with pytest.raises(AssertionError, match="computed again"):
        cch.node_order(grid, cache_dir=tmp_path)


def test_the_index_is_kept_in_memory(grid: RoadNetwork) -> None:
    assert cch.cch_index(grid) is cch.cch_index(grid)
