"""Attack profiles of the Bayesian game: each type's bounds, scoring a coverage, the profile
LP and the profile-LP heuristic (shared by the level search, the MILPs and DOBSS)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch.games._lp_model import _append_rows, _Extra, _Model, _solve_milp
from citywatch.games.origami import solve_origami
from citywatch.model.game import SecurityGame

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Every tolerance applies to the normalised game (each type's attacker payoffs and the
# defender's span 1), so all are relative to the payoff spans.
# Attacker utilities closer than this are a tie, broken in the defender's favour. It sits
# well under `verify_equilibrium`'s 1e-6 and over the LP feasibility tolerance (1e-9).
_TIE_TOL = 1e-8
# A payoff difference below this is treated as "covering changes nothing".
_FLAT = 1e-12


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
