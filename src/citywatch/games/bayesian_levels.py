r"""Bayesian Strong Stackelberg equilibria by branch and bound over the attackers' levels.

Let :math:`v_k` be attacker type :math:`k`'s level, its utility at its best response.
Whatever the coverage :math:`c`, every target obeys :math:`A^u_{kt} - \Delta^a_{kt} c_t
\le v_k`, and the target :math:`t` type :math:`k` attacks sits exactly at the level, so
:math:`c_t = h_{kt}(v_k) = (A^u_{kt} - v_k) / \Delta^a_{kt}` and the defender gets

.. math::

    \ell_{kt}(v_k) = D^u_{kt} + \Delta^d_{kt}\, h_{kt}(v_k), \qquad
    v_k \in [A^c_{kt}, A^u_{kt}],

a decreasing linear piece. The defender's value against type :math:`k` is therefore at
most :math:`g_k(v_k) = \max_t \ell_{kt}(v_k)` over the targets whose piece is defined at
:math:`v_k`, and an upper bound on the Bayesian value over a box
:math:`v \in [lo, hi]` is the *level LP*

.. math::

    \max_{c, v, d} \sum_k p_k d_k \quad\text{s.t.}\quad
    \Delta^a_{kt} c_t + v_k \ge A^u_{kt}\ \forall k, t, \qquad
    \textstyle\sum_{t \in g} c_t \le B_g\ \forall g, \qquad
    d_k \le \hat g_k(v_k), \qquad lo \le v \le hi,

plus any policy rows on :math:`c`, where :math:`\hat g_k` is the concave envelope of
:math:`g_k` on :math:`[lo_k, hi_k]` (LP rows, one per facet of the upper hull of the
pieces' end points). The budgets couple the types exactly where the trivial bound
:math:`\sum_k p_k \mathrm{SSE}_k` ignores them: every type cannot be held at its minimax
level at once. In a box, a target :math:`t` can only be type :math:`k`'s best response
if :math:`h_{kt}(v_k)` reaches the coverage the other types force on :math:`t`
(:math:`\max_{k' \ne k} h_{k't}(hi_{k'})`), which shortens its piece; at a point
:math:`v` this test is exact, and without policy rows the minimal coverage
:math:`m_t(v) = \max_k h^+_{kt}(v_k)` attains the bound (any optimal coverage can be
lowered to :math:`m(v)` without changing an attacked target), so the bound closes as
boxes shrink.

The search is best-first over boxes (ties by creation order: deterministic). A node's LP
solution :math:`v^*` gives an incumbent (coverage :math:`m(v^*)` and the LP's own
coverage, each re-solved as the profile LP of the attack profile it induces). Where
the bound overstates the value at :math:`v^*` decides the branching. If type
:math:`k`'s envelope overstates it most, the box is split on :math:`v_k` at
:math:`v^*_k`. If the box's dominance test does (another type's box top forces too
little on the target :math:`t` that gives :math:`k` its value), the node branches on
the attack itself (once the box split that would tighten the test is narrower than a
tenth of the attacker's span): type :math:`k` attacks :math:`t` (its level row for :math:`t`
becomes the equality :math:`\Delta^a_{kt} c_t + v_k = A^u_{kt}`, so with the other
types' rows :math:`c_t \ge h_{k't}(v_{k'})` the LP tests dominance exactly, and
:math:`k`'s envelope is that one piece), or it does not (the piece leaves :math:`k`'s
envelope). Splitting boxes alone does not close this: the LP's :math:`v^*` sits on
the box side that keeps the loose test (near-ties made it stall for thousands of
boxes). A node is pruned when its bound does not beat the
incumbent by ``max(atol, rtol * |incumbent - zero|)``, where `zero` is the normalised
value of the original game's zero utility (so `rtol` is relative to the utility the
caller reports). Work is bounded by `node_limit` (deterministic); the
time limit is a safety net.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._highs import build_highs, run_highs, set_limits
from citywatch.errors import InfeasibleError, SolverError
from citywatch.model.game import SecurityGame

__all__ = ["LevelSearch", "level_search"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# The game arrives normalised (each type's attacker payoffs span 1, the defender's span
# at most 1), so these are relative tolerances.
_FLAT = 1e-12
_EPS = 1e-9
# A loose dominance test is branched on the attack once the box split that would tighten
# it is narrower than this (a tenth of the attacker's span); wider, a box split is cheaper.
# On London's default plan game: 0.1 -> 2.1 s CPU; always -> 7.0 s; never -> 2.6 s (and a
# 4.2% stall on (4, 100, 10) covariance, closed in 1.4 s with 0.1).
_ATTACK_BRANCH_WIDTH = 0.1


@dataclass(frozen=True, eq=False)
class LevelSearch:
    """What the level branch and bound proved.

    ``bound`` is the best upper bound on the defender's value (``-inf`` if the search
    proved every box infeasible); ``best`` the best coverage found (``None`` if none);
    ``nodes`` the boxes whose LP was solved; ``complete`` whether the tree was exhausted.
    """

    best: FloatArray | None
    value: float
    bound: float
    nodes: int
    complete: bool
    limit: str | None


@dataclass(order=True)
class _Node:
    key: float  # -bound: heapq pops the largest bound first
    order: int  # creation order: deterministic ties
    lo: FloatArray
    hi: FloatArray
    # (K,) target each type is fixed to attack (-1: free); (K, T) pieces ruled out
    fixed: IntArray
    excluded: BoolArray


class _Pieces:
    """Each type's value pieces l_kt(v) = du + dd (au - v) / da over v in [ac, au]."""

    def __init__(self, game: SecurityGame, attackable: BoolArray) -> None:
        self.au = game.attacker_uncovered
        self.ac = game.attacker_covered
        self.da = self.au - self.ac
        self.du = game.defender_uncovered
        self.dd = game.defender_covered - game.defender_uncovered
        self.attackable = attackable
        self.flat = self.da <= _FLAT
        with np.errstate(divide="ignore", invalid="ignore"):
            self.slope = np.where(self.flat, 0.0, -self.dd / np.where(self.flat, 1.0, self.da))

    def coverage_needed(self, v: FloatArray) -> FloatArray:
        """(K, T): coverage each type needs on each target to stay at or below `v`."""
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(self.flat, 0.0, (self.au - v[:, None]) / np.where(self.flat, 1.0,
                                                                           self.da))
        return np.clip(h, 0.0, None)

    def segments(self, k: int, lo: float, hi: float, forced: FloatArray,
                 mask: BoolArray | None = None, *, targets: bool = False
                 ) -> tuple[FloatArray, ...]:
        """Type `k`'s pieces clipped to [lo, hi] and to the dominance test.

        `forced` (T,) is the coverage the other types force on each target; type `k`
        attacks `t` at level ``v`` only if ``h_kt(v) >= forced[t]``. Returns the
        segments' left and right ends and values there.
        """
        t = np.flatnonzero(self.attackable[k] if mask is None else self.attackable[k] & mask)
        au, ac, da = self.au[k, t], self.ac[k, t], self.da[k, t]
        flat = self.flat[k, t]
        left = np.maximum(lo, np.where(flat, au, ac))
        right = np.minimum(hi, np.where(flat, au, au - da * forced[t]))
        ok = left <= right + _EPS
        t, left, right = t[ok], left[ok], np.maximum(right[ok], left[ok])
        flat = self.flat[k, t]
        du, dd, slope = self.du[k, t], self.dd[k, t], self.slope[k, t]
        au_t = self.au[k, t]
        # a flat target's coverage is free: bound its value by full coverage
        v_left = np.where(flat, du + dd, du + slope * (left - au_t))
        v_right = np.where(flat, du + dd, du + slope * (right - au_t))
        if targets:
            return left, right, v_left, v_right, t.astype(np.float64)
        return left, right, v_left, v_right

    def point_value(self, k: int, v: float, forced: FloatArray,
                    mask: BoolArray | None = None) -> tuple[float, int]:
        """g_k(v) with the dominance test at a point, and its target (``-inf``, -1 if none)."""
        _, _, v_left, _, t = self.segments(k, v, v, forced, mask, targets=True)
        if not v_left.size:
            return -math.inf, -1
        i = int(np.argmax(v_left))
        return float(v_left[i]), int(t[i])


