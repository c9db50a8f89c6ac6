"""Benchmark PASAQ (certified) and the gradient method against quantal-response attackers.

Run: ``python benchmarks/bench_quantal.py``. Prints Markdown tables. The machine is
shared, so each row also reports a fixed reference workload (a 400 x 400 dense LP solved
by HiGHS) timed just before it, and the ratio time / reference.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from citywatch._highs import solve_highs
from citywatch.games.quantal import solve_quantal
from citywatch.model.game import SecurityGame

LAM = 0.76  # Yang et al. (2011)'s fitted rationality for payoffs in [-10, 10]


def make_game(targets: int, seed: int = 0) -> SecurityGame:
    rng = np.random.default_rng(seed)
    return SecurityGame(rng.uniform(0, 10, targets), rng.uniform(-10, 0, targets),
                        rng.uniform(-10, 0, targets), rng.uniform(0, 10, targets),
                        resources=max(1, targets // 10))


def reference() -> float:
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (400, 400))
    start = time.perf_counter()
    solve_highs(-np.ones(400), a, np.full(400, -np.inf), np.ones(400))
    return time.perf_counter() - start


def main() -> None:
    print("### PASAQ (lam = 0.76, resources = N/10, epsilon = 1e-3, time limit 60 s)\n")
    print("| N | segments | seconds | reference s | ratio | value | certified gap | optimal "
          "| gradient value | gradient s |")
    print("|---:|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for n in (10, 50, 100, 200):
        game = make_game(n)
        grad = solve_quantal(game, lam=LAM, method="gradient")
        for seg in (8, 32, None):
            ref = reference()
            start = time.perf_counter()
            eq = solve_quantal(game, lam=LAM, segments=seg, epsilon=1e-3, time_limit=60)
            seconds = time.perf_counter() - start
            print(f"| {n} | {'auto' if seg is None else seg} | {seconds:.2f} | {ref:.3f} "
                  f"| {seconds / ref:.0f} | {eq.defender_utility:.5f} | {eq.gap:.2e} "
                  f"| {eq.optimal} | {grad.defender_utility:.5f} | {grad.seconds:.2f} |",
                  flush=True)
    print("\n### Gradient method (lam = 0.76, resources = N/10; no certificate)\n")
    print("| N | seconds | reference s | ratio | value |")
    print("|---:|---:|---:|---:|---:|")
    for n in (100, 1_000, 10_000):
        game = make_game(n)
        ref = reference()
        eq = solve_quantal(game, lam=LAM, method="gradient")
        print(f"| {n} | {eq.seconds:.2f} | {ref:.3f} | {eq.seconds / ref:.0f} "
              f"| {eq.defender_utility:.5f} |", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
