"""Exact Bayesian Strong Stackelberg equilibria of security games by mixed-integer programming."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch.errors import GameError, InfeasibleError, SolverError
from citywatch._highs import build_highs, run_highs
from citywatch.games.bayesian_levels import level_search
from citywatch.games.equilibrium import Equilibrium, Normalised, best_responses, normalise
from citywatch.games.origami import solve_origami
from citywatch.games.policy import LinearConstraint, constraint_matrix
from citywatch.model.game import SecurityGame

__all__ = ["FORMULATIONS", "METHODS", "solve_bayesian"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FORMULATIONS = ("bigm", "tight", "casorran")

# Every tolerance below applies to the normalised game (each type's attacker payoffs and
# the defender's span 1), so all are relative to the payoff spans.
# Attacker utilities closer than this are a tie, broken in the defender's favour. It sits
# well under `verify_equilibrium`'s 1e-6 and over the LP feasibility tolerance below.
_TIE_TOL = 1e-8
_LP_FEAS_TOL = 1e-9
# HiGHS's integrality tolerance stays at its 1e-6 default: tightening it to 1e-9 made
# HiGHS 1.16 report a wrong "optimal" on a 3-target game (tests/games/test_bayesian.py,
# game 27). The profile LP re-solve removes the leakage that tolerance allows.
_MIP_GAP = 1e-8
# A payoff difference below this is treated as "covering changes nothing".
_FLAT = 1e-12
# The textbook big-M: one constant, this many times the span of all payoffs.
_BIGM_FACTOR = 10.0


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
        ``None``: until proven (or `time_limit`).
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
        best, bound, source, complete = _solve_levels(ng, bounds, extra, incumbent, boxes,
                                                      deadline, zero=-norm.shift / norm.scale)
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
            source = f"level branch and bound, closed by the {formulation} MILP ({closed_source})"
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
# Boxes the level search solves when no work limit is given before the MILP takes over.
_LEVEL_BOXES = 2_000


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
                  deadline: float | None, *, zero: float = 0.0
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
                         node_limit=node_limit, deadline=deadline)
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
    source = "level branch and bound" + ("" if found.complete else
                                         f" (stopped by the {found.limit} limit)")
    return best, bound, source, found.complete


def _solve_formulation(game: SecurityGame, bounds: _Bounds, extra: _Extra | None,
                       incumbent: _Candidate | None, formulation: str,
                       time_limit: float | None, node_limit: int | None,
                       deadline: float | None) -> tuple[_Candidate, float, str]:
    """One MILP formulation on HiGHS, warm-started from `incumbent`."""
    model = _BUILDERS[formulation](game, bounds)
    if extra is not None:
        model = dataclasses.replace(model, model=_append_rows(model.model, extra))
    initial = None if incumbent is None else model.start(incumbent.coverage, incumbent.profile)
    remaining = None if deadline is None else max(deadline - time.perf_counter(), 1e-3)
    result = _solve_milp(model, time_limit=remaining, initial=initial, node_limit=node_limit)

    if result.status == "infeasible" and extra is not None:
        msg = "the policy constraints leave no feasible coverage within the budgets; relax " \
              "a floor or a cap"
        raise InfeasibleError(msg)
    if result.status not in ("optimal", "time limit", "node limit") or (
            result.status != "optimal" and time_limit is None and node_limit is None):
        msg = f"HiGHS stopped on the Bayesian MILP ({formulation}) with status {result.status}"
        raise SolverError(msg)

    best = incumbent
    if result.x is not None:
        # The profile LP's coverage has exact ties; the MILP's own coverage is only the
        # fallback, as integrality leakage can leave it a little off.
        cand = _profile_candidate(game, bounds, model.profile(result.x), extra)
        if cand is None:
            cand = _evaluate(game, np.clip(model.coverage(result.x), 0.0, 1.0))
        if best is None or cand.value > best.value:
            best = cand
    if best is None and extra is not None:
        msg = (f"no coverage satisfying the policy constraints was found within "
               f"`time_limit` = {time_limit} s")
        raise SolverError(msg)
    if best is None:
        best = _evaluate(game, _minimax_coverage(game, bounds, game.priors))
    if result.status == "optimal":
        return best, best.value, "HiGHS (proven optimal)"
    return best, max(result.bound, best.value), "HiGHS dual bound"


# --- bounds and dominance ---------------------------------------------------------------


@dataclass(frozen=True)
class _Bounds:
    """What every coverage forces on each attacker type."""

    low: FloatArray  # (K,) minimax attacker level L_k: v_k >= L_k whatever the coverage
    high: FloatArray  # (K,) max_t A^u_kt: v_k <= U_k
    attackable: BoolArray  # (K, T) A^u_kt >= L_k: t can be a best response of k
    cap: FloatArray  # (K, T) h_kt: most coverage t can carry and still be attacked by k
    solo_value: FloatArray  # (K,) SSE value against type k alone: d_k never exceeds it
    solo_coverage: FloatArray  # (K, T) the ORIGAMI coverage achieving it


def _delta_a(game: SecurityGame) -> FloatArray:
    return game.attacker_uncovered - game.attacker_covered


def _delta_d(game: SecurityGame) -> FloatArray:
    return game.defender_covered - game.defender_uncovered


def _minimax_level(au: FloatArray, da: FloatArray, groups: IntArray,
                   resources: IntArray) -> float:
    r"""Least value of :math:`\max_t A^u_t - \Delta^a_t c_t` over feasible coverage.

    Groups are independent, so the level is the largest group level. Within a group,
    coverage :math:`(A^u_t - v)^+ / \Delta^a_t` brings every target down to level
    :math:`v`; the budget it needs is :math:`f(v) = \max_j (S_j - v R_j)` over prefixes of
    the targets sorted by :math:`A^u` (:math:`S_j = \sum_{i \le j} A^u_i / \Delta^a_i`,
    :math:`R_j = \sum_{i \le j} 1 / \Delta^a_i`), so :math:`f(v) \le B` exactly when
    :math:`v \ge \max_j (S_j - B) / R_j`. No level can go below a fully covered target's
    :math:`A^c_t`, nor below :math:`A^u_t` of a target coverage does not affect.
    """
    level = -np.inf
    for g, budget in enumerate(resources):
        members = groups == g
        if not members.any():
            continue
        a, d = au[members], da[members]
        flat = d <= _FLAT
        floor = max(np.max(a[flat], initial=-np.inf), np.max((a - d)[~flat], initial=-np.inf))
        steep = ~flat
        if steep.any():
            order = np.argsort(-a[steep], kind="stable")
            a_s, d_s = a[steep][order], d[steep][order]
            s = np.cumsum(a_s / d_s)
            r = np.cumsum(1.0 / d_s)
            floor = max(floor, float(np.max((s - budget) / r)))
        level = max(level, floor)
    return float(level)


def _attack_bounds(game: SecurityGame) -> _Bounds:
    au = game.attacker_uncovered
    da = _delta_a(game)
    low = np.array([_minimax_level(au[k], da[k], game.groups, game.resources)
                    for k in range(game.n_types)])
    # A little slack so rounding never removes the true best response.
    slack = 1e-9 * max(1.0, float(np.max(np.abs(au))))  # normalised: |au| <= 1
    attackable = au >= low[:, None] - slack
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = np.where(da > _FLAT, (au - low[:, None] + slack) / da, 1.0)
    cap = np.clip(cap, 0.0, 1.0)
    solo = [solve_origami(game.single_type(k)) for k in range(game.n_types)]
    return _Bounds(low=low, high=au.max(axis=1), attackable=attackable, cap=cap,
                   solo_value=np.array([eq.defender_utility for eq in solo]),
                   solo_coverage=np.array([eq.coverage for eq in solo]))


# --- evaluating coverage and attack profiles ---------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    coverage: FloatArray
    attacked: IntArray
    value: float

    @property
    def profile(self) -> IntArray:
        return self.attacked


def _evaluate(game: SecurityGame, coverage: npt.ArrayLike) -> _Candidate:
    """Attack each type's best response, ties broken for the defender, and score it."""
    c = np.clip(np.asarray(coverage, dtype=np.float64), 0.0, 1.0)
    ua = game.attacker_payoffs(c)
    ud = game.defender_payoffs(c)
    best = ua >= ua.max(axis=1, keepdims=True) - _TIE_TOL
    attacked = np.argmax(np.where(best, ud, -np.inf), axis=1).astype(np.int64)
    types = np.arange(game.n_types)
    value = float(np.sum(game.priors * ud[types, attacked]))
    return _Candidate(coverage=c, attacked=attacked, value=value)


