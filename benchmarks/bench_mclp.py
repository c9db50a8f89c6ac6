"""MCLP side by side (issue 15): CityWatch, a plain highspy MILP of the same model, spopt.

Instances (standard 8 min at 30 km/h, integer weights 1-99, seed 0):

* ``uniform``: demand and candidates uniform in a square (30 km at 20,000 points, the
  side scaled with sqrt(demand / 20,000)); every point reachable, LP relaxation integral;
* ``clustered``: demand in Gaussian clusters (sigma 1.5 km, centres uniform in a square
  of side 30 km x sqrt(clusters / 30); 30, 90 and 150 clusters for 2,000, 20,000 and
  50,000 points, about 1.5 per vehicle), candidates uniform; vehicles are contested,
  the LP relaxation fractional, so the MILP needs branching;
* ``wide``: demand uniform over the clustered family's (larger) square: P vehicles
  cover well under the whole area, so nearly every placement is contested and the
  MILP is hard. (Until issue 15's second session the generator swapped the two
  demand laws: the ``clustered`` rows recorded then are this family, the ``uniform``
  ones clustered demand in the 30 km square.)

"plain highspy" is the textbook MCLP (binary y per candidate, continuous z per demand
point, no merging) handed to HiGHS with its default options and ``mip_rel_gap = 0``,
the tolerance CityWatch proves; spopt is PySAL's ``MCLP`` with PuLP's CBC. Every solver
runs in its own subprocess, one at a time; "CPU s" is that subprocess's user+system
time (the machine is shared, so read ratios, not absolute times).

Run: ``python benchmarks/bench_mclp.py [--only NAME ...] [--limit SECONDS]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

STANDARD_MIN = 8.0
SPEED_KM_MIN = 0.5  # 30 km/h

#: name -> (family, demand, candidates, P, time limit for every solver, run spopt)
INSTANCES: dict[str, tuple[str, int, int, int, float, bool]] = {
    "uniform-20k": ("uniform", 20_000, 2_000, 60, 600.0, False),
    "clustered-20k": ("clustered", 20_000, 2_000, 60, 600.0, False),
    "clustered-2k": ("clustered", 2_000, 300, 20, 600.0, True),
    "clustered-50k": ("clustered", 50_000, 5_000, 100, 240.0, False),
    "wide-2k": ("wide", 2_000, 300, 20, 600.0, True),
    "wide-20k": ("wide", 20_000, 2_000, 60, 600.0, False),
    "wide-50k": ("wide", 50_000, 5_000, 100, 240.0, False),
}


#: Clusters per instance size: about 1.5 per vehicle, so the clusters are contested.
CLUSTERS = {2_000: 30, 20_000: 90, 50_000: 150}


def instance(family: str, n_d: int, n_c: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Minutes (demand x candidates) and weights of a generated instance."""
    rng = np.random.default_rng(seed)
    side = 30.0 * math.sqrt(n_d / 20_000)
    if family == "clustered":
        side = 30.0 * math.sqrt(CLUSTERS[n_d] / 30)
        k = CLUSTERS[n_d]
        centres = rng.uniform(0, side, (k, 2))
        d = centres[rng.integers(0, k, n_d)] + rng.normal(0, 1.5, (n_d, 2))
    elif family == "wide":
        side = 30.0 * math.sqrt(CLUSTERS[n_d] / 30)
        d = rng.uniform(0, side, (n_d, 2))
    else:
        d = rng.uniform(0, side, (n_d, 2))
    c = rng.uniform(0, side, (n_c, 2))
    t = np.empty((n_d, n_c))
    for lo in range(0, n_d, 5_000):
        blk = d[lo:lo + 5_000]
        t[lo:lo + 5_000] = np.sqrt(((blk[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    t /= SPEED_KM_MIN
    w = rng.integers(1, 100, n_d).astype(float)
    return t, w


def run_citywatch(family: str, n_d: int, n_c: int, p: int, limit: float) -> dict[str, Any]:
    from citywatch.response import CoverageProblem, solve_mclp

    t, w = instance(family, n_d, n_c)
    start = time.perf_counter()
    res = solve_mclp(CoverageProblem.from_travel_times(t, w), p, standard_min=STANDARD_MIN,
                     time_limit=limit)
    return {"seconds": time.perf_counter() - start, "objective": res.objective,
            "bound": res.bound, "optimal": res.optimal, "gap": res.gap,
            "path": ("LP relaxation integral" if res.details.get("lp_integral")
                     else "MILP (LP abandoned at its iteration budget)"
                     if res.details.get("lp_abandoned")
                     else f"MILP (LP {res.details.get('lp_seconds', 0):.1f} s first)")}


def run_plain(family: str, n_d: int, n_c: int, p: int, limit: float) -> dict[str, Any]:
    import highspy
    import scipy.sparse as sp

    t, w = instance(family, n_d, n_c)
    start = time.perf_counter()
    a = sp.csr_array((t <= STANDARD_MIN).astype(np.float64))
    # columns y (n_c, binary) then z (n_d, [0, 1]); rows z_i - sum_{N_i} y_j <= 0, sum y = P
    mat = sp.vstack([sp.hstack([-a, sp.eye_array(n_d)]),
                     sp.hstack([sp.csr_array(np.ones((1, n_c))), sp.csr_array((1, n_d))])],
                    format="csc")
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("time_limit", float(limit))
    h.setOptionValue("mip_rel_gap", 0.0)
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_c + n_d, n_d + 1
    lp.col_cost_ = np.concatenate([np.zeros(n_c), w])
    lp.col_lower_ = np.zeros(n_c + n_d)
    lp.col_upper_ = np.ones(n_c + n_d)
    lp.row_lower_ = np.concatenate([np.full(n_d, -inf), [p]])
    lp.row_upper_ = np.concatenate([np.zeros(n_d), [p]])
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    lp.integrality_ = ([highspy.HighsVarType.kInteger] * n_c
                       + [highspy.HighsVarType.kContinuous] * n_d)
    h.passModel(lp)
    h.run()
    info = h.getInfo()
    return {"seconds": time.perf_counter() - start,
            "objective": float(info.objective_function_value),
            "bound": float(info.mip_dual_bound),
            "optimal": h.getModelStatus() == highspy.HighsModelStatus.kOptimal,
            "gap": abs(float(info.objective_function_value) - float(info.mip_dual_bound))}


def run_spopt(family: str, n_d: int, n_c: int, p: int, limit: float) -> dict[str, Any]:
    import warnings

    warnings.filterwarnings("ignore")
    import pulp
    from spopt.locate import MCLP

    t, w = instance(family, n_d, n_c)
    start = time.perf_counter()
    model = MCLP.from_cost_matrix(t, w, service_radius=STANDARD_MIN, p_facilities=p)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=limit))
    return {"seconds": time.perf_counter() - start,
            "objective": float(pulp.value(model.problem.objective)),
            "optimal": pulp.LpStatus[model.problem.status] == "Optimal"}


RUNNERS = {"citywatch": run_citywatch, "plain highspy": run_plain, "spopt": run_spopt}


def _subprocess(solver: str, args: list[Any], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--run", json.dumps({"solver": solver, "args": args})]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": math.inf, "cpu": math.inf, "error": f"killed after {timeout:.0f} s"}
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        return {"seconds": math.inf, "cpu": cpu, "error": proc.stderr.strip().splitlines()[-1]}
    out = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    out["cpu"] = cpu
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run")
    parser.add_argument("--only", nargs="*", choices=list(INSTANCES))
    parser.add_argument("--limit", type=float, help="cap every solver's time limit (s)")
    a = parser.parse_args()
    if a.run:
        job = json.loads(a.run)
        print(json.dumps(RUNNERS[job["solver"]](*job["args"])))
        return
    import highspy

    print(f"Python {platform.python_version()} on {platform.platform()}; nproc "
          f"{os.cpu_count()}; highspy {highspy.Highs().version()}; "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print("| instance | demand x candidates, P | solver | wall s | CPU s | objective | "
          "proven | gap | CPU ratio to citywatch | path |")
    print("|:--|:--|:--|---:|---:|---:|:--|---:|---:|:--|")
    for name in a.only or INSTANCES:
        family, n_d, n_c, p, limit, with_spopt = INSTANCES[name]
        limit = min(limit, a.limit) if a.limit else limit
        solvers = ["citywatch", "plain highspy"] + (["spopt"] if with_spopt else [])
        results = {s: _subprocess(s, [family, n_d, n_c, p, limit], limit * 3 + 600)
                   for s in solvers}
        ours = results["citywatch"]
        for s in solvers:
            r = results[s]
            ratio = r["cpu"] / ours["cpu"] if math.isfinite(r["cpu"]) else math.inf
            print(f"| {name} | {n_d:,} x {n_c:,}, {p} | {s} | {r['seconds']:.1f} | "
                  f"{r['cpu']:.1f} | {r.get('objective', math.nan):,.0f} | "
                  f"{r.get('optimal', r.get('error'))} | {r.get('gap', math.nan):,.0f} | "
                  f"{ratio:.2f}x | {r.get('path', '')} |", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
