"""Response planning benchmarks (issue 4), side by side in one run.

1. MCLP (``citywatch.response.solve_mclp``, HiGHS) against PySAL spopt's ``MCLP`` (PuLP +
   CBC) on the same cost matrices, growing to 20,000 demand points x 2,000 candidates x
   P = 60; objective values compared.
2. Travel-time matrix: 1,000 sources on a generated road-like graph of 200,000 nodes with
   ``citywatch.geo.network.network_travel_times`` against networkx's Dijkstra (timed on a
   sample of sources and scaled per source, since all 1,000 would take too long).
3. The joint deter+respond plan on the London default.

Run: ``/work/venv/bin/python benchmarks/bench_response.py`` (about 15 min on 2 cores);
``--quick`` skips the largest spopt runs. Each spopt run is a subprocess with a time cap.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import time
from typing import Any

import numpy as np

INSTANCE_SIZES = ((2_000, 200, 10), (5_000, 500, 20), (10_000, 1_000, 40),
                  (20_000, 2_000, 60))
STANDARD_MIN = 8.0
SPEED_KM_MIN = 0.5  # 30 km/h


def mclp_instance(n_d: int, n_c: int, seed: int = 0, *, side_km: float | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random demand and candidates in a square (30 km for 20,000 points, the side
    scaled with sqrt(n_d) so density stays the same), minutes = distance / 30 km/h;
    integer weights 1-99."""
    rng = np.random.default_rng(seed)
    side = 30.0 * math.sqrt(n_d / 20_000) if side_km is None else side_km
    d = rng.uniform(0, side, (n_d, 2))
    c = rng.uniform(0, side, (n_c, 2))
    t = np.sqrt(((d[:, None, :] - c[None, :, :]) ** 2).sum(-1)) / SPEED_KM_MIN
    w = rng.integers(1, 100, n_d).astype(float)
    return t, w


def run_ours(n_d: int, n_c: int, p: int, side_km: float | None, time_limit: float | None
             ) -> dict[str, Any]:
    from citywatch.response import CoverageProblem, solve_mclp

    t, w = mclp_instance(n_d, n_c, side_km=side_km)
    start = time.perf_counter()
    res = solve_mclp(CoverageProblem.from_travel_times(t, w), p, standard_min=STANDARD_MIN,
                     time_limit=time_limit)
    return {"seconds": time.perf_counter() - start, "objective": res.objective,
            "optimal": res.optimal, "gap": res.gap, "share": res.stats.share(STANDARD_MIN)}


def run_spopt(n_d: int, n_c: int, p: int, side_km: float | None, time_limit: float
              ) -> dict[str, Any]:
    import warnings

    warnings.filterwarnings("ignore")
    import pulp
    from spopt.locate import MCLP

    t, w = mclp_instance(n_d, n_c, side_km=side_km)
    start = time.perf_counter()
    model = MCLP.from_cost_matrix(t, w, service_radius=STANDARD_MIN, p_facilities=p)
    built = time.perf_counter()
    model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    end = time.perf_counter()
    return {"seconds": end - start, "build_seconds": built - start,
            "objective": float(pulp.value(model.problem.objective)),
            "status": pulp.LpStatus[model.problem.status]}


