"""Timings of roster sampling: a year of rosters for 300 teams over 1,000 sites (issue 5).

Run with ``python benchmarks/bench_roster.py``; the target is under 10 s.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np

from citywatch.data import london
from citywatch.model.scenario import Site
from citywatch.schedule import assign_teams, comb_sample, make_roster

DAYS = 365
SITES = 1000


def _timed(label: str, func: Callable[[], Any], repeat: int = 3) -> Any:
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<72} {best:8.2f} s")
    return result


def main() -> None:
    rng = np.random.default_rng(0)
    base = london()
    n_slots = len(base.slots)
    sites = tuple(Site(f"s{i:04d}", f"Site {i}", "other", float(lat), float(lon),
                       base.zones[0].id, (100.0,) * n_slots)
                  for i, (lat, lon) in enumerate(zip(rng.uniform(51.35, 51.65, SITES),
                                                     rng.uniform(-0.45, 0.25, SITES),
                                                     strict=True)))
    sc = dataclasses.replace(base, sites=sites)
    # London's per-slot patrol teams scaled by 1.5: about 300 named teams in the roster.
    budgets = np.array([42, 58, 60, 94, 84, 90], dtype=np.int64)
    coverage = np.minimum(rng.dirichlet(np.full(SITES, 0.5), size=n_slots)
                          * budgets[:, np.newaxis], 1.0)

    roster = _timed(f"make_roster: {DAYS} days x {n_slots} slots, {SITES} sites (teams, "
                    f"sampling, checks)",
                    lambda: make_roster(sc, coverage, days=DAYS, start=date(2027, 1, 1),
                                        seed=1, budgets=budgets))
    print(f"    {len(roster.teams)} named teams; budgets {budgets.tolist()} a slot")
    _timed("  + realised coverage of the year", roster.realised_coverage)

    heavy = np.full((n_slots, SITES), 0.3)
    teams = np.full(n_slots, 300)
    _timed(f"comb_sample + assign_teams: {DAYS} days x {n_slots} slots, 300 teams a slot "
           f"over {SITES} sites",
           lambda: assign_teams(comb_sample(heavy, budgets=teams, draws=DAYS, seed=2), teams,
                                seed=3))
    count = _timed(f"Roster.missions() for the year ({len(roster.teams)} teams)",
                   lambda: sum(1 for _ in roster.missions()), repeat=1)
    print(f"    {count} missions")


if __name__ == "__main__":
    main()
