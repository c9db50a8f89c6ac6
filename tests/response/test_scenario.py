"""Coverage problems built from scenarios: the tiny one and the London default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from citywatch.data import london
from citywatch.errors import ScenarioError
from citywatch.model.io import load_scenario
from citywatch.model.payoffs import standby_travel_minutes
from citywatch.response import CoverageProblem, solve_mclp, solve_mexclp


def test_sites_problem_matches_payoff_model(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir)
    problem = CoverageProblem.from_scenario(sc, "night", demand="sites")
    np.testing.assert_allclose(problem.minutes, standby_travel_minutes(sc)[1].T)
    np.testing.assert_allclose(problem.weights, sc.people()[:, 1])
    assert problem.candidate_ids == ("hq", "south_stn", "east_jct")
    assert problem.capacity.tolist() == [3, 2, 2]
    res = solve_mclp(problem, 2, standard_min=5.0)
    assert res.optimal and res.n_vehicles == 2


def test_grid_problem_and_cache(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir)
    a = CoverageProblem.from_scenario(sc, 0, demand="grid", resolution=7)
    b = CoverageProblem.from_scenario(sc, 0, demand="grid", resolution=7)
    assert a.minutes is b.minutes  # computed once
    assert a.n_demand > 5 and np.all(a.weights >= 0)
    assert a.total_weight == pytest.approx(sum(z.population for z in sc.zones)
                                           + sc.people()[:, 0].sum())


def test_bad_demand_kind(tiny_dir: Path) -> None:
    with pytest.raises(ScenarioError, match="`demand`"):
        CoverageProblem.from_scenario(load_scenario(tiny_dir), 0, demand="roads")
    with pytest.raises(ScenarioError, match="`slot`"):
        CoverageProblem.from_scenario(load_scenario(tiny_dir), "noon")


def test_london_grid_mexclp_is_fast_and_optimal() -> None:
    sc = london()
    problem = CoverageProblem.from_scenario(sc, "12-16", demand="grid")
    res = solve_mexclp(problem, 20, busy=sc.travel.arv_busy_probability, time_limit=60)
    assert res.n_vehicles == 20
    assert res.stats.share(8.0) > 0.5
    assert res.optimal or res.gap >= 0
