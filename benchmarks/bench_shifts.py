"""Shift patterns on London: the default plan, and ``--optimise-shifts`` against two fixed patterns.

One process per case, one after the other in the same run, CPU and wall time each,
with the load average beside them:

* ``default``: ``make_plan(london())`` on the demand-led default pattern;
* ``optimise``: ``make_plan(london(), PlanOptions(optimise_shifts=True))``;
* ``optimise-old``: the same on the pattern London had before the demand rule
  (07:00 35%, 14:00 40%, 22:00 25%, 10-hour shifts).

    python benchmarks/bench_shifts.py [--cases default,optimise,optimise-old]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time


def run_case(case: str) -> dict[str, object]:
    from datetime import time as clock

    from citywatch.data import london
    from citywatch.model.force import Shift
    from citywatch.options import PlanOptions
    from citywatch.plan import make_plan

    sc = london()
    if case == "optimise-old":
        sc = sc.with_force(shifts=(Shift("early", clock(7), 0.35), Shift("late", clock(14), 0.40),
                                   Shift("night", clock(22), 0.25)))
    opts = PlanOptions(optimise_shifts=case != "default")
    t, c = time.perf_counter(), time.process_time()
    p = make_plan(sc, opts, seed=1)
    out: dict[str, object] = {
        "case": case, "wall_s": round(time.perf_counter() - t, 1),
        "cpu_s": round(time.process_time() - c, 1), "load1": round(os.getloadavg()[0], 2),
        "casualties_per_attack": round(p.expected_casualties_per_attack, 3),
        "officers_on_duty": [round(x.officers) for x in p.built.teams]}
    so = p.shift_optimisation
    if so is not None:
        out.update({"fixed": round(so.plan_before or 0.0, 3),
                    "candidates": [round(v, 3) for v in so.plan_candidates],
                    "kept_fixed": so.kept_fixed, "patterns_scored": so.evaluations,
                    "model": [round(so.model_before, 3), round(so.model_after, 3)],
                    "officers_before": [round(x) for x in so.officers_before],
                    "officers_after": [round(x) for x in so.officers_after],
                    "starting": so.starting})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="default,optimise,optimise-old")
    ap.add_argument("--run", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        print(json.dumps(run_case(args.run)))
        return
    print(f"machine {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    for case in args.cases.split(","):
        proc = subprocess.run([sys.executable, __file__, "--run", case], capture_output=True,
                              text=True, check=True)
        print(proc.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
