"""Small HiGHS helpers shared by every LP and MILP solver (games/, response/): build, run
with honoured limits, check, extract.

Limits come in two kinds. Work limits (`node_limit`: branch-and-bound nodes;
`iteration_limit`: simplex iterations of an LP) stop HiGHS at the same point on every
machine and under any load, so a result that hits one is still deterministic (HiGHS's
root node of a MIP is not bounded by either; solvers that need a deterministic bound on
all their work count their own, like the Bayesian branch and bound). `time_limit` is a wall-clock safety net, and it is
honoured: HiGHS's own ``time_limit`` option is set, presolve probing (which checks the
clock too rarely: a 20 s limit once ran 84 s inside it on a loaded machine) is switched
off for MIPs, and a callback on HiGHS's simplex, IPM and MIP interrupt hooks stops the run
as soon as the deadline passes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch.errors import GameError, InfeasibleError, SolverError

__all__ = ["HighsResult", "build_highs", "run_highs", "set_limits", "solve_highs"]

FloatArray = npt.NDArray[np.float64]

_STATUS = highspy.HighsModelStatus
_FEASIBLE = highspy.SolutionStatus.kSolutionStatusFeasible
# HiGHS presolve rule bit of probing, which checks the clock too rarely to honour limits.
_PROBING_OFF = 1 << 15
_NO_LIMIT = 2147483647
# Which limit a stopped run hit, by HiGHS model status.
_LIMIT_OF = {_STATUS.kTimeLimit: "time", _STATUS.kInterrupt: "time",
             _STATUS.kIterationLimit: "iterations", _STATUS.kSolutionLimit: "nodes"}


@dataclass(frozen=True, eq=False)
class HighsResult:
    """What one HiGHS run proved.

    Attributes
    ----------
    x
        Column (variable) values.
    row_values
        Row activities ``A @ x``.
    row_duals, col_duals
        Dual values and reduced costs (meaningful for LPs; zeros for MILPs).
    objective
        Objective value of `x`, offset included, in the model's own sense.
    bound
        Best proven bound on the objective (the dual bound of a MILP; `objective`
        for a solved LP; ``±inf`` when nothing is proven).
    gap
        Proven absolute gap ``|objective - bound|`` (0 when optimal).
    mip_gap
        HiGHS's relative MIP gap (0 for LPs solved to optimality).
    optimal
        Whether HiGHS reported an optimal status.
    status
        HiGHS's model status, as text.
    seconds
        Wall-clock time of the run.
    limit
        The limit that stopped the run: ``"time"``, ``"nodes"``, ``"iterations"``, or
        ``None`` if none did.
    nodes
        Branch-and-bound nodes explored (0 for an LP).
    iterations
        Simplex iterations of an LP (0 for a MIP).
    """

    x: FloatArray
    row_values: FloatArray
    row_duals: FloatArray
    col_duals: FloatArray
    objective: float
    bound: float
    gap: float
    mip_gap: float
    optimal: bool
    status: str
    seconds: float
    limit: str | None = None
    nodes: int = 0
    iterations: int = 0


def build_highs(
    cost: npt.ArrayLike,
    matrix: sp.sparray | sp.spmatrix | npt.ArrayLike,
    row_lower: npt.ArrayLike,
    row_upper: npt.ArrayLike,
    *,
    col_lower: npt.ArrayLike = 0.0,
    col_upper: npt.ArrayLike = math.inf,
    integrality: npt.ArrayLike | None = None,
    maximize: bool = False,
    offset: float = 0.0,
    time_limit: float | None = None,
    node_limit: int | None = None,
    iteration_limit: int | None = None,
    mip_rel_gap: float | None = None,
    threads: int | None = None,
) -> highspy.Highs:
    """Build a silent HiGHS model: optimise ``cost @ x + offset`` subject to
    ``row_lower <= matrix @ x <= row_upper`` and ``col_lower <= x <= col_upper``.

    Bounds take ``±inf`` (``math.inf``) for "none"; scalars broadcast. `integrality`
    marks integer columns (nonzero = integer), which makes the model a MILP. The limits
    are those of :func:`set_limits`. Returns the :class:`highspy.Highs` object so callers
    can change costs, bounds or limits and re-run it warm (see :func:`run_highs`).
    """
    a = sp.csc_array(matrix, dtype=np.float64)
    n_rows, n_cols = a.shape
    c = _vector("cost", cost, n_cols)
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = c
    lp.col_lower_ = _vector("col_lower", col_lower, n_cols)
    lp.col_upper_ = _vector("col_upper", col_upper, n_cols)
    lp.row_lower_ = _vector("row_lower", row_lower, n_rows)
    lp.row_upper_ = _vector("row_upper", row_upper, n_rows)
    lp.offset_ = float(offset)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    a.sort_indices()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = n_rows
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    if integrality is not None:
        kinds = np.asarray(integrality).reshape(-1)
        if kinds.shape != (n_cols,):
            msg = f"`integrality` must have one entry per column ({n_cols}), got {kinds.size}"
            raise GameError(msg)
        lp.integrality_ = [highspy.HighsVarType.kInteger if k else highspy.HighsVarType.kContinuous
                           for k in kinds]
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.silent()
    if integrality is not None and np.any(kinds):
        h.setOptionValue("presolve_rule_off", _PROBING_OFF)
    set_limits(h, time_limit=time_limit, node_limit=node_limit,
               iteration_limit=iteration_limit)
    if mip_rel_gap is not None:
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:
        msg = f"HiGHS rejected the model ({n_rows} rows, {n_cols} columns)"
        raise SolverError(msg)
    return h


def set_limits(h: highspy.Highs, *, time_limit: float | None = None,
               node_limit: int | None = None, iteration_limit: int | None = None) -> None:
    """Set (or, with ``None``, clear) the limits of the next :func:`run_highs` of `h`.

    Parameters
    ----------
    time_limit
        Wall-clock seconds for each run, a safety net honoured to within HiGHS's polling
        interval (also for warm re-runs of the same model).
    node_limit
        Branch-and-bound nodes (HiGHS ``mip_max_nodes``): a deterministic work limit.
    iteration_limit
        Simplex iterations of an LP (HiGHS ``simplex_iteration_limit``; HiGHS applies it
        to LPs, not to the LPs inside a MIP solve): a deterministic work limit.

    Raises
    ------
    GameError
        If a limit is not positive.
    """
    if time_limit is not None and not time_limit > 0:
        msg = f"`time_limit` must be > 0 seconds, got {time_limit}"
        raise GameError(msg)
    for name, value in (("node_limit", node_limit), ("iteration_limit", iteration_limit)):
        if value is not None and (int(value) != value or value < 0):
            msg = f"`{name}` must be a whole number >= 0, got {value}"
            raise GameError(msg)
    h.setOptionValue("time_limit", math.inf if time_limit is None else float(time_limit))
    h.setOptionValue("mip_max_nodes", _NO_LIMIT if node_limit is None else int(node_limit))
    h.setOptionValue("simplex_iteration_limit",
                     _NO_LIMIT if iteration_limit is None else int(iteration_limit))


class _Watch:
    """HiGHS interrupt callback: stop the run once the deadline has passed."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False

    def __call__(self, event: highspy.cb.HighsCallbackEvent) -> None:
        if time.perf_counter() >= self.deadline:
            self.fired = True
            event.interrupt()