def _profile_lp(game: SecurityGame, bounds: _Bounds, profile: IntArray,
                extra: _Extra | None = None) -> FloatArray | None:
    r"""Defender's best coverage when each type :math:`k` must attack ``profile[k]``.

    :math:`\max \sum_k p_k \Delta^d_{k t_k} c_{t_k}` subject to
    :math:`\Delta^a_{k t_k} c_{t_k} - \Delta^a_{kt} c_t \le A^u_{k t_k} - A^u_{kt}` for every
    target :math:`t` type :math:`k` could attack (the others never beat :math:`t_k`) and
    the budgets. Returns ``None`` if the profile cannot be induced.
    """
    n_t = game.n_targets
    au, da, dd = game.attacker_uncovered, _delta_a(game), _delta_d(game)
    ac = game.attacker_covered
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[FloatArray] = []
    rhs: list[FloatArray] = []
    n_rows = 0
    cost = np.zeros(n_t)
    for k, tk in enumerate(profile):
        if not bounds.attackable[k, tk]:
            return None
        cost[tk] += game.priors[k] * dd[k, tk]
        others = np.flatnonzero(bounds.attackable[k] & (au[k] > ac[k, tk]))
        others = others[others != tk]
        m = others.size
        if m == 0:
            continue
        r = np.arange(n_rows, n_rows + m)
        rows += [r, r]
        cols += [np.full(m, tk), others]
        vals += [np.full(m, da[k, tk]), -da[k, others]]
        rhs.append(au[k, tk] - au[k, others])
        n_rows += m
    g_rows = np.arange(n_rows, n_rows + game.n_groups)
    rows.append(g_rows[game.groups])
    cols.append(np.arange(n_t))
    vals.append(np.ones(n_t))
    rhs.append(game.resources.astype(np.float64))
    n_rows += game.n_groups
    matrix = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_rows, n_t))
    col_upper = np.ones(n_t)
    # A target type k attacks cannot carry more than h_kt, or some other target beats it.
    for k, tk in enumerate(profile):
        col_upper[tk] = min(col_upper[tk], bounds.cap[k, tk])
    model = _Model(cost=cost, matrix=matrix, row_lower=np.full(n_rows, -np.inf),
                   row_upper=np.concatenate(rhs), col_lower=np.zeros(n_t), col_upper=col_upper,
                   integer=np.zeros(n_t, dtype=bool))
    if extra is not None:
        model = _append_rows(model, extra)
    result = _solve_milp(model, time_limit=None, initial=None, lp=True)
    if result.status != "optimal" or result.x is None:
        return None
    return np.clip(result.x, 0.0, 1.0)