def _upper_hull(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Upper concave hull of points, as vertices with strictly increasing x.

    Points whose x lie within ``_EPS`` of each other (a chain of such gaps) are one
    cluster, replaced by a flat top at the cluster's highest y over its x range: the
    hull stays above every point (an upper bound must) without the near-vertical
    facets, slopes of order 1/``_EPS``, that distinct but nearly equal x would give the
    level LP.
    """
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    px_list: list[float] = []
    py_list: list[float] = []
    start = 0
    for i in range(1, xs.size + 1):
        if i < xs.size and xs[i] <= xs[i - 1] + _EPS:
            continue
        top = float(ys[start:i].max())
        px_list.append(float(xs[start]))
        py_list.append(top)
        if xs[i - 1] > xs[start]:
            px_list.append(float(xs[i - 1]))
            py_list.append(top)
        start = i
    hx: list[float] = []
    hy: list[float] = []
    for px, py in zip(px_list, py_list, strict=True):
        while len(hx) >= 2:
            # drop the middle point if it lies on or below the chord
            cross = (hx[-1] - hx[-2]) * (py - hy[-2]) - (hy[-1] - hy[-2]) * (px - hx[-2])
            if cross >= 0:
                hx.pop()
                hy.pop()
            else:
                break
        hx.append(px)
        hy.append(py)
    return np.array(hx), np.array(hy)


class _Envelope:
    """Concave envelope of g_k on a box side, as LP rows d_k <= a + b v_k."""

    def __init__(self, left: FloatArray, right: FloatArray, v_left: FloatArray,
                 v_right: FloatArray) -> None:
        hx, hy = _upper_hull(np.concatenate((left, right)), np.concatenate((v_left, v_right)))
        self.x, self.y = hx, hy
        self.lo, self.hi = float(hx[0]), float(hx[-1])
        if hx.size >= 2:
            self.slope = np.diff(hy) / np.diff(hx)
            self.intercept = hy[:-1] - self.slope * hx[:-1]
        else:
            self.slope = np.zeros(1)
            self.intercept = hy.copy()

    def __call__(self, v: float) -> float:
        return float(np.interp(v, self.x, self.y))

    @property
    def top(self) -> float:
        return float(self.y.max())


class _LevelLP:
    """The level LP, built once; each box changes v's bounds and the envelope rows."""

    def __init__(self, game: SecurityGame, pieces: _Pieces,
                 extra: tuple[sp.csc_array, FloatArray, FloatArray] | None) -> None:
        n_k, n_t = game.n_types, game.n_targets
        self.n_k, self.n_t = n_k, n_t
        kk, tt = np.nonzero(pieces.attackable & ~pieces.flat)
        m = kk.size
        # row of each (type, target) level constraint; fixing type k to t makes it tight
        self.pair_row = np.full((n_k, n_t), -1, dtype=np.int64)
        self.pair_row[kk, tt] = np.arange(m)
        self.au = pieces.au
        self.pair_lower = pieces.au[kk, tt]
        self.tight: list[int] = []
        # columns: c (T) | v (K) | d (K)
        rows = np.concatenate((np.arange(m), np.arange(m)))
        cols = np.concatenate((tt, n_t + kk))
        vals = np.concatenate((pieces.da[kk, tt], np.ones(m)))
        a = sp.csc_array((vals, (rows, cols)), shape=(m, n_t + 2 * n_k))
        budget = sp.csc_array((np.ones(n_t), (game.groups, np.arange(n_t))),
                              shape=(game.n_groups, n_t + 2 * n_k))
        blocks = [a, budget]
        lower = [pieces.au[kk, tt], np.full(game.n_groups, -np.inf)]
        upper = [np.full(m, np.inf), game.resources.astype(np.float64)]
        if extra is not None:
            blocks.append(sp.hstack([extra[0], sp.csc_array((extra[0].shape[0], 2 * n_k))]))
            lower.append(extra[1])
            upper.append(extra[2])
        matrix = sp.vstack(blocks).tocsc()
        self.n_base = matrix.shape[0]
        cost = np.zeros(n_t + 2 * n_k)
        cost[n_t + n_k:] = game.priors
        self.h: highspy.Highs = build_highs(
            cost, matrix, np.concatenate(lower), np.concatenate(upper),
            col_lower=np.concatenate((np.zeros(n_t), np.zeros(n_k), np.full(n_k, -1e6))),
            col_upper=np.concatenate((np.ones(n_t), np.ones(n_k), np.full(n_k, 1e6))),
            maximize=True)
        self.h.setOptionValue("primal_feasibility_tolerance", 1e-9)
        self.h.setOptionValue("dual_feasibility_tolerance", 1e-9)
        self.n_extra = 0

    def solve(self, lo: FloatArray, hi: FloatArray, envelopes: list[_Envelope],
              deadline: float | None, fixed: IntArray | None = None
              ) -> tuple[float, FloatArray, FloatArray] | None:
        """Bound, coverage and levels of the box, or ``None`` if it is infeasible.

        A type fixed to attack target t gets its level row for t as an equality
        (``c_t = h_kt(v_k)``): with the other types' rows ``c_t >= h_k't(v_k')`` the LP
        then enforces that type's best response exactly."""
        h, n_t, n_k = self.h, self.n_t, self.n_k
        for r in self.tight:
            h.changeRowBounds(int(r), float(self.pair_lower[r]), math.inf)
        self.tight = []
        if fixed is not None:
            for k in np.flatnonzero(fixed >= 0).tolist():
                r = int(self.pair_row[k, fixed[k]])
                if r >= 0:
                    au = float(self.au[k, fixed[k]])
                    h.changeRowBounds(r, au, au)
                    self.tight.append(r)
        if self.n_extra:
            h.deleteRows(self.n_extra, np.arange(self.n_base, self.n_base + self.n_extra,
                                                 dtype=np.int32))
        v_cols = np.arange(n_t, n_t + n_k, dtype=np.int32)
        h.changeColsBounds(n_k, v_cols, lo.astype(np.float64), hi.astype(np.float64))
        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        upper: list[float] = []
        for k, env in enumerate(envelopes):
            for a, b in zip(env.intercept.tolist(), env.slope.tolist(), strict=True):
                starts.append(len(index))
                index += [n_t + k, n_t + n_k + k]
                value += [-b, 1.0]
                upper.append(a)
        n_new = len(upper)
        h.addRows(n_new, np.full(n_new, -np.inf), np.array(upper), len(index),
                  np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32),
                  np.array(value))
        self.n_extra = n_new
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError
            set_limits(h, time_limit=left)
        try:
            res = run_highs(h, what="level LP")
        except InfeasibleError:
            return None
        except SolverError:
            if deadline is not None and time.perf_counter() >= deadline:
                raise TimeoutError from None
            raise
        if not res.optimal:
            if res.limit == "time":
                raise TimeoutError
            msg = f"the level LP stopped with status {res.status}"
            raise SolverError(msg)
        return res.objective, res.x[:n_t], res.x[n_t:n_t + n_k]