def run_highs(h: highspy.Highs, *, what: str = "model") -> HighsResult:
    """Run `h` within its limits (:func:`set_limits`) and check its status.

    Optimal gives ``optimal=True``. A limit with a primal-feasible solution gives
    ``optimal=False``, the limit in ``limit`` and the proven gap (``inf`` for an LP,
    which proves no bound until it finishes). Infeasible raises
    :class:`InfeasibleError`; anything else, or a limit with nothing feasible, raises
    :class:`SolverError`. `what` names the model in messages.
    """
    start = time.perf_counter()
    time_limit = float(h.getOptionValue("time_limit")[1])
    watch = None
    if math.isfinite(time_limit):
        # HiGHS compares its option with the object's run time summed over every run, so
        # a warm re-run of a model would start out of time: shift it by the time spent.
        h.setOptionValue("time_limit", float(h.getRunTime()) + time_limit)
        watch = _Watch(start + time_limit)
        for hook in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
            hook.subscribe(watch)
    try:
        h.run()
    finally:
        if watch is not None:
            h.setOptionValue("time_limit", time_limit)
            for hook in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
                hook.unsubscribe(watch)
    seconds = time.perf_counter() - start
    status = h.getModelStatus()
    if status == _STATUS.kInfeasible:
        msg = f"{what} is infeasible (HiGHS status {h.modelStatusToString(status)!r})"
        raise InfeasibleError(msg)
    info = h.getInfo()
    is_mip = info.mip_node_count >= 0  # -1 after an LP solve
    optimal = status == _STATUS.kOptimal
    if not optimal and not (status in (_STATUS.kTimeLimit, _STATUS.kInterrupt,
                                        _STATUS.kIterationLimit, _STATUS.kSolutionLimit)
                            and info.primal_solution_status == _FEASIBLE):
        msg = (f"HiGHS did not solve the {what}: status {h.modelStatusToString(status)!r}, "
               f"primal solution status {info.primal_solution_status}")
        raise SolverError(msg)
    limit = None if optimal else _LIMIT_OF.get(status)
    sol = h.getSolution()
    objective = float(info.objective_function_value)
    maximize = h.getObjectiveSense()[1] == highspy.ObjSense.kMaximize
    if is_mip:
        bound = float(info.mip_dual_bound)
        mip_gap = float(info.mip_gap) if optimal or math.isfinite(bound) else math.inf
    elif optimal:
        bound, mip_gap = objective, 0.0
    else:
        bound, mip_gap = (math.inf if maximize else -math.inf), math.inf
    gap = abs(objective - bound) if math.isfinite(bound) else math.inf
    if optimal and not is_mip:
        gap = 0.0
    return HighsResult(
        x=np.asarray(sol.col_value, dtype=np.float64),
        row_values=np.asarray(sol.row_value, dtype=np.float64),
        row_duals=np.asarray(sol.row_dual, dtype=np.float64),
        col_duals=np.asarray(sol.col_dual, dtype=np.float64),
        objective=objective,
        bound=bound,
        gap=gap,
        mip_gap=mip_gap,
        optimal=optimal,
        status=h.modelStatusToString(status),
        seconds=seconds,
        limit=limit,
        nodes=max(0, int(info.mip_node_count)),
        iterations=0 if is_mip else int(info.simplex_iteration_count),
    )