def _profile_candidate(game: SecurityGame, bounds: _Bounds, profile: IntArray,
                       extra: _Extra | None = None) -> _Candidate | None:
    c = _profile_lp(game, bounds, profile, extra)
    return None if c is None else _evaluate(game, c)


def _minimax_coverage(game: SecurityGame, bounds: _Bounds, weights: FloatArray) -> FloatArray:
    """Coverage pushing the `weights`-mixture attacker down to its minimax level."""
    au = weights @ game.attacker_uncovered
    da = weights @ _delta_a(game)
    level = _minimax_level(au, da, game.groups, game.resources)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(da > _FLAT, (au - level) / da, 0.0)
    c = np.clip(c, 0.0, 1.0)
    # Rounding can overshoot a budget by an ulp or two; scale back into it.
    use = game.group_coverage(c)
    scale = np.where(use > game.resources, game.resources / np.maximum(use, _FLAT), 1.0)
    return c * scale[game.groups]


def _heuristic(game: SecurityGame, bounds: _Bounds, deadline: float | None) -> _Candidate:
    """Best profile-LP coverage reached from a few natural starting strategies."""
    starts = [_minimax_coverage(game, bounds, np.eye(game.n_types)[k])
              for k in range(game.n_types)]
    starts += list(bounds.solo_coverage)
    starts.append(_minimax_coverage(game, bounds, game.priors))
    even = game.resources[game.groups] / np.bincount(game.groups, minlength=game.n_groups)[
        game.groups]
    starts.append(even.astype(np.float64))
    best: _Candidate | None = None
    seen: set[tuple[int, ...]] = set()
    for c in starts:
        cand = _evaluate(game, c)
        if best is None or cand.value > best.value:
            best = cand
        for _ in range(5):
            key = tuple(cand.attacked.tolist())
            if key in seen or (deadline is not None and time.perf_counter() > deadline):
                break
            seen.add(key)
            nxt = _profile_candidate(game, bounds, cand.attacked)
            if nxt is None or nxt.value <= cand.value + 1e-12:
                break
            cand = nxt
            if cand.value > best.value:
                best = cand
    assert best is not None
    return best


