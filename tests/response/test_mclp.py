"""MCLP's solve paths (LP relaxation integral or MILP) and its swap local search."""

from __future__ import annotations

import numpy as np
import pytest
from _response import covered, placements

from citywatch.response import CoverageProblem, solve_mclp
from citywatch.response._milp import unique_rows, vehicle_bounds
from citywatch.response.mclp import local_search

S = 8.0


def clustered(seed: int, n_d: int = 80, n_c: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """Demand in a few tight clusters, candidates spread out: the LP is often fractional."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 20, (5, 2))
    d = centres[rng.integers(0, 5, n_d)] + rng.normal(0, 1.0, (n_d, 2))
    c = rng.uniform(0, 20, (n_c, 2))
    t = np.sqrt(((d[:, None, :] - c[None, :, :]) ** 2).sum(-1)) / 0.5
    return t, rng.integers(1, 100, n_d).astype(float)


@pytest.mark.parametrize(("seed", "p"), [(0, 2), (3, 3), (15, 4), (16, 4), (17, 4)])
def test_both_paths_reach_the_brute_force_optimum(seed: int, p: int) -> None:
    t, w = clustered(seed)
    problem = CoverageProblem.from_travel_times(t, w)
    res = solve_mclp(problem, p, standard_min=S)
    best = max(covered(t, w, y, S) for y in placements(t.shape[1], p, problem.capacity))
    assert res.optimal and res.gap == 0
    assert res.objective == pytest.approx(best) == covered(t, w, res.vehicles, S)
    assert res.details["lp_integral"] in (0.0, 1.0)
    if res.details["lp_integral"] == 0.0:  # the MILP ran from the local-search incumbent
        assert res.details["heuristic_objective"] <= res.objective + 1e-9


def test_some_instances_take_each_path() -> None:
    paths = set()
    for seed in (16, 17):  # seed 17's relaxation is fractional, seed 16's integral
        t, w = clustered(seed)
        paths.add(solve_mclp(CoverageProblem.from_travel_times(t, w), 4,
                             standard_min=S).details["lp_integral"])
    assert paths == {0.0, 1.0}


@pytest.mark.parametrize("seed", range(6))
def test_local_search_is_feasible_and_never_worse_than_greedy(seed: int) -> None:
    t, w = clustered(seed, n_d=80, n_c=10)
    problem = CoverageProblem.from_travel_times(t, w, capacity=2, required=[1],
                                                forbidden=[4])
    a, wm, _ = unique_rows(problem.coverage_matrix(S), problem.weights)
    lower, upper = vehicle_bounds(problem, stack=True)
    lp = np.full(problem.n_candidates, 0.4)
    for p in (2, 4):
        y = local_search(a, wm, lower, upper, p, lp=lp)
        assert y.sum() == p and np.all(y >= lower) and np.all(y <= upper)
        assert y[1] >= 1 and y[4] == 0
        value = covered(t, w, y, S)
        best = max(covered(t, w, z, S) for z in placements(t.shape[1], p, upper))
        # a local optimum: no single move of one vehicle improves it
        for j in np.flatnonzero(y > lower):
            for k in np.flatnonzero(y < upper):
                if k != j:
                    z = y.copy()
                    z[j] -= 1
                    z[k] += 1
                    assert covered(t, w, z, S) <= value + 1e-9
        assert value <= best + 1e-9


class _Ticks:
    """A clock that advances one tick per reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_local_search_stops_at_its_deadline_with_a_feasible_placement() -> None:
    t, w = clustered(17, n_d=200, n_c=40)
    problem = CoverageProblem.from_travel_times(t, w)
    a, wm, _ = unique_rows(problem.coverage_matrix(S), problem.weights)
    lower, upper = vehicle_bounds(problem, stack=True)
    free: dict[str, float] = {}
    y_free = local_search(a, wm, lower, upper, 4, details=free)
    assert free["heuristic_stopped"] == 0.0 and free["heuristic_swaps"] >= 1
    # a deadline far away changes nothing
    far: dict[str, float] = {}
    y_far = local_search(a, wm, lower, upper, 4, deadline=1e9, clock=_Ticks(), details=far)
    assert np.array_equal(y_far, y_free) and far == free
    # one clock reading per tried move: a deadline of 3 readings stops the first round
    clock = _Ticks()
    stopped: dict[str, float] = {}
    y = local_search(a, wm, lower, upper, 4, deadline=3.0, clock=clock, details=stopped)
    assert stopped == {"heuristic_stopped": 1.0, "heuristic_swaps": 0.0}
    assert clock.now == 3.0  # the clock was not read again once past the deadline
    assert y.sum() == 4 and np.all(y >= lower) and np.all(y <= upper)


def test_a_tiny_time_limit_is_honoured_with_the_heuristic_answer() -> None:
    # contested clustered demand (the benchmark's clustered 2,000 x 300 family): proving it
    # takes HiGHS tens of seconds, so a 1e-9 s limit must stop both the relaxation and the
    # MILP, and the answer is the greedy placement, unproven
    rng = np.random.default_rng(0)
    d, c = rng.uniform(0, 30, (2_000, 2)), rng.uniform(0, 30, (300, 2))
    t = np.sqrt(((d[:, None, :] - c[None, :, :]) ** 2).sum(-1)) / 0.5
    w = rng.integers(1, 100, 2_000).astype(float)
    res = solve_mclp(CoverageProblem.from_travel_times(t, w), 20, standard_min=S,
                     time_limit=1e-9)
    assert not res.optimal and res.gap > 0
    assert res.details["heuristic_stopped"] == 1.0
    assert res.vehicles.sum() == 20
    assert res.objective == pytest.approx(covered(t, w, res.vehicles, S))
    assert res.objective == pytest.approx(res.details["heuristic_objective"])


def test_a_relaxation_over_its_iteration_budget_is_left_to_the_milp(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from citywatch.response import mclp

    t, w = clustered(16)  # its relaxation is integral (see above) when it may finish
    problem = CoverageProblem.from_travel_times(t, w)
    free = solve_mclp(problem, 4, standard_min=S)
    assert free.details["lp_integral"] == 1.0 and free.details["lp_abandoned"] == 0.0
    monkeypatch.setattr(mclp, "LP_FIRST_ITERATIONS", 1)
    monkeypatch.setattr(mclp, "LP_FIRST_POINTS_PER_ITERATION", 10**9)
    capped = solve_mclp(problem, 4, standard_min=S)
    assert capped.details["lp_abandoned"] == 1.0 and capped.details["lp_integral"] == 0.0
    assert capped.optimal and capped.objective == pytest.approx(free.objective)
