"""Bayesian Stackelberg solvers side by side: MILP formulations, growth, DOBSS; prints markdown.

Run by hand (about 25 minutes on two cores)::

    /work/venv/bin/python benchmarks/bench_bayesian.py > /tmp/bench_bayesian.md

Each solve runs in its own subprocess so its peak memory (``ru_maxrss``) is its own;
the baseline row is the interpreter with citywatch, NumPy and highspy imported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

FORMULATIONS = ("bigm", "tight", "casorran")
# Grace beyond the solver's own time limit before a run is killed from outside.
_GRACE_S = 120.0


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Solve one instance in this process and report time, result and peak memory."""
    from citywatch.games.bayesian import solve_bayesian
    from citywatch.games.dobss import solve_dobss
    from citywatch.games.equilibrium import verify_equilibrium
    from citywatch.games.random import random_game

    out: dict[str, Any] = {}
    if spec["solver"] != "baseline":
        game = random_game(targets=spec["targets"], types=spec["types"],
                           resources=spec["resources"], generator="uniform", seed=spec["seed"])
        start = time.perf_counter()
        if spec["solver"] == "dobss":
            eq = solve_dobss(game, time_limit=spec["time_limit"])
        else:
            eq = solve_bayesian(game, formulation=spec["solver"], time_limit=spec["time_limit"])
        out = {"seconds": time.perf_counter() - start, "optimal": eq.optimal, "gap": eq.gap,
               "value": eq.defender_utility, "verified": verify_equilibrium(game, eq) == []}
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def spawn(spec: dict[str, Any]) -> dict[str, Any]:
    """Run `spec` in a fresh interpreter; a run that overstays is killed and reported."""
    limit = (spec.get("time_limit") or 0.0) + _GRACE_S
    try:
        proc = subprocess.run([sys.executable, __file__, "--run", json.dumps(spec)],
                              capture_output=True, text=True, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return {"seconds": float("nan"), "optimal": False, "gap": float("nan"),
                "value": float("nan"), "verified": False, "peak_mb": float("nan"),
                "note": f"killed after {limit:.0f} s"}
    except subprocess.CalledProcessError as err:
        tail = err.stderr.strip().splitlines()[-1] if err.stderr.strip() else "?"
        return {"seconds": float("nan"), "optimal": False, "gap": float("nan"),
                "value": float("nan"), "verified": False, "peak_mb": float("nan"),
                "note": tail}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _fmt_time(r: dict[str, Any]) -> str:
    if "note" in r:
        return str(r["note"])
    return f"{r['seconds']:.1f}" + ("" if r["optimal"] else " (limit)")


def _fmt_gap(r: dict[str, Any]) -> str:
    return "–" if "note" in r else f"{r['gap']:.4f}"


def _fmt_ok(r: dict[str, Any]) -> str:
    return "yes" if r.get("verified") else "NO"


def section_formulations(seeds: list[int], limit: float) -> None:
    print(f"\n### (a) Formulations: 4 types, 200 targets, 20 teams, uniform, "
          f"{limit:.0f} s limit\n")
    print("| seed | formulation | seconds | gap at end | defender utility | peak MB "
          "| time ÷ tight | verified |")
    print("|---|---|---|---|---|---|---|---|")
    for seed in seeds:
        rows = {f: spawn({"solver": f, "targets": 200, "types": 4, "resources": 20,
                          "seed": seed, "time_limit": limit}) for f in FORMULATIONS}
        base = rows["tight"]["seconds"]
        for f, r in rows.items():
            ratio = r["seconds"] / base if base == base and r["seconds"] == r["seconds"] else \
                float("nan")
            ratio_s = f"≥ {ratio:.1f}" if not r.get("optimal") and "note" not in r else \
                f"{ratio:.1f}"
            print(f"| {seed} | {f} | {_fmt_time(r)} | {_fmt_gap(r)} | {r['value']:.6f} "
                  f"| {r['peak_mb']:.0f} | {ratio_s} | {_fmt_ok(r)} |", flush=True)


def section_growth(formulation: str, limit: float, targets: list[int],
                   types: list[int]) -> None:
    print(f"\n### (b) Growth: `{formulation}`, teams = targets / 10, uniform, seed 0, "
          f"{limit:.0f} s limit (a row stops at its first time-out)\n")
    print("| types | targets | teams | seconds | gap at end | peak MB | verified |")
    print("|---|---|---|---|---|---|---|")
    for k in types:
        for n in targets:
            r = spawn({"solver": formulation, "targets": n, "types": k,
                       "resources": max(1, n // 10), "seed": 0, "time_limit": limit})
            print(f"| {k} | {n} | {max(1, n // 10)} | {_fmt_time(r)} | {_fmt_gap(r)} "
                  f"| {r['peak_mb']:.0f} | {_fmt_ok(r)} |", flush=True)
            if not r.get("optimal"):
                break


def section_dobss(cases: list[tuple[int, int, int]], limit: float) -> None:
    print(f"\n### (c) DOBSS on the normal form vs `tight`, uniform, seed 0, "
          f"{limit:.0f} s limit each\n")
    print("| types | targets | teams | pure strategies | DOBSS s | DOBSS peak MB "
          "| tight s | tight peak MB | DOBSS ÷ tight | same value |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    import math
    for k, n, b in cases:
        pure = sum(math.comb(n, s) for s in range(b + 1))
        spec = {"targets": n, "types": k, "resources": b, "seed": 0, "time_limit": limit}
        d = spawn({**spec, "solver": "dobss"})
        t = spawn({**spec, "solver": "tight"})
        same = ("yes" if abs(d["value"] - t["value"]) <= 1e-6 else
                f"no ({d['value']:.6f} vs {t['value']:.6f})")
        print(f"| {k} | {n} | {b} | {pure} | {_fmt_time(d)} | {d['peak_mb']:.0f} "
              f"| {_fmt_time(t)} | {t['peak_mb']:.0f} | {d['seconds'] / t['seconds']:.0f} "
              f"| {same} |", flush=True)


def section_new_user(seeds: list[int], limit: float) -> None:
    print(f"\n### (d) The new user's case: 50 targets, 4 types, 5 teams, uniform, "
          f"{limit:.0f} s limit\n")
    print("| seed | formulation | seconds | gap at end | defender utility | peak MB "
          "| verified |")
    print("|---|---|---|---|---|---|---|")
    for seed in seeds:
        for f in FORMULATIONS:
            r = spawn({"solver": f, "targets": 50, "types": 4, "resources": 5, "seed": seed,
                       "time_limit": limit})
            print(f"| {seed} | {f} | {_fmt_time(r)} | {_fmt_gap(r)} | {r['value']:.6f} "
                  f"| {r['peak_mb']:.0f} | {_fmt_ok(r)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", help="internal: solve one JSON spec and print JSON")
    parser.add_argument("--sections", default="abcd", help="which sections to run")
    parser.add_argument("--quick", action="store_true", help="small grid, short limits")
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_one(json.loads(args.run))))
        return

    from importlib.metadata import version

    import numpy as np
    quick = args.quick
    uname = platform.uname()
    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on `{' '.join(uname)}`, "
          f"Python {platform.python_version()}, NumPy {np.__version__}, "
          f"highspy {version('highspy')}, {os.cpu_count()} CPUs.")
    base = spawn({"solver": "baseline"})
    print(f"Baseline peak memory of a solver subprocess (imports only): "
          f"{base['peak_mb']:.0f} MB.")
    if "a" in args.sections:
        section_formulations([0] if quick else [0, 1, 2], 10.0 if quick else 120.0)
    if "b" in args.sections:
        for formulation in ("tight", "casorran"):
            section_growth(formulation, 10.0 if quick else 60.0,
                           [25, 50, 100] if quick else [25, 50, 100, 200, 400, 800],
                           [2, 4] if quick else [2, 4, 8])
    if "c" in args.sections:
        section_dobss([(4, 10, 2)] if quick else [(4, 10, 2), (4, 15, 2), (4, 20, 2),
                                                  (2, 12, 3)],
                      10.0 if quick else 120.0)
    if "d" in args.sections:
        section_new_user([0], 10.0 if quick else 60.0)


if __name__ == "__main__":
    main()
