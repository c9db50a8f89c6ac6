"""ORIGAMI: the exact Strong Stackelberg Equilibrium for one attacker type in O(N log N)."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from citywatch.errors import GameError
from citywatch.games.equilibrium import Equilibrium
from citywatch.model.game import SecurityGame

__all__ = ["origami_group_level", "origami_value", "solve_origami"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Ties in attacker utility and "covering changes nothing" (Δa = 0) are decided relative
# to the payoff scale: |payoffs| ~ 10 gives 1e-8 and 1e-11.
_TIE_TOL = 1e-9
_FLAT_TOL = 1e-12


def solve_origami(game: SecurityGame) -> Equilibrium:
    r"""Exact Strong Stackelberg Equilibrium of a one-type game with per-group budgets.

    ORIGAMI (Kiekintveld et al., AAMAS 2009), generalised to budget groups and solved
    in closed form with sorted breakpoints and prefix sums, O(N log N) and vectorised.

    Write :math:`U^a_u, U^a_c` for the attacker's uncovered and covered payoffs,
    :math:`\Delta^a_t = U^a_{u,t} - U^a_{c,t} \ge 0`, and :math:`B_g` for group
    :math:`g`'s resources. Holding the attacker to utility level :math:`u` needs, in
    group :math:`g`,

    .. math::

        R_g(u) = \sum_{t \in g} \operatorname{clip}\Big(
                 \frac{U^a_{u,t} - u}{\Delta^a_t}, 0, 1\Big)

    coverage. Level :math:`u` is attainable iff :math:`u \ge \max_t U^a_{c,t}` (no
    target can be pushed below its covered payoff) and :math:`R_g(u) \le B_g` for
    every :math:`g`. :math:`R_g` is piecewise linear and non-increasing with
    breakpoints at the :math:`U^a_{u,t}` and :math:`U^a_{c,t}` of its group, so the
    smallest level :math:`u_g^*` with :math:`R_g(u) \le B_g` is found exactly from
    the sorted breakpoints and prefix sums of their slopes, and the smallest
    attainable level is

    .. math::

        u^* = \max\big(\max_t U^a_{c,t},\ \max_g u_g^*\big).

    The attack set is :math:`\Gamma = \{t : U^a_{u,t} \ge u^* - \text{tol}\}`; each
    :math:`t \in \Gamma` gets :math:`c_t = \operatorname{clip}((U^a_{u,t} - u^*) /
    \Delta^a_t, 0, 1)` and, breaking ties in the defender's favour, the attacker hits
    :math:`t^* = \arg\max_{t \in \Gamma} U^d(t, c_t)`.

    *Optimality.* Any feasible coverage :math:`c'` holds the attacker to some level
    :math:`u' \ge u^*`, and its attacked target :math:`t` has
    :math:`U^a(t, c'_t) = u' \ge u^*`, so :math:`t \in \Gamma` and
    :math:`c'_t \le c_t`, hence :math:`U^d(t, c'_t) \le U^d(t, c_t) \le U^d(t^*,
    c_{t^*})`.

    *Targets with* :math:`\Delta^a_t = 0` cannot be pushed down, so
    :math:`U^a_{u,t} \le u^*`; if one is in :math:`\Gamma` the attacker stays
    indifferent however much it is covered, so its candidate coverage is all the
    budget its group has left at :math:`u^*`, :math:`\min(1, B_g - R_g(u^*))` —
    which is exactly the most any :math:`c'` attacked there can give it.

    *Leftover budget.* Operationally every team deploys, so each group's unspent
    budget is then water-filled over its other targets (all but :math:`t^*`): the
    same minimax levelling, lowering their attacker utility from :math:`\le u^*`
    (never below :math:`U^a_c`, never above coverage 1), and any remainder goes to
    :math:`\Delta^a = 0` targets. No target rises above :math:`u^*`, so
    :math:`t^*` stays a best response and the value is unchanged.

    Parameters
    ----------
    game
        A game with exactly one attacker type.

    Returns
    -------
    Equilibrium
        ``method="origami"``, ``optimal=True``, ``gap=0``.

    Raises
    ------
    GameError
        If the game has more than one attacker type.
    """
    start = time.perf_counter()
    if game.n_types != 1:
        msg = (f"ORIGAMI solves games with one attacker type, got `game.n_types` = "
               f"{game.n_types}; use solve_sse(game, method='bayesian')")
        raise GameError(msg)
    au = game.attacker_uncovered[0]
    ac = game.attacker_covered[0]
    dc = game.defender_covered[0]
    du = game.defender_uncovered[0]
    groups = game.groups
    budget = game.resources.astype(np.float64)
    n_groups = game.n_groups

    scale = max(1.0, float(np.abs(au).max()), float(np.abs(ac).max()))
    delta = au - ac
    sloped = np.flatnonzero(delta > _FLAT_TOL * scale)
    weight = 1.0 / delta[sloped]
    breaks = _Breakpoints(au[sloped], ac[sloped], groups[sloped], n_groups)

    # Smallest attainable attacker level u*.
    levels = breaks.levels(weight, budget)
    u_star = max(float(ac.max()), float(levels.max()))

    coverage, attacked, _ = _best_attack(au, ac, dc, du, groups, budget, u_star, scale,
                                         sloped, weight)

    _spend_leftover(coverage, attacked, au, weight, sloped, breaks, groups, budget)

    ua = float(coverage[attacked] * ac[attacked] + (1.0 - coverage[attacked]) * au[attacked])
    ud = float(coverage[attacked] * dc[attacked] + (1.0 - coverage[attacked]) * du[attacked])
    return Equilibrium(
        coverage=coverage,
        defender_utility=ud,
        attacked=np.array([attacked], dtype=np.int64),
        attacker_utility=np.array([ua]),
        method="origami",
        optimal=True,
        gap=0.0,
        seconds=time.perf_counter() - start,
    )


def _best_attack(au: FloatArray, ac: FloatArray, dc: FloatArray, du: FloatArray,
                 groups: IntArray, budget: FloatArray, u_star: float, scale: float,
                 sloped: IntArray, weight: FloatArray) -> tuple[FloatArray, int, float]:
    """Coverage holding every target to `u_star`, the attacked target and its defender
    utility (the attack set and its defender-favourable tie-break, before leftovers)."""
    coverage = np.zeros(au.size)
    coverage[sloped] = np.clip((au[sloped] - u_star) * weight, 0.0, 1.0)
    spare = np.maximum(budget - np.bincount(groups, weights=coverage,
                                            minlength=budget.size), 0.0)
    attack_set = np.flatnonzero(au >= u_star - _TIE_TOL * scale)
    candidate = coverage[attack_set]
    flat = (au - ac)[attack_set] <= _FLAT_TOL * scale
    candidate[flat] = np.minimum(1.0, spare[groups[attack_set[flat]]])
    defender = candidate * dc[attack_set] + (1.0 - candidate) * du[attack_set]
    best = int(np.argmax(defender))
    attacked = int(attack_set[best])
    coverage[attacked] = candidate[best]
    return coverage, attacked, float(defender[best])


def origami_group_level(attacker_uncovered: npt.ArrayLike, attacker_covered: npt.ArrayLike,
                        budget: float, *, scale: float) -> float:
    r"""One budget group's smallest attainable attacker level :math:`u_g^*`.

    What `solve_origami` computes for every group at once (``-inf`` when the budget
    covers every target of the group down to its covered payoff). `scale` is the whole
    game's payoff scale, ``max(1, |U^a_u|, |U^a_c|)``, which sets the flat-target
    tolerance. With the levels of every group, `origami_value` gives the game's value
    without solving the groups that did not change: what a search that changes one
    group at a time needs.
    """
    au = np.asarray(attacker_uncovered, dtype=np.float64)
    ac = np.asarray(attacker_covered, dtype=np.float64)
    delta = au - ac
    sloped = np.flatnonzero(delta > _FLAT_TOL * scale)
    breaks = _Breakpoints(au[sloped], ac[sloped], np.zeros(sloped.size, dtype=np.int64), 1)
    return float(breaks.levels(1.0 / delta[sloped], np.array([float(budget)]))[0])


def origami_value(attacker_uncovered: FloatArray, attacker_covered: FloatArray,
                  defender_uncovered: FloatArray, defender_covered: FloatArray,
                  groups: IntArray, budget: FloatArray, group_levels: npt.ArrayLike) -> float:
    """The defender's SSE utility of a one-type game from its groups' levels.

    The arrays are the game's (one type: shape (targets,); `budget` per group);
    `group_levels[g]` is `origami_group_level` of group ``g``. The result is
    `solve_origami`'s ``defender_utility`` (the same attack set and tie-break; the
    leftover budget it spends does not change the value), without building a
    `SecurityGame` or re-solving unchanged groups.
    """
    au, ac = attacker_uncovered, attacker_covered
    scale = max(1.0, float(np.abs(au).max()), float(np.abs(ac).max()))
    delta = au - ac
    sloped = np.flatnonzero(delta > _FLAT_TOL * scale)
    levels = np.asarray(group_levels, dtype=np.float64)
    u_star = max(float(ac.max()), float(levels.max()))
    _, _, value = _best_attack(au, ac, defender_covered, defender_uncovered, groups,
                               np.asarray(budget, dtype=np.float64), u_star, scale, sloped,
                               1.0 / delta[sloped])
    return value


def _spend_leftover(coverage: FloatArray, attacked: int, au: FloatArray, weight: FloatArray,
                    sloped: IntArray, breaks: _Breakpoints, groups: IntArray,
                    budget: FloatArray) -> None:
    """Water-fill every group's unspent budget over its targets other than `attacked`.

    `coverage` is changed in place. Targets that covering can lower are levelled
    first (minimax); whatever is still left goes to the targets with Δa = 0, in index
    order, up to coverage 1.
    """
    n_groups = budget.size
    others = budget.copy()
    others[groups[attacked]] -= coverage[attacked]
    fill_weight = weight.copy()
    fill_weight[sloped == attacked] = 0.0
    levels = breaks.levels(fill_weight, others)
    filled = np.clip((au[sloped] - levels[groups[sloped]]) * weight, 0.0, 1.0)
    keep = sloped != attacked
    coverage[sloped[keep]] = np.maximum(coverage[sloped[keep]], filled[keep])

    flat = np.ones(coverage.size, dtype=bool)
    flat[sloped] = False
    flat[attacked] = False
    flat_idx = np.flatnonzero(flat)
    spare = budget - np.bincount(groups, weights=coverage, minlength=n_groups)
    if flat_idx.size == 0 or not np.any(spare[groups[flat_idx]] > 0.0):
        return
    flat_idx = flat_idx[np.argsort(groups[flat_idx], kind="stable")]
    flat_groups = groups[flat_idx]
    room = 1.0 - coverage[flat_idx]
    first = np.ones(flat_idx.size, dtype=bool)
    first[1:] = flat_groups[1:] != flat_groups[:-1]
    before = _segment_cumsum(room, first) - room
    coverage[flat_idx] += np.clip(spare[flat_groups] - before, 0.0, room)


class _Breakpoints:
    r"""Breakpoints of :math:`R_g(v) = \sum_{t \in g} w_t \,((h_t - v)^+ - (l_t - v)^+)`.

    Each item contributes slope :math:`w_t` between :math:`l_t < h_t` (its uncovered
    and covered attacker payoffs, with :math:`w_t = 1 / (h_t - l_t)`), so
    :math:`R_g(v)` is the coverage group :math:`g` needs to hold every item to level
    :math:`v`. The events are sorted once by (group, descending level); `levels`
    then costs O(N) for any weights (zero weight drops an item).
    """

    def __init__(self, high: FloatArray, low: FloatArray, groups: IntArray,
                 n_groups: int) -> None:
        m = high.size
        x = np.concatenate((high, low))
        item = np.concatenate((np.arange(m), np.arange(m)))
        sign = np.concatenate((np.ones(m), -np.ones(m)))
        group = np.concatenate((groups, groups))
        order = np.argsort(-x)  # the order of tied events does not matter
        if n_groups > 1:
            order = order[np.argsort(group[order], kind="stable")]
        self.n_groups = n_groups
        self.high, self.low, self.groups = high, low, groups
        self.x = x[order]
        self.item = item[order]
        self.sign = sign[order]
        self.group = group[order]
        counts = np.bincount(self.group, minlength=n_groups)
        self.ends = np.cumsum(counts)
        self.starts = self.ends - counts
        self.first = np.zeros(2 * m, dtype=bool)
        self.first[self.starts[counts > 0]] = True
        gap = np.zeros(2 * m)
        gap[1:] = self.x[:-1] - self.x[1:]
        gap[self.first] = 0.0
        self.gap = gap

    def levels(self, weight: FloatArray, budget: FloatArray) -> FloatArray:
        """Smallest level ``v`` with ``R_g(v) <= budget[g]`` for each group (-inf if none binds)."""
        n_groups = self.n_groups
        out = np.full(n_groups, -np.inf)
        if self.x.size == 0:
            return out
        w = self.sign * weight[self.item]
        slope = self._cumsum(w)
        np.maximum(slope, 0.0, out=slope)
        prev = np.empty_like(slope)
        prev[0] = 0.0
        prev[1:] = slope[:-1]
        need = self._cumsum(prev * self.gap)
        fits = need <= budget[self.group]
        counts = np.bincount(self.group, weights=fits, minlength=n_groups).astype(np.int64)
        has = counts > 0
        last = self.starts[has] + counts[has] - 1
        binds = last < self.ends[has] - 1
        k = last[binds]
        g = np.flatnonzero(has)[binds]
        with np.errstate(divide="ignore", invalid="ignore"):
            v = self.x[k] - (budget[g] - need[k]) / slope[k]
        v = np.where(np.isfinite(v), v, self.x[k + 1])
        v = np.clip(v, self.x[k + 1], self.x[k])
        out[g] = self._refine(v, g, weight, budget)
        return out

    def _cumsum(self, values: FloatArray) -> FloatArray:
        """Cumulative sums within each group."""
        total = np.cumsum(values)
        if self.n_groups == 1:
            return total
        nonempty = self.ends > self.starts
        base = np.zeros(self.n_groups)
        s = self.starts[nonempty]
        base[nonempty] = total[s] - values[s]
        return total - base[self.group]

    def _refine(self, v: FloatArray, g: IntArray, weight: FloatArray,
                budget: FloatArray) -> FloatArray:
        """One Newton step on the direct sums: prefix sums lose digits on huge groups."""
        level = np.full(self.n_groups, np.nan)
        level[g] = v
        at = level[self.groups]
        ok = ~np.isnan(at)
        need = np.clip((self.high[ok] - at[ok]) * weight[ok], 0.0, 1.0)
        active = (weight[ok] > 0) & (self.high[ok] > at[ok]) & (self.low[ok] < at[ok])
        used = np.bincount(self.groups[ok], weights=need, minlength=self.n_groups)[g]
        slope = np.bincount(self.groups[ok][active], weights=weight[ok][active],
                            minlength=self.n_groups)[g]
        step = np.divide(used - budget[g], slope, out=np.zeros_like(v), where=slope > 0)
        return v + step


def _segment_cumsum(values: FloatArray, first: npt.NDArray[np.bool_]) -> FloatArray:
    """Cumulative sums restarting at every True in `first`."""
    total = np.cumsum(values)
    start = np.maximum.accumulate(np.where(first, np.arange(values.size), 0))
    return total - (total[start] - values[start])
