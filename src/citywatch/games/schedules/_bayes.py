"""Several attacker types: price-and-branch over the shared pool, with a proven gap."""

from __future__ import annotations

import math
import time

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._highs import build_highs, run_highs
from citywatch.errors import SolverError
from citywatch.games.schedules._pricing import (
    _PRICE_TOL,
    _LimitReached,
    _Limits,
    _Pricer,
    _scale,
)
from citywatch.games.schedules._profiles import (
    _result,
    _Search,
    _search_profiles,
    _solve_single,
)
from citywatch.games.schedules.game import ScheduleEquilibrium, ScheduleGame

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_ROUNDS = 3  # MILP / fixed-profile re-pricing rounds
# Prove the price-and-branch answer by multiple LPs over attack profiles when there are
# at most this many profiles (targets ** types) before pruning.
_MAX_PROFILES = 20_000


class _BayesMaster:
    """ERASER/DOBSS-style master for several attacker types over the shared pool.

    Columns: ``c`` (N), ``d`` (K), ``e`` (K), ``q`` (K*N, row-major by type), pool.
    Rows: link (N), convexity (G), defender (K*N), attacker lower (K*N), attacker
    upper (K*N), one-target-per-type (K).
    """

    def __init__(self, sgame: ScheduleGame, pricer: _Pricer) -> None:
        game = sgame.game
        n, g, k = game.n_targets, game.n_groups, game.n_types
        self.n, self.g, self.k = n, g, k
        self.pricer = pricer
        dc, du = game.defender_covered, game.defender_uncovered
        ac, au = game.attacker_covered, game.attacker_uncovered
        delta_d = (dc - du).reshape(-1)
        delta_a = (au - ac).reshape(-1)
        m_d = np.repeat(dc.max(axis=1) - du.min(axis=1), n)
        m_a = np.repeat(au.max(axis=1) - ac.min(axis=1), n)
        kn = k * n
        kt = np.arange(kn)
        t_of = np.tile(np.arange(n), k)
        k_of = np.repeat(np.arange(k), n)
        self.q0 = n + 2 * k
        q0 = self.q0
        # Row blocks: link (0), convexity (n), then these.
        r_link, r_def, r_lo, r_hi = 0, n + g, n + g + kn, n + g + 2 * kn
        r_sum = n + g + 3 * kn
        n_rows = r_sum + k
        rows: list[IntArray] = []
        cols: list[IntArray] = []
        vals: list[FloatArray] = []

        def put(r: npt.ArrayLike, c: npt.ArrayLike, v: npt.ArrayLike) -> None:
            rr = np.atleast_1d(np.asarray(r, dtype=np.int64))
            cc = np.atleast_1d(np.asarray(c, dtype=np.int64))
            vv = np.broadcast_to(np.asarray(v, dtype=np.float64), rr.shape)
            rows.append(rr)
            cols.append(cc)
            vals.append(np.array(vv))

        put(r_link + np.arange(n), np.arange(n), 1.0)
        put(r_def + kt, n + k_of, 1.0)
        put(r_def + kt, t_of, -delta_d)
        put(r_def + kt, q0 + kt, m_d)
        put(r_lo + kt, n + k + k_of, 1.0)
        put(r_lo + kt, t_of, delta_a)
        put(r_hi + kt, n + k + k_of, 1.0)
        put(r_hi + kt, t_of, delta_a)
        put(r_hi + kt, q0 + kt, m_a)
        put(r_sum + k_of, q0 + kt, 1.0)
        base_cols = q0 + kn
        base = sp.csc_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                            shape=(n_rows, base_cols))
        pool = pricer.columns(0)
        pool = sp.vstack([pool, sp.csc_array((n_rows - n - g, pool.shape[1]))])
        matrix = sp.hstack([base, pool]).tocsc()
        lower = np.concatenate([np.zeros(n), np.ones(g), np.full(kn, -np.inf),
                                au.reshape(-1), np.full(kn, -np.inf), np.ones(k)])
        upper = np.concatenate([np.zeros(n), np.ones(g), du.reshape(-1) + m_d,
                                np.full(kn, np.inf), au.reshape(-1) + m_a, np.ones(k)])
        n_pool = pool.shape[1]
        col_lower = np.concatenate([np.zeros(n), np.full(k, -np.inf), ac.min(axis=1),
                                    np.zeros(kn), np.zeros(n_pool)])
        col_upper = np.concatenate([np.ones(n), dc.max(axis=1), au.max(axis=1),
                                    np.ones(kn), np.full(n_pool, np.inf)])
        cost = np.concatenate([np.zeros(n), -game.priors, np.zeros(k), np.zeros(kn),
                               np.zeros(n_pool)])
        self.h = build_highs(cost, matrix, lower, upper, col_lower=col_lower,
                             col_upper=col_upper)
        self.n_pool = pricer.size
        self.pool0 = base_cols

    def sync(self) -> None:
        if self.pricer.size == self.n_pool:
            return
        cols = self.pricer.columns(self.n_pool)
        k = cols.shape[1]
        self.h.addCols(k, np.zeros(k), np.zeros(k), np.full(k, np.inf), cols.nnz,
                       cols.indptr[:-1].astype(np.int32), cols.indices.astype(np.int32),
                       cols.data)
        self.n_pool = self.pricer.size

    def q_index(self) -> npt.NDArray[np.int32]:
        return np.arange(self.q0, self.q0 + self.k * self.n, dtype=np.int32)

    def set_integer(self, integer: bool) -> None:
        idx = self.q_index()
        kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        self.h.changeColsIntegrality(idx.size, idx, np.array([kind] * idx.size))

    def fix_profile(self, attacked: IntArray | None) -> None:
        idx = self.q_index()
        lo = np.zeros(idx.size)
        hi = np.ones(idx.size)
        if attacked is not None:
            hi[:] = 0.0
            pos = np.arange(self.k) * self.n + attacked
            lo[pos] = 1.0
            hi[pos] = 1.0
        self.h.changeColsBounds(idx.size, idx, lo, hi)

    def solve(self, what: str) -> tuple[float, FloatArray, FloatArray, bool]:
        """Value (max form), solution, row duals and optimality of the current model."""
        h = self.h
        left = self.pricer.limits.remaining()
        h.setOptionValue("time_limit", math.inf if left is None else left)
        try:
            res = run_highs(h, what=what)
        except SolverError:
            if time.perf_counter() >= self.pricer.limits.deadline:
                raise _LimitReached from None
            raise
        return -res.objective, res.x, res.row_duals, res.optimal

    def column_generation(self, limits: _Limits, tol: float) -> tuple[float, float, FloatArray]:
        """Price the LP to optimality; return its last value, proven bound and solution."""
        bound = math.inf
        while True:
            limits.tick()
            value, x, duals, optimal = self.solve("Bayesian schedule master LP")
            if not optimal:
                raise _LimitReached
            added, gain = self.pricer.price(duals, tol)
            bound = min(bound, value + gain)
            if not added or bound <= value + tol:
                return value, max(value, bound), x
            self.sync()


