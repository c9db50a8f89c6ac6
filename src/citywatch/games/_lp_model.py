"""HiGHS models in arrays for the Bayesian solvers: building rows, policy rows, solving."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._highs import build_highs, run_highs
from citywatch.errors import InfeasibleError, SolverError
from citywatch.games.policy import LinearConstraint, constraint_matrix
from citywatch.model.game import SecurityGame

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# The models are built on the normalised game (payoff spans 1), so these are relative.
_LP_FEAS_TOL = 1e-9
# HiGHS's integrality tolerance stays at its 1e-6 default: tightening it to 1e-9 made
# HiGHS 1.16 report a wrong "optimal" on a 3-target game (tests/games/test_bayesian.py,
# game 27). The profile LP re-solve removes the leakage that tolerance allows.
_MIP_GAP = 1e-8


@dataclass(frozen=True)
class _Model:
    """A HiGHS model in arrays: maximise ``cost @ x`` s.t. row and column bounds."""

    cost: FloatArray
    matrix: sp.csc_matrix
    row_lower: FloatArray
    row_upper: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    integer: BoolArray
    offset: float = 0.0


@dataclass(frozen=True)
class _Result:
    status: str
    x: FloatArray | None
    objective: float
    bound: float


class _Rows:
    """Accumulates sparse rows ``lower <= sum(val * x[col]) <= upper``."""

    def __init__(self) -> None:
        self.rows: list[IntArray] = []
        self.cols: list[IntArray] = []
        self.vals: list[FloatArray] = []
        self.lower: list[FloatArray] = []
        self.upper: list[FloatArray] = []
        self.n = 0

    def add(self, terms: list[tuple[npt.ArrayLike, npt.ArrayLike]], lower: npt.ArrayLike,
            upper: npt.ArrayLike) -> None:
        """Add ``m`` rows; each term is (columns, coefficients), arrays of length ``m``."""
        lo = np.atleast_1d(np.asarray(lower, dtype=np.float64))
        hi = np.atleast_1d(np.asarray(upper, dtype=np.float64))
        m = max(lo.size, hi.size, *(np.size(c) for c, _ in terms))
        r = np.arange(self.n, self.n + m)
        for col, val in terms:
            self.rows.append(r)
            self.cols.append(np.broadcast_to(np.asarray(col, dtype=np.int64), (m,)))
            self.vals.append(np.broadcast_to(np.asarray(val, dtype=np.float64), (m,)))
        self.lower.append(np.broadcast_to(lo, (m,)))
        self.upper.append(np.broadcast_to(hi, (m,)))
        self.n += m

    def matrix(self, n_cols: int) -> sp.csc_matrix:
        return sp.csc_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.n, n_cols))


def _budget_rows(game: SecurityGame, rows: _Rows, c_index: IntArray) -> None:
    """One row per budget group: the group's coverage is at most its teams."""
    n = game.n_targets
    rows.rows.append(rows.n + game.groups)
    rows.cols.append(c_index)
    rows.vals.append(np.ones(n))
    rows.lower.append(np.full(game.n_groups, -np.inf))
    rows.upper.append(game.resources.astype(np.float64))
    rows.n += game.n_groups


# --- policy constraints -----------------------------------------------------------------


@dataclass(frozen=True)
class _Extra:
    """Policy rows on the coverage columns: ``lower <= matrix @ c <= upper``."""

    matrix: sp.csc_array
    lower: FloatArray
    upper: FloatArray


def _constraint_rows(game: SecurityGame,
                     constraints: Sequence[LinearConstraint]) -> _Extra | None:
    if not constraints:
        return None
    return _Extra(*constraint_matrix(constraints, game.n_targets))


def _append_rows(model: _Model, extra: _Extra) -> _Model:
    """`model` with the policy rows added (coverage is always the first columns)."""
    n_cols = model.matrix.shape[1]
    block = sp.hstack([extra.matrix, sp.csc_matrix((extra.matrix.shape[0],
                                                    n_cols - extra.matrix.shape[1]))])
    return dataclasses.replace(
        model, matrix=sp.vstack([model.matrix, block]).tocsc(),
        row_lower=np.concatenate([model.row_lower, extra.lower]),
        row_upper=np.concatenate([model.row_upper, extra.upper]))


# --- HiGHS ------------------------------------------------------------------------------


def _solve_milp(m: _Model, *, time_limit: float | None, initial: FloatArray | None,
                lp: bool = False, node_limit: int | None = None) -> _Result:
    """Maximise a model with HiGHS; report status, solution (if any) and proven bound."""
    h = build_highs(m.cost, m.matrix, m.row_lower, m.row_upper, col_lower=m.col_lower,
                    col_upper=m.col_upper, integrality=None if lp else m.integer,
                    maximize=True, offset=m.offset, time_limit=time_limit,
                    node_limit=node_limit)
    h.setOptionValue("primal_feasibility_tolerance", _LP_FEAS_TOL)
    h.setOptionValue("dual_feasibility_tolerance", _LP_FEAS_TOL)
    if not lp:
        h.setOptionValue("mip_rel_gap", _MIP_GAP)
        h.setOptionValue("mip_abs_gap", _MIP_GAP)
    if initial is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(initial)
        sol.value_valid = True
        h.setSolution(sol)
    try:
        res = run_highs(h, what="Bayesian MILP")
    except InfeasibleError:
        return _Result(status="infeasible", x=None, objective=-np.inf, bound=-np.inf)
    except SolverError:
        # Nothing feasible in time (or a numerical failure): report what HiGHS proved.
        status = h.modelStatusToString(h.getModelStatus())
        bound = float(h.getInfo().mip_dual_bound) if not lp else np.inf
        if h.getModelStatus() in (highspy.HighsModelStatus.kTimeLimit,
                                  highspy.HighsModelStatus.kInterrupt):
            status = "time limit"
        return _Result(status=status, x=None, objective=-np.inf,
                       bound=bound if np.isfinite(bound) else np.inf)
    status = "optimal" if res.optimal else {"time": "time limit", "nodes": "node limit"}.get(
        res.limit or "", res.status)
    bound = res.bound if np.isfinite(res.bound) else np.inf
    return _Result(status=status, x=res.x, objective=res.objective, bound=bound)
