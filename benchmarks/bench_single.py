"""Single attacker type: ORIGAMI's scaling, and ORIGAMI against multiple LPs (prints markdown).

Run by hand: ``python benchmarks/bench_single.py [--quick]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable

import highspy

from citywatch.games import (
    Equilibrium,
    SecurityGame,
    random_game,
    solve_multiple_lps,
    solve_origami,
    verify_equilibrium,
)


def _timed(solver: Callable[[SecurityGame], Equilibrium], game: SecurityGame,
           repeats: int) -> tuple[list[float], Equilibrium]:
    """Wall-clock seconds of `repeats` runs, and the last result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        eq = solver(game)
        times.append(time.perf_counter() - start)
    return times, eq


def _peak_mib(solver: Callable[[SecurityGame], Equilibrium], game: SecurityGame) -> float:
    """Peak memory allocated during one solve (tracemalloc sees NumPy's buffers)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    solver(game)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def scaling(sizes: list[int], repeats: int) -> list[str]:
    lines = ["| targets | groups | resources | first run (s) | median of 5 (s) "
             "| peak memory (MiB) | verified |",
             "|---:|---:|---:|---:|---:|---:|:---|"]
    for n in sizes:
        game = random_game(targets=n, resources=n // 10, seed=n)
        times, eq = _timed(solve_origami, game, repeats)
        ok = "yes" if not verify_equilibrium(game, eq) else "NO"
        lines.append(f"| {n:,} | 1 | {n // 10:,} | {times[0]:.3f} | "
                     f"{statistics.median(times):.3f} | "
                     f"{_peak_mib(solve_origami, game):.0f} | {ok} |")
    return lines


def versus(n: int, seeds: list[int]) -> list[str]:
    lines = ["| targets | groups | generator | seed | ORIGAMI (s) | multiple LPs (s) | ratio "
             "| defender utility | abs difference |",
             "|---:|---:|:---|---:|---:|---:|---:|---:|---:|"]
    cases = [("uniform", 0.0, 1), ("covariance", -0.5, 1), ("covariance", -1.0, 1),
             ("uniform", 0.0, 10)]
    for generator, covariance, n_groups in cases:
        for seed in seeds:
            game = random_game(targets=n, resources=n // 10 // n_groups, groups=n_groups,
                               generator=generator, covariance=covariance, seed=seed)
            times, fast = _timed(solve_origami, game, 5)
            t_origami = statistics.median(times)
            lp_times, slow = _timed(solve_multiple_lps, game, 1)
            t_lps = lp_times[0]
            diff = abs(fast.defender_utility - slow.defender_utility)
            assert diff <= 1e-6 and not verify_equilibrium(game, fast), (generator, seed)
            label = generator if generator == "uniform" else f"covariance {covariance:g}"
            lines.append(f"| {n:,} | {n_groups} | {label} | {seed} | {t_origami:.4f} | "
                         f"{t_lps:.2f} | {t_lps / t_origami:,.0f}x | "
                         f"{fast.defender_utility:.6f} | {diff:.1e} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one seed")
    args = parser.parse_args()
    sizes = [1_000, 10_000, 100_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    seeds = [0] if args.quick else [0, 1]
    highspy.Highs()  # type: ignore[no-untyped-call]  # HiGHS prints its banner here, not mid-table
    print(f"Python {platform.python_version()} on {platform.platform()}\n")
    print("ORIGAMI scaling (uniform generator, resources = targets / 10):\n")
    print("\n".join(scaling(sizes, repeats=5)))
    print("\nORIGAMI against multiple LPs (resources = targets / 10 in total):\n")
    print("\n".join(versus(1_000, seeds)))


if __name__ == "__main__":
    main()
