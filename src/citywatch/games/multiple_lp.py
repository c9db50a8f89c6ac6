"""Multiple LPs (Conitzer & Sandholm 2006): one LP per candidate attacked target."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._highs import HighsResult, build_highs, run_highs, set_limits
from citywatch.errors import GameError, InfeasibleError, SolverError
from citywatch.games.equilibrium import Equilibrium
from citywatch.model.game import SecurityGame

__all__ = ["Candidate", "aim_at", "attack_lp", "best_candidate", "solve_multiple_lps"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
# Relative to the defender's payoff range: a candidate must beat the best by this much.
_SEARCH_TOL = 1e-12


def solve_multiple_lps(game: SecurityGame, *, time_limit: float | None = None) -> Equilibrium:
    r"""Strong Stackelberg Equilibrium of a one-type game by one LP per attacked target.

    For each candidate :math:`t^*` solve

    .. math::

        \max_{c, u}\ & U^d(t^*, c_{t^*}) \\
        \text{s.t.}\ & U^a(t, c_t) \le u \quad \forall t, \qquad
                       U^a(t^*, c_{t^*}) = u, \\
                     & \textstyle\sum_{t \in g} c_t \le B_g \quad \forall g, \qquad
                       0 \le c \le 1,

    which is Conitzer & Sandholm's LP with the attacker's level :math:`u` as a free
    variable; :math:`U^a(t, c_t) = U^a_{u,t} - \Delta^a_t c_t`, so the constraint
    matrix does not depend on :math:`t^*`. It is built once; each candidate changes
    one cost and one row's bounds and re-solves warm from the previous basis.
    Infeasible LPs (:math:`t^*` cannot be made a best response) are skipped and the
    best feasible one wins. Candidates are visited by decreasing
    :math:`U^d_{c,t}`, an upper bound on their LP, and the search stops when no
    remaining candidate can beat the best found — an exact pruning.

    Parameters
    ----------
    game
        A game with exactly one attacker type.
    time_limit
        Wall-clock limit in seconds. If it runs out, the best strategy found so far is
        returned with ``optimal=False`` and the proven gap (the largest
        :math:`U^d_{c,t}` among unexamined candidates minus the value found).

    Returns
    -------
    Equilibrium
        ``method="multiple-lps"``.

    Raises
    ------
    GameError
        If the game has more than one attacker type, or `time_limit` is not positive.
    SolverError
        If an LP ends with a status other than optimal or infeasible, or the time limit
        runs out before any candidate is solved.
    """
    start = time.perf_counter()
    if game.n_types != 1:
        msg = (f"multiple LPs solve games with one attacker type, got `game.n_types` = "
               f"{game.n_types}; use solve_sse(game, method='bayesian')")
        raise GameError(msg)
    if time_limit is not None and not time_limit > 0:
        msg = f"`time_limit` must be > 0 seconds, got {time_limit}"
        raise GameError(msg)
    dc = game.defender_covered[0]
    n = game.n_targets
    h = attack_lp(game)
    deadline = None if time_limit is None else start + time_limit
    # U^d_c bounds every candidate's LP: covering the attacked target fully is the best case.
    found = best_candidate(game, h, np.arange(n), dc, deadline=deadline)
    if found.result is None:
        msg = (f"multiple LPs found no feasible candidate within `time_limit` = {time_limit} s"
               if found.bound > -math.inf else "multiple LPs found no feasible candidate target")
        raise SolverError(msg)
    best_target = found.target
    best_coverage = np.clip(found.result.x[:n], 0.0, 1.0)
    ua = game.attacker_payoffs(best_coverage)[0]
    ud = game.defender_payoffs(best_coverage)[0]
    gap = max(0.0, found.bound - float(ud[best_target]))
    return Equilibrium(
        coverage=best_coverage,
        defender_utility=float(ud[best_target]),
        attacked=np.array([best_target], dtype=np.int64),
        attacker_utility=np.array([ua[best_target]]),
        method="multiple-lps",
        optimal=gap == 0.0,
        gap=gap,
        seconds=time.perf_counter() - start,
    )


@dataclass(frozen=True, eq=False)
class Candidate:
    """The best candidate LP found by `best_candidate`.

    ``result`` is ``None`` when no candidate was feasible (or none was solved in time);
    ``bound`` is the largest upper bound among candidates not examined (``-inf`` when
    the search finished, so the result is proven optimal).
    """

    target: int
    value: float
    result: HighsResult | None
    bound: float


def best_candidate(game: SecurityGame, h: highspy.Highs, candidates: IntArray,
                   bound: FloatArray, *, deadline: float | None = None) -> Candidate:
    r"""Solve `attack_lp`'s model `h` for each candidate target; keep the best.

    This is the multiple-LPs search shared by :func:`solve_multiple_lps` and the policy
    solver. Candidates are visited by decreasing ``bound[t]`` (an upper bound on the
    defender's value when :math:`t` is attacked); the search stops, exactly, when no
    remaining candidate can beat the best found by more than a relative
    :math:`10^{-12}` of the payoff range. Infeasible LPs (:math:`t` cannot be a best
    response) are skipped. Past `deadline` (``time.perf_counter()`` seconds) the search
    stops and reports the unexamined candidates' largest bound.
    """
    du = game.defender_uncovered[0]
    scale = max(float(np.ptp(game.defender_covered[0])), float(np.ptp(du)),
                float(np.max(game.defender_covered[0] - du)), np.finfo(float).tiny)
    tol = _SEARCH_TOL * scale
    best = Candidate(target=-1, value=-math.inf, result=None, bound=-math.inf)
    previous = -1
    for t in candidates[np.argsort(-bound[candidates], kind="stable")].tolist():
        if bound[t] <= best.value + tol:
            break  # no LP for a later target can beat the best
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                return dataclasses.replace(best, bound=float(bound[t]))
            set_limits(h, time_limit=left)
        aim_at(h, game, t, previous)
        previous = t
        try:
            result = run_highs(h, what=f"multiple-LPs LP for target {t}")
        except InfeasibleError:
            continue
        if not result.optimal:  # ran out of time inside this LP
            return dataclasses.replace(best, bound=float(bound[t]))
        value = float(du[t] + result.objective)
        if value > best.value + tol:
            best = Candidate(target=t, value=value, result=result, bound=-math.inf)
    return best


def attack_lp(game: SecurityGame, *, extra: sp.csc_array | None = None,
              extra_lower: npt.ArrayLike = (), extra_upper: npt.ArrayLike = ()
              ) -> highspy.Highs:
    r"""The LP behind multiple LPs, built once for every candidate target (one type).

    Columns :math:`c_0 \dots c_{n-1}` and the attacker level :math:`u`; rows
    :math:`-\Delta^a_t c_t - u \le -U^a_{u,t}` (no target beats the level), the group
    budgets, then any `extra` rows on the coverage (``extra_lower <= extra @ c <=
    extra_upper``, e.g. policy constraints). The objective is zero until `aim_at`
    points it at a candidate.
    """
    au, ac = game.attacker_uncovered[0], game.attacker_covered[0]
    n, n_groups = game.n_targets, game.n_groups
    targets = np.arange(n)
    rows = np.concatenate((targets, targets, n + game.groups))
    cols = np.concatenate((targets, np.full(n, n), targets))
    vals = np.concatenate((-(au - ac), -np.ones(n), np.ones(n)))
    matrix = sp.csc_array((vals, (rows, cols)), shape=(n + n_groups, n + 1))
    row_lower = np.full(n + n_groups, -math.inf)
    row_upper = np.concatenate((-au, game.resources.astype(np.float64)))
    if extra is not None and extra.shape[0]:
        pad = sp.csc_array((extra.shape[0], 1))
        matrix = sp.vstack([matrix, sp.hstack([extra, pad])]).tocsc()
        row_lower = np.concatenate((row_lower, np.asarray(extra_lower, dtype=np.float64)))
        row_upper = np.concatenate((row_upper, np.asarray(extra_upper, dtype=np.float64)))
    return build_highs(np.zeros(n + 1), matrix, row_lower, row_upper,
                       col_lower=np.concatenate((np.zeros(n), [-math.inf])),
                       col_upper=np.concatenate((np.ones(n), [math.inf])), maximize=True)


def aim_at(h: highspy.Highs, game: SecurityGame, target: int, previous: int) -> None:
    """Point `attack_lp`'s model at candidate `target` (undoing `previous`, if >= 0).

    The objective becomes the defender's gain from covering `target`, and its attacker
    row an equality: `target` is attacked at exactly the level ``u``.
    """
    au = game.attacker_uncovered[0]
    if previous >= 0:
        h.changeColCost(previous, 0.0)
        h.changeRowBounds(previous, -math.inf, float(-au[previous]))
    h.changeColCost(target, float(game.defender_covered[0, target]
                                  - game.defender_uncovered[0, target]))
    h.changeRowBounds(target, float(-au[target]), float(-au[target]))
