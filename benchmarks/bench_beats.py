"""Benchmark the London plan with walked beats (issue 16).

Run: ``python benchmarks/bench_beats.py [--bayesian] [--old SECONDS]``. Each case runs
in its own process (peak memory per case). For growing candidate-beat sets it builds
London's game once per case (the default ARV posts: the payoff model's greedy
placement, so the solve is timed alone), solves the beat game for the mixture attacker
(target: all six slots, today's force, under 5 minutes, proven within 1%) and, with
``--bayesian``, for the Bayesian model with its proven gap. Every result is
re-verified (`verify_presence_equilibrium`). ``--old`` also runs the previous solver
(`solve_schedules`, 0/1 union coverage) on the default beats for that many seconds, to
show where it stands. The machine is shared, so each case is timed beside a fixed
reference workload (a 400 x 400 dense LP in HiGHS) and the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

from citywatch.games._highs import solve_highs

CASES = [  # (neighbours, max_stops)
    (2, 2), (3, 3), (4, 3), (5, 4),
]


def reference() -> float:
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (400, 400))
    start = time.perf_counter()
    solve_highs(-np.ones(400), a, np.full(400, -np.inf), np.ones(400))
    return time.perf_counter() - start


def run_case(neighbours: int, max_stops: int, attacker: str) -> dict[str, object]:
    from citywatch.data import london
    from citywatch.games.schedules.presence import PresenceGame, verify_presence_equilibrium
    from citywatch.model.payoffs import build_game
    from citywatch.schedule.beat_plan import beat_game, solve_beats
    from citywatch.schedule.walking import candidate_beats

    sc = london()
    game = build_game(sc).game
    ref = reference()
    t0 = time.perf_counter()
    beats = candidate_beats(sc, neighbours=neighbours, max_stops=max_stops)
    gen = time.perf_counter() - t0
    minutes = [s.hours * 60.0 for s in sc.slots]
    t0 = time.perf_counter()
    plan = solve_beats(game, beats, n_sites=len(sc.sites), slot_minutes=minutes,
                       attacker=attacker, time_limit=600)
    seconds = time.perf_counter() - t0
    pgame, _ = beat_game(game, beats, n_sites=len(sc.sites), slot_minutes=minutes)
    check = pgame if attacker == "bayesian" else PresenceGame(
        game.mixture(), pgame.presence, pgame.schedule_groups)
    problems = verify_presence_equilibrium(check, plan.equilibrium)
    assert problems == [], problems
    eq = plan.equilibrium
    return {"neighbours": neighbours, "max_stops": max_stops, "attacker": attacker,
            "beats": len(beats), "schedules": pgame.n_schedules, "generate_s": gen,
            "seconds": seconds, "reference": ref, "value": eq.defender_utility,
            "bound": plan.bound, "gap": eq.gap,
            "rel_gap": eq.gap / max(abs(eq.defender_utility), 1e-12),
            "support": len(eq.probabilities), "columns": eq.columns,
            "master": plan.stages.get("master solves", 0),
            "milps": plan.stages.get("pricing MILPs", 0),
            "load": os.getloadavg()[0],
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_old(seconds: float) -> dict[str, object]:
    from citywatch.data import london
    from citywatch.games.schedules import ScheduleGame, solve_schedules
    from citywatch.model.payoffs import build_game
    from citywatch.schedule.walking import candidate_beats

    sc = london()
    game = build_game(sc).game.mixture()
    beats = candidate_beats(sc)
    n = len(sc.sites)
    lists = [[s * n + i for i in b.sites] for s in range(len(sc.slots)) for b in beats]
    groups = [s for s in range(len(sc.slots)) for _ in beats]
    sgame = ScheduleGame.from_lists(game, lists, groups=groups)
    t0 = time.perf_counter()
    try:
        eq = solve_schedules(sgame, time_limit=seconds, seed=0)
        out = {"seconds": time.perf_counter() - t0, "optimal": eq.optimal, "gap": eq.gap,
               "value": eq.defender_utility, "iterations": eq.iterations}
    except Exception as err:  # noqa: BLE001 - reported, not hidden
        out = {"seconds": time.perf_counter() - t0, "error": str(err)}
    out["schedules"] = sgame.n_schedules
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", nargs=3)
    ap.add_argument("--bayesian", action="store_true")
    ap.add_argument("--old", type=float, default=None)
    ap.add_argument("--old-case", type=float, default=None)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(int(args.case[0]), int(args.case[1]), args.case[2])))
        return
    if args.old_case is not None:
        print(json.dumps(run_old(args.old_case)))
        return
    print(f"load average before: {os.getloadavg()}")
    print("| neighbours | max stops | attacker | candidate beats | schedules (6 slots) | "
          "generate s | solve s | reference s | ratio | master solves | pricing MILPs | "
          "support | defender utility | bound | gap | rel. gap | load | peak RSS MB |")
    print("|" + "---:|" * 18)
    attackers = ["mixture", "bayesian"] if args.bayesian else ["mixture"]
    for attacker in attackers:
        for nb, ms in (CASES if attacker == "mixture" else CASES[1:2]):
            proc = subprocess.run([sys.executable, __file__, "--case", str(nb), str(ms),
                                   attacker], capture_output=True, text=True, check=True)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"| {nb} | {ms} | {attacker} | {r['beats']} | {r['schedules']} | "
                  f"{r['generate_s']:.2f} | {r['seconds']:.1f} | {r['reference']:.3f} | "
                  f"{r['seconds'] / r['reference']:.0f} | {r['master']:.0f} | "
                  f"{r['milps']:.0f} | {r['support']} | {r['value']:.4f} | "
                  f"{r['bound']:.4f} | {r['gap']:.3g} | {r['rel_gap']:.2%} | "
                  f"{r['load']:.1f} | {r['peak_mb']:.0f} |", flush=True)
    if args.old is not None:
        proc = subprocess.run([sys.executable, __file__, "--old-case", str(args.old)],
                              capture_output=True, text=True, check=True)
        print("previous solver (solve_schedules, 0/1 union coverage, mixture attacker, "
              "default beats):", proc.stdout.strip().splitlines()[-1])
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
