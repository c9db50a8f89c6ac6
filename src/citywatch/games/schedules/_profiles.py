"""Exact multiple LPs over attack profiles by column generation (one type, or a proof)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._highs import build_highs, run_highs
from citywatch.errors import InfeasibleError, SolverError
from citywatch.games.schedules._pricing import (
    _PRICE_TOL,
    _LimitReached,
    _Limits,
    _Pricer,
    _scale,
)
from citywatch.games.schedules.game import ScheduleEquilibrium, ScheduleGame

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _relaxed_bounds(sgame: ScheduleGame, pricer: _Pricer, k: int = 0) -> FloatArray:
    """Upper bound on type `k`'s multiple-LP values over a relaxed schedule polytope.

    ``-inf`` marks a target that type `k` can be made to attack under no strategy.
    """
    game = sgame.game
    n = game.n_targets
    coverable = np.zeros(n, dtype=bool)
    coverable[sgame.incidence.indices] = True
    cap = np.zeros(game.n_groups)
    for d in pricer.data:
        sizes = np.sort(np.diff(d.local.indptr))[::-1]
        cap[d.group] = min(float(sizes[:d.teams].sum()),
                           float(np.count_nonzero(coverable[d.targets])))
    delta_a = game.attacker_uncovered[k] - game.attacker_covered[k]
    au = game.attacker_uncovered[k]
    du, dc = game.defender_uncovered[k], game.defender_covered[k]
    budget = sp.csr_array((np.ones(n), (game.groups, np.arange(n))), shape=(game.n_groups, n))
    bounds = np.full(n, -np.inf)
    for t_star in range(n):
        others = np.delete(np.arange(n), t_star)
        att = sp.csr_array((np.concatenate([-delta_a[others], np.full(n - 1, delta_a[t_star])]),
                            (np.concatenate([others, others]),
                             np.concatenate([others, np.full(n - 1, t_star)]))), shape=(n, n))
        rows_hi = au[t_star] - au
        rows_hi[t_star] = np.inf
        matrix = sp.vstack([budget, att])
        cost = np.zeros(n)
        cost[t_star] = dc[t_star] - du[t_star]
        try:
            res = run_highs(build_highs(cost, matrix,
                                        np.full(game.n_groups + n, -np.inf),
                                        np.concatenate([cap, rows_hi]),
                                        col_lower=0.0, col_upper=coverable.astype(np.float64),
                                        maximize=True, offset=float(du[t_star])),
                            what="relaxed multiple LP")
        except InfeasibleError:
            continue
        bounds[t_star] = res.objective
    return bounds


class _ProfileMaster:
    """The multiple-LP master for a fixed attack profile (one attacked target per type).

    Columns: ``c`` (N), slack ``sigma``, pool columns. Rows: link (N), convexity (G),
    then per type ``k`` the attacker rows
    ``-Da_kt c_t + Da_kt* c_t* - sigma <= Ua_u,kt* - Ua_u,kt`` (K*N). The profile is
    switched in place, so the model and its columns are reused across profiles.
    """

    def __init__(self, sgame: ScheduleGame, pricer: _Pricer) -> None:
        game = sgame.game
        n, g, k = game.n_targets, game.n_groups, game.n_types
        self.n, self.g, self.k = n, g, k
        self.pricer = pricer
        self.priors = game.priors
        self.delta_a = game.attacker_uncovered - game.attacker_covered
        self.au = game.attacker_uncovered
        self.delta_d = game.defender_covered - game.defender_uncovered
        self.du = game.defender_uncovered
        att = sp.vstack([-sp.diags_array(self.delta_a[kk]) for kk in range(k)])
        top = sp.vstack([sp.identity(n, format="csc"), sp.csc_array((g, n)), att])
        sigma = sp.csc_array((np.full(k * n, -1.0), (np.arange(n + g, n + g + k * n),
                                                     np.zeros(k * n, dtype=np.int64))),
                             shape=(n + g + k * n, 1))
        pool = pricer.columns(0)
        pool = sp.vstack([pool, sp.csc_array((k * n, pool.shape[1]))])
        matrix = sp.hstack([top, sigma, pool]).tocsc()
        n_cols = matrix.shape[1]
        lower = np.concatenate([np.zeros(n), np.ones(g), np.full(k * n, -np.inf)])
        upper = np.concatenate([np.zeros(n), np.ones(g), np.full(k * n, np.inf)])
        col_upper = np.concatenate([np.ones(n), [np.inf], np.full(n_cols - n - 1, np.inf)])
        self.h = build_highs(np.zeros(n_cols), matrix, lower, upper, col_lower=0.0,
                             col_upper=col_upper)
        self.n_pool = pricer.size
        self.profile: IntArray | None = None

    def sync(self) -> None:
        """Append the pool's new columns to the model."""
        if self.pricer.size == self.n_pool:
            return
        cols = self.pricer.columns(self.n_pool)
        m = cols.shape[1]
        self.h.addCols(m, np.zeros(m), np.zeros(m), np.full(m, np.inf), cols.nnz,
                       cols.indptr[:-1].astype(np.int32), cols.indices.astype(np.int32),
                       cols.data)
        self.n_pool = self.pricer.size

    def target(self, profile: IntArray) -> None:
        """Make type ``k`` attack ``profile[k]``."""
        n, g, h = self.n, self.g, self.h
        for kk in range(self.k):
            base = n + g + kk * n
            old = -1 if self.profile is None else int(self.profile[kk])
            new = int(profile[kk])
            if old == new:
                continue
            da = self.delta_a[kk]
            if old >= 0:
                for t in range(n):
                    h.changeCoeff(base + t, old, -da[old] if t == old else 0.0)
            for t in range(n):
                h.changeCoeff(base + t, new, 0.0 if t == new else da[new])
            hi = self.au[kk, new] - self.au[kk]
            hi[new] = np.inf
            h.changeRowsBounds(n, np.arange(base, base + n, dtype=np.int32),  # type: ignore[attr-defined]
                               np.full(n, -np.inf), hi)
        self.profile = np.array(profile, dtype=np.int64)

    def phase(self, one: bool) -> None:
        h, n = self.h, self.n
        assert self.profile is not None
        for t in range(n):
            h.changeColCost(t, 0.0)
        if one:
            h.changeColCost(n, 1.0)
            h.changeColBounds(n, 0.0, np.inf)
            return
        h.changeColCost(n, 0.0)
        h.changeColBounds(n, 0.0, 0.0)
        cost = np.zeros(n)
        for kk, t in enumerate(self.profile):
            cost[t] -= self.priors[kk] * self.delta_d[kk, t]
        for j in np.flatnonzero(cost).tolist():
            h.changeColCost(j, float(cost[j]))

    def offset(self) -> float:
        assert self.profile is not None
        return float(sum(self.priors[kk] * self.du[kk, t] for kk, t in enumerate(self.profile)))

    def solve(self) -> tuple[float, FloatArray, FloatArray]:
        """Objective (min form), pool weights and row duals of the restricted master."""
        left = self.pricer.limits.remaining()
        self.h.setOptionValue("time_limit", math.inf if left is None else left)
        res = run_highs(self.h, what="schedule master LP")
        if not res.optimal:
            raise _LimitReached
        return res.objective, res.x[self.n + 1:], res.row_duals


