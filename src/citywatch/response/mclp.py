"""MCLP: with P vehicles, reach the most demand within the response standard."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from citywatch.errors import InfeasibleError
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

if TYPE_CHECKING:
    from citywatch._highs import HighsResult

__all__ = ["local_search", "solve_mclp"]


def solve_mclp(problem: CoverageProblem, vehicles: int, *, standard_min: float = 8.0,
               time_limit: float | None = None, mip_rel_gap: float | None = None,
               standards_min: Sequence[float] = DEFAULT_STANDARDS_MIN) -> CoverageResult:
    r"""Maximal covering location (Church & ReVelle 1974).

    With :math:`N_i = \{j : t_{ij} \le S\}` the allowed candidates reaching demand point
    :math:`i` within the standard :math:`S`, weights :math:`w_i` and capacities
    :math:`c_j`:

    .. math::

        \max \sum_i w_i z_i \quad \text{s.t.} \quad
        z_i \le \sum_{j \in N_i} y_j, \quad \sum_j y_j = P, \quad
        y_j \in \{l_j, \dots, u_j\}, \quad 0 \le z_i \le 1,

    with :math:`l_j = 1` at required points, :math:`u_j = 0` at forbidden ones and
    :math:`u_j = c_j` elsewhere. :math:`z` may be continuous: for integral :math:`y`
    the optimum sets :math:`z_i = \min(1, \sum_{N_i} y_j) \in \{0, 1\}`. Points
    reached by exactly the same candidates are merged (weights summed) and points no
    candidate reaches dropped, which leaves the optimum unchanged.

    The LP relaxation is solved first, within `LP_FIRST_ITERATIONS` (+ per candidate)
    simplex iterations: integral, it is the answer; fractional or over budget, the
    MILP runs (HiGHS, presolve on) from the `local_search` incumbent.

    Parameters
    ----------
    problem
        The coverage problem.
    vehicles
        Number of vehicles :math:`P` to place (all of them are placed).
    standard_min
        Response standard :math:`S`, minutes.
    time_limit
        Seconds allowed; when it runs out the best placement is returned with
        ``optimal=False`` and its proven gap. Without it, anything short of a proof
        raises `SolverError`.
    mip_rel_gap
        Relative gap at which HiGHS may stop and call the answer optimal; default 0.
    standards_min
        Standards reported in the result's stats.

    Returns
    -------
    CoverageResult
        ``objective`` is the covered weight :math:`\sum_i w_i z_i`.

    Raises
    ------
    InfeasibleError
        If `vehicles` cannot be placed (fewer than the required points, more than the
        allowed capacity).
    """
    timer = Timer()
    s = check_standard(standard_min)
    check_vehicles(problem, vehicles)
    a, w, _ = unique_rows(problem.coverage_matrix(s), problem.weights)
    n_c, n_r = problem.n_candidates, a.shape[0]
    lower, upper = vehicle_bounds(problem, stack=True)
    # columns: y (n_c) then z (n_r); rows: z_i - sum_{N_i} y_j <= 0, then sum y = P
    cover = sp.hstack([-a.astype(np.float64), sp.eye_array(n_r, format="csr")])
    total = sp.hstack([sp.csr_array(np.ones((1, n_c))), sp.csr_array((1, n_r))])
    mat = sp.vstack([cover, total], format="csc")
    row_lower = np.concatenate([np.full(n_r, -np.inf), [vehicles]])
    row_upper = np.concatenate([np.zeros(n_r), [vehicles]])
    cost = np.concatenate([np.zeros(n_c), w])
    details: dict[str, float] = {"merged_demand_rows": float(n_r)}

    deadline = None if time_limit is None else timer.start + time_limit

    def start(lp: HighsResult | None) -> np.ndarray:
        y = local_search(a, w, lower, upper, vehicles, lp=None if lp is None else lp.x[:n_c],
                         deadline=deadline, details=details)
        details["heuristic_objective"] = float(w @ np.minimum(1.0, a @ y))
        return np.concatenate([y, np.minimum(1.0, a @ y)])

    res = solve(cost, mat, row_lower, row_upper,
                col_lower=np.concatenate([lower, np.zeros(n_r)]),
                col_upper=np.concatenate([upper, np.ones(n_r)]),
                integrality=np.concatenate([np.ones(n_c), np.zeros(n_r)]),
                maximize=True, mip_rel_gap=mip_rel_gap,
                time_limit=None if time_limit is None else max(time_limit - timer.seconds, 1e-3),
                lp_iteration_limit=LP_FIRST_ITERATIONS + n_c // LP_FIRST_POINTS_PER_ITERATION,
                what=f"MCLP ({problem.n_demand} demand points, {n_c} candidates, P={vehicles})",
                initial=start, details=details)
    y = res.x[:n_c]
    if abs(np.rint(y).sum() - vehicles) > 0.5:  # pragma: no cover - HiGHS guarantees it
        msg = "MCLP solution does not place every vehicle"
        raise InfeasibleError(msg)
    return package("mclp", problem, y, res, standard_min=s, seconds=timer.seconds,
                   standards_min=standards_min, details=details)


#: Simplex iterations the LP relaxation may take before it is abandoned for the MILP
#: (`citywatch.response._milp.solve`), plus one per `LP_FIRST_POINTS_PER_ITERATION`
#: candidate points: integral relaxations took 88 on the benchmark's uniform
#: 20,000 x 2,000 instance, fractional ones 700-2,700 on 2,000 x 300 and far more than
#: 5,000 on 20,000 x 2,000, where the relaxation alone then cost half the time limit
#: before the MILP solved it again (on 50,000 x 5,000, 3,000 iterations took 13 CPU s
#: and 11,000 took 121).
LP_FIRST_ITERATIONS = 1_000
LP_FIRST_POINTS_PER_ITERATION = 5

#: Most improving swaps `local_search` makes from each start.
MAX_SWAPS = 200

#: Work limit of the swaps from each start, in matrix entries visited (nonzeros of the
#: coverage matrix and entries of the candidate vector, counted as the search runs), so
#: the search scales with the instance and never depends on the machine's speed: about
#: 1-2 s of NumPy on a 50,000 x 5,000, P = 100 instance.
SWAP_WORK = 1_000_000_000


def _fill(a: sp.csc_array, w: np.ndarray, y: np.ndarray, upper: np.ndarray,
          vehicles: int) -> np.ndarray:
    """Add vehicles one at a time where they reach the most uncovered weight."""
    covered = (a @ y) > 0
    while y.sum() < vehicles:
        gain = a.T @ np.where(covered, 0.0, w)
        gain = np.where(y < upper, gain, -1.0)
        j = int(np.argmax(gain))
        y[j] += 1
        covered[a.indices[a.indptr[j]:a.indptr[j + 1]]] = True
    return y


def local_search(a: sp.csr_array, w: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 vehicles: int, *, lp: np.ndarray | None = None,
                 deadline: float | None = None,
                 clock: Callable[[], float] = time.perf_counter,
                 details: dict[str, float] | None = None) -> np.ndarray:
    r"""A good placement: greedy (and LP-rounded) starts, then best-improvement swaps.

    Starts are the greedy placement (required points, then the largest marginal gain)
    and, given the LP relaxation's vehicle values `lp`, its largest values rounded down
    then filled greedily. Each round tries every move of one vehicle from a point
    ``j`` to another ``k``: with ``n_i`` the vehicles reaching point ``i``, the move
    loses the weight only ``j`` reaches (``n_i = 1``) and gains the weight ``k`` reaches
    that is uncovered once ``j`` has gone,

    .. math::

        g_k^{(j)} = \sum_{i: n_i = 0} a_{ik} w_i + \sum_{i: n_i = 1,\, a_{ij} = 1} a_{ik} w_i,

    the gain of ``k`` now (one product with the whole matrix per round) plus a term over
    the few rows only ``j`` reaches. The best move is made while it gains (Teitz & Bart
    1968), at most `MAX_SWAPS` times and within `SWAP_WORK` matrix entries per start.

    `deadline` (a `clock` reading, default `time.perf_counter`) is a safety net: once
    it has passed, no more moves are tried and the best placement so far is returned;
    ``details["heuristic_stopped"]`` is then 1 (else 0). The result is always feasible:
    bounds kept, exactly `vehicles` placed.
    """
    notes: dict[str, float] = details if details is not None else {}
    notes["heuristic_stopped"] = 0.0
    notes["heuristic_swaps"] = 0.0
    a_rows = sp.csr_array(a, dtype=np.float64)
    a = sp.csc_array(a_rows)
    starts = [_fill(a, w, lower.copy(), upper, vehicles)]
    if lp is not None:
        y = np.maximum(lower, np.minimum(upper, np.floor(lp + 1e-9)))
        while y.sum() > vehicles:  # pragma: no cover - the LP places exactly P
            j = int(np.argmax(np.where(y > lower, y, -1)))
            y[j] -= 1
        starts.append(_fill(a, w, y, upper, vehicles))
    best_y, best = starts[0], -np.inf
    for y in starts:
        y, swaps, stopped = _swaps(a, a_rows, w, y, lower, upper, deadline, clock)
        notes["heuristic_swaps"] += swaps
        value = float(w @ np.minimum(1.0, a @ y))
        if value > best:
            best_y, best = y, value
        if stopped:
            notes["heuristic_stopped"] = 1.0
            break
    return best_y


def _swaps(a: sp.csc_array, a_rows: sp.csr_array, w: np.ndarray, y: np.ndarray,
           lower: np.ndarray, upper: np.ndarray, deadline: float | None,
           clock: Callable[[], float]) -> tuple[np.ndarray, int, bool]:
    """Best-improvement swaps from `y`: (placement, swaps made, stopped by the deadline)."""
    scale = max(float(w.sum()), 1.0)
    n_c = a.shape[1]
    row_size = np.diff(a_rows.indptr)
    work = 0
    for swaps in range(MAX_SWAPS):
        n = a @ y
        base = a.T @ np.where(n > 0, 0.0, w)
        full = y >= upper
        work += a.nnz
        best_gain, move = 1e-12 * scale, None
        for j in np.flatnonzero(y > lower):
            if deadline is not None and clock() >= deadline:
                return y, swaps, True
            rows = a.indices[a.indptr[j]:a.indptr[j + 1]]
            only = rows[n[rows] == 1]  # rows that lose their only vehicle
            gain = base.copy()
            if only.size:
                lo, size = a_rows.indptr[only], row_size[only]
                at = np.repeat(lo - np.cumsum(size) + size, size) + np.arange(size.sum())
                cols = a_rows.indices[at]
                gain += np.bincount(cols, weights=np.repeat(w[only], size), minlength=n_c)
                work += cols.size
            work += n_c + rows.size
            gain[full] = -np.inf
            gain[j] = -np.inf
            k = int(np.argmax(gain))
            loss = float(w[only].sum())
            if gain[k] - loss > best_gain:
                best_gain, move = gain[k] - loss, (int(j), k)
        if move is None:
            return y, swaps, False
        y[move[0]] -= 1
        y[move[1]] += 1
        if work >= SWAP_WORK:
            return y, swaps + 1, False
    return y, MAX_SWAPS, False