def level_search(
    game: SecurityGame,
    attackable: BoolArray,
    low: FloatArray,
    high: FloatArray,
    *,
    incumbent: float,
    improve: object,
    extra: tuple[sp.csc_array, FloatArray, FloatArray] | None = None,
    atol: float = 1e-9,
    rtol: float = 0.0,
    zero: float = 0.0,
    node_limit: int | None = 20_000,
    stall: int | None = None,
    deadline: float | None = None,
) -> LevelSearch:
    """Branch and bound over attacker levels on a normalised game (see the module).

    Parameters
    ----------
    game
        The game, payoffs normalised (each type's attacker payoffs span 1, the
        defender's at most 1).
    attackable, low, high
        Targets each type can ever attack, and each type's least and greatest level.
    incumbent
        Value of the best strategy known (``-inf`` if none).
    improve
        ``improve(coverage) -> (value, coverage) | None``: evaluate a coverage (profile
        LP re-solve); called on each node's candidate coverages.
    extra
        Policy rows on the coverage (matrix, lower, upper).
    atol, rtol, zero
        A box is pruned unless its bound beats the incumbent by
        ``max(atol, rtol * |incumbent - zero|)``: `atol` is absolute on the normalised
        game (a fraction of the defender's payoff span), `rtol` relative to the
        incumbent's distance from `zero`.
    node_limit, deadline
        Work limit (boxes solved) and wall-clock safety net (``time.perf_counter()``).
    stall
        Stop (``limit="stall"``) once this many boxes have not lowered the best bound by
        ``max(atol, 1e-9 |bound - zero|)``: near-ties can keep a bound flat over boxes
        the splits never resolve. A count of boxes: deterministic. ``None``: never.
    """
    def tol(value: float) -> float:
        return max(atol, rtol * abs(value - zero)) if math.isfinite(value) else atol

    pieces = _Pieces(game, attackable)
    lp = _LevelLP(game, pieces, extra)
    n_k = game.n_types
    priors = game.priors
    best_value, best_c = incumbent, None
    heap: list[_Node] = []
    counter = 0
    heapq.heappush(heap, _Node(-math.inf, counter, low.astype(np.float64).copy(),
                               high.astype(np.float64).copy(),
                               np.full(n_k, -1, dtype=np.int64),
                               np.zeros((n_k, game.n_targets), dtype=bool)))
    nodes = 0
    limit: str | None = None
    bound_open = -math.inf  # best bound among nodes dropped by a limit
    # best first: the popped box's bound is the search's; when it last moved, and where
    flat_since, flat_bound = 0, math.inf
    while heap:
        node = heapq.heappop(heap)
        if -node.key <= best_value + tol(best_value):
            heap.clear()
            break
        if node_limit is not None and nodes >= node_limit:
            limit = "nodes"
            heapq.heappush(heap, node)
            break
        if math.isfinite(node.key) and stall is not None:
            if -node.key < flat_bound - max(atol, 1e-9 * abs(flat_bound - zero)):
                flat_since, flat_bound = nodes, -node.key
            elif nodes - flat_since >= stall:
                limit = "stall"
                heapq.heappush(heap, node)
                break
        if deadline is not None and time.perf_counter() >= deadline:
            limit = "time"
            heapq.heappush(heap, node)
            break
        lo, hi = node.lo, node.hi
        masks = ~node.excluded
        for k in np.flatnonzero(node.fixed >= 0).tolist():
            masks[k] = False
            masks[k, node.fixed[k]] = True
        forced_hi = pieces.coverage_needed(hi)  # (K, T) at the box's top: least forcing
        envs: list[_Envelope] = []
        feasible = True
        for k in range(n_k):
            others = np.delete(forced_hi, k, axis=0).max(axis=0) if n_k > 1 else \
                np.zeros(game.n_targets)
            seg = pieces.segments(k, float(lo[k]), float(hi[k]), others, masks[k])
            if seg[0].size == 0:
                feasible = False
                break
            envs.append(_Envelope(*seg))
        if not feasible:
            continue
        lo2 = np.array([max(lo[k], envs[k].lo) for k in range(n_k)])
        hi2 = np.array([min(hi[k], envs[k].hi) for k in range(n_k)])
        quick = float(sum(priors[k] * envs[k].top for k in range(n_k)))
        if quick <= best_value + tol(best_value):
            continue
        try:
            solved = lp.solve(lo2, hi2, envs, deadline, node.fixed)
        except TimeoutError:
            limit = "time"
            heapq.heappush(heap, node)
            break
        nodes += 1
        if solved is None:
            continue
        bound, c_lp, v_star = solved
        bound = min(bound, -node.key) if math.isfinite(node.key) else bound
        if bound <= best_value + tol(best_value):
            continue
        # incumbents: the least coverage holding every type at v*, and the LP's own
        need = pieces.coverage_needed(v_star)
        need[~attackable] = 0.0
        m_v = np.clip(need.max(axis=0), 0.0, 1.0)
        for cand in (m_v, c_lp):
            got = improve(cand)  # type: ignore[operator]
            if got is not None and got[0] > best_value + tol(best_value):
                best_value, best_c = got
        if bound <= best_value + tol(best_value):
            continue
        # where does the bound overstate the value at v*?
        forced_pt = pieces.coverage_needed(v_star)
        env_excess = np.zeros(n_k)
        flt_excess = np.zeros(n_k)
        t_box = np.full(n_k, -1, dtype=np.int64)
        for k in range(n_k):
            box_others = np.delete(forced_hi, k, axis=0).max(axis=0) if n_k > 1 else \
                np.zeros(game.n_targets)
            pt_others = np.delete(forced_pt, k, axis=0).max(axis=0) if n_k > 1 else \
                np.zeros(game.n_targets)
            g_box, t_box[k] = pieces.point_value(k, float(v_star[k]), box_others, masks[k])
            g_pt, _ = pieces.point_value(k, float(v_star[k]), pt_others, masks[k])
            env_excess[k] = priors[k] * (envs[k](float(v_star[k])) - max(g_box, -1e6))
            flt_excess[k] = priors[k] * (max(g_box, -1e6) - max(g_pt, -1e6))
        width = hi2 - lo2
        kf = int(np.argmax(flt_excess))
        rel = np.where(np.arange(n_k) == kf, -1.0, (hi2 - v_star) + 1e-3 * width)
        narrow = width[int(np.argmax(rel))] < _ATTACK_BRANCH_WIDTH
        if flt_excess[kf] > env_excess.max() and node.fixed[kf] < 0 and t_box[kf] >= 0 \
                and narrow:
            # the dominance test is loose for type kf: branch on its attacking t_box
            # (then its level row for t_box is tight and the LP tests dominance exactly)
            # or not (that piece leaves its envelope)
            t = int(t_box[kf])
            fix, excl = node.fixed.copy(), node.excluded.copy()
            fix[kf] = t
            excl[kf, t] = True
            for f, e in ((fix, node.excluded), (node.fixed, excl)):
                counter += 1
                heapq.heappush(heap, _Node(-bound, counter, lo2.copy(), hi2.copy(), f, e))
            continue
        if env_excess.max() >= flt_excess.max():
            k = int(np.argmax(env_excess))
        else:
            # the dominance test is loose: another type's box top forces too little
            kf = int(np.argmax(flt_excess))
            rel = np.where(np.arange(n_k) == kf, -1.0, (hi2 - v_star) + 1e-3 * width)
            k = int(np.argmax(rel))
        if width[k] <= 1e-10:
            k = int(np.argmax(width))
            if width[k] <= 1e-10:
                bound_open = max(bound_open, bound)  # cannot split further
                continue
        split = float(v_star[k])
        if not lo2[k] + 0.01 * width[k] < split < hi2[k] - 0.01 * width[k]:
            split = float(lo2[k] + hi2[k]) / 2
        for a, b in ((lo2[k], split), (split, hi2[k])):
            new_lo, new_hi = lo2.copy(), hi2.copy()
            new_lo[k], new_hi[k] = a, b
            counter += 1
            heapq.heappush(heap, _Node(-bound, counter, new_lo, new_hi, node.fixed,
                                       node.excluded))
    open_bound = max([-n.key for n in heap], default=-math.inf)
    final = max(best_value, open_bound, bound_open)
    return LevelSearch(best=best_c, value=best_value, bound=final, nodes=nodes,
                       complete=not heap and bound_open == -math.inf, limit=limit)