@dataclass
class _Search:
    """Incumbent and open bounds of a multiple-LP search over attack profiles."""

    value: float = -math.inf
    profile: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    x: FloatArray = field(default_factory=lambda: np.zeros(0))
    open_bound: float = -math.inf
    finished: bool = False


def _search_profiles(sgame: ScheduleGame, pricer: _Pricer, limits: _Limits,
                     search: _Search) -> None:
    """Exact multiple LPs by column generation over attack profiles, best bound first.

    Updates `search` in place; on a limit it leaves ``finished=False`` and the largest
    bound still open in ``open_bound``.
    """
    game = sgame.game
    scale = _scale(game)
    tol = _PRICE_TOL * scale
    feas_tol = 1e-9 * scale
    per_type = [_relaxed_bounds(sgame, pricer, kk) for kk in range(game.n_types)]
    candidates = [np.flatnonzero(np.isfinite(b)) for b in per_type]
    grids = np.meshgrid(*candidates, indexing="ij")
    profiles = np.stack([gr.reshape(-1) for gr in grids], axis=1)
    bounds = sum(game.priors[kk] * per_type[kk][profiles[:, kk]] for kk in range(game.n_types))
    order = np.argsort(-bounds, kind="stable")
    profiles, bounds = profiles[order], np.asarray(bounds)[order]
    master = _ProfileMaster(sgame, pricer)
    search.open_bound = float(bounds[0]) if bounds.size else -math.inf
    for i, profile in enumerate(profiles):
        search.open_bound = float(bounds[i])
        if bounds[i] <= search.value + tol:
            break
        master.target(profile)
        master.phase(True)
        feasible = False
        while True:
            limits.tick()
            sigma, _, duals = master.solve()
            if sigma <= feas_tol:
                feasible = True
                break
            added, gain = pricer.price(duals, tol)
            if sigma - gain > feas_tol or not added:
                break
            master.sync()
        if not feasible:
            continue
        master.phase(False)
        bound = float(bounds[i])
        while True:
            limits.tick()
            try:
                obj, x, duals = master.solve()
            except InfeasibleError:  # phase 1 left a slack within tolerance only
                break
            value = master.offset() - obj
            if value > search.value:
                search.value, search.profile, search.x = value, profile.copy(), x.copy()
            added, gain = pricer.price(duals, tol)
            bound = min(bound, value + gain)
            search.open_bound = max(bound, float(bounds[i + 1]) if i + 1 < bounds.size
                                    else -math.inf)
            if bound <= search.value + tol or not added:
                break
            master.sync()
    search.open_bound = -math.inf
    search.finished = True


