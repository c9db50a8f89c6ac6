"""Shared plumbing of the location MILPs: vehicle columns, solving, checking, packaging."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._highs import HighsResult, build_highs, run_highs
from citywatch.errors import InfeasibleError, ScenarioError, SolverError
from citywatch.response._problem import CoverageProblem
from citywatch.response.results import DEFAULT_STANDARDS_MIN, CoverageResult, response_stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: HiGHS's default relative MIP gap (1e-4) would let it call a 0.01%-worse answer
#: "optimal"; location answers are compared exactly, so prove them exactly.
MIP_REL_GAP = 0.0


def vehicle_bounds(problem: CoverageProblem, *, stack: bool) -> tuple[FloatArray, FloatArray]:
    """Bounds of the vehicle columns ``y_j``: required points >= 1, forbidden = 0, at most
    the capacity (or 1 when a second vehicle at a point adds nothing, ``stack=False``)."""
    upper = problem.capacity.astype(np.float64)
    if not stack:
        upper = np.minimum(upper, 1.0)
    upper[list(problem.forbidden)] = 0.0
    lower = np.zeros(problem.n_candidates)
    lower[list(problem.required)] = 1.0
    return lower, upper


def check_vehicles(problem: CoverageProblem, vehicles: int, *, stack: bool = True) -> None:
    """Raise unless `vehicles` fits the required and allowed points."""
    if isinstance(vehicles, bool) or not isinstance(vehicles, int | np.integer) or vehicles < 1:
        msg = f"`vehicles` must be an integer >= 1, got {vehicles!r}"
        raise ScenarioError(msg)
    lower, upper = vehicle_bounds(problem, stack=stack)
    if vehicles < lower.sum():
        msg = f"`vehicles` ({vehicles}) is fewer than the {int(lower.sum())} required points"
        raise InfeasibleError(msg)
    if vehicles > upper.sum():
        msg = (f"`vehicles` ({vehicles}) exceeds the allowed standby points' total capacity "
               f"({int(upper.sum())})")
        raise InfeasibleError(msg)


def check_standard(standard_min: float) -> float:
    """The standard as a positive float."""
    s = float(standard_min)
    if not (math.isfinite(s) and s > 0):
        msg = f"`standard_min` must be a positive number of minutes, got {standard_min!r}"
        raise ScenarioError(msg)
    return s


def unique_rows(a: sp.csr_array, weights: FloatArray) -> tuple[sp.csr_array, FloatArray,
                                                                 IntArray]:
    """Merge demand points reached by exactly the same candidates (their weights add up).

    Returns the distinct non-empty rows, their summed weights and, for each kept row, one
    original index. Points no candidate reaches are dropped.
    """
    a = sp.csr_array(a)
    a.sort_indices()
    nnz = np.diff(a.indptr)
    keys: dict[bytes, int] = {}
    rows: list[int] = []
    merged: list[float] = []
    idx = a.indices
    for i in np.flatnonzero(nnz > 0):
        key = idx[a.indptr[i]:a.indptr[i + 1]].tobytes()
        k = keys.get(key)
        if k is None:
            keys[key] = len(rows)
            rows.append(int(i))
            merged.append(float(weights[i]))
        else:
            merged[k] += float(weights[i])
    kept = np.asarray(rows, dtype=np.int64)
    return sp.csr_array(a[kept]), np.asarray(merged, dtype=np.float64), kept


#: Above this many nonzeros the LP relaxation is solved without HiGHS's presolve, which
#: on covering matrices costs more than it removes; the MILP always keeps presolve
#: (without it, branching on a fractional covering LP was 2-4x slower than HiGHS's
#: defaults on clustered demand).
PRESOLVE_MAX_NNZ = 200_000
_ITERATION_LIMIT = highspy.HighsModelStatus.kIterationLimit


def solve(cost: npt.ArrayLike, matrix: sp.sparray, row_lower: npt.ArrayLike,
          row_upper: npt.ArrayLike, *, col_lower: npt.ArrayLike, col_upper: npt.ArrayLike,
          integrality: npt.ArrayLike, maximize: bool, time_limit: float | None,
          mip_rel_gap: float | None, what: str, offset: float = 0.0,
          lp_first: bool = True, lp_iteration_limit: int | None = None,
          initial: npt.ArrayLike | Callable[[HighsResult | None], npt.ArrayLike] | None = None,
          details: dict[str, float] | None = None) -> HighsResult:
    """Solve with HiGHS and enforce the house rule: optimal, or a proven gap under a time limit.

    With `lp_first` the LP relaxation is solved first: when its optimum is integral in
    every integer column it is optimal for the MILP too (the relaxation's value bounds
    the MILP's and is attained), and the branch and bound is skipped. Covering models
    often have integral relaxations. When it is fractional, the MILP is solved as HiGHS
    would solve it on its own (presolve on), so the relaxation costs at most one LP
    solve more than the plain MILP. `initial`, a feasible solution (every column), is
    handed to the MIP as its first incumbent, so a time limit always has an answer; it
    may be a function of the relaxation's result (None if there was none), called only
    when the MIP is needed, so a costly heuristic is never run on an easy instance.
    When a time limit stops the MIP, its bound is the tighter of HiGHS's and the solved
    relaxation's, so the reported gap is finite whenever the relaxation finished.

    `lp_iteration_limit` bounds the relaxation's simplex iterations (a work limit, so
    the choice is the same on every machine): integral covering relaxations take few
    pivots, and a relaxation that needs more is abandoned for the MILP rather than
    solved twice (once alone, once at the MIP's root).

    `details`, if given, receives ``lp_integral`` (1 when the relaxation settled it,
    else 0), ``lp_abandoned`` (1 when it hit `lp_iteration_limit`) and ``lp_seconds``
    (time spent on the relaxation).
    """
    start = time.perf_counter()
    deadline = math.inf if time_limit is None else start + time_limit
    kinds = np.asarray(integrality).reshape(-1) != 0
    big = matrix.nnz > PRESOLVE_MAX_NNZ
    notes: dict[str, float] = details if details is not None else {}
    notes["lp_integral"] = 0.0
    notes["lp_abandoned"] = 0.0
    notes["lp_seconds"] = 0.0
    lp: HighsResult | None = None
    if lp_first:
        h = build_highs(cost, matrix, row_lower, row_upper, col_lower=col_lower,
                        col_upper=col_upper, maximize=maximize, offset=offset,
                        time_limit=None if time_limit is None else time_limit / 2,
                        iteration_limit=lp_iteration_limit)
        if big:
            h.setOptionValue("presolve", "off")
        if lp_iteration_limit is not None:
            h.setOptionValue("solver", "simplex")  # the limit counts simplex iterations
        try:
            lp = run_highs(h, what=f"{what} (LP relaxation)")
        except InfeasibleError:
            msg = f"{what} is infeasible"
            raise InfeasibleError(msg) from None
        except SolverError:
            if time_limit is None and h.getModelStatus() != _ITERATION_LIMIT:
                raise
            lp = None  # out of time or work: leave the rest to the MIP and its heuristics
        if lp is not None and lp.limit == "iterations":
            lp = None
        if lp is None and h.getModelStatus() == _ITERATION_LIMIT:
            notes["lp_abandoned"] = 1.0
        notes["lp_seconds"] = time.perf_counter() - start
        if lp is not None and lp.optimal and np.all(
                np.abs(lp.x[kinds] - np.rint(lp.x[kinds])) <= 1e-9):
            x = lp.x.copy()
            x[kinds] = np.rint(x[kinds])
            notes["lp_integral"] = 1.0
            return replace(lp, x=x, status="Optimal", mip_gap=0.0, gap=0.0,
                           bound=lp.objective, seconds=time.perf_counter() - start)
        if time_limit is not None:
            time_limit = max(deadline - time.perf_counter(), 1e-3)
    h = build_highs(cost, matrix, row_lower, row_upper, col_lower=col_lower,
                    col_upper=col_upper, integrality=integrality, maximize=maximize,
                    offset=offset, time_limit=time_limit,
                    mip_rel_gap=MIP_REL_GAP if mip_rel_gap is None else mip_rel_gap)
    if callable(initial):
        initial = initial(lp if lp_first else None)
        if time_limit is not None:
            time_limit = max(deadline - time.perf_counter(), 1e-3)
            h.setOptionValue("time_limit", float(time_limit))
    if initial is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(initial, dtype=np.float64).tolist()
        h.setSolution(sol)
    res = run_highs(h, what=what)
    if not res.optimal and time_limit is None:
        msg = f"HiGHS stopped on the {what} without proving optimality: {res.status}"
        raise SolverError(msg)
    if not res.optimal and lp is not None and lp.optimal:
        # the solved relaxation bounds the MILP too; keep whichever bound is tighter
        tighter = min if maximize else max
        bound = tighter(res.bound, lp.objective) if math.isfinite(res.bound) else lp.objective
        gap = abs(res.objective - bound)
        res = replace(res, bound=bound, gap=gap, mip_gap=gap / max(abs(res.objective), 1.0))
    return replace(res, seconds=time.perf_counter() - start)


def package(model: str, problem: CoverageProblem, vehicles: FloatArray, res: HighsResult, *,
            standard_min: float | None, objective: float | None = None,
            seconds: float, standards_min: Sequence[float] = DEFAULT_STANDARDS_MIN,
            details: dict[str, float] | None = None) -> CoverageResult:
    """A `CoverageResult` with stats measured from the matrix."""
    y = np.rint(vehicles).astype(np.int64)
    obj = res.objective if objective is None else objective
    stats = response_stats(problem, y, standard_min=standard_min, standards_min=standards_min)
    return CoverageResult(model=model, status=res.status, optimal=res.optimal, objective=obj,
                          bound=res.bound, gap=res.gap, vehicles=y,
                          candidate_ids=problem.candidate_ids, standard_min=standard_min,
                          stats=stats, seconds=seconds, details=dict(details or {}))


class Timer:
    """Wall-clock seconds since construction."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Seconds elapsed."""
        return time.perf_counter() - self.start
