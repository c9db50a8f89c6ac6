"""Column generation for presence games: the pool of joint assignments, slot-wise
pricing and the restricted master LPs (`citywatch.games.schedules.presence`)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._highs import build_highs, run_highs
from citywatch.errors import SolverError
from citywatch.model.game import SecurityGame

if TYPE_CHECKING:
    from citywatch.games.schedules.presence import PresenceGame

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Reduced costs and bounds are compared with this times the payoff scale.
_PRICE_TOL = 1e-7




class _LimitReached(Exception):
    """The wall-clock safety net was reached."""


@dataclass
class _Group:
    group: int
    teams: int
    schedules: IntArray          # global schedule indices
    targets: IntArray            # global targets of the group
    local: sp.csr_array          # (schedules, targets) shares within the group
    stops: sp.csr_array          # 0/1 pattern of `local`


class _Pool:
    """Joint assignments found so far (shared by every master) and slot-wise pricing."""

    def __init__(self, pgame: PresenceGame, deadline: float) -> None:
        game = pgame.game
        self.pgame = pgame
        self.deadline = deadline
        self.n = game.n_targets
        self.n_groups = game.n_groups
        self.groups: list[_Group] = []
        f = pgame.presence
        for g in range(game.n_groups):
            scheds = np.flatnonzero(pgame.schedule_groups == g).astype(np.int64)
            targets = np.flatnonzero(game.groups == g).astype(np.int64)
            index = np.full(self.n, -1, dtype=np.int64)
            index[targets] = np.arange(targets.size)
            sub = f[scheds]
            local = sp.csr_array((sub.data, index[sub.indices], sub.indptr),
                                 shape=(scheds.size, targets.size))
            stops = sp.csr_array((np.ones(local.nnz), local.indices, local.indptr),
                                 shape=local.shape)
            self.groups.append(_Group(g, int(game.resources[g]), scheds, targets, local, stops))
        self.col_group: list[int] = []
        self.col_schedules: list[tuple[int, ...]] = []
        self.col_rows: list[IntArray] = []
        self.col_vals: list[FloatArray] = []
        self._keys: set[tuple[int, tuple[int, ...]]] = set()
        self.milp_seconds = 0.0
        self.milps = 0
        self._fix_teams()

    def _fix_teams(self) -> None:
        """Teams per group: as many as site-disjoint schedules allow (greedy, then MILP)."""
        for d in self.groups:
            if d.teams <= 0 or d.schedules.size == 0:
                d.teams = 0
                continue
            picks = self._greedy(d, np.ones(d.schedules.size), d.teams)
            if picks.size < d.teams:
                d.teams = self._max_packing(d, d.teams)

    @property
    def teams(self) -> IntArray:
        return np.array([d.teams for d in self.groups], dtype=np.int64)

    @property
    def size(self) -> int:
        return len(self.col_group)

    def add(self, g: int, local_picks: IntArray) -> bool:
        d = self.groups[g]
        chosen = tuple(sorted(int(s) for s in d.schedules[local_picks]))
        key = (g, chosen)
        if key in self._keys:
            return False
        self._keys.add(key)
        sub = d.local[np.sort(local_picks)]
        rows = d.targets[sub.indices]
        order = np.argsort(rows, kind="stable")
        self.col_group.append(g)
        self.col_schedules.append(chosen)
        self.col_rows.append(rows[order].astype(np.int64))
        self.col_vals.append(np.asarray(sub.data[order], dtype=np.float64))
        return True

    def matrix(self, first: int) -> sp.csc_array:
        """Link rows (``-a_J``) and convexity rows (1) of pool columns from `first` on."""
        rows: list[IntArray] = []
        vals: list[FloatArray] = []
        ptr = [0]
        for j in range(first, self.size):
            rows += [self.col_rows[j], np.array([self.n + self.col_group[j]])]
            vals += [-self.col_vals[j], np.ones(1)]
            ptr.append(ptr[-1] + self.col_rows[j].size + 1)
        if len(ptr) == 1:
            return sp.csc_array((self.n + self.n_groups, 0))
        return sp.csc_array((np.concatenate(vals), np.concatenate(rows).astype(np.int64),
                             np.array(ptr)), shape=(self.n + self.n_groups, len(ptr) - 1))

    def coverage(self, x: FloatArray) -> FloatArray:
        c = np.zeros(self.n)
        for j in np.flatnonzero(x > 0):
            c[self.col_rows[j]] += x[j] * self.col_vals[j]
        return c

    @staticmethod
    def _greedy(d: _Group, values: FloatArray, teams: int) -> IntArray:
        """Site-disjoint schedules by decreasing value (exactly `teams` when possible)."""
        used = np.zeros(d.targets.size, dtype=bool)
        picks: list[int] = []
        for s in np.argsort(-values, kind="stable"):
            own = d.stops.indices[d.stops.indptr[s]:d.stops.indptr[s + 1]]
            if used[own].any():
                continue
            used[own] = True
            picks.append(int(s))
            if len(picks) == teams:
                break
        return np.array(picks, dtype=np.int64)

    def _max_packing(self, d: _Group, cap: int) -> int:
        n_s = d.schedules.size
        matrix = sp.vstack([sp.csr_array(np.ones((1, n_s))), d.stops.T.tocsr()]).tocsc()
        h = build_highs(-np.ones(n_s), matrix, np.full(matrix.shape[0], -np.inf),
                        np.concatenate([[float(cap)], np.ones(d.targets.size)]),
                        col_lower=0.0, col_upper=1.0, integrality=np.ones(n_s))
        res = run_highs(h, what="largest site-disjoint set of beats")
        return int(round(-res.objective))

    def seed(self, weights: Sequence[FloatArray]) -> None:
        """Start each group with greedy packings for the given target weights."""
        for d in self.groups:
            if d.teams == 0:
                continue
            for w in weights:
                self.add(d.group, self._greedy(d, d.local @ w[d.targets], d.teams))

    def price(self, duals: FloatArray, tol: float, *, exact: bool
              ) -> tuple[int, float]:
        """Add improving columns; return how many and (with `exact`) the total gain bound.

        Without `exact` only the greedy runs and the bound is ``inf``.
        """
        added = 0
        total = 0.0
        for d in self.groups:
            if d.teams == 0:
                continue
            w = -duals[d.targets]
            threshold = -duals[self.n + d.group]
            values = d.local @ w
            picks = self._greedy(d, values, d.teams)
            best = float(values[picks].sum())
            if picks.size == d.teams and best > threshold + tol and self.add(d.group, picks):
                added += 1
                continue
            if not exact:
                continue
            picks, best, bound = self._milp(d, values, picks)
            if best > threshold + tol and self.add(d.group, picks):
                added += 1
            total += max(0.0, bound - threshold)
        return added, (total if exact else math.inf)

    def _milp(self, d: _Group, values: FloatArray, warm: IntArray
              ) -> tuple[IntArray, float, float]:
        """Exact pricing: the best `teams` site-disjoint schedules (HiGHS, warm-started)."""
        left = self.deadline - time.perf_counter()
        if left <= 0:
            raise _LimitReached
        n_s = d.schedules.size
        matrix = sp.vstack([sp.csr_array(np.ones((1, n_s))), d.stops.T.tocsr()]).tocsc()
        lower = np.concatenate([[float(d.teams)], np.full(d.targets.size, -np.inf)])
        upper = np.concatenate([[float(d.teams)], np.ones(d.targets.size)])
        h = build_highs(values, matrix, lower, upper, col_lower=0.0, col_upper=1.0,
                        integrality=np.ones(n_s), maximize=True, mip_rel_gap=0.0,
                        time_limit=None if math.isinf(left) else left)
        scale = max(1.0, float(np.abs(values).max()))
        h.setOptionValue("mip_abs_gap", 1e-9 * scale)
        h.setOptionValue("random_seed", 0)
        if warm.size == d.teams:
            start = np.zeros(n_s)
            start[warm] = 1.0
            h.setSolution(n_s, np.arange(n_s, dtype=np.int32), start)
        t0 = time.perf_counter()
        try:
            res = run_highs(h, what="beat pricing MILP")
        except SolverError:
            if time.perf_counter() >= self.deadline - 1e-3:
                raise _LimitReached from None
            raise
        self.milp_seconds += time.perf_counter() - t0
        self.milps += 1
        if not res.optimal:
            raise _LimitReached
        picks = np.flatnonzero(res.x > 0.5).astype(np.int64)
        return picks, float(values[picks].sum()), float(res.bound)


def _scale(game: SecurityGame) -> float:
    return max(1.0, float(max(np.abs(a).max() for a in (
        game.defender_covered, game.defender_uncovered,
        game.attacker_covered, game.attacker_uncovered))))


class _Master:
    """Restricted master LP over the pool: minimax (``target=None``) or one target's LP.

    Columns: ``c`` (N), ``u`` (1), pool. Rows: link (N), convexity (G), attacker (N).
    Minimax: ``-Da_t c_t - u <= -A_t``, minimise ``u``. Target ``t*``:
    ``-Da_t c_t + Da_t* c_t* <= A_t* - A_t`` (t != t*), maximise ``Dd_t* c_t*``.
    """

    def __init__(self, game: SecurityGame, pool: _Pool, k: int | None,
                 target: int | None, priors: FloatArray | None = None) -> None:
        n, g = game.n_targets, game.n_groups
        self.n, self.pool, self.target = n, pool, target
        if k is None:  # prior-weighted minimax over every type: one u per type
            assert priors is not None
            types = list(range(game.n_types))
        else:
            types = [k]
        n_u = len(types)
        blocks_c, blocks_u, lo, hi = [], [], [], []
        for j, kk in enumerate(types):
            da = game.attacker_uncovered[kk] - game.attacker_covered[kk]
            au = game.attacker_uncovered[kk]
            if target is None:
                blocks_c.append(sp.diags_array(-da).tocsc())
                blocks_u.append(sp.csc_array((-np.ones(n), (np.arange(n), np.full(n, j))),
                                             shape=(n, n_u)))
                lo.append(np.full(n, -np.inf))
                hi.append(-au)
            else:
                t = target
                m = sp.diags_array(-da).tolil()
                m[:, t] = da[t]
                m[t, t] = 0.0
                blocks_c.append(sp.csc_array(m))
                blocks_u.append(sp.csc_array((n, n_u)))
                up = au[t] - au
                up[t] = np.inf
                lo.append(np.full(n, -np.inf))
                hi.append(up)
        # Target LPs get an elastic slack on the attacker rows (phase 1 by a big M), so a
        # restricted pool that cannot yet make t* the best response still prices.
        n_s = 0 if target is None else 1
        slack = sp.csc_array((-np.ones(n), (np.arange(n), np.zeros(n, dtype=np.int64))),
                             shape=(n, n_s)) if n_s else sp.csc_array((n * n_u, 0))
        att = sp.hstack([sp.vstack(blocks_c), sp.vstack(blocks_u), slack])
        top = sp.hstack([sp.identity(n, format="csc"), sp.csc_array((n, n_u + n_s))])
        conv = sp.csc_array((g, n + n_u + n_s))
        base = sp.vstack([top, conv, att]).tocsc()
        n_rows = base.shape[0]
        pool_m = pool.matrix(0)
        pool_m = sp.vstack([pool_m, sp.csc_array((n_rows - n - g, pool_m.shape[1]))])
        matrix = sp.hstack([base, pool_m]).tocsc()
        self.n_u = n_u
        self.slack = n + n_u if n_s else -1
        cost = np.zeros(matrix.shape[1])
        if n_s:
            cost[self.slack] = 1e4 * _scale(game)
        if target is None:
            w = np.ones(n_u) if k is not None else np.asarray(priors, dtype=np.float64)
            cost[n:n + n_u] = w
            self.sign = 1.0
            offset = 0.0
        else:
            kk = types[0]
            dd = game.defender_covered[kk] - game.defender_uncovered[kk]
            cost[target] = -dd[target]
            self.sign = -1.0
            offset = -float(game.defender_uncovered[kk, target])
        row_lo = np.concatenate([np.zeros(n), np.ones(g), *lo])
        row_hi = np.concatenate([np.zeros(n), np.ones(g), *hi])
        col_lo = np.concatenate([np.zeros(n), np.full(n_u, -np.inf), np.zeros(n_s),
                                 np.zeros(pool_m.shape[1])])
        col_hi = np.concatenate([np.ones(n), np.full(n_u, np.inf), np.full(n_s, np.inf),
                                 np.full(pool_m.shape[1], np.inf)])
        self.h = build_highs(cost, matrix, row_lo, row_hi, col_lower=col_lo, col_upper=col_hi,
                             offset=offset)
        self.h.setOptionValue("random_seed", 0)
        self.first_pool = n + n_u + n_s
        self.last_slack = 0.0
        self.n_pool = pool.size

    def sync(self) -> None:
        if self.pool.size == self.n_pool:
            return
        cols = self.pool.matrix(self.n_pool)
        m = cols.shape[1]
        self.h.addCols(m, np.zeros(m), np.zeros(m), np.full(m, np.inf), cols.nnz,
                       cols.indptr[:-1].astype(np.int32), cols.indices.astype(np.int32),
                       cols.data)
        self.n_pool = self.pool.size

    def solve(self, deadline: float) -> tuple[float, FloatArray, FloatArray]:
        """Objective (min form), pool weights and row duals."""
        left = deadline - time.perf_counter()
        if left <= 0:
            raise _LimitReached
        self.h.setOptionValue("time_limit", math.inf if math.isinf(left) else left)
        try:
            res = run_highs(self.h, what="beat master LP")
        except SolverError:
            if time.perf_counter() >= deadline - 1e-3:
                raise _LimitReached from None
            raise
        if not res.optimal:
            raise _LimitReached
        self.last_slack = float(res.x[self.slack]) if self.slack >= 0 else 0.0
        return res.objective, res.x[self.first_pool:], res.row_duals

    def generate(self, deadline: float, tol: float, *, stop_gap: float = 0.0,
                 stats: dict[str, float] | None = None) -> tuple[float, float, FloatArray]:
        """Column generation to a proven optimum (min form) within `stop_gap`.

        Returns the last master value, the proven lower bound and the pool weights.
        """
        lower = -math.inf
        while True:
            value, x, duals = self.solve(deadline)
            if stats is not None:
                stats["master solves"] = stats.get("master solves", 0) + 1
            added, _ = self.pool.price(duals, tol, exact=False)
            if added:
                self.sync()
                continue
            added, gain = self.pool.price(duals, tol, exact=True)
            lower = max(lower, value - gain)
            if not added or value - lower <= max(tol, stop_gap):
                return value, lower, x
            self.sync()

