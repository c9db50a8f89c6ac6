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
from citywatch.response.mexclp import expected_coverage


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
    busy = sc.travel.arv_busy_probability
    res = solve_mexclp(problem, 20, busy=busy, time_limit=60)
    assert res.n_vehicles == 20
    assert res.stats.share(8.0) > 0.5
    # the objective is the placement's expected coverage, re-measured from the matrix
    value = expected_coverage(problem, res.vehicles, standard_min=8.0, busy=busy)
    assert value == pytest.approx(res.objective, rel=1e-9)
    # the proven bound is at least the objective, and the gap is their distance
    assert res.bound >= res.objective - 1e-9 * problem.total_weight
    assert res.gap == pytest.approx(res.bound - res.objective, abs=1e-6 * problem.total_weight)
    if not res.optimal:  # a time-limited answer still beats the greedy placement
        greedy = np.zeros(problem.n_candidates)
        for _ in range(20):
            gains = [expected_coverage(problem, greedy + np.eye(problem.n_candidates)[j],
                                       standard_min=8.0, busy=busy)
                     if greedy[j] < problem.capacity[j] else -np.inf
                     for j in range(problem.n_candidates)]
            greedy[int(np.argmax(gains))] += 1
        assert res.objective >= expected_coverage(problem, greedy, standard_min=8.0,
                                                  busy=busy) - 1e-9 * problem.total_weight
    else:
        assert res.gap <= 1e-6 * problem.total_weight
