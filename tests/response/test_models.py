"""Each location model re-verified from the matrix and against brute force over all placements."""

from __future__ import annotations

import numpy as np
import pytest
from _response import center, covered, expected, median, placements, random_instance

from citywatch.errors import InfeasibleError, ScenarioError, TravelTimeError
from citywatch.response import (
    CoverageProblem,
    busy_probability,
    expected_coverage,
    response_stats,
    solve_backup,
    solve_lscp,
    solve_mclp,
    solve_mexclp,
    solve_pcenter,
    solve_pmedian,
)

S = 8.0


def _check_common(res, problem: CoverageProblem, p: int | None) -> None:  # type: ignore[no-untyped-def]
    assert res.optimal and res.status == "Optimal" and res.gap <= 1e-6
    if p is not None:
        assert res.n_vehicles == p
    assert np.all(res.vehicles <= problem.capacity)
    assert all(res.vehicles[j] >= 1 for j in problem.required)
    assert all(res.vehicles[j] == 0 for j in problem.forbidden)
    # stats recomputed independently
    y = res.vehicles
    resp = problem.minutes[:, y > 0].min(axis=1)
    np.testing.assert_allclose(res.stats.response_min, resp)
    for s, share in zip(res.stats.standards_min, res.stats.share_within, strict=True):
        assert share == pytest.approx(problem.weights[resp <= s].sum() / problem.weights.sum())


@pytest.mark.parametrize("p", [1, 2, 3])
def test_mclp_matches_brute_force(instance: tuple[np.ndarray, np.ndarray], p: int) -> None:
    t, w = instance
    problem = CoverageProblem.from_travel_times(t, w)
    res = solve_mclp(problem, p, standard_min=S)
    _check_common(res, problem, p)
    assert res.objective == pytest.approx(covered(t, w, res.vehicles, S))
    best = max(covered(t, w, y, S) for y in placements(t.shape[1], p, problem.capacity))
    assert res.objective == pytest.approx(best)
    assert res.covered_weight(problem) == pytest.approx(best)


@pytest.mark.parametrize("p", [1, 3])
def test_pmedian_matches_brute_force(instance: tuple[np.ndarray, np.ndarray], p: int) -> None:
    t, w = instance
    problem = CoverageProblem.from_travel_times(t, w)
    res = solve_pmedian(problem, p)
    _check_common(res, problem, p)
    assert res.objective == pytest.approx(median(t, w, res.vehicles))
    best = min(median(t, w, y) for y in placements(t.shape[1], p, problem.capacity))
    assert res.objective == pytest.approx(best)
    assert res.stats.mean_min == pytest.approx(best / w.sum())


@pytest.mark.parametrize("p", [1, 2, 4])
def test_pcenter_matches_brute_force(instance: tuple[np.ndarray, np.ndarray], p: int) -> None:
    t, w = instance
    problem = CoverageProblem.from_travel_times(t, w)
    res = solve_pcenter(problem, p)
    _check_common(res, problem, p)
    assert res.objective == pytest.approx(center(t, w, res.vehicles))
    best = min(center(t, w, y) for y in placements(t.shape[1], p, problem.capacity))
    assert res.objective == pytest.approx(best)


@pytest.mark.parametrize("p", [2, 4])
def test_mexclp_matches_brute_force(instance: tuple[np.ndarray, np.ndarray], p: int) -> None:
    t, w = instance
    problem = CoverageProblem.from_travel_times(t, w, capacity=2)
    res = solve_mexclp(problem, p, busy=0.3, standard_min=S)
    _check_common(res, problem, p)
    value = expected(t, w, res.vehicles, S, 0.3)
    assert res.objective == pytest.approx(value)
    assert expected_coverage(problem, res.vehicles, standard_min=S, busy=0.3) == \
        pytest.approx(value)
    best = max(expected(t, w, y, S, 0.3) for y in placements(t.shape[1], p, problem.capacity))
    assert res.objective == pytest.approx(best)


def test_mexclp_with_no_busy_is_mclp(instance: tuple[np.ndarray, np.ndarray]) -> None:
    t, w = instance
    problem = CoverageProblem.from_travel_times(t, w)
    assert solve_mexclp(problem, 2, busy=0.0).objective == pytest.approx(
        solve_mclp(problem, 2).objective)


def test_backup_matches_brute_force(instance: tuple[np.ndarray, np.ndarray]) -> None:
    t, w = instance
    problem = CoverageProblem.from_travel_times(t, w, capacity=2)

    def score(y: np.ndarray) -> float:
        n = (t <= S) @ y
        return float(0.7 * w[n >= 1].sum() + 0.3 * w[n >= 2].sum())

    res = solve_backup(problem, 3, primary_weight=0.7)
    _check_common(res, problem, 3)
    assert res.objective == pytest.approx(score(res.vehicles))
    assert res.objective == pytest.approx(max(score(y) for y in
                                              placements(t.shape[1], 3, problem.capacity)))
    assert res.details["covered_twice"] == pytest.approx(w[((t <= S) @ res.vehicles) >= 2].sum())


