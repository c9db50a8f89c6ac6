r"""The shared column pool of joint schedules and the per-group pricing problems.

Pricing for group :math:`g` with link duals :math:`\pi` is a weighted maximum-coverage
problem with weights :math:`w = -\pi`: choose :math:`B_g` distinct schedules maximising
the weight of the targets they cover. Three greedy + one-swap columns are tried first;
only when none improves is the exact MILP (HiGHS) solved, whose dual bound proves that
no column improves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._highs import build_highs, run_highs
from citywatch.games.schedules.game import ScheduleGame
from citywatch.model.game import SecurityGame

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Reduced costs, bounds and prunes are compared with this times the payoff scale; it sits
# above HiGHS's default dual feasibility tolerance (1e-7) so that column generation does
# not chase numerical noise.
_PRICE_TOL = 1e-7
_RANDOM_COLUMNS = 4
_GREEDY_STARTS = 3  # heuristic columns priced per group and round


class _LimitReached(Exception):
    """Raised inside the solver when the time or iteration limit is reached."""


class _Limits:
    def __init__(self, start: float, time_limit: float | None,
                 max_iterations: int | None) -> None:
        self.deadline = math.inf if time_limit is None else start + time_limit
        self.max_iterations = max_iterations
        self.iterations = 0

    def tick(self) -> None:
        """Count one master solve; raise when a limit is reached."""
        if time.perf_counter() >= self.deadline:
            raise _LimitReached
        if self.max_iterations is not None and self.iterations >= self.max_iterations:
            raise _LimitReached
        self.iterations += 1

    def remaining(self) -> float | None:
        if math.isinf(self.deadline):
            return None
        left = self.deadline - time.perf_counter()
        if left <= 0:
            raise _LimitReached
        return left


@dataclass
class _GroupData:
    group: int
    teams: int
    schedules: IntArray        # global schedule indices
    targets: IntArray          # global target indices of the group
    local: sp.csr_array        # (schedules, targets) incidence within the group


class _Pricer:
    """The shared column pool and the per-group pricing problems."""

    def __init__(self, sgame: ScheduleGame, limits: _Limits) -> None:
        self.sgame = sgame
        self.limits = limits
        game = sgame.game
        n = game.n_targets
        self.n_targets = n
        self.n_groups = game.n_groups
        teams = sgame.teams()
        self.data: list[_GroupData] = []
        for g in range(game.n_groups):
            scheds = np.flatnonzero(sgame.schedule_groups == g).astype(np.int64)
            targets = np.flatnonzero(game.groups == g).astype(np.int64)
            local_index = np.full(n, -1, dtype=np.int64)
            local_index[targets] = np.arange(targets.size)
            sub = sgame.incidence[scheds]
            local = sp.csr_array((sub.data, local_index[sub.indices], sub.indptr),
                                 shape=(scheds.size, targets.size))
            self.data.append(_GroupData(g, int(teams[g]), scheds, targets, local))
        self.col_group: list[int] = []
        self.col_schedules: list[tuple[int, ...]] = []
        self.col_targets: list[IntArray] = []
        self._keys: set[tuple[int, bytes]] = set()
        self.abs_gap = 1e-9

    @property
    def size(self) -> int:
        return len(self.col_group)

    def add(self, g: int, chosen_local: IntArray) -> bool:
        """Add the joint schedule of group `g` made of local schedules; False if known."""
        d = self.data[g]
        chosen = np.sort(d.schedules[chosen_local])
        covered_local = np.unique(d.local[np.sort(chosen_local)].indices)
        targets = d.targets[covered_local]
        key = (g, targets.tobytes())
        if key in self._keys:
            return False
        self._keys.add(key)
        self.col_group.append(g)
        self.col_schedules.append(tuple(int(s) for s in chosen))
        self.col_targets.append(targets)
        return True

    def add_global(self, g: int, schedules: Sequence[int]) -> bool:
        d = self.data[g]
        lookup = {int(s): i for i, s in enumerate(d.schedules)}
        return self.add(g, np.array([lookup[int(s)] for s in schedules], dtype=np.int64))

    def seed_pool(self, rng: np.random.Generator) -> None:
        """Start each group with a greedy maximum-coverage column and a few random ones."""
        for d in self.data:
            n_s = d.schedules.size
            if d.teams == 0 or d.teams == n_s:
                self.add(d.group, np.arange(n_s if d.teams else 0, dtype=np.int64))
                continue
            self.add(d.group, self._greedy(d, np.ones(d.targets.size)))
            for _ in range(_RANDOM_COLUMNS):
                self.add(d.group, rng.choice(n_s, size=d.teams, replace=False).astype(np.int64))

    def columns(self, first: int) -> sp.csc_array:
        """Link and convexity coefficients of pool columns from `first` on.

        Rows ``0..N-1`` carry ``-a_J`` (the link rows), rows ``N..N+G-1`` carry 1 in the
        column's group (the convexity rows).
        """
        rows: list[IntArray] = []
        vals: list[FloatArray] = []
        ptr = [0]
        for j in range(first, self.size):
            t = self.col_targets[j]
            rows.append(t)
            rows.append(np.array([self.n_targets + self.col_group[j]], dtype=np.int64))
            vals.append(-np.ones(t.size))
            vals.append(np.ones(1))
            ptr.append(ptr[-1] + t.size + 1)
        n_cols = self.size - first
        if n_cols == 0:
            return sp.csc_array((self.n_targets + self.n_groups, 0))
        return sp.csc_array((np.concatenate(vals), np.concatenate(rows), np.array(ptr)),
                            shape=(self.n_targets + self.n_groups, n_cols))

    def coverage(self, x: FloatArray) -> FloatArray:
        c = np.zeros(self.n_targets)
        for j, v in enumerate(x):
            c[self.col_targets[j]] += v
        return c

    @staticmethod
    def _firsts(d: _GroupData, w: FloatArray) -> list[int | None]:
        """Opening schedules for several greedy columns: the plain greedy and the runners-up."""
        gains = d.local @ w
        top = np.argsort(-gains, kind="stable")[1:_GREEDY_STARTS].tolist()
        return [None, *top]

    def _greedy(self, d: _GroupData, w: FloatArray, *, first: int | None = None) -> IntArray:
        covered = np.zeros(d.targets.size, dtype=bool)
        chosen = np.zeros(d.schedules.size, dtype=bool)
        picks: list[int] = []
        for i in range(d.teams):
            gains = d.local @ np.where(covered, 0.0, w)
            gains[chosen] = -np.inf
            s = int(np.argmax(gains)) if first is None or i else first
            picks.append(s)
            chosen[s] = True
            covered[d.local.indices[d.local.indptr[s]:d.local.indptr[s + 1]]] = True
        return np.array(picks, dtype=np.int64)

    def price(self, duals: FloatArray, tol: float) -> tuple[int, float]:
        """Add improving columns for the duals of the link and convexity rows.

        Returns the number of columns added and an upper bound on the total positive
        gain ``sum_g max(0, max_J w.a_J + mu_g)`` (``inf`` when only the heuristic ran).
        """
        n = self.n_targets
        added = 0
        for d in self.data:
            if d.teams in (0, d.schedules.size):
                continue
            w = -duals[d.targets]
            threshold = -duals[n + d.group]
            for first in self._firsts(d, w):
                picks = self._improve(d, w, self._greedy(d, w, first=first))
                value = self._value(d, w, picks)
                if value > threshold + tol and self.add(d.group, picks):
                    added += 1
        if added:
            return added, math.inf
        total = 0.0
        for d in self.data:
            if d.teams in (0, d.schedules.size):
                continue
            w = -duals[d.targets]
            threshold = -duals[n + d.group]
            picks, value, bound = self._milp(d, w, self._improve(d, w, self._greedy(d, w)))
            if value > threshold + tol and self.add(d.group, picks):
                added += 1
            total += max(0.0, bound - threshold)
        return added, total

    @staticmethod
    def _improve(d: _GroupData, w: FloatArray, picks: IntArray) -> IntArray:
        """One-swap local search on a joint schedule (two passes at most)."""
        picks = picks.copy()
        counts = np.bincount(d.local[picks].indices, minlength=d.targets.size)
        for _ in range(2):
            improved = False
            for i in range(picks.size):
                s = picks[i]
                own = d.local.indices[d.local.indptr[s]:d.local.indptr[s + 1]]
                counts[own] -= 1
                gains = d.local @ np.where(counts > 0, 0.0, w)
                gains[picks] = -np.inf
                best = int(np.argmax(gains))
                current = float(w[own][counts[own] == 0].sum())
                if gains[best] > current + 1e-12 * (1.0 + abs(current)):
                    picks[i] = best
                    own = d.local.indices[d.local.indptr[best]:d.local.indptr[best + 1]]
                    improved = True
                counts[own] += 1
            if not improved:
                break
        return picks

    @staticmethod
    def _value(d: _GroupData, w: FloatArray, picks: IntArray) -> float:
        covered = np.unique(d.local[np.sort(picks)].indices)
        return float(w[covered].sum())

    def _milp(self, d: _GroupData, w: FloatArray,
              warm: IntArray) -> tuple[IntArray, float, float]:
        n_s, n_t = d.schedules.size, d.targets.size
        cover = d.local.T.tocsr()  # (targets, schedules)
        pos = np.flatnonzero(w > 0)
        neg = np.flatnonzero(w < 0)
        blocks: list[sp.csr_array] = [
            sp.hstack([sp.csr_array(np.ones((1, n_s))), sp.csr_array((1, n_t))]).tocsr()]
        lower: list[FloatArray] = [np.array([float(d.teams)])]
        upper: list[FloatArray] = [np.array([float(d.teams)])]
        if pos.size:
            y = sp.csr_array((np.ones(pos.size), (np.arange(pos.size), pos)),
                             shape=(pos.size, n_t))
            blocks.append(sp.hstack([-cover[pos], y]).tocsr())
            lower.append(np.full(pos.size, -np.inf))
            upper.append(np.zeros(pos.size))
        if neg.size:
            sub = cover[neg].tocoo()
            m = sub.nnz
            z = sp.csr_array((-np.ones(m), (np.arange(m), sub.col)), shape=(m, n_s))
            y = sp.csr_array((np.ones(m), (np.arange(m), neg[sub.row])), shape=(m, n_t))
            blocks.append(sp.hstack([z, y]).tocsr())
            lower.append(np.zeros(m))
            upper.append(np.full(m, np.inf))
        matrix = sp.vstack(blocks).tocsc()
        y_upper = np.where(w != 0, 1.0, 0.0)
        h = build_highs(np.concatenate([np.zeros(n_s), w]), matrix,
                        np.concatenate(lower), np.concatenate(upper),
                        col_lower=0.0, col_upper=np.concatenate([np.ones(n_s), y_upper]),
                        integrality=np.concatenate([np.ones(n_s), np.zeros(n_t)]),
                        maximize=True, mip_rel_gap=0.0, time_limit=self.limits.remaining())
        h.setOptionValue("mip_abs_gap", self.abs_gap)
        start = np.zeros(n_s + n_t)
        start[warm] = 1.0
        covered = np.zeros(n_t, dtype=bool)
        covered[d.local[np.sort(warm)].indices] = True
        start[n_s:] = np.where(covered & (w != 0), 1.0, 0.0)
        h.setSolution(start.size, np.arange(start.size, dtype=np.int32), start)
        res = run_highs(h, what="schedule pricing MILP")
        if not res.optimal:
            raise _LimitReached
        picks = np.flatnonzero(res.x[:n_s] > 0.5).astype(np.int64)
        if picks.size != d.teams:  # rounding noise: fall back to the top values
            picks = np.argsort(-res.x[:n_s])[:d.teams].astype(np.int64)
        return picks, self._value(d, w, picks), float(res.bound)


def _scale(game: SecurityGame) -> float:
    return max(1.0, float(max(np.abs(a).max() for a in (
        game.defender_covered, game.defender_uncovered,
        game.attacker_covered, game.attacker_uncovered))))