# --- MILP models ------------------------------------------------------------------------


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
class _Formulation:
    """A MILP plus how to read coverage and attack profile from it and how to start it."""

    model: _Model
    coverage: Callable[[FloatArray], FloatArray]
    profile: Callable[[FloatArray], IntArray]
    start: Callable[[FloatArray, IntArray], FloatArray]


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


def _build_bigm(game: SecurityGame, bounds: _Bounds) -> _Formulation:
    n_k, n_t = game.n_types, game.n_targets
    au, da, du, dd = game.attacker_uncovered, _delta_a(game), game.defender_uncovered, \
        _delta_d(game)
    payoffs = np.stack([game.defender_covered, game.defender_uncovered, game.attacker_covered,
                        game.attacker_uncovered])
    big_m = _BIGM_FACTOR * max(1.0, float(payoffs.max() - payoffs.min()))
    # columns: c (T) | a (K*T) | v (K) | d (K)
    c_idx = np.arange(n_t)
    a_idx = n_t + np.arange(n_k * n_t).reshape(n_k, n_t)
    v_idx = n_t + n_k * n_t + np.arange(n_k)
    d_idx = v_idx + n_k
    n_cols = n_t + n_k * n_t + 2 * n_k
    rows = _Rows()
    _budget_rows(game, rows, c_idx)
    for k in range(n_k):
        r = rows.n
        rows.rows.append(np.full(n_t, r))
        rows.cols.append(a_idx[k])
        rows.vals.append(np.ones(n_t))
        rows.lower.append(np.ones(1))
        rows.upper.append(np.ones(1))
        rows.n += 1
        # 0 <= v - au + da c <= M (1 - a)  ->  v + da c + M a in [au, au + M] and v + da c >= au
        rows.add([(v_idx[k], 1.0), (c_idx, da[k])], au[k], np.inf)
        rows.add([(v_idx[k], 1.0), (c_idx, da[k]), (a_idx[k], big_m)], -np.inf, au[k] + big_m)
        # d - du - dd c + M a <= M
        rows.add([(d_idx[k], 1.0), (c_idx, -dd[k]), (a_idx[k], big_m)], -np.inf, du[k] + big_m)
    cost = np.zeros(n_cols)
    cost[d_idx] = game.priors
    col_lower = np.concatenate([np.zeros(n_t + n_k * n_t), np.full(2 * n_k, -np.inf)])
    col_upper = np.concatenate([np.ones(n_t + n_k * n_t), np.full(2 * n_k, np.inf)])
    integer = np.zeros(n_cols, dtype=bool)
    integer[a_idx.ravel()] = True
    model = _Model(cost=cost, matrix=rows.matrix(n_cols), row_lower=np.concatenate(rows.lower),
                   row_upper=np.concatenate(rows.upper), col_lower=col_lower,
                   col_upper=col_upper, integer=integer)

    def start(c: FloatArray, profile: IntArray) -> FloatArray:
        x = np.zeros(n_cols)
        x[c_idx] = c
        types = np.arange(n_k)
        x[a_idx[types, profile]] = 1.0
        x[v_idx] = game.attacker_payoffs(c).max(axis=1)
        x[d_idx] = game.defender_payoffs(c)[types, profile]
        return x

    return _Formulation(model=model, coverage=lambda x: x[c_idx],
                        profile=lambda x: np.argmax(x[a_idx], axis=1).astype(np.int64),
                        start=start)


