"""Simulated attacks per second per core (issue 6: at least 10 million).

Run with ``python benchmarks/bench_sim.py [--attacks N] [--repeat R]``. The process is
pinned to one CPU (``os.sched_setaffinity``) so the figure is per core. Cases, all on
the embedded London plan (ORIGAMI, mixture attacker; 4 types × 6 slots × 222 sites):

* ``best``: each type's best response to the coverage (the default simulation);
* ``people``: attacks in proportion to people, every one of the 5,328 cells active;
* ``people, no patrols``: coverage 0, so every attack goes through the vehicle path
  (the worst case per attack);
* ``rosters``: presence read from 1,000 sampled rosters (per-attack roster lookups);
* ``simulate()``: the public call end to end, with the people-weighted stream
  (n / 4 more attacks, counted) and the summary by type, slot and site.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import time

import numpy as np

from citywatch.data import london
from citywatch.plan import make_plan
from citywatch.sim import SimulationModel, simulate, simulate_model
from citywatch.sim.simulate import sample_rosters


def rate(func: object, attacks: int, repeat: int) -> tuple[float, float]:
    """Median and best attacks per second over `repeat` runs."""
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        rates.append(attacks / (time.perf_counter() - start))
    return statistics.median(rates), max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attacks", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    n, rep = args.attacks, args.repeat
    plan = make_plan(london(), attacker="mixture")
    best = SimulationModel.from_plan(plan)
    people = SimulationModel.from_plan(plan, attacker="people")
    bare = dataclasses.replace(people, coverage=np.zeros_like(people.coverage))
    rosters = SimulationModel.from_plan(plan, attacker="people",
                                        rosters=sample_rosters(plan, draws=1000, seed=0))
    print(f"Python {platform.python_version()} on {platform.platform()}, NumPy "
          f"{np.__version__}; CPUs allowed: {sorted(os.sched_getaffinity(0))}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{n:,} attacks per run, {rep} runs\n")
    print("| case | active cells | median (M attacks/s/core) | best (M attacks/s/core) |")
    print("|:---|---:|---:|---:|")
    cases = [("best response", best), ("people", people),
             ("people, no patrols (all by vehicle)", bare), ("people, 1,000 rosters", rosters)]
    for label, model in cases:
        simulate_model(model, n=1 << 20, seed=0)  # warm caches and tables
        med, top = rate(lambda m=model: simulate_model(m, n=n, seed=1), n, rep)
        print(f"| {label} | {model.active_cells.size:,} | {med / 1e6:.1f} | {top / 1e6:.1f} |")
    med, top = rate(lambda: simulate(plan, n=n, seed=1), n + n // 4, rep)
    print(f"| simulate() end to end, with people shares | {best.active_cells.size:,} + "
          f"{people.active_cells.size:,} | {med / 1e6:.1f} | {top / 1e6:.1f} |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