def solve_highs(
    cost: npt.ArrayLike,
    matrix: sp.sparray | sp.spmatrix | npt.ArrayLike,
    row_lower: npt.ArrayLike,
    row_upper: npt.ArrayLike,
    *,
    col_lower: npt.ArrayLike = 0.0,
    col_upper: npt.ArrayLike = math.inf,
    integrality: npt.ArrayLike | None = None,
    maximize: bool = False,
    offset: float = 0.0,
    time_limit: float | None = None,
    node_limit: int | None = None,
    iteration_limit: int | None = None,
    mip_rel_gap: float | None = None,
    threads: int | None = None,
    what: str = "model",
) -> HighsResult:
    """Build and run a model in one call; see :func:`build_highs` and :func:`run_highs`."""
    h = build_highs(cost, matrix, row_lower, row_upper, col_lower=col_lower,
                    col_upper=col_upper, integrality=integrality, maximize=maximize,
                    offset=offset, time_limit=time_limit, node_limit=node_limit,
                    iteration_limit=iteration_limit, mip_rel_gap=mip_rel_gap,
                    threads=threads)
    return run_highs(h, what=what)


def _vector(name: str, values: npt.ArrayLike, size: int) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(size, float(arr))
    arr = arr.reshape(-1)
    if arr.shape != (size,):
        msg = f"`{name}` must be a scalar or have {size} entries, got {arr.size}"
        raise GameError(msg)
    return np.ascontiguousarray(arr)


def _swallow_banner() -> None:
    """Construct one Highs object with stdout muted, at import.

    HiGHS prints its copyright banner to the process's stdout (from C++, so
    ``h.silent()`` cannot stop it) the first time a ``Highs`` object is made; that
    would corrupt JSON that the CLI prints. It prints only once per process.
    """
    import os
    import sys

    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (embedded interpreters)
        highspy.Highs()  # type: ignore[no-untyped-call]
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_swallow_banner()