def _solve_bayesian(sgame: ScheduleGame, pricer: _Pricer, limits: _Limits, start: float,
                    rng: np.random.Generator) -> ScheduleEquilibrium:
    game = sgame.game
    n, k = game.n_targets, game.n_types
    tol = _PRICE_TOL * _scale(game)
    pricer.abs_gap = tol / 2
    upper = math.inf
    best_value, best_x, best_attacked = -math.inf, np.zeros(0), np.zeros(k, dtype=np.int64)
    try:
        type_values = []
        for kk in range(k):
            single = ScheduleGame(game.single_type(kk), sgame.incidence, sgame.schedule_groups)
            sub_start = time.perf_counter()
            sub_limits = _Limits(sub_start, limits.remaining(), None)
            sub_pricer = _Pricer(single, sub_limits)
            sub_pricer.seed_pool(rng)
            sub = _solve_single(single, sub_pricer, sub_limits, sub_start)
            for joint, g in zip(sub.joint_schedules, sub.joint_groups, strict=True):
                pricer.add_global(int(g), joint)
            type_values.append(sub.defender_utility + sub.gap)
        upper = float(np.dot(game.priors, type_values))
        master = _BayesMaster(sgame, pricer)
        _, root_bound, _ = master.column_generation(limits, tol)
        upper = min(upper, root_bound)
        profile: IntArray | None = None
        for _ in range(_ROUNDS):
            master.fix_profile(None)
            master.set_integer(True)
            limits.tick()
            value, x, _, _ = master.solve("Bayesian schedule MILP")
            master.set_integer(False)
            attacked = np.argmax(x[master.q0:master.q0 + k * n].reshape(k, n), axis=1)
            if value > best_value:
                best_value, best_x, best_attacked = value, x[master.pool0:].copy(), attacked
            if best_value >= upper - tol or (profile is not None
                                             and np.array_equal(attacked, profile)):
                break
            profile = attacked
            master.fix_profile(attacked)
            value, _, x = master.column_generation(limits, tol)
            if value > best_value:
                best_value, best_x, best_attacked = value, x[master.pool0:].copy(), attacked
            if best_value >= upper - tol:
                break
    except _LimitReached:
        pass
    search = _Search(best_value, best_attacked.astype(np.int64), best_x)
    if (best_x.size and best_value < upper - tol and time.perf_counter() < limits.deadline
            and n ** k <= _MAX_PROFILES):
        try:
            _search_profiles(sgame, pricer, limits, search)
        except _LimitReached:
            pass
        if search.finished:
            upper = search.value
        elif math.isfinite(search.open_bound):
            upper = min(upper, max(search.value, search.open_bound))
    best_value, best_x, best_attacked = search.value, search.x, search.profile
    if best_x.size == 0:
        msg = ("Bayesian schedule solver reached its limit before finding any strategy; "
               "raise `time_limit` or `max_iterations`")
        raise SolverError(msg)
    gap = max(0.0, upper - best_value)
    return _result(sgame, pricer, best_x, best_attacked.astype(np.int64),
                   gap <= 10 * tol, gap, limits, start, "schedules-price-and-branch")
