"""Diversifying a presence game's mixed strategy: no beat runs more often than it must
(`citywatch.games.schedules.presence`)."""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._highs import build_highs, run_highs
from citywatch.errors import InfeasibleError, SolverError
from citywatch.games.equilibrium import best_responses
from citywatch.model.game import SecurityGame

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

from citywatch.games.schedules._presence_pool import _Group, _LimitReached, _Pool

#: Column-generation rounds per slot when diversifying (the last mixture is kept).
_DIVERSIFY_ROUNDS = 40


def _diversify(game: SecurityGame, pool: _Pool, x: FloatArray, deadline: float
               ) -> FloatArray:
    r"""Re-mix each slot so no beat runs more often than it must, keeping the guarantee.

    With :math:`t^*` attacked at attacker utility :math:`u_a`, any strategy with
    :math:`c_t \ge n_t(u_a)` for every target and :math:`c_{t^*}` unchanged keeps
    :math:`t^*` a best response with the same payoffs (ties go to the defender), so the
    defender's utility does not fall. Per slot, column generation minimises the largest
    probability :math:`m` with which any beat runs (rows :math:`\sum_{J \ni b} x_J \le m`),
    over the same pool and pricing (values :math:`v_b` gain the beat rows' duals). On the
    time limit the strategy found so far is kept.
    """
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, None)
    weights = np.zeros(pool.size)
    weights[:x.size] = x
    coverage = pool.coverage(weights)
    attacked, base_value = best_responses(game, np.clip(coverage, 0.0, 1.0))
    t_star = int(attacked[0])
    au, ac = game.attacker_uncovered[0], game.attacker_covered[0]
    u_a = float(au[t_star] - (au[t_star] - ac[t_star]) * coverage[t_star])
    da = au - ac
    need = np.clip(np.divide(au - u_a, da, out=np.zeros_like(au), where=da > 0), 0.0, 1.0)
    tol = 1e-9
    out = weights.copy()
    for d in pool.groups:
        if d.teams == 0:
            continue
        try:
            mixed = _diversify_group(pool, d, need, coverage, t_star, tol, deadline)
        except (_LimitReached, InfeasibleError, SolverError):
            continue
        if mixed is None:
            continue
        trial = np.concatenate([out, np.zeros(pool.size - out.size)])
        trial[np.flatnonzero(np.array(pool.col_group) == d.group)] = 0.0
        trial[mixed[0]] = mixed[1]
        _, value = best_responses(game, np.clip(pool.coverage(trial), 0.0, 1.0))
        # keep the re-mix only if the guarantee is unchanged (round-off can break a tie)
        if value >= base_value - 1e-9 * max(1.0, abs(base_value)):
            out = trial
    return out


def _diversify_group(pool: _Pool, d: _Group, need: FloatArray, coverage: FloatArray,
                     t_star: int, tol: float, deadline: float
                     ) -> tuple[IntArray, FloatArray] | None:
    """The min-max-marginal mixture of one slot (see `_diversify`); None if no better."""
    n_t, n_s = d.targets.size, d.schedules.size
    local_of = {int(s): i for i, s in enumerate(d.schedules)}
    lo_cov = need[d.targets].copy()
    hi_cov = np.full(n_t, np.inf)
    star = np.flatnonzero(d.targets == t_star)
    if star.size:
        lo_cov[star] = hi_cov[star] = coverage[t_star]
    lo_cov = np.minimum(lo_cov + 1e-7, np.maximum(lo_cov, coverage[d.targets]))

    def columns(first: int) -> tuple[list[int], sp.csc_array]:
        ids = [j for j in range(first, pool.size) if pool.col_group[j] == d.group]
        rows, vals, ptr = [], [], [0]
        index = np.full(pool.n, -1, dtype=np.int64)
        index[d.targets] = np.arange(n_t)
        for j in ids:
            r_t = index[pool.col_rows[j]]
            r_b = n_t + np.array([local_of[s] for s in pool.col_schedules[j]], dtype=np.int64)
            rows += [r_t, r_b, np.array([n_t + n_s])]
            vals += [pool.col_vals[j], np.ones(r_b.size), np.ones(1)]
            ptr.append(ptr[-1] + r_t.size + r_b.size + 1)
        if not ids:
            return ids, sp.csc_array((n_t + n_s + 1, 0))
        return ids, sp.csc_array((np.concatenate(vals), np.concatenate(rows), np.array(ptr)),
                                 shape=(n_t + n_s + 1, len(ids)))

    ids, cols = columns(0)
    m_col = sp.csc_array((-np.ones(n_s), (n_t + np.arange(n_s), np.zeros(n_s, dtype=np.int64))),
                         shape=(n_t + n_s + 1, 1))
    matrix = sp.hstack([m_col, cols]).tocsc()
    row_lo = np.concatenate([lo_cov, np.full(n_s, -np.inf), [1.0]])
    row_hi = np.concatenate([hi_cov, np.zeros(n_s), [1.0]])
    cost = np.zeros(matrix.shape[1])
    cost[0] = 1.0
    h = build_highs(cost, matrix, row_lo, row_hi, col_lower=0.0, col_upper=np.inf)
    h.setOptionValue("random_seed", 0)
    n_known = pool.size
    for _ in range(_DIVERSIFY_ROUNDS):
        left = deadline - time.perf_counter()
        if left <= 0:
            raise _LimitReached
        h.setOptionValue("time_limit", math.inf if math.isinf(left) else left)
        res = run_highs(h, what="beat diversification LP")
        if not res.optimal:
            raise _LimitReached
        solved = list(ids)
        y = res.row_duals
        values = d.local @ y[:n_t] + y[n_t:n_t + n_s]
        threshold = -y[n_t + n_s]
        picks = pool._greedy(d, values, d.teams)
        best = float(values[picks].sum()) if picks.size == d.teams else -np.inf
        if not best > threshold + tol:
            picks, best, _ = pool._milp(d, values, picks)
        if not (best > threshold + tol and pool.add(d.group, picks)):
            break
        new_ids, new_cols = columns(n_known)
        n_known = pool.size
        k = new_cols.shape[1]
        h.addCols(k, np.zeros(k), np.zeros(k), np.full(k, np.inf), new_cols.nnz,
                  new_cols.indptr[:-1].astype(np.int32), new_cols.indices.astype(np.int32),
                  new_cols.data)
        ids += new_ids
    xs = np.clip(res.x[1:1 + len(solved)], 0.0, None)
    keep = xs > 1e-12
    if not keep.any():
        return None
    xs = xs[keep] / xs[keep].sum()
    return np.asarray(solved, dtype=np.int64)[keep], xs

