"""Dask scale-out: throughput with 1 and 2 local worker processes (issue 6: 2 ≥ 1.7× 1).

Run with ``python benchmarks/bench_dist.py [--attacks N]``. Each case starts a local
cluster of single-threaded worker processes, warms it up (the model is scattered and
the workers import CityWatch), then times ``simulate`` with the Dask runner on the
London plan; the result is checked to be identical to the single-process run.
A sweep (what-ifs × seeds, each re-planned and simulated) is timed the same way.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from citywatch.data import london
from citywatch.dist import SweepSpec, connect, dask_runner, sweep
from citywatch.plan import make_plan
from citywatch.sim import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attacks", type=int, default=160_000_000)
    args = parser.parse_args()
    n = args.attacks
    plan = make_plan(london(), attacker="mixture")
    spec = SweepSpec(attacks=2_000_000, seeds=(1, 2, 3, 4),
                     changes=({}, {"add_officers": 300}, {"add_officers": 600}))
    print(f"Python {platform.python_version()} on {platform.platform()}; nproc "
          f"{os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")
    start = time.perf_counter()
    local = simulate(plan, n=n, seed=7, people_share=False, attacker="people")
    t_local = time.perf_counter() - start
    print(f"single process: {n:,} attacks in {t_local:.2f} s = {n / t_local / 1e6:.1f} M/s")
    rates = {}
    for workers in (1, 2):
        with connect(workers=workers) as client:
            simulate(plan, n=8 << 20, seed=0, people_share=False, attacker="people",
                     runner=dask_runner(client))  # warm-up
            start = time.perf_counter()
            r = simulate(plan, n=n, seed=7, people_share=False, attacker="people",
                         runner=dask_runner(client))
            t = time.perf_counter() - start
            same = r.to_dict() == local.to_dict()
            sweep(spec, client=client, tasks=spec.tasks()[:2])  # warm-up
            start = time.perf_counter()
            sweep(spec, client=client)
            t_sweep = time.perf_counter() - start
        rates[workers] = (n / t, len(spec.tasks()) / t_sweep)
        print(f"{workers} worker(s): simulate {n / t / 1e6:.1f} M attacks/s (identical to "
              f"single process: {same}); sweep {len(spec.tasks())} tasks in {t_sweep:.1f} s")
    print(f"speed-up 2 vs 1 workers: simulate {rates[2][0] / rates[1][0]:.2f}x, sweep "
          f"{rates[2][1] / rates[1][1]:.2f}x; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
