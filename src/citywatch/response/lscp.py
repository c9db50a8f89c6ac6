"""LSCP: the fewest vehicles that reach every demand point within the response standard."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from citywatch.errors import InfeasibleError
from citywatch.response._milp import (
    Timer,
    check_standard,
    package,
    solve,
    unique_rows,
    vehicle_bounds,
)
from citywatch.response._problem import CoverageProblem
from citywatch.response.results import DEFAULT_STANDARDS_MIN, CoverageResult

__all__ = ["solve_lscp"]


def solve_lscp(problem: CoverageProblem, *, standard_min: float = 8.0,
               time_limit: float | None = None, mip_rel_gap: float | None = None,
               standards_min: Sequence[float] = DEFAULT_STANDARDS_MIN) -> CoverageResult:
    r"""Location set covering (Toregas et al. 1971).

    With :math:`N_i = \{j : t_{ij} \le S\}` the allowed candidates reaching demand point
    :math:`i` within the standard :math:`S`, over the points with positive weight:

    .. math::

        \min \sum_j y_j \quad \text{s.t.} \quad \sum_{j \in N_i} y_j \ge 1 \;\; \forall i:
        w_i > 0, \qquad y_j \in \{l_j, \dots, \min(1, u_j)\},

    required points having :math:`l_j = 1` and forbidden ones :math:`u_j = 0` (a second
    vehicle at a point reaches nothing new, so at most one is placed). Identical rows
    are merged.

    Returns
    -------
    CoverageResult
        ``objective`` is the number of vehicles.

    Raises
    ------
    InfeasibleError
        If some demand point with positive weight is out of reach of every allowed
        candidate (the message names it and its nearest candidate's time).
    """
    timer = Timer()
    s = check_standard(standard_min)
    a = problem.coverage_matrix(s)
    positive = problem.weights > 0
    empty = np.flatnonzero(positive & (np.diff(a.indptr) == 0))
    if empty.size:
        i = int(empty[0])
        allowed = problem.allowed
        best = float(problem.minutes[i, allowed].min()) if allowed.any() else np.inf
        msg = (f"no allowed standby point reaches demand point `{problem.demand_ids[i]}` "
               f"within {s:g} min (nearest: {best:.1f} min; {empty.size} such points)")
        raise InfeasibleError(msg)
    a, _, _ = unique_rows(a[np.flatnonzero(positive)], problem.weights[positive])
    n_c = problem.n_candidates
    lower, upper = vehicle_bounds(problem, stack=False)
    res = solve(np.ones(n_c), a.astype(np.float64), np.ones(a.shape[0]),
                np.full(a.shape[0], np.inf), col_lower=lower, col_upper=upper,
                integrality=np.ones(n_c), maximize=False, time_limit=time_limit,
                mip_rel_gap=mip_rel_gap,
                what=f"LSCP ({problem.n_demand} demand points, {n_c} candidates)")
    return package("lscp", problem, res.x, res, standard_min=s, seconds=timer.seconds,
                   standards_min=standards_min)