def test_lscp_matches_brute_force() -> None:
    checked = 0
    for seed in range(12):
        t, w = random_instance(seed, n_c=7)
        problem = CoverageProblem.from_travel_times(t, w)
        pos = w > 0
        feasible = bool((t[pos] <= S).any(axis=1).all())
        if not feasible:
            with pytest.raises(InfeasibleError, match="no allowed standby point reaches"):
                solve_lscp(problem, standard_min=S)
            continue
        res = solve_lscp(problem, standard_min=S)
        _check_common(res, problem, None)
        assert (t[pos][:, res.vehicles > 0] <= S).any(axis=1).all()
        best = min(k for k in range(1, 8) for y in placements(7, k, np.ones(7, int))
                   if (t[pos][:, y > 0] <= S).any(axis=1).all())
        assert res.objective == best == res.n_vehicles
        checked += 1
    assert checked >= 3


def test_required_and_forbidden_points_are_respected() -> None:
    t, w = random_instance(3, n_c=6)
    free = solve_mclp(CoverageProblem.from_travel_times(t, w), 2)
    chosen = set(free.chosen)
    other = next(j for j in range(6) if j not in chosen)
    problem = CoverageProblem.from_travel_times(t, w, required=[other],
                                                forbidden=[min(chosen)])
    res = solve_mclp(problem, 2)
    _check_common(res, problem, 2)
    ok = [y for y in placements(6, 2, problem.capacity) if y[other] >= 1 and y[min(chosen)] == 0]
    assert res.objective == pytest.approx(max(covered(t, w, y, S) for y in ok))
    for solver in (lambda p: solve_pmedian(p, 2), lambda p: solve_pcenter(p, 2),
                   lambda p: solve_mexclp(p, 2, busy=0.2),
                   lambda p: solve_lscp(p, standard_min=30)):
        r = solver(problem)
        assert r.vehicles[other] >= 1 and r.vehicles[min(chosen)] == 0


def test_ids_name_required_points() -> None:
    t, w = random_instance(1)
    problem = CoverageProblem.from_travel_times(t, w, candidate_ids=list("abcdef"),
                                                required=["c"], forbidden=["a"])
    assert problem.required == (2,) and problem.forbidden == (0,)
    assert solve_mclp(problem, 1).chosen_ids == ("c",)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"required": ["zz"]}, ScenarioError, "not a candidate id"),
    ({"required": [9]}, ScenarioError, "out of range"),
    ({"required": [1], "forbidden": [1]}, ScenarioError, "both required and forbidden"),
    ({"capacity": -1}, ScenarioError, "`capacity`"),
    ({"capacity": [1, 2]}, ScenarioError, "`capacity`"),
])
def test_bad_problem_options(kwargs: dict, error: type, match: str) -> None:  # type: ignore[type-arg]
    t, w = random_instance(0)
    with pytest.raises(error, match=match):
        CoverageProblem.from_travel_times(t, w, **kwargs)


def test_bad_matrices() -> None:
    with pytest.raises(TravelTimeError, match=r"`matrix_minutes\[0, 1\]`"):
        CoverageProblem.from_travel_times([[1.0, np.nan]])
    with pytest.raises(TravelTimeError, match="`weights`"):
        CoverageProblem.from_travel_times([[1.0, 2.0]], [1.0, 2.0])
    with pytest.raises(TravelTimeError, match=r"`weights\[0\]`"):
        CoverageProblem.from_travel_times([[1.0, 2.0]], [-1.0])


def test_too_many_or_too_few_vehicles() -> None:
    t, w = random_instance(0)
    problem = CoverageProblem.from_travel_times(t, w, required=[0, 1])
    with pytest.raises(InfeasibleError, match="fewer than the 2 required"):
        solve_mclp(problem, 1)
    with pytest.raises(InfeasibleError, match="exceeds"):
        solve_mclp(problem, 7)
    with pytest.raises(ScenarioError, match="`vehicles`"):
        solve_mclp(problem, 0)


def test_unreachable_points_are_infinite_not_errors_for_mclp() -> None:
    t = np.array([[1.0, np.inf], [np.inf, 2.0], [np.inf, np.inf]])
    problem = CoverageProblem.from_travel_times(t, [1.0, 2.0, 4.0])
    res = solve_mclp(problem, 1)
    assert res.objective == 2.0 and res.chosen == (1,)
    assert res.stats.max_min == np.inf
    with pytest.raises(InfeasibleError, match="can reach demand point `2`"):
        solve_pmedian(problem, 1)


def test_time_limit_result_is_never_called_optimal() -> None:
    rng = np.random.default_rng(7)
    d = rng.uniform(0, 30, (3000, 2))
    c = rng.uniform(0, 30, (300, 2))
    t = np.sqrt(((d[:, None] - c[None]) ** 2).sum(-1)) / 0.5
    problem = CoverageProblem.from_travel_times(t, rng.integers(1, 100, 3000))
    res = solve_mclp(problem, 15, standard_min=5.0, time_limit=0.05)
    assert res.n_vehicles == 15
    if not res.optimal:
        assert res.status != "Optimal" and res.bound >= res.objective and res.gap > 0


def test_busy_probability() -> None:
    assert busy_probability(6.0, 30.0, 10) == pytest.approx(0.3)
    with pytest.raises(ScenarioError, match="saturated"):
        busy_probability(60.0, 30.0, 10)


def test_weighted_p90_and_mean() -> None:
    t = np.array([[1.0], [2.0], [3.0], [10.0]])
    problem = CoverageProblem.from_travel_times(t, [5.0, 3.0, 1.0, 1.0])
    st = response_stats(problem, [1], standards_min=(2.0, 5.0))
    assert st.share_within == (0.8, 0.9)
    assert st.p90_min == 3.0
    assert st.mean_min == pytest.approx((5 + 6 + 3 + 10) / 10)
    assert st.max_min == 10.0