def _subprocess(kind: str, args: list[Any], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--run", json.dumps({"kind": kind, "args": args})]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": math.inf, "error": f"killed after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"seconds": math.inf, "error": proc.stderr.strip().splitlines()[-1]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def bench_mclp(quick: bool) -> list[str]:
    lines = ["MCLP, uniform instances (standard 8 min, 30 km/h; side 30 km at 20,000 points):",
             ""]
    print("\n".join(lines), flush=True)
    lines += [
             "| demand | candidates | P | citywatch (s) | spopt+CBC (s) | spopt build (s) | "
             "ratio | citywatch objective | spopt objective | equal | share covered |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--|---:|"]
    print("\n".join(lines[-2:]), flush=True)
    for n_d, n_c, p in INSTANCE_SIZES:
        ours = _subprocess("ours", [n_d, n_c, p, None, None], 600)
        if quick and n_d > 5_000:
            ref: dict[str, Any] = {"seconds": math.nan, "error": "skipped (--quick)"}
        else:
            ref = _subprocess("spopt", [n_d, n_c, p, None, 900], 1200)
        equal = ("yes" if "objective" in ref and "objective" in ours
                 and abs(ref["objective"] - ours["objective"]) < 1e-6 else
                 ref.get("error", "NO"))
        ratio = ref["seconds"] / ours["seconds"] if "objective" in ref else math.nan
        proof = "" if ours.get("optimal") else " (not proven)"
        lines.append(
            f"| {n_d:,} | {n_c:,} | {p} | {ours['seconds']:.2f} | {ref['seconds']:.1f} | "
            f"{ref.get('build_seconds', math.nan):.1f} | {ratio:.0f}x | "
            f"{ours.get('objective', math.nan):,.0f}{proof} | "
            f"{ref.get('objective', math.nan):,.0f} {ref.get('status', '')} | {equal} | "
            f"{ours.get('share', math.nan):.3f} |")
        print(lines[-1], flush=True)
    lines += ["", "Harder instances (same generator, wider square: part of the demand "
              "cannot be reached; time limit 60 s, citywatch only):", "",
              "| demand | candidates | P | side (km) | seconds | objective | proven | gap |",
              "|---:|---:|---:|---:|---:|---:|:--|---:|"]
    print("\n".join(lines[-5:]), flush=True)
    for side in (40.0, 50.0):
        r = _subprocess("ours", [20_000, 2_000, 60, side, 60.0], 400)
        lines.append(f"| 20,000 | 2,000 | 60 | {side:g} | {r['seconds']:.1f} | "
                     f"{r.get('objective', math.nan):,.0f} | {r.get('optimal')} | "
                     f"{r.get('gap', math.nan):,.0f} |")
        print(lines[-1], flush=True)
    return lines


def road_like_graph(n_side: int, seed: int = 0) -> Any:
    """A perturbed grid around central London: n_side x n_side nodes ~60 m apart, local
    streets at 20 mph with every 10th row/column an arterial at 30 mph, 5% of streets
    removed and 10% one-way."""
    from citywatch.geo.network import from_edges

    rng = np.random.default_rng(seed)
    n = n_side * n_side
    ii, jj = np.divmod(np.arange(n), n_side)
    lat = 51.3 + ii * 0.00054 + rng.normal(0, 0.00008, n)
    lon = -0.45 + jj * 0.00086 + rng.normal(0, 0.00012, n)
    right = np.flatnonzero(jj < n_side - 1)
    down = np.flatnonzero(ii < n_side - 1)
    u = np.concatenate([right, down])
    v = np.concatenate([right + 1, down + n_side])
    keep = rng.random(u.size) > 0.05
    u, v = u[keep], v[keep]
    arterial = np.concatenate([(ii[right] % 10 == 0), (jj[down] % 10 == 0)])[keep]
    from citywatch.geo.distance import haversine_m

    metres = haversine_m(lat[u], lon[u], lat[v], lon[v])
    kmh = np.where(arterial, 48.3, 32.2)
    secs = metres / (kmh / 3.6)
    oneway = rng.random(u.size) < 0.10
    eu = np.concatenate([u, v[~oneway]])
    ev = np.concatenate([v, u[~oneway]])
    es = np.concatenate([secs, secs[~oneway]])
    return from_edges(np.arange(n), lat, lon, edge_from=eu, edge_to=ev, edge_seconds=es)


def bench_matrix(n_sources: int = 1_000, n_nx: int = 10) -> list[str]:
    import networkx as nx

    from citywatch.geo.network import network_travel_times

    net = road_like_graph(448)
    rng = np.random.default_rng(1)
    src = rng.choice(net.n_nodes, n_sources, replace=False)
    dst = rng.choice(net.n_nodes, 2_000, replace=False)
    start = time.perf_counter()
    serial = network_travel_times(net, net.lat[src], net.lon[src], net.lat[dst], net.lon[dst],
                                  max_snap_m=1.0, workers=1)
    t_serial = time.perf_counter() - start
    start = time.perf_counter()
    ours = network_travel_times(net, net.lat[src], net.lon[src], net.lat[dst], net.lon[dst],
                                max_snap_m=1.0)
    t_ours = time.perf_counter() - start
    assert np.array_equal(serial, ours)

    coo = net.times.tocoo()
    g = nx.DiGraph()
    g.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(),
                                  strict=True))
    start = time.perf_counter()
    worst = 0.0
    for k in range(n_nx):
        dist = nx.single_source_dijkstra_path_length(g, int(src[k]), weight="weight")
        got = np.array([dist.get(int(d), math.inf) for d in dst])
        worst = max(worst, float(np.max(np.abs(np.where(np.isfinite(got), got, 0)
                                               - np.where(np.isfinite(ours[k]), ours[k], 0)))))
    t_nx_per = (time.perf_counter() - start) / n_nx
    t_nx = t_nx_per * n_sources
    return [
        f"Travel-time matrix: generated road-like graph ({net.n_nodes:,} nodes, "
        f"{net.n_edges:,} directed edges: a perturbed 448 x 448 street grid with arterials, "
        f"5% of streets removed, 10% one-way), {n_sources:,} sources x 2,000 destinations:",
        "",
        "| method | seconds | per source (ms) | ratio | max abs difference (s) |",
        "|:--|---:|---:|---:|---:|",
        f"| citywatch.geo.network.network_travel_times (scipy Dijkstra, one process per "
        f"CPU) | {t_ours:.1f} | {1000 * t_ours / n_sources:.1f} | 1x | - |",
        f"| the same, `workers=1` (identical matrix) | {t_serial:.1f} | "
        f"{1000 * t_serial / n_sources:.1f} | {t_serial / t_ours:.1f}x | 0 |",
        f"| networkx single_source_dijkstra_path_length ({n_nx} sources timed, scaled to "
        f"{n_sources:,}) | {t_nx:.0f} | {1000 * t_nx_per:.0f} | {t_nx / t_ours:.1f}x | "
        f"{worst:.2g} |",
    ]


