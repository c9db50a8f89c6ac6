"""Simulated attacks per second per core (issue 6: at least 10 million).

Run with ``python benchmarks/bench_sim.py [--attacks N] [--repeat R] [--before FILE]``.
The process is pinned to one CPU (``os.sched_setaffinity``) so the figure is per core.
Each case is timed with both kernels side by side, repeat by repeat (issue 15: the
compiled kernel at least 2× the NumPy path): ``numba`` (``citywatch[fast]``) and
``numpy`` (the fallback; bit-identical tallies, checked here). ``--before FILE`` also
times an older ``sim/_engine.py`` (e.g. ``git show REV:src/citywatch/sim/_engine.py >
/tmp/engine_before.py``) on the same blocks. Rates are attacks per second of CPU time
(``time.process_time``), which a shared machine disturbs less than wall time; wall-time
rates are printed too. Cases, all on the embedded London plan (ORIGAMI, mixture
attacker; 4 types × 6 slots × 222 sites):

* ``best``: each type's best response to the coverage (the default simulation);
* ``people``: attacks in proportion to people, every one of the 5,328 cells active;
* ``people, no patrols``: coverage 0, so every attack goes through the vehicle path
  (the worst case per attack);
* ``rosters``: presence from 1,000 sampled rosters (per-attack roster look-ups until
  issue 15's second session, now one binomial per cell with the rosters' share).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import reduce
from types import ModuleType

import numpy as np

from citywatch.data import london
from citywatch.plan import make_plan
from citywatch.sim import SimulationModel
from citywatch.sim._engine import _FIELDS, Tally, simulate_block
from citywatch.sim.simulate import Block, blocks, root_seed, sample_rosters


def _load_engine(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("engine_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["engine_before"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attacks", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", help="an older sim/_engine.py to time as well")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    n, rep = args.attacks, args.repeat
    plan = make_plan(london(), attacker="mixture")
    best = SimulationModel.from_plan(plan)
    people = SimulationModel.from_plan(plan, targeting="people")
    bare = dataclasses.replace(people, coverage=np.zeros_like(people.coverage))
    rosters = SimulationModel.from_plan(plan, targeting="people",
                                        rosters=sample_rosters(plan, draws=1000, seed=0))
    import numba

    print(f"Python {platform.python_version()} on {platform.platform()}, NumPy "
          f"{np.__version__}, numba {numba.__version__}; CPUs allowed: "
          f"{sorted(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.2f}")
    print(f"{n:,} attacks per run, {rep} runs, kernels interleaved\n")
    variants: dict[str, Callable[[SimulationModel, Block], Tally]] = {}
    if args.before:
        old = _load_engine(args.before)
        variants["before"] = lambda m, b: old.simulate_block(m, list(b.sizes), list(b.seeds))
    for name in ("numpy", "numba"):
        variants[name] = lambda m, b, k=name: simulate_block(m, list(b.sizes), list(b.seeds),
                                                             kernel=k)
    names = list(variants)
    print("| case | active cells | " + " | ".join(
        f"{v} M/s (CPU) | {v} M/s (wall)" for v in names) + " | numba / numpy |"
        + (" numba / before |" if args.before else ""))
    print("|:---|---:|" + "---:|" * (2 * len(names) + 1 + bool(args.before)))
    cases = [("best response", best), ("people", people),
             ("people, no patrols (all by vehicle)", bare), ("people, 1,000 rosters", rosters)]
    for label, model in cases:
        work = blocks(n, root_seed(1))
        warm = blocks(1 << 20, root_seed(0))
        cpu: dict[str, list[float]] = {v: [] for v in names}
        wall: dict[str, list[float]] = {v: [] for v in names}
        results: dict[str, Tally] = {}
        for v in names:
            variants[v](model, warm[0])  # compile, warm caches and tables
        for _ in range(rep):
            for v in names:
                c0, w0 = time.process_time(), time.perf_counter()
                tally = reduce(Tally.merge, (variants[v](model, b) for b in work))
                cpu[v].append(n / (time.process_time() - c0))
                wall[v].append(n / (time.perf_counter() - w0))
                results[v] = tally
        same = all(np.array_equal(getattr(results["numba"], f), getattr(results["numpy"], f))
                   for f in _FIELDS)
        assert same, "kernels disagree"
        med = {v: statistics.median(cpu[v]) for v in names}
        cells = " | ".join(f"{med[v] / 1e6:.1f} | {statistics.median(wall[v]) / 1e6:.1f}"
                           for v in names)
        ratio = f" {med['numba'] / med['before']:.2f}x |" if args.before else ""
        print(f"| {label} | {model.active_cells.size:,} | {cells} | "
              f"{med['numba'] / med['numpy']:.2f}x |{ratio}", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}; tallies of the two kernels "
          "identical in every case")


if __name__ == "__main__":
    main()
