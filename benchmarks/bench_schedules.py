"""Benchmark the schedule-constrained solver (ASPEN-style column generation).

Run: ``python benchmarks/bench_schedules.py`` (each case runs in its own process so
that peak memory is per case). Prints a Markdown table. The machine is shared, so every
case is timed next to a fixed reference workload (a 400 x 400 dense LP solved by HiGHS)
and the ratio case / reference is reported alongside the wall-clock time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

from citywatch._highs import solve_highs
from citywatch.games.schedules import ScheduleGame, solve_schedules, verify_schedule_equilibrium
from citywatch.model.game import SecurityGame


def make_game(targets: int, teams: int, schedules: int, seed: int) -> ScheduleGame:
    """Uniform payoffs in [0, 10] / [-10, 0]; each schedule covers 2-5 random targets."""
    rng = np.random.default_rng(seed)
    game = SecurityGame(rng.uniform(0, 10, targets), rng.uniform(-10, 0, targets),
                        rng.uniform(-10, 0, targets), rng.uniform(0, 10, targets),
                        resources=teams)
    lists = [rng.choice(targets, size=int(rng.integers(2, 6)), replace=False)
             for _ in range(schedules)]
    return ScheduleGame.from_lists(game, lists)


def reference() -> float:
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (400, 400))
    start = time.perf_counter()
    solve_highs(-np.ones(400), a, np.full(400, -np.inf), np.ones(400))
    return time.perf_counter() - start


def run_case(targets: int, teams: int, schedules: int, seed: int) -> dict[str, object]:
    sgame = make_game(targets, teams, schedules, seed)
    ref = reference()
    start = time.perf_counter()
    eq = solve_schedules(sgame, seed=seed, time_limit=300)
    seconds = time.perf_counter() - start
    assert verify_schedule_equilibrium(sgame, eq) == [], "result failed re-verification"
    return {
        "targets": targets, "teams": teams, "schedules": schedules, "seed": seed,
        "seconds": seconds, "reference": ref, "iterations": eq.iterations,
        "columns": eq.columns, "support": len(eq.probabilities), "optimal": eq.optimal,
        "gap": eq.gap, "value": eq.defender_utility,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", nargs=4, type=int)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(*args.case)))
        return
    cases = [(100, 10, 1000, s) for s in (0, 1, 2)]
    cases += [(100, 10, s, 0) for s in (250, 500, 2000)]
    rows = []
    for case in cases:
        out = subprocess.run([sys.executable, __file__, "--case", *map(str, case)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], file=sys.stderr, flush=True)
    print("| targets | teams | schedules | seed | seconds | reference s | ratio | master solves "
          "| columns | support | optimal | gap | defender utility | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: (r["schedules"], r["seed"])):
        print(f"| {r['targets']} | {r['teams']} | {r['schedules']} | {r['seed']} "
              f"| {r['seconds']:.1f} | {r['reference']:.3f} "
              f"| {r['seconds'] / r['reference']:.0f} | {r['iterations']} | {r['columns']} "
              f"| {r['support']} | {r['optimal']} | {r['gap']:.2g} | {r['value']:.4f} "
              f"| {r['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