def _build_tight(game: SecurityGame, bounds: _Bounds) -> _Formulation:
    n_k, n_t = game.n_types, game.n_targets
    au, da = game.attacker_uncovered, _delta_a(game)
    du, dd = game.defender_uncovered, _delta_d(game)
    pairs_k, pairs_t = np.nonzero(bounds.attackable)
    n_p = pairs_k.size
    # columns: c (T) | a (pairs) | z (pairs) | v (K)
    c_idx = np.arange(n_t)
    a_idx = n_t + np.arange(n_p)
    z_idx = n_t + n_p + np.arange(n_p)
    v_idx = n_t + 2 * n_p + np.arange(n_k)
    n_cols = n_t + 2 * n_p + n_k
    rows = _Rows()
    _budget_rows(game, rows, c_idx)
    # sum_t a_kt = 1
    rows.rows.append(rows.n + pairs_k)
    rows.cols.append(a_idx)
    rows.vals.append(np.ones(n_p))
    rows.lower.append(np.ones(n_k))
    rows.upper.append(np.ones(n_k))
    rows.n += n_k
    k_, t_ = pairs_k, pairs_t
    cap = bounds.cap[k_, t_]
    # v_k >= A^u_kt - da_kt c_t
    rows.add([(v_idx[k_], 1.0), (c_idx[t_], da[k_, t_])], au[k_, t_], np.inf)
    # v_k <= A^u_kt a_kt - da_kt z_kt + U_k (1 - a_kt): the per-pair big-M row
    # v_k - U^a_k(t, c) <= (U_k - A^c_kt)(1 - a_kt) written with z, which ties it to the
    # objective's z and so is tighter whenever the relaxation has z_kt > c_t + a_kt - 1.
    rows.add([(v_idx[k_], 1.0), (z_idx, da[k_, t_]), (a_idx, bounds.high[k_] - au[k_, t_])],
             -np.inf, bounds.high[k_])
    # McCormick for z = c a, with z <= h a
    rows.add([(z_idx, 1.0), (c_idx[t_], -1.0)], -np.inf, 0.0)
    rows.add([(z_idx, 1.0), (a_idx, -cap)], -np.inf, 0.0)
    rows.add([(z_idx, 1.0), (c_idx[t_], -1.0), (a_idx, -1.0)], -1.0, np.inf)
    cost = np.zeros(n_cols)
    cost[a_idx] = game.priors[k_] * du[k_, t_]
    cost[z_idx] = game.priors[k_] * dd[k_, t_]
    col_lower = np.concatenate([np.zeros(n_t + 2 * n_p), bounds.low])
    col_upper = np.concatenate([np.ones(n_t + n_p), cap, bounds.high])
    integer = np.zeros(n_cols, dtype=bool)
    integer[a_idx] = True
    model = _Model(cost=cost, matrix=rows.matrix(n_cols), row_lower=np.concatenate(rows.lower),
                   row_upper=np.concatenate(rows.upper), col_lower=col_lower,
                   col_upper=col_upper, integer=integer)
    pair_of = np.full((n_k, n_t), -1, dtype=np.int64)
    pair_of[k_, t_] = np.arange(n_p)

    def profile(x: FloatArray) -> IntArray:
        a = np.full((n_k, n_t), -1.0)
        a[k_, t_] = x[a_idx]
        chosen: IntArray = np.argmax(a, axis=1).astype(np.int64)
        return chosen

    def start(c: FloatArray, prof: IntArray) -> FloatArray:
        x = np.zeros(n_cols)
        x[c_idx] = c
        p = pair_of[np.arange(n_k), prof]
        x[a_idx[p]] = 1.0
        x[z_idx[p]] = np.minimum(c[prof], cap[p])
        x[v_idx] = np.clip(game.attacker_payoffs(c).max(axis=1), bounds.low, bounds.high)
        return x

    return _Formulation(model=model, coverage=lambda x: x[c_idx], profile=profile, start=start)


