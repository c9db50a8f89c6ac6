"""The joint ARV search's inner step: a placement's expected casualties at every site.

Side by side on London's slots: the direct integral (`expected_casualties` over
`ResponseTimes.from_posts`, what the search did per placement before) against the
per-point table (`PlacementCasualties`), on the same random single-vehicle moves, with
the largest difference; then `make_plan(london())` end to end.

    python benchmarks/bench_arv.py [--moves 300] [--plan]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from citywatch.data import london
from citywatch.model.payoffs import response_times, scenario_spread, standby_travel_minutes
from citywatch.model.response_time import PlacementCasualties, expected_casualties
from citywatch.response.joint import _Evaluator


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--moves", type=int, default=300)
    ap.add_argument("--plan", action="store_true", help="also time make_plan(london())")
    args = ap.parse_args()
    print(f"{platform.node()} {platform.machine()} nproc={os.cpu_count()} "
          f"load={os.getloadavg()[0]:.2f} {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    sc = london()
    travel = standby_travel_minutes(sc)
    ev = _Evaluator(sc, travel)
    rng = np.random.default_rng(0)
    n_points = travel.shape[1]
    print("| slot | vehicles | direct ms/placement | table ms/placement | ratio | table build ms "
          "| max abs diff |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for s, name in enumerate(sc.slot_names):
        n = ev.vehicles[s]
        moves = [tuple(rng.integers(0, n_points, n)) for _ in range(args.moves)]
        curves = [(p, c) for p, c, _ in ev.types]
        t0 = time.process_time()
        direct = [sum(p * expected_casualties(response_times(sc, travel[s], m),
                                              initial=c.initial[s], rate=c.rate[s],
                                              cap=c.cap[s]) for p, c in curves)
                  for m in moves]
        t1 = time.process_time()
        tm = sc.travel
        table = PlacementCasualties(
            travel[s], initial=np.stack([c.initial[s] for _, c in curves]),
            rate=np.stack([c.rate[s] for _, c in curves]),
            cap=np.stack([c.cap[s] for _, c in curves]),
            busy_probability=tm.arv_busy_probability, dispatch_minutes=tm.dispatch_delay_min,
            engage_minutes=tm.engage_min, spread=scenario_spread(sc))
        t2 = time.process_time()
        looked = [ev.priors @ table(m) for m in moves]
        t3 = time.process_time()
        diff = max(float(np.abs(a - b).max()) for a, b in zip(direct, looked, strict=True))
        d_ms, t_ms = 1e3 * (t1 - t0) / len(moves), 1e3 * (t3 - t2) / len(moves)
        print(f"| {name} | {n} | {d_ms:.2f} | {t_ms:.3f} | {d_ms / t_ms:.0f}x | "
              f"{1e3 * (t2 - t1):.0f} | {diff:.1e} |")
    if args.plan:
        from citywatch.plan import make_plan

        t0, c0 = time.perf_counter(), time.process_time()
        p = make_plan(london(), seed=0)
        evals = (p.arv_plan or {}).get("evaluations")
        print(f"make_plan(london()): {time.perf_counter() - t0:.1f} s wall, "
              f"{time.process_time() - c0:.1f} s CPU; ARV search "
              f"{evals} placements, "
              f"method {p.equilibrium.method}")


if __name__ == "__main__":
    main()
