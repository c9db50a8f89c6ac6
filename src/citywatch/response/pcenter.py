"""p-center: P vehicles placed for the least worst-case response time."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from citywatch.errors import InfeasibleError, SolverError
from citywatch._highs import HighsResult
from citywatch.response._milp import Timer, check_vehicles, solve, vehicle_bounds
from citywatch.response._problem import CoverageProblem
from citywatch.response.results import DEFAULT_STANDARDS_MIN, CoverageResult, response_stats

__all__ = ["solve_pcenter"]


def solve_pcenter(problem: CoverageProblem, vehicles: int, *, time_limit: float | None = None,
                  standards_min: Sequence[float] = DEFAULT_STANDARDS_MIN) -> CoverageResult:
    r"""p-center (Hakimi 1965): minimise the worst response time over weighted points.

    The optimal radius :math:`r^*` is one of the times :math:`t_{ij}`, and a radius
    :math:`r` is achievable iff the covering MILP

    .. math::

        \text{find } y \quad\text{s.t.}\quad \sum_{j: t_{ij} \le r} y_j \ge 1 \;\;
        \forall i: w_i > 0, \qquad \sum_j y_j \le P, \qquad
        y_j \in \{l_j, \dots, \min(1, u_j)\}

    is feasible, which is monotone in :math:`r`. A bisection over the distinct times
    between :math:`\max_i \min_j t_{ij}` (a lower bound) and the radius of a greedy
    placement (an upper bound) finds :math:`r^*` exactly, each step proven by HiGHS
    (feasible, or infeasible). Spare vehicles go to the lowest-index allowed points,
    which cannot raise the radius.

    Parameters
    ----------
    time_limit
        Seconds for the whole bisection; if it runs out the best radius found is
        returned with ``optimal=False``, ``bound`` the next time above the largest
        radius proven infeasible.

    Returns
    -------
    CoverageResult
        ``objective`` is the worst response time :math:`r^*`, minutes.
    """
    timer = Timer()
    check_vehicles(problem, vehicles)
    lower, upper = vehicle_bounds(problem, stack=True)
    one = np.minimum(upper, 1.0)
    demand = np.flatnonzero(problem.weights > 0)
    allowed = upper > 0
    t = problem.minutes[demand]
    t = np.where(allowed[None, :], t, np.inf)
    if demand.size == 0:
        y = lower.copy()
        _fill(y, upper, vehicles)
        return _result(problem, y, 0.0, 0.0, True, "Optimal", timer, standards_min)
    nearest = t.min(axis=1)
    if not np.all(np.isfinite(nearest)):
        i = int(demand[np.flatnonzero(~np.isfinite(nearest))[0]])
        msg = f"no allowed standby point can reach demand point `{problem.demand_ids[i]}`"
        raise InfeasibleError(msg)
    n_open = int(np.count_nonzero(one))
    if vehicles >= n_open:  # every allowed point gets a vehicle: nothing to choose
        y = one.copy()
        y = np.maximum(y, lower)
        _fill(y, upper, vehicles)
        r = float(t[:, one > 0].min(axis=1).max())
        return _result(problem, y, r, r, True, "Optimal", timer, standards_min)

    y_best = _greedy(t, lower, one, vehicles)
    hi_val = float(t[:, y_best > 0].min(axis=1).max())
    lo_val = float(nearest.max())
    values = np.unique(t[np.isfinite(t)])
    values = values[(values >= lo_val) & (values <= hi_val)]
    lo, hi = 0, values.size - 1  # values[hi] is achievable; all below values[lo] are not
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    proven = True
    while lo < hi:
        mid = (lo + hi) // 2
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            proven = False
            break
        found = _feasible(t <= values[mid], lower, one, vehicles, left)
        if found is None:
            proven = False
            break
        if isinstance(found, np.ndarray):
            y_best = found
            hi = mid
        else:
            lo = mid + 1
    r = float(t[:, y_best > 0].min(axis=1).max())
    y = y_best.copy()
    _fill(y, upper, vehicles)
    bound = float(values[lo])  # nothing below it is achievable (proven step by step)
    return _result(problem, y, r, bound, proven and math.isclose(r, bound),
                   "Optimal" if proven else "Time limit reached", timer, standards_min)


def _feasible(reach: np.ndarray, lower: np.ndarray, upper: np.ndarray, vehicles: int,
              time_limit: float | None) -> np.ndarray | bool | None:
    """A cover with at most `vehicles` vehicles, ``False`` if none exists, ``None`` if unknown."""
    if not reach.any(axis=1).all():
        return False
    a = sp.vstack([sp.csr_array(reach.astype(np.float64)),
                   sp.csr_array(np.ones((1, reach.shape[1])))], format="csc")
    n = reach.shape[0]
    try:
        res: HighsResult = solve(np.zeros(reach.shape[1]), a,
                                 np.concatenate([np.ones(n), [-np.inf]]),
                                 np.concatenate([np.full(n, np.inf), [vehicles]]),
                                 col_lower=lower, col_upper=upper,
                                 integrality=np.ones(reach.shape[1]), maximize=False,
                                 time_limit=time_limit, mip_rel_gap=None,
                                 what="p-center covering step")
    except InfeasibleError:
        return False
    except SolverError:
        if time_limit is None:
            raise
        return None
    return np.rint(res.x)


def _greedy(t: np.ndarray, lower: np.ndarray, upper: np.ndarray, vehicles: int) -> np.ndarray:
    """Farthest-first placement: an upper bound on the radius."""
    y = lower.copy()
    while y.sum() < vehicles:
        if y.sum() == 0:
            j = int(np.argmin(np.where(upper > 0, t.max(axis=0), np.inf)))
        else:
            worst = int(np.argmax(t[:, y > 0].min(axis=1)))
            j = int(np.argmin(np.where((upper > 0) & (y == 0), t[worst], np.inf)))
        y[j] = 1
    return y


def _fill(y: np.ndarray, upper: np.ndarray, vehicles: int) -> None:
    """Place spare vehicles at the first points with room (the radius cannot grow)."""
    for j in range(y.size):
        while y.sum() < vehicles and y[j] < upper[j]:
            y[j] += 1


def _result(problem: CoverageProblem, y: np.ndarray, r: float, bound: float, optimal: bool,
            status: str, timer: Timer, standards_min: Sequence[float]) -> CoverageResult:
    yi = np.rint(y).astype(np.int64)
    stats = response_stats(problem, yi, standards_min=standards_min)
    return CoverageResult(model="pcenter", status=status, optimal=optimal, objective=r,
                          bound=bound, gap=abs(r - bound), vehicles=yi,
                          candidate_ids=problem.candidate_ids, standard_min=None, stats=stats,
                          seconds=timer.seconds)
