"""The Bayesian game as a MILP on HiGHS: three formulations (see `solve_bayesian`)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from citywatch.errors import InfeasibleError, SolverError
from citywatch.games._lp_model import (
    _append_rows,
    _budget_rows,
    _Extra,
    _Model,
    _Rows,
    _solve_milp,
)
from citywatch.games.bayesian_profiles import (
    _Bounds,
    _Candidate,
    _delta_a,
    _delta_d,
    _evaluate,
    _minimax_coverage,
    _profile_candidate,
)
from citywatch.model.game import SecurityGame

__all__ = ["FORMULATIONS"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FORMULATIONS = ("bigm", "tight", "casorran")
# The textbook big-M: one constant, this many times the span of all payoffs.
_BIGM_FACTOR = 10.0


@dataclass(frozen=True)
class _Formulation:
    """A MILP plus how to read coverage and attack profile from it and how to start it."""

    model: _Model
    coverage: Callable[[FloatArray], FloatArray]
    profile: Callable[[FloatArray], IntArray]
    start: Callable[[FloatArray, IntArray], FloatArray]


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
    result = _solve_milp(model.model, time_limit=remaining, initial=initial, node_limit=node_limit)

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