def _solve_single(sgame: ScheduleGame, pricer: _Pricer, limits: _Limits,
                  start: float) -> ScheduleEquilibrium:
    search = _Search()
    try:
        _search_profiles(sgame, pricer, limits, search)
    except _LimitReached:
        pass
    if search.profile.size == 0:
        msg = ("schedule solver reached its limit before finding any strategy; raise "
               "`time_limit` or `max_iterations`") if not search.finished else (
               "schedule game has no feasible strategy (HiGHS proved every attacked target "
               "infeasible), which cannot happen for a valid game")
        raise SolverError(msg)
    gap = 0.0 if search.finished else max(0.0, search.open_bound - search.value)
    return _result(sgame, pricer, search.x, search.profile, search.finished, gap, limits,
                   start, "schedules-cg")


def _result(sgame: ScheduleGame, pricer: _Pricer, x: FloatArray, attacked: IntArray,
            optimal: bool, gap: float, limits: _Limits, start: float,
            method: str) -> ScheduleEquilibrium:
    game = sgame.game
    x = np.clip(x[:pricer.size], 0.0, None)
    groups = np.array(pricer.col_group[:x.size], dtype=np.int64)
    totals = np.bincount(groups, weights=x, minlength=game.n_groups)
    keep = np.flatnonzero(x > 1e-12)
    probs = x[keep] / totals[groups[keep]]
    joint = tuple(pricer.col_schedules[j] for j in keep)
    coverage = pricer.coverage(np.bincount(keep, weights=probs,
                                           minlength=pricer.size).astype(np.float64))
    ud = game.defender_payoffs(coverage)
    ua = game.attacker_payoffs(coverage)
    types = np.arange(game.n_types)
    return ScheduleEquilibrium(
        coverage=coverage,
        defender_utility=float(np.sum(game.priors * ud[types, attacked])),
        attacked=attacked.astype(np.int64),
        attacker_utility=ua[types, attacked],
        method=method,
        optimal=optimal,
        gap=gap,
        seconds=time.perf_counter() - start,
        joint_schedules=joint,
        joint_groups=groups[keep],
        probabilities=probs,
        iterations=limits.iterations,
        columns=pricer.size,
    )
