"""Travel-time matrices to the response standard (issue 15), side by side in one run.

On generated road-like graphs (bench_response's perturbed street grid: nodes ~60 m apart,
20 mph streets, 30 mph arterials, 5% of streets removed, 10% one-way) of 200,704 nodes
(448 x 448) and 1,500,625 nodes (1,225 x 1,225, about Greater London's drivable OSM
network), 1,000 random sources x 1,000 random destinations:

* ``exact``: ``network_travel_times`` as before (full Dijkstra per source, one process
  per CPU);
* ``bounded``: the same with ``limit_s = 480`` (the 8-minute standard): exact for every
  pair within the standard (checked here against ``exact``, bit for bit), ``inf`` beyond;
* ``cch``: ``method="cch"`` (customizable contraction hierarchy, ``citywatch[routing]``),
  every pair, with the index in memory (queries only); its one-off preprocessing is
  timed on its own: the node order (cached on disk afterwards) and the contraction +
  customization (every process). Checked against ``exact``: the same pairs reachable,
  largest difference shown (edge times rounded to the millisecond).

On the 1.5M-node graph the exact path is timed on ``--exact-sample`` sources and scaled
to 1,000 (per source it does the same work). "CPU s" counts this process and its worker
processes. Run: ``python benchmarks/bench_travel.py [--sizes 448 1225] [--no-cch]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_response import road_like_graph  # noqa: E402

from citywatch.geo.network import RoadNetwork, network_travel_times  # noqa: E402

LIMIT_S = 480.0


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(net: RoadNetwork, src: np.ndarray, dst: np.ndarray, **kwargs: float | str
           ) -> tuple[np.ndarray, float, float]:
    c0, w0 = _cpu(), time.perf_counter()
    out = network_travel_times(net, net.lat[src], net.lon[src], net.lat[dst], net.lon[dst],
                               max_snap_m=1.0, **kwargs)
    return out, time.perf_counter() - w0, _cpu() - c0


def _cch_rows(net: RoadNetwork, src: np.ndarray, dst: np.ndarray, exact: np.ndarray,
              c_e: float, k: int) -> list[str]:
    import tempfile

    from citywatch.geo import cch

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        c0, w0 = _cpu(), time.perf_counter()
        order = cch.node_order(net, cache_dir=tmp)
        w_o, c_o = time.perf_counter() - w0, _cpu() - c0
        c0, w0 = _cpu(), time.perf_counter()
        cch._INDEXES[net.fingerprint] = cch.CCHIndex(net, order)
        w_c, c_c = time.perf_counter() - w0, _cpu() - c0
    times, w_q, c_q = _timed(net, src, dst, method="cch")
    reach = np.isfinite(exact)
    same = bool(np.array_equal(reach, np.isfinite(times[:k])))
    diff = float(np.max(np.abs(times[:k][reach] - exact[reach]))) if reach.any() else 0.0
    for label, w, c in (("cch: node order (once, then cached)", w_o, c_o),
                        ("cch: contraction + customization (per process)", w_c, c_c),
                        ("cch: queries, every pair", w_q, c_q)):
        ratio = f"{c_e / c:.1f}x" if label.startswith("cch: q") else ""
        rows.append(f"| {net.n_nodes:,} | {net.n_edges:,} | {label} | 1,000 | {w:.1f} | "
                    f"{c:.1f} | {ratio} | | reachable alike {same}, max diff {diff * 1e3:.1f} ms |")
    cch._INDEXES.clear()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[448, 1225])
    parser.add_argument("--exact-sample", type=int, default=50)
    parser.add_argument("--no-cch", action="store_true", help="skip the CCH rows")
    a = parser.parse_args()
    import scipy

    print(f"Python {platform.python_version()} on {platform.platform()}; nproc "
          f"{os.cpu_count()}; SciPy {scipy.__version__}; load average "
          f"{os.getloadavg()[0]:.2f}\n")
    print("| graph nodes | directed edges | method | sources timed | wall s (1,000 x 1,000) | "
          "CPU s (1,000 x 1,000) | CPU ratio exact / this | pairs within 8 min | "
          "identical within the limit |")
    print("|---:|---:|:--|---:|---:|---:|---:|---:|:--|")
    for n_side in a.sizes:
        net = road_like_graph(n_side)
        rng = np.random.default_rng(1)
        src = rng.choice(net.n_nodes, 1_000, replace=False)
        dst = rng.choice(net.n_nodes, 1_000, replace=False)
        k = 1_000 if n_side <= 448 else min(a.exact_sample, 1_000)
        exact, w_e, c_e = _timed(net, src[:k], dst)
        scale = 1_000 / k
        bounded, w_b, c_b = _timed(net, src, dst, limit_s=LIMIT_S)
        within = exact <= LIMIT_S
        same = bool(np.array_equal(bounded[:k][within], exact[within])
                    and np.all(np.isinf(bounded[:k][~within])))
        share = float(np.isfinite(bounded).mean())
        for label, kk, w, c in (("exact (full Dijkstra)", k, w_e * scale, c_e * scale),
                                (f"bounded, limit_s = {LIMIT_S:g}", 1_000, w_b, c_b)):
            ratio = f"{c_e * scale / c_b:.1f}x" if kk == 1_000 and "bounded" in label else ""
            print(f"| {net.n_nodes:,} | {net.n_edges:,} | {label} | {kk:,} | {w:.1f} | "
                  f"{c:.1f} | {ratio} | {share:.2%} | {same} |", flush=True)
        if not a.no_cch:
            print("\n".join(_cch_rows(net, src, dst, exact, c_e * scale, k)), flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
