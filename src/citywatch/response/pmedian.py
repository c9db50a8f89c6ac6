"""p-median: P vehicles placed for the least weighted mean response time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from citywatch.errors import InfeasibleError
from citywatch.response._milp import Timer, check_vehicles, package, solve, vehicle_bounds
from citywatch.response._problem import CoverageProblem
from citywatch.response.results import DEFAULT_STANDARDS_MIN, CoverageResult

__all__ = ["solve_pmedian"]


def solve_pmedian(problem: CoverageProblem, vehicles: int, *, time_limit: float | None = None,
                  mip_rel_gap: float | None = None,
                  standards_min: Sequence[float] = DEFAULT_STANDARDS_MIN) -> CoverageResult:
    r"""p-median (Hakimi 1964; ReVelle & Swain 1970), strong formulation.

    Over the demand points with positive weight and the finite times :math:`t_{ij}` to
    allowed candidates:

    .. math::

        \min \sum_i \sum_j w_i t_{ij} x_{ij} \quad\text{s.t.}\quad
        \sum_j x_{ij} = 1, \quad x_{ij} \le y_j, \quad \sum_j y_j = P, \quad
        x_{ij} \ge 0, \quad y_j \in \{l_j, \dots, u_j\}.

    :math:`x` may be continuous: for integral :math:`y` each point is assigned to its
    nearest open candidate.

    Returns
    -------
    CoverageResult
        ``objective`` is :math:`\sum_i w_i \min_{j \text{ open}} t_{ij}` (weight x
        minutes); ``details["mean_min"]`` divides it by the total weight.

    Raises
    ------
    InfeasibleError
        If a weighted point cannot be reached from any allowed candidate, or the
        vehicles cannot be placed.
    """
    timer = Timer()
    check_vehicles(problem, vehicles)
    lower, upper = vehicle_bounds(problem, stack=True)
    demand = np.flatnonzero(problem.weights > 0)
    allowed = np.flatnonzero(upper > 0)
    t = problem.minutes[np.ix_(demand, allowed)]
    ok = np.isfinite(t)
    lost = np.flatnonzero(~ok.any(axis=1))
    if lost.size:
        i = int(demand[lost[0]])
        msg = f"no allowed standby point can reach demand point `{problem.demand_ids[i]}`"
        raise InfeasibleError(msg)
    rows, cols = np.nonzero(ok)
    n_x = rows.size
    n_c, n_d = problem.n_candidates, demand.size
    y_of_x = allowed[cols]
    # columns: y (n_c) then x; rows: assignment (n_d), x - y <= 0 (n_x), sum y = P
    assign = sp.csr_array((np.ones(n_x), (rows, n_c + np.arange(n_x))), shape=(n_d, n_c + n_x))
    link = sp.csr_array((np.concatenate([np.ones(n_x), -np.ones(n_x)]),
                         (np.tile(np.arange(n_x), 2),
                          np.concatenate([n_c + np.arange(n_x), y_of_x]))),
                        shape=(n_x, n_c + n_x))
    total = sp.csr_array((np.ones(n_c), (np.zeros(n_c, dtype=np.int64), np.arange(n_c))),
                         shape=(1, n_c + n_x))
    mat = sp.vstack([assign, link, total], format="csc")
    cost = np.concatenate([np.zeros(n_c), problem.weights[demand][rows] * t[rows, cols]])
    res = solve(cost, mat,
                np.concatenate([np.ones(n_d), np.full(n_x, -np.inf), [vehicles]]),
                np.concatenate([np.ones(n_d), np.zeros(n_x), [vehicles]]),
                col_lower=np.concatenate([lower, np.zeros(n_x)]),
                col_upper=np.concatenate([upper, np.ones(n_x)]),
                integrality=np.concatenate([np.ones(n_c), np.zeros(n_x)]), maximize=False,
                time_limit=time_limit, mip_rel_gap=mip_rel_gap,
                what=f"p-median ({n_d} demand points, {allowed.size} candidates, P={vehicles})")
    total_w = float(problem.weights.sum())
    return package("pmedian", problem, res.x[:n_c], res, standard_min=None,
                   seconds=timer.seconds, standards_min=standards_min,
                   details={"mean_min": res.objective / total_w if total_w > 0 else 0.0})