def _build_casorran(game: SecurityGame, bounds: _Bounds) -> _Formulation:
    n_k, n_t = game.n_types, game.n_targets
    au, ac, da = game.attacker_uncovered, game.attacker_covered, _delta_a(game)
    du, dd = game.defender_uncovered, _delta_d(game)
    budgets = game.resources.astype(np.float64)
    # columns: c (T) | per type k: a_kj (j in A_k) | c^k_ij (i, j in A_k)
    c_idx = np.arange(n_t)
    n_cols = n_t
    layout: list[tuple[IntArray, IntArray, IntArray]] = []  # (targets, a columns, y columns)
    for k in range(n_k):
        targets = np.flatnonzero(bounds.attackable[k])
        m = targets.size
        a_cols = n_cols + np.arange(m)
        y_cols = n_cols + m + np.arange(m * m).reshape(m, m)  # y[i, j]: cover i, k attacks j
        layout.append((targets, a_cols, y_cols))
        n_cols += m + m * m
    rows = _Rows()
    _budget_rows(game, rows, c_idx)
    cost = np.zeros(n_cols)
    col_upper = np.ones(n_cols)
    for k, (targets, a_cols, y_cols) in enumerate(layout):
        m = targets.size
        # sum_j a_kj = 1
        rows.rows.append(np.full(m, rows.n))
        rows.cols.append(a_cols)
        rows.vals.append(np.ones(m))
        rows.lower.append(np.ones(1))
        rows.upper.append(np.ones(1))
        rows.n += 1
        # sum_j y_ij = c_i
        ii, jj = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
        rows.rows.append(rows.n + ii.ravel())
        rows.cols.append(y_cols.ravel())
        rows.vals.append(np.ones(m * m))
        rows.rows.append(rows.n + np.arange(m))
        rows.cols.append(c_idx[targets])
        rows.vals.append(-np.ones(m))
        rows.lower.append(np.zeros(m))
        rows.upper.append(np.zeros(m))
        rows.n += m
        # y_ij <= a_kj  (the diagonal is capped tighter: y_jj <= h_kj a_kj)
        cap = np.where(ii == jj, bounds.cap[k, targets][jj], 1.0)
        rows.add([(y_cols.ravel(), 1.0), (a_cols[jj.ravel()], -cap.ravel())], -np.inf, 0.0)
        # sum_{i in g} y_ij <= B_g a_kj
        grp = game.groups[targets]
        for g in np.unique(grp):
            members = np.flatnonzero(grp == g)
            if members.size <= budgets[g]:
                continue  # never binds: each y_ij <= a_kj already
            r0 = rows.n
            n_m = members.size
            rows.rows.append(np.repeat(r0 + np.arange(m), n_m))
            rows.cols.append(y_cols[members][:, np.arange(m)].T.ravel())
            rows.vals.append(np.ones(m * n_m))
            rows.rows.append(r0 + np.arange(m))
            rows.cols.append(a_cols)
            rows.vals.append(np.full(m, -budgets[g]))
            rows.lower.append(np.full(m, -np.inf))
            rows.upper.append(np.zeros(m))
            rows.n += m
        # best response: (Au_j - Au_i) a_j - da_j y_jj + da_i y_ij >= 0 where it can bind
        aut, act, dat = au[k, targets], ac[k, targets], da[k, targets]
        live = (aut[ii] > act[jj]) & (ii != jj)
        i_l, j_l = ii[live], jj[live]
        rows.add([(a_cols[j_l], aut[j_l] - aut[i_l]), (y_cols[j_l, j_l], -dat[j_l]),
                  (y_cols[i_l, j_l], dat[i_l])], 0.0, np.inf)
        cost[a_cols] = game.priors[k] * du[k, targets]
        cost[y_cols[np.arange(m), np.arange(m)]] = game.priors[k] * dd[k, targets]
    integer = np.zeros(n_cols, dtype=bool)
    for _, a_cols, _ in layout:
        integer[a_cols] = True
    model = _Model(cost=cost, matrix=rows.matrix(n_cols), row_lower=np.concatenate(rows.lower),
                   row_upper=np.concatenate(rows.upper), col_lower=np.zeros(n_cols),
                   col_upper=col_upper, integer=integer)

    def profile(x: FloatArray) -> IntArray:
        return np.array([targets[int(np.argmax(x[a_cols]))]
                         for targets, a_cols, _ in layout], dtype=np.int64)

    def start(c: FloatArray, prof: IntArray) -> FloatArray:
        x = np.zeros(n_cols)
        x[c_idx] = c
        for k, (targets, a_cols, y_cols) in enumerate(layout):
            j = int(np.flatnonzero(targets == prof[k])[0])
            x[a_cols[j]] = 1.0
            x[y_cols[:, j]] = c[targets]
        return x

    return _Formulation(model=model, coverage=lambda x: x[c_idx], profile=profile, start=start)


_BUILDERS: dict[str, Callable[[SecurityGame, _Bounds], _Formulation]] = {
    "bigm": _build_bigm,
    "tight": _build_tight,
    "casorran": _build_casorran,
}


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


def _solve_milp(model: _Model | _Formulation, *, time_limit: float | None,
                initial: FloatArray | None, lp: bool = False,
                node_limit: int | None = None) -> _Result:
    """Maximise a model with HiGHS; report status, solution (if any) and proven bound."""
    m = model.model if isinstance(model, _Formulation) else model
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
