"""Backup coverage: reach demand once, and as much as possible twice (Hogan & ReVelle 1986)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from citywatch.errors import ScenarioError
from citywatch.response._milp import (
    Timer,
    check_standard,
    check_vehicles,
    package,
    solve,
    unique_rows,
    vehicle_bounds,
)
from citywatch.response._problem import CoverageProblem
from citywatch.response.results import DEFAULT_STANDARDS_MIN, CoverageResult

__all__ = ["solve_backup"]


def solve_backup(problem: CoverageProblem, vehicles: int, *, standard_min: float = 8.0,
                 primary_weight: float = 0.5, time_limit: float | None = None,
                 mip_rel_gap: float | None = None,
                 standards_min: Sequence[float] = DEFAULT_STANDARDS_MIN) -> CoverageResult:
    r"""Maximal backup coverage (BACOP2 of Hogan & ReVelle 1986).

    .. math::

        \max\; \theta \sum_i w_i u_i + (1 - \theta) \sum_i w_i v_i \quad\text{s.t.}\quad
        u_i + v_i \le \sum_{j \in N_i} y_j,\quad v_i \le u_i,\quad
        \sum_j y_j = P,\quad 0 \le u_i, v_i \le 1,\quad y_j \in \{l_j, \dots, u_j\}:

    :math:`u_i` marks point :math:`i` reached once and :math:`v_i` reached twice,
    weighted :math:`\theta` (`primary_weight`) against :math:`1 - \theta`. Two vehicles
    may share a point up to its capacity. For integral :math:`y` the optimum has
    :math:`u_i = \min(1, n_i)`, :math:`v_i = \min(1, \max(0, n_i - 1))`, so :math:`u, v`
    may be continuous.

    Returns
    -------
    CoverageResult
        ``objective`` is the weighted sum; ``details`` holds ``covered_once`` and
        ``covered_twice`` (weights).
    """
    timer = Timer()
    s = check_standard(standard_min)
    if not (math.isfinite(primary_weight) and 0 <= primary_weight <= 1):
        msg = f"`primary_weight` must be in [0, 1], got {primary_weight!r}"
        raise ScenarioError(msg)
    check_vehicles(problem, vehicles)
    lower, upper = vehicle_bounds(problem, stack=True)
    a, w, _ = unique_rows(problem.coverage_matrix(s), problem.weights)
    n_c, n_r = problem.n_candidates, a.shape[0]
    eye = sp.eye_array(n_r, format="csr")
    zero_c = sp.csr_array((n_r, n_c))
    cover = sp.hstack([-a.astype(np.float64), eye, eye])
    nested = sp.hstack([zero_c, -eye, eye])
    total = sp.hstack([sp.csr_array(np.ones((1, n_c))), sp.csr_array((1, 2 * n_r))])
    mat = sp.vstack([cover, nested, total], format="csc")
    th = primary_weight
    cost = np.concatenate([np.zeros(n_c), th * w, (1 - th) * w])
    res = solve(cost, mat, np.concatenate([np.full(2 * n_r, -np.inf), [vehicles]]),
                np.concatenate([np.zeros(2 * n_r), [vehicles]]),
                col_lower=np.concatenate([lower, np.zeros(2 * n_r)]),
                col_upper=np.concatenate([upper, np.ones(2 * n_r)]),
                integrality=np.concatenate([np.ones(n_c), np.zeros(2 * n_r)]),
                maximize=True, time_limit=time_limit, mip_rel_gap=mip_rel_gap,
                what=f"backup coverage ({problem.n_demand} demand points, P={vehicles})")
    y = np.rint(res.x[:n_c])
    n = problem.coverage_matrix(s) @ y
    details = {"covered_once": float(problem.weights[n >= 1].sum()),
               "covered_twice": float(problem.weights[n >= 2].sum()),
               "primary_weight": th}
    return package("backup", problem, y, res, standard_min=s, seconds=timer.seconds,
                   standards_min=standards_min, details=details)