def bench_joint() -> list[str]:
    from citywatch.data import london
    from citywatch.response.joint import joint_plan

    sc = london()
    start = time.perf_counter()
    plan = joint_plan(sc, time_limit=60.0)
    seconds = time.perf_counter() - start
    return [
        "Joint deter+respond plan, London default (222 sites x 6 slots, 58 standby points, "
        "19-42 ARVs per slot), `joint_plan(london(), time_limit=60)`:",
        "",
        "| method | seconds | placements evaluated | joint loss | sequential (MCLP) loss | "
        "gain | proven lower bound | proven optimal |",
        "|:--|---:|---:|---:|---:|---:|---:|:--|",
        f"| {plan.method} | {seconds:.1f} | {plan.evaluations:,} | {plan.expected_loss:.3f} | "
        f"{plan.sequential_loss:.3f} | {plan.gain:.3f} ({plan.gain / plan.sequential_loss:.1%}) "
        f"| {plan.bound:.3f} | {plan.optimal} |",
    ]


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--run")
    parser.add_argument("--only", choices=("mclp", "matrix", "joint"))
    a = parser.parse_args()
    if a.run:
        job = json.loads(a.run)
        fn = run_ours if job["kind"] == "ours" else run_spopt
        print(json.dumps(fn(*job["args"])))
        return
    import scipy

    print(f"Python {platform.python_version()} on {platform.platform()}; NumPy "
          f"{np.__version__}, SciPy {scipy.__version__}, highspy "
          f"{_version('highspy')}, spopt {_version('spopt')}, networkx {_version('networkx')}")
    if a.only in (None, "joint"):
        print("\n".join([*bench_joint(), ""]), flush=True)
    if a.only in (None, "matrix"):
        print("\n".join([*bench_matrix(), ""]), flush=True)
    if a.only in (None, "mclp"):
        bench_mclp(a.quick)  # prints each row as it finishes

if __name__ == "__main__":
    main()
