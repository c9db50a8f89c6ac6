"""Level branch and bound vs the MILP (`tight`), side by side in one run; prints markdown.

Run by hand (about 25 minutes on two cores)::

    .venv/bin/citywatch game export --out /tmp/london.json
    .venv/bin/python benchmarks/bench_bayesian_levels.py --london /tmp/london.json > /tmp/b.md

Each solve runs in its own subprocess (fresh interpreter, same machine load for both
methods of a row, run back to back). The load average at the start of each row is
printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

_GRACE_S = 60.0


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Solve one instance in this process; report time, value, gap and its source."""
    from citywatch.games.bayesian import solve_bayesian
    from citywatch.games.equilibrium import verify_equilibrium
    from citywatch.games.io import load_game
    from citywatch.games.random import random_game

    if "file" in spec:
        game = load_game(spec["file"])
    else:
        game = random_game(targets=spec["targets"], types=spec["types"],
                           resources=spec["resources"], generator=spec["generator"],
                           covariance=-0.5 if spec["generator"] == "covariance" else 0.0,
                           seed=spec["seed"])
    start = time.perf_counter()
    eq = solve_bayesian(game, method=spec["method"], time_limit=spec["time_limit"])
    return {"seconds": time.perf_counter() - start, "optimal": eq.optimal, "gap": eq.gap,
            "relative_gap": eq.relative_gap, "value": eq.defender_utility,
            "source": eq.bound_source, "verified": verify_equilibrium(game, eq) == []}


def spawn(spec: dict[str, Any]) -> dict[str, Any]:
    limit = spec["time_limit"] + _GRACE_S
    try:
        proc = subprocess.run([sys.executable, __file__, "--run", json.dumps(spec)],
                              capture_output=True, text=True, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return {"note": f"killed after {limit:.0f} s"}
    except subprocess.CalledProcessError as err:
        tail = err.stderr.strip().splitlines()[-1] if err.stderr.strip() else "?"
        return {"note": tail}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _cell(r: dict[str, Any]) -> str:
    if "note" in r:
        return str(r["note"])
    state = "optimal" if r["optimal"] else f"gap {r['relative_gap']:.2%}"
    return f"{r['seconds']:.1f} s, {state}"


def row(label: str, spec: dict[str, Any]) -> None:
    load = os.getloadavg()[0]
    lev = spawn({**spec, "method": "levels"})
    milp = spawn({**spec, "method": "milp"})
    ratio = (f"{milp['seconds'] / lev['seconds']:.1f}" if "note" not in lev
             and "note" not in milp else "–")
    if "note" not in lev and "note" not in milp and not milp["optimal"]:
        ratio = "≥ " + ratio
    values = " / ".join("–" if "note" in r else f"{r['value']:.6g}" for r in (lev, milp))
    ok = "yes" if lev.get("verified") and milp.get("verified") else "NO"
    print(f"| {label} | {load:.1f} | {_cell(lev)} | {lev.get('source', '–')} | {_cell(milp)} "
          f"| {ratio} | {values} | {ok} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", help="internal: solve one JSON spec and print JSON")
    parser.add_argument("--london", help="London game JSON (citywatch game export)")
    parser.add_argument("--sections", default="lrg",
                        help="l: London, r: random games, g: growth of the level search")
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_one(json.loads(args.run))))
        return
    from importlib.metadata import version

    uname = platform.uname()
    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on `{uname.system} {uname.release} "
          f"{uname.machine}`, Python {platform.python_version()}, highspy "
          f"{version('highspy')}, {os.cpu_count()} CPUs (shared: load average per row).\n")
    print("| game | load | levels | levels bound | milp (tight) | milp ÷ levels "
          "| values (levels / milp) | verified |")
    print("|---|---|---|---|---|---|---|---|")
    if "l" in args.sections and args.london:
        row("London default (4 types, 1,332 targets, 6 slots), 60 s",
            {"file": args.london, "time_limit": 60.0})
    if "r" in args.sections:
        for k, n, b, limit in ((10, 100, 10, 60.0), (16, 100, 10, 60.0), (4, 800, 80, 120.0)):
            for gen in ("uniform", "covariance"):
                row(f"{gen} ({k} types, {n} targets, {b} teams), {limit:.0f} s",
                    {"targets": n, "types": k, "resources": b, "generator": gen, "seed": 0,
                     "time_limit": limit})
    if "g" in args.sections:
        growth()


def growth() -> None:
    """The level search alone as types or targets grow (60 s limit, seed 0)."""
    print("\n| types | targets | teams | generator | load | levels (60 s limit) | value |")
    print("|---|---|---|---|---|---|---|")
    sizes = [(k, 100, 10) for k in (2, 4, 6, 8)] + [(4, 200, 20), (4, 400, 40)]
    for k, n, b in sizes:
        for gen in ("uniform", "covariance"):
            load = os.getloadavg()[0]
            r = spawn({"targets": n, "types": k, "resources": b, "generator": gen, "seed": 0,
                       "time_limit": 60.0, "method": "levels"})
            value = "–" if "note" in r else f"{r['value']:.6g}"
            print(f"| {k} | {n} | {b} | {gen} | {load:.1f} | {_cell(r)} | {value} |", flush=True)


if __name__ == "__main__":
    main()
