"""Exact Bayesian Strong Stackelberg equilibria of security games: the level branch and
bound (default) or a MILP on HiGHS."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from citywatch.errors import GameError, InfeasibleError, SolverError
from citywatch.games._lp_model import _constraint_rows, _Extra
from citywatch.games.bayesian_levels import level_search
from citywatch.games.bayesian_milp import FORMULATIONS, _solve_formulation
from citywatch.games.bayesian_profiles import (
    _TIE_TOL,
    _attack_bounds,
    _Bounds,
    _Candidate,
    _evaluate,
    _heuristic,
    _minimax_coverage,
    _profile_candidate,
)
from citywatch.games.equilibrium import Equilibrium, Normalised, best_responses, normalise
from citywatch.games.policy import LinearConstraint
from citywatch.model.game import SecurityGame

__all__ = ["FORMULATIONS", "METHODS", "solve_bayesian"]

FloatArray = npt.NDArray[np.float64]


def solve_bayesian(
    game: SecurityGame,
    *,
    method: str = "levels",
    formulation: str = "tight",
    time_limit: float | None = None,
    node_limit: int | None = None,
    warm_start: bool = True,
    constraints: Sequence[LinearConstraint] = (),
) -> Equilibrium:
    r"""Bayesian Strong Stackelberg equilibrium on the coverage representation.

    Attacker type :math:`k` (prior :math:`p_k`) attacks one target :math:`t` and gets
    :math:`U^a_k(t, c) = A^u_{kt} - \Delta^a_{kt} c_t`; the defender gets
    :math:`U^d_k(t, c) = D^u_{kt} + \Delta^d_{kt} c_t`, where
    :math:`\Delta^a = A^u - A^c \ge 0` and :math:`\Delta^d = D^c - D^u \ge 0`. The
    defender solves

    .. math::

        \max_{c, a} \sum_k p_k \sum_t a_{kt} U^d_k(t, c) \quad\text{s.t.}\quad
        \sum_{t \in g} c_t \le B_g,\; c \in [0, 1]^T,\; a_{kt} \in \{0, 1\},\;
        \sum_t a_{kt} = 1,\; a_{kt} = 1 \Rightarrow U^a_k(t, c) = \max_{t'} U^a_k(t', c),

    with ties among best responses broken in the defender's favour (strong Stackelberg).

    Two methods. ``method="levels"`` (default) is the branch and bound over the
    attackers' levels of :mod:`citywatch.games.bayesian_levels`: its bound couples the
    types through the budgets, which closes games with a few types and thousands of
    targets (London's) that the MILP cannot. ``method="milp"`` hands one of three MILP
    formulations of the implication to HiGHS:

    ``"bigm"``
        The textbook DOBSS/ERASER compact model with one big constant :math:`M`
        (ten times the span of all payoffs): attacker value :math:`v_k`, defender value
        :math:`d_k`, :math:`0 \le v_k - U^a_k(t, c) \le M(1 - a_{kt})` and
        :math:`d_k \le U^d_k(t, c) + M(1 - a_{kt})`. Its LP relaxation is weak.
    ``"tight"``
        Bounds first. :math:`L_k`, the least attacker value any coverage can force
        (type :math:`k`'s minimax level, computed exactly per budget group by water
        filling), bounds :math:`v_k` from below, and :math:`v_k \le U_k = \max_t A^u_{kt}`.
        A target with :math:`A^u_{kt} < L_k` can never be a best response, so its
        :math:`a_{kt}` is not created. Attacking :math:`t` forces
        :math:`c_t \le h_{kt} = (A^u_{kt} - L_k) / \Delta^a_{kt}`. The defender's value
        is written exactly with :math:`z_{kt} = c_t a_{kt}` (McCormick, with
        :math:`z_{kt} \le h_{kt} a_{kt}`):
        :math:`\max \sum_k p_k \sum_t (D^u_{kt} a_{kt} + \Delta^d_{kt} z_{kt})`, and the
        same :math:`z` carries the per-pair big-M row
        :math:`v_k \le A^u_{kt} a_{kt} - \Delta^a_{kt} z_{kt} + U_k (1 - a_{kt})` (the
        constant :math:`U_k - A^u_{kt}` instead of one :math:`M`), alongside
        :math:`v_k \ge A^u_{kt} - \Delta^a_{kt} c_t`.
    ``"casorran"``
        The disaggregated formulation of Casorrán, Fortz, Labbé and Ordóñez (EJOR 2019),
        the projection onto coverage of the multiple-LPs formulation of general Bayesian
        Stackelberg games, whose LP relaxation is the convex hull for one attacker type:
        :math:`c^k_{ij}` is the coverage of target :math:`i` when type :math:`k` attacks
        :math:`j` (:math:`c^k_{ij} = c_i a_{kj}`), with :math:`\sum_j c^k_{ij} = c_i`,
        :math:`0 \le c^k_{ij} \le a_{kj}`, :math:`\sum_{i \in g} c^k_{ij} \le B_g a_{kj}`,
        best responses :math:`(A^u_{kj} - A^u_{ki}) a_{kj} - \Delta^a_{kj} c^k_{jj} +
        \Delta^a_{ki} c^k_{ij} \ge 0` and objective
        :math:`\sum_k p_k \sum_j (D^u_{kj} a_{kj} + \Delta^d_{kj} c^k_{jj})`. Here
        :math:`i, j` range over the targets type :math:`k` can attack (the dominance
        test of ``"tight"``), and best-response rows that can never bind
        (:math:`A^u_{ki} \le A^c_{kj}`) are dropped.

    With `warm_start`, a heuristic incumbent is handed to HiGHS first: from each type's
    minimax coverage and its single-type SSE coverage (ORIGAMI), the prior-weighted
    mixture's minimax coverage and an even spread, the defender's best
    coverage for the attack profile it induces is found by LP (the profile LP below) and
    the profile re-induced until it stops improving.

    The answer is recomputed from the game, never read off the MILP: the MILP's attack
    profile is re-solved as an LP (maximise the defender's utility subject to each type's
    target being a best response), each type's best responses are recomputed from that
    coverage with ties (within 1e-8) broken for the defender, and the utilities follow.

    Payoffs are first mapped affinely to spans of 1 (:func:`normalise`) and every
    tolerance is relative, so scaling a game's payoffs scales the value and changes
    nothing else; ``optimal`` means proven within a relative :math:`10^{-6}`.

    Parameters
    ----------
    game
        The security game; one type works too.
    method
        ``"levels"`` (default) or ``"milp"``.
    formulation
        With ``method="milp"``: ``"tight"`` (default), ``"casorran"`` or ``"bigm"``.
    time_limit
        Wall-clock seconds for the whole call: a safety net. When it runs out, the best
        strategy found is returned with ``optimal=False`` and its proven gap: the
        method's own bound, or :math:`\sum_k p_k \mathrm{SSE}_k` (each type's
        single-type value, which no Bayesian strategy beats) if that is lower.
    node_limit
        Deterministic work limit: boxes of the level search, or HiGHS branch-and-bound
        nodes of the MILP; 0 returns the warm-start incumbent with the trivial bound.
        ``None``: until proven (or `time_limit`); the level search then hands what it
        leaves open to the MILP after 100,000 boxes, or on a small game (at most 200
        type-target pairs) after 300 boxes that leave its bound flat (near-ties).
    warm_start
        Seed HiGHS with the heuristic incumbent (not used with `constraints`, whose
        rows the heuristic's coverages need not satisfy).
    constraints
        Policy constraints on the coverage (`citywatch.games.policy.LinearConstraint`),
        added as rows on the coverage columns of every formulation and of the profile
        LP. The bounds above stay valid under them (constraints can only raise each
        type's least attacker level), so the MILP stays exact.

    Returns
    -------
    Equilibrium
        ``method`` is ``"bayesian-levels"`` or ``"bayesian-" + formulation``;
        ``bound_source`` names what proved the gap.

    Raises
    ------
    GameError
        If `method` or `formulation` is unknown or a limit is not positive.
    SolverError
        If the MILP stops short of proven optimality and no limit was given.
    InfeasibleError
        If no coverage satisfies the constraints and the budgets.
    """
    if method not in METHODS:
        msg = f"`method` must be one of {METHODS}, got {method!r}"
        raise GameError(msg)
    if formulation not in FORMULATIONS:
        msg = f"`formulation` must be one of {FORMULATIONS}, got {formulation!r}"
        raise GameError(msg)
    if time_limit is not None and not time_limit > 0:
        msg = f"`time_limit` must be > 0 seconds, got {time_limit}"
        raise GameError(msg)
    if node_limit is not None and (int(node_limit) != node_limit or node_limit < 0):
        msg = f"`node_limit` must be a whole number >= 0, got {node_limit}"
        raise GameError(msg)
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    norm = normalise(game)
    ng = norm.game
    bounds = _attack_bounds(ng)
    extra = _constraint_rows(ng, constraints)

    incumbent: _Candidate | None = None
    if warm_start and extra is None:
        incumbent = _heuristic(ng, bounds, deadline)
    trivial = float(ng.priors @ bounds.solo_value)
    if node_limit == 0 and incumbent is not None:
        return _result(game, norm, incumbent, trivial, "sum of single-type SSEs",
                       "bayesian-heuristic", start)
    if method == "levels":
        boxes = _LEVEL_BOXES if node_limit is None else node_limit
        # small games only: there the MILP closes in well under a second, while on large
        # ones a flat stretch can be followed by progress the MILP would never make
        small = int(bounds.attackable.sum()) <= _STALL_MAX_PAIRS
        stall = _LEVEL_STALL if node_limit is None and small else None
        best, bound, source, complete = _solve_levels(ng, bounds, extra, incumbent, boxes,
                                                      deadline, zero=-norm.shift / norm.scale,
                                                      stall=stall)
        name = "bayesian-levels"
        if not complete and node_limit is None and (
                deadline is None or time.perf_counter() < deadline):
            # Asked for the proven optimum: the MILP, warm-started from the level search's
            # best, closes what the boxes left open (near-ties can split boxes for ever).
            remaining = None if deadline is None else max(deadline - time.perf_counter(), 1e-3)
            closed, closed_bound, closed_source = _solve_formulation(
                ng, bounds, extra, best, formulation, remaining, None, deadline)
            if closed.value >= best.value:
                best = closed
            bound = min(bound, closed_bound)
            source = f"{source}, closed by the {formulation} MILP ({closed_source})"
    else:
        best, bound, source = _solve_formulation(ng, bounds, extra, incumbent, formulation,
                                                 time_limit, node_limit, deadline)
        name = "bayesian-" + formulation
    if bound > trivial:
        # Against each type alone the defender can do no better than that type's SSE.
        bound, source = trivial, "sum of single-type SSEs"
    return _result(game, norm, best, bound, source, name, start)


METHODS = ("levels", "milp")
# `optimal` means the proven gap is within this fraction of the defender's utility.
_OPTIMAL_RTOL = 1e-6
# The level search prunes a box unless it beats the incumbent by this (normalised game:
# a fraction of the defender's payoff span) or by a quarter of _OPTIMAL_RTOL relative to
# the incumbent's utility, whichever is larger: the level LP's own tolerances are 1e-9.
_PRUNE_TOL = 1e-9
# Boxes the level search solves when no work limit is given before the MILP takes over
# (2,000 cut (10, 100, 10) covariance at a 3.5% gap in 60 s; without the cut the level
# search proves it in 56 s: the MILP adds nothing on games that size),
# and sooner if this many boxes in a row leave its bound flat (near-ties: games 6, 15,
# 32 and 36 of tests/games/test_bayesian.py stop improving after 70-200 boxes) ...
_LEVEL_BOXES = 100_000
_LEVEL_STALL = 300
# ... on games with at most this many (type, attackable target) pairs.
_STALL_MAX_PAIRS = 200


def _result(game: SecurityGame, norm: Normalised, best: _Candidate, bound: float,
            source: str, name: str, start: float) -> Equilibrium:
    """The equilibrium in the original game's payoffs, its gap, and whether it is proven."""
    attacked, value = best_responses(game, best.coverage, tol=_TIE_TOL)
    gap = max(0.0, norm.utility(bound) - value) if np.isfinite(bound) else np.inf
    if gap <= _OPTIMAL_RTOL * max(abs(value), 1e-9 * norm.scale):
        gap = max(gap, 0.0)
        optimal = True
    else:
        optimal = False
    ua = game.attacker_payoffs(best.coverage)
    types = np.arange(game.n_types)
    return Equilibrium(
        coverage=best.coverage,
        defender_utility=value,
        attacked=attacked,
        attacker_utility=ua[types, attacked],
        method=name,
        optimal=optimal,
        gap=0.0 if optimal else gap,
        seconds=time.perf_counter() - start,
        bound_source=source,
    )


def _solve_levels(game: SecurityGame, bounds: _Bounds, extra: _Extra | None,
                  incumbent: _Candidate | None, node_limit: int | None,
                  deadline: float | None, *, zero: float = 0.0, stall: int | None = None
                  ) -> tuple[_Candidate, float, str, bool]:
    """The level branch and bound, fed with profile-LP re-solves of its candidates.

    `zero` is the normalised value of the original game's zero utility: boxes are
    pruned within a quarter of the relative gap that counts as optimal.

    Returns the best candidate, the proven bound, the bound's source and whether the
    search closed (no box left open)."""
    seen: dict[tuple[int, ...], _Candidate | None] = {}
    rows = None if extra is None else (extra.matrix, extra.lower, extra.upper)

    def polish(c: FloatArray) -> tuple[float, FloatArray] | None:
        cand = _evaluate(game, c)
        key = tuple(cand.attacked.tolist())
        if key not in seen:
            seen[key] = _profile_candidate(game, bounds, cand.attacked, extra)
        best = seen[key]
        if extra is None and (best is None or best.value < cand.value):
            best = cand
        return None if best is None else (best.value, best.coverage)

    start_value = -np.inf if incumbent is None else incumbent.value
    found = level_search(game, bounds.attackable, bounds.low, bounds.high,
                         incumbent=start_value, improve=polish, extra=rows,
                         atol=_PRUNE_TOL, rtol=_OPTIMAL_RTOL / 4, zero=zero,
                         node_limit=node_limit, stall=stall, deadline=deadline)
    best = incumbent
    if found.best is not None:
        best = _evaluate(game, found.best)
        if incumbent is not None and incumbent.value > best.value:
            best = incumbent
    if best is None:
        if extra is not None and found.complete:
            msg = "the policy constraints leave no feasible coverage within the budgets; " \
                  "relax a floor or a cap"
            raise InfeasibleError(msg)
        if extra is not None:
            msg = "no coverage satisfying the policy constraints was found within the limits"
            raise SolverError(msg)
        best = _evaluate(game, _minimax_coverage(game, bounds, game.priors))
    bound = max(found.bound, best.value)
    if found.complete:
        source = "level branch and bound"
    elif found.limit == "stall":
        source = f"level branch and bound (its bound flat for {stall} boxes)"
    else:
        source = f"level branch and bound (stopped by the {found.limit} limit)"
    return best, bound, source, found.complete
