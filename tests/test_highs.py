"""The shared HiGHS helpers: build, run, check, and the limits they honour."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from citywatch._highs import build_highs, run_highs, set_limits, solve_highs
from citywatch.errors import GameError, InfeasibleError, SolverError


def _knapsack(n: int, seed: int) -> tuple[np.ndarray, sp.csc_array, np.ndarray]:
    """A multi-row 0-1 knapsack hard enough to need many branch-and-bound nodes."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(20, 60, size=(6, n)).astype(float)
    values = weights.sum(axis=0) + rng.integers(0, 10, size=n)
    return values, sp.csc_array(weights), weights.sum(axis=1) / 2 + 0.5


def test_highs_lp_values_and_duals() -> None:
    # min x + y s.t. x + 2y >= 2, 3x + y >= 2  ->  x = 0.4, y = 0.8
    res = solve_highs([1, 1], sp.csr_array([[1.0, 2.0], [3.0, 1.0]]), [2, 2], [np.inf, np.inf])
    assert res.optimal and res.gap == 0.0 and res.status == "Optimal"
    np.testing.assert_allclose(res.x, [0.4, 0.8])
    np.testing.assert_allclose(res.row_values, [2.0, 2.0])
    np.testing.assert_allclose(res.row_duals, [0.4, 0.2])
    assert res.objective == pytest.approx(1.2)


def test_highs_milp_and_warm_rerun() -> None:
    h = build_highs([1, 1], [[1, 2], [3, 1]], [2, 2], [np.inf, np.inf], integrality=[1, 1],
                    offset=10.0)
    res = run_highs(h)
    assert res.optimal and res.objective == pytest.approx(12.0) and res.mip_gap == 0.0
    h.changeColCost(0, 0.1)
    assert run_highs(h).objective == pytest.approx(10.2)  # x = 2, y = 0


def test_highs_infeasible_raises() -> None:
    with pytest.raises(InfeasibleError, match="toy LP is infeasible"):
        solve_highs([1.0], [[1.0]], [2.0], [3.0], col_upper=1.0, what="toy LP")


def test_highs_rejects_bad_arguments() -> None:
    with pytest.raises(GameError, match="`row_lower`"):
        solve_highs([1.0], [[1.0]], [2.0, 1.0], [3.0])
    with pytest.raises(GameError, match="`time_limit`"):
        build_highs([1.0], [[1.0]], [0.0], [1.0], time_limit=-1.0)
    with pytest.raises(GameError, match="`node_limit`"):
        build_highs([1.0], [[1.0]], [0.0], [1.0], node_limit=-1)
    with pytest.raises(GameError, match="`iteration_limit`"):
        build_highs([1.0], [[1.0]], [0.0], [1.0], iteration_limit=1.5)  # type: ignore[arg-type]


def test_node_limit_is_deterministic_and_reported() -> None:
    values, weights, cap = _knapsack(35, seed=3)
    runs = [solve_highs(values, weights, -np.inf, cap, col_upper=1.0, integrality=np.ones(35),
                        maximize=True, node_limit=5) for _ in range(2)]
    first, second = runs
    assert not first.optimal and first.limit == "nodes" and first.nodes <= 20
    assert first.objective == second.objective and first.bound == second.bound
    np.testing.assert_array_equal(first.x, second.x)
    assert first.gap == pytest.approx(abs(first.bound - first.objective))
    assert first.objective <= first.bound


def test_lp_iteration_limit_stops_the_simplex() -> None:
    rng = np.random.default_rng(0)
    a = sp.random(80, 120, density=0.3, random_state=rng, format="csc") + sp.eye(80, 120)
    h = build_highs(rng.random(120), a, -np.inf, 1.0 + rng.random(80), col_upper=1.0,
                    maximize=True, iteration_limit=3)
    with pytest.raises(SolverError, match="Iteration limit"):
        run_highs(h)  # stopped before any primal-feasible basis at a limit: nothing to return
    set_limits(h)  # cleared: the same model now solves
    res = run_highs(h)
    assert res.optimal and res.limit is None and res.iterations > 3


def test_time_limit_interrupts_and_reports_the_incumbent() -> None:
    values, weights, cap = _knapsack(200, seed=5)
    h = build_highs(values, weights, -np.inf, cap, col_upper=1.0, integrality=np.ones(200),
                    maximize=True, time_limit=1e-3)
    try:
        res = run_highs(h)
    except SolverError as err:  # stopped before HiGHS found anything feasible
        assert "Time limit" in str(err) or "Interrupted" in str(err)
    else:
        assert not res.optimal and res.limit == "time"

