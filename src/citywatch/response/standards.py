r"""Response standards for armed response vehicle (ARV) placement, as hard constraints.

A standard ``X m @ P %`` asks that armed help reach a site within ``X`` minutes of the
call: with ``P = 100`` every site in every slot (people present or not), otherwise at
least ``P`` per cent of the people present in the slot. "Minutes" are the payoff
model's expected minutes from the call to armed intervention with no patrol at the
site,

.. math::

    R_i = \delta + e + E_i(\text{posts}), \qquad
    E_i = \sum_{j=1}^{n} (1-b) b^{j-1} \tau_{(j)i} + b^n (\tau_{(1)i} + A),

(`citywatch.model.payoffs.expected_response_minutes`: the nearest *available* of the
slot's :math:`n` vehicles, each busy with probability :math:`b`; :math:`A` the extra
minutes when all are busy). Sites with armed officers permanently on site are exempt:
help is already there.

The default is the Met's Immediate-call attendance standard applied to armed help:
``15m@100%`` (no site beyond 15 minutes in any slot).

Finding a placement that meets a standard
-----------------------------------------
:math:`R_i` is not linear in the posts, so placements are checked exactly (`meets`).
`repair` moves a loss-optimal starting placement to one that meets the standards:

1. *Penalty descent* (`_descend`): single-vehicle moves minimising
   ``W · shortfall + people-weighted mean response`` (``W`` growing tenfold when it
   stalls), so the repair disturbs the start as little as it can. Deterministic.
2. If the descent stalls, an *exact covering MILP*. With :math:`N_i(t)` the number of
   vehicles within :math:`t` minutes of site :math:`i` (linear in the integer vehicle
   counts :math:`y_j \le \text{cap}_j`), the expected response rewrites as

   .. math::

       E_i = \int_0^{M_i} \varphi(N_i(t))\,dt - b^n M_i + b^n A, \qquad
       \varphi(N) = b^N + b^n [N = 0],

   (:math:`\sum_{j > N} (1-b) b^{j-1} = b^N - b^n`, and :math:`\tau_{(1)i}` is the
   time during which :math:`N_i = 0`), :math:`M_i` the farthest standby point.
   :math:`N_i` is a step function of :math:`t` with steps at the travel times to
   site :math:`i`, and :math:`\varphi` is convex on the integers, so at integer
   :math:`y` it equals the largest of its secants: with one variable
   :math:`g_{iq} \ge \varphi(a) + (\varphi(a+1) - \varphi(a))(N_{iq} - a)` per step
   :math:`q` and :math:`a = 0..n-1`, the constraint
   :math:`\sum_q \Delta_{iq} g_{iq} \le X - \delta - e + b^n (M_i - A)` holds *exactly*
   when site :math:`i` meets the standard (tested against brute force). A share
   standard adds binaries :math:`z_i` (big-M) and :math:`\sum_i p_i z_i \ge P
   \sum_i p_i`. The objective keeps as many vehicles of the start as possible
   (:math:`\max \sum_j u_j`, :math:`u_j \le y_j`, :math:`u_j \le y^0_j`) under
   :math:`\sum_j y_j = n`; sites enter lazily (those the current placement misses),
   and the answer is re-checked exactly.

Nested placements (`nested_greedy`)
-----------------------------------
Greedy-then-repair placements are not nested in the fleet: the repair of the greedy
``n + 1`` vehicles need not contain the repair of the greedy ``n``, so a larger fleet
(a larger force) can end with worse response times at some sites and a worse plan.
`nested_greedy` adds vehicles one at a time, each to the standby point that lowers,
lexicographically, (the shortfall from the standards, the people-weighted mean
response): the first vehicles meet the standard, the rest go where the people are.
Its ``n + 1``-vehicle placement is its ``n``-vehicle one plus a vehicle, so expected
response times only fall as the fleet grows (up to the all-busy term, which changes by
``b^n (1 − b)(τ − τ_(1) − A)``, below 1e-8 minutes from eight vehicles on), and the
payoffs of a larger force's game are at least as good everywhere. Only when the
greedy steps end short of the standard is the placement repaired (`repair`).

Necessary conditions give the clear error when the fleet cannot meet a standard:
:math:`E_i \ge \tau_{(1)i}`, so a site with no standby point within
:math:`X - \delta - e` can never be met, and the least number of vehicles that puts
one within that reach of every site (an LSCP, Toregas et al. 1971) must not exceed
the slot's fleet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch.errors import InfeasibleError, ScenarioError
from citywatch._highs import build_highs, run_highs
from citywatch.model.payoffs import ALL_BUSY_EXTRA_MIN, expected_response_minutes
from citywatch.model.standards import (
    DEFAULT_STANDARDS,
    ResponseStandard,
    parse_standard,
    parse_standards,
)

__all__ = [
    "DEFAULT_STANDARDS",
    "REPORT_MINUTES",
    "ResponseStandard",
    "greedy_order",
    "meets",
    "nested_greedy",
    "parse_standard",
    "parse_standards",
    "repair",
    "slot_report",
    "violations",
]

FloatArray = npt.NDArray[np.float64]

#: Minutes at which the share of people reached is reported (5, 8 and 10 are the
#: armed-arrival standards REFERENCE.md suggests; 15 is the Immediate-call standard).
REPORT_MINUTES = (5.0, 8.0, 10.0, 15.0)
#: Secant lines of b^N kept per interval (the rest bounded by b^SECANTS, a tiny slack).
SECANTS = 10
_TOL = 1e-9


def violations(minutes: FloatArray, people: FloatArray,
               standards: Sequence[ResponseStandard], *,
               exempt: npt.NDArray[np.bool_] | None = None) -> list[str]:
    """What a slot's response times break, in words (empty: every standard met).

    Parameters
    ----------
    minutes
        Expected minutes from call to armed intervention at each site.
    people
        People present at each site.
    standards
        The standards.
    exempt
        Sites with armed officers on site (met whatever the ARVs do).
    """
    r = np.asarray(minutes, dtype=np.float64)
    p = np.asarray(people, dtype=np.float64)
    ok_site = np.zeros(r.shape, dtype=bool) if exempt is None else np.asarray(exempt, bool)
    out = []
    for std in standards:
        within = ok_site | (r <= std.minutes + _TOL * max(1.0, std.minutes))
        if std.every_site:
            if not within.all():
                out.append(f"{int((~within).sum())} sites beyond {std.minutes:g} min")
        else:
            total = float(p.sum())
            share = float(p[within].sum()) / total if total > 0 else 1.0
            if share < std.share - _TOL:
                out.append(f"{share:.1%} of people within {std.minutes:g} min "
                           f"(standard {std.share:.0%})")
    return out


def meets(minutes: FloatArray, people: FloatArray, standards: Sequence[ResponseStandard], *,
          exempt: npt.NDArray[np.bool_] | None = None) -> bool:
    """Whether a slot's response times meet every standard (see `violations`)."""
    return not violations(minutes, people, standards, exempt=exempt)


def slot_report(minutes: FloatArray, people: FloatArray, site_ids: Sequence[str], *,
                exempt: npt.NDArray[np.bool_] | None = None,
                on_site_minutes: float = 1.0,
                report_minutes: Sequence[float] = REPORT_MINUTES) -> dict[str, object]:
    """Share of people within each of `report_minutes`, and the worst site, for one slot.

    Exempt (protected) sites count at `on_site_minutes`. Returns
    ``{"within": {"5": share, ...}, "worst_site": id, "worst_minutes": m}``.
    """
    r = np.asarray(minutes, dtype=np.float64).copy()
    if exempt is not None:
        r[np.asarray(exempt, bool)] = np.minimum(r[np.asarray(exempt, bool)], on_site_minutes)
    p = np.asarray(people, dtype=np.float64)
    total = float(p.sum())
    within = {f"{m:g}": (float(p[r <= m + _TOL].sum()) / total if total > 0 else 1.0)
              for m in report_minutes}
    worst = int(np.argmax(r))
    return {"within": within, "worst_site": site_ids[worst],
            "worst_minutes": float(r[worst])}


def _where(slot: str) -> str:
    return f"slot {slot}" if slot else "the slot"


def _necessary(travel: FloatArray, vehicles: int, capacity: npt.NDArray[np.int64],
               fixed: float, standards: Sequence[ResponseStandard],
               exempt: npt.NDArray[np.bool_], site_ids: Sequence[str], slot: str) -> None:
    """Raise `InfeasibleError` when a necessary condition of a 100% standard fails."""
    for std in standards:
        if not std.every_site:
            continue
        reach = std.minutes - fixed
        nearest = travel.min(axis=0)
        bad = np.flatnonzero(~exempt & (nearest > reach + _TOL))
        if bad.size:
            i = int(bad[np.argmax(nearest[bad])])
            msg = (f"response standard {std}: no standby point can reach `{site_ids[i]}` "
                   f"in {_where(slot)} within {std.minutes:g} min (dispatch and engagement "
                   f"{fixed:g} min + travel from the nearest point {nearest[i]:.1f} min; "
                   f"{bad.size} such sites); add a standby point nearer or relax the standard")
            raise InfeasibleError(msg)
        rows = sp.csr_array((travel <= reach + _TOL).T[~exempt].astype(np.float64))
        if rows.shape[0] == 0:
            continue
        n_p = travel.shape[0]
        h = build_highs(np.ones(n_p), rows, np.ones(rows.shape[0]),
                        np.full(rows.shape[0], np.inf), col_lower=np.zeros(n_p),
                        col_upper=np.minimum(capacity, 1).astype(np.float64),
                        integrality=np.ones(n_p), mip_rel_gap=0.0)
        res = run_highs(h, what=f"response-standard LSCP for slot {slot}")
        need = math.ceil(res.objective - 1e-6)
        if need > vehicles:
            msg = (f"response standard {std}: {_where(slot)} has {vehicles} ARVs but at least "
                   f"{need} are needed to put one within {reach:g} min travel of every site; "
                   f"add ARV crews or relax the standard")
            raise InfeasibleError(msg)


def repair(travel: FloatArray, start: Sequence[int], people: FloatArray,
           capacity: Sequence[int], standards: Sequence[ResponseStandard], *,
           busy_probability: float, fixed_minutes: float,
           exempt: npt.NDArray[np.bool_] | None = None,
           site_ids: Sequence[str] | None = None, slot: str = "",
           max_rounds: int = 30, max_moves: int = 200) -> tuple[int, ...]:
    """The placement nearest `start` that meets `standards` in one slot.

    Returns `start` itself (sorted) when it already meets them; otherwise solves the
    covering MILP of the module docstring, keeping as many of `start`'s vehicles as
    it can, adding the sites of 100% standards lazily (those the current placement
    misses) until the placement meets every standard.

    Parameters
    ----------
    travel
        Minutes from each standby point to each site, shape (points, sites).
    start
        Standby point index of each vehicle (its length is the fleet).
    people
        People present at each site.
    capacity
        Vehicles each standby point holds.
    standards
        The standards to meet.
    busy_probability
        Probability an ARV is on another call.
    fixed_minutes
        Dispatch delay + engagement minutes added to the travel.
    exempt
        Sites with armed officers on site.
    site_ids, slot
        Names for the error message.
    max_moves
        Single-vehicle moves the descent may make before the MILP takes over.
    max_rounds
        Rounds of lazy site generation (a work limit; each round adds every missed site).

    Raises
    ------
    InfeasibleError
        When the fleet cannot meet a standard (the message says why and what would help).
    """
    travel = np.asarray(travel, dtype=np.float64)
    n_p, n_s = travel.shape
    ids = list(site_ids) if site_ids is not None else [str(i) for i in range(n_s)]
    ex = np.zeros(n_s, dtype=bool) if exempt is None else np.asarray(exempt, dtype=bool)
    cap = np.asarray(capacity, dtype=np.int64)
    posts = tuple(sorted(int(j) for j in start))
    n = len(posts)
    if not standards:
        return posts
    if n == 0:
        msg = f"response standard: {_where(slot)} has no ARV crews"
        raise InfeasibleError(msg)
    p = np.asarray(people, dtype=np.float64)

    def minutes(q: Sequence[int]) -> FloatArray:
        return fixed_minutes + expected_response_minutes(travel, q,
                                                         busy_probability=busy_probability)

    if meets(minutes(posts), p, standards, exempt=ex):
        return posts
    _necessary(travel, n, cap, fixed_minutes, standards, ex, ids, slot)
    found = _descend(travel, posts, p, cap, standards, busy_probability, fixed_minutes, ex,
                     max_moves)
    if found is not None:
        return found
    current = posts
    active: list[set[int]] = [set() for _ in standards]
    for _ in range(max_rounds):
        r = minutes(current)
        grown = False
        for b, std in enumerate(standards):
            if std.every_site:
                missed = set(np.flatnonzero(~ex & (r > std.minutes + _TOL)).tolist())
            else:
                missed = set(np.flatnonzero(~ex & (p > 0)).tolist())
            grown |= bool(missed - active[b])
            active[b] |= missed
        if not grown:
            break
        model = _PlacementMilp(travel, posts, cap, busy_probability, fixed_minutes)
        for b, std in enumerate(standards):
            model.add_standard(std, sorted(active[b]), p, ex)
        try:
            current = model.solve(slot)
        except InfeasibleError:
            stds = ", ".join(str(s) for s in standards)
            gaps = "; ".join(violations(minutes(posts), p, standards, exempt=ex))
            msg = (f"response standard {stds}: {_where(slot)}'s {n} ARVs cannot meet it at "
                   f"any standby points ({gaps} with the plan's posts); add ARV crews or "
                   f"standby points, or relax the standard")
            raise InfeasibleError(msg) from None
        if meets(minutes(current), p, standards, exempt=ex):
            return current
    msg = (f"response standard: no placement of {_where(slot)}'s ARVs found that meets "
           f"{', '.join(str(s) for s in standards)} within {max_rounds} rounds")
    raise InfeasibleError(msg)


def greedy_order(travel: FloatArray, people: FloatArray, vehicles: int,
                 capacity: Sequence[int], standards: Sequence[ResponseStandard], *,
                 busy_probability: float, fixed_minutes: float,
                 exempt: npt.NDArray[np.bool_] | None = None,
                 stop_when_met: bool = False) -> tuple[list[int], int | None]:
    """The standby point of each vehicle in the order `nested_greedy` adds them.

    ``stop_when_met`` stops at the least fleet meeting the standards.

    Returns the order (`vehicles` points) and the least fleet whose first vehicles meet
    `standards` (``None``: not even all `vehicles`); every longer prefix meets them too
    (up to the all-busy term, module docstring), so one call gives the placement of
    every fleet size from that least one up.
    """
    travel = np.asarray(travel, dtype=np.float64)
    n_p, n_s = travel.shape
    cap = np.asarray(capacity, dtype=np.int64).copy()
    if vehicles > cap.sum():
        msg = f"`vehicles` ({vehicles}) exceeds the standby points' total capacity ({cap.sum()})"
        raise ScenarioError(msg)
    ex = np.zeros(n_s, dtype=bool) if exempt is None else np.asarray(exempt, dtype=bool)
    p = np.asarray(people, dtype=np.float64)
    w = p + 1e-9
    b = busy_probability
    scale = max((std.minutes for std in standards), default=1.0) * max(1, n_s)
    placed = np.empty((0, n_s))  # sorted travel times of the placed vehicles, per site
    order: list[int] = []
    first: int | None = None if standards else 0
    cols = np.arange(n_s)
    for _ in range(vehicles):
        cand = np.flatnonzero(cap > 0)
        tau = travel[cand]                                   # (cand, sites)
        n = placed.shape[0]
        wk = (1.0 - b) * b ** np.arange(n + 1)
        if n:
            # the new vehicle ranks after the placed ones no farther than it
            rank = (placed[None, :, :] <= tau[:, None, :]).sum(axis=1)  # (cand, sites)
            pre = np.vstack([np.zeros(n_s), np.cumsum(wk[:n, None] * placed, axis=0)])
            suf = np.vstack([np.cumsum((wk[1:n + 1, None] * placed)[::-1], axis=0)[::-1],
                             np.zeros(n_s)])
            e = (pre[rank, cols] + wk[rank] * tau + suf[rank, cols]
                 + b ** (n + 1) * (np.minimum(placed[0], tau) + ALL_BUSY_EXTRA_MIN))
        else:
            e = wk[0] * tau + b * (tau + ALL_BUSY_EXTRA_MIN)
        r = fixed_minutes + e
        if first is None:
            short = np.array([shortfall(r[c], p, standards, ex) for c in range(cand.size)])
            ok = short <= short.min() + 1e-9 * scale
        else:
            ok = np.ones(cand.size, dtype=bool)
        cost = np.where(ok, r @ w, np.inf)
        c = int(np.argmin(cost))
        best = int(cand[c])
        order.append(best)
        cap[best] -= 1
        placed = np.sort(np.vstack([placed, travel[best]]), axis=0)
        if first is None and meets(r[c], p, standards, exempt=ex):
            first = len(order)
            if stop_when_met:
                break
    return order, first


def nested_greedy(travel: FloatArray, people: FloatArray, vehicles: int,
                  capacity: Sequence[int], standards: Sequence[ResponseStandard], *,
                  busy_probability: float, fixed_minutes: float,
                  exempt: npt.NDArray[np.bool_] | None = None,
                  site_ids: Sequence[str] | None = None, slot: str = "") -> tuple[int, ...]:
    """`vehicles` ARVs placed one at a time, standard first (module docstring).

    Each step adds the vehicle whose standby point (with room) gives the least
    shortfall from `standards` (`shortfall`), ties within 1e-9 of the slot's scale
    broken by the least people-weighted mean expected response, then by the lowest
    index (`greedy_order`); without standards this is
    `citywatch.model.payoffs.default_arv_posts`. The placement of ``n + 1`` vehicles
    extends that of ``n`` whenever the ``n`` already meet the standards; a placement
    still short of them after the last vehicle is repaired (`repair`), which raises
    `InfeasibleError` if the fleet cannot meet them.
    """
    order, first = greedy_order(travel, people, vehicles, capacity, standards,
                                busy_probability=busy_probability,
                                fixed_minutes=fixed_minutes, exempt=exempt)
    out = tuple(sorted(order))
    if standards and (first is None or not meets(
            fixed_minutes + expected_response_minutes(travel, out,
                                                      busy_probability=busy_probability),
            np.asarray(people, dtype=np.float64), standards, exempt=exempt)):
        out = repair(travel, out, people, capacity, standards,
                     busy_probability=busy_probability, fixed_minutes=fixed_minutes,
                     exempt=exempt, site_ids=site_ids, slot=slot)
    return out


def shortfall(minutes: FloatArray, people: FloatArray, standards: Sequence[ResponseStandard],
              exempt: npt.NDArray[np.bool_]) -> float:
    """How far a slot is from meeting `standards` (0 exactly when it meets them).

    For a 100% standard, the minutes by which each site misses it, summed; for a share,
    the share of people missing times the standard's minutes (the same scale).
    """
    out = 0.0
    for std in standards:
        over = np.where(exempt, 0.0, minutes - std.minutes)
        if std.every_site:
            out += float(np.clip(over, 0.0, None).sum())
        else:
            total = float(people.sum())
            if total <= 0:
                continue
            share = float(people[(over <= _TOL * max(1.0, std.minutes))].sum()) / total
            # a smooth part (minutes over, people-weighted) guides the descent
            out += max(0.0, std.share - share) * std.minutes * (1.0 + float(
                people @ np.clip(over, 0.0, None)) / total)
    return out


def _descend(travel: FloatArray, posts: tuple[int, ...], people: FloatArray,
             cap: npt.NDArray[np.int64], standards: Sequence[ResponseStandard], busy: float,
             fixed: float, ex: npt.NDArray[np.bool_], max_moves: int
             ) -> tuple[int, ...] | None:
    """Penalty descent by single-vehicle moves to a placement meeting `standards`.

    Minimises ``W · shortfall + cost`` (cost: the people-weighted mean response, so the
    repair disturbs the loss-optimal start as little as it can), taking at each step
    the best move of any vehicle to a standby point with room that reaches a site
    missing the standard; ``W`` grows tenfold whenever the descent stalls short of
    the standard. Ties go to the lowest indices, so the result is deterministic.
    Returns None if `max_moves` moves do not reach the standard.
    """
    n_p = travel.shape[0]
    w = people + 1e-6 * max(1.0, float(people.sum())) / max(1, people.size)
    w = w / w.sum()
    least = min(std.minutes for std in standards)

    def score(q: Sequence[int], weight: float) -> tuple[float, float, FloatArray]:
        r = fixed + expected_response_minutes(travel, q, busy_probability=busy)
        f = shortfall(r, people, standards, ex)
        return weight * f + float(w @ r), f, r

    current = list(posts)
    moves = 0
    for weight in (1.0, 10.0, 100.0, 1e4, 1e6):
        value, short, r = score(current, weight)
        while short > 0.0 and moves < max_moves:
            counts = np.bincount(np.asarray(current, dtype=np.int64), minlength=n_p)
            missed = ~ex & (r > least + _TOL)
            reach = (travel[:, missed] <= least - fixed + _TOL).any(axis=1) if missed.any() \
                else np.ones(n_p, dtype=bool)
            targets = np.flatnonzero((counts < cap) & reach)
            best: tuple[float, int, int] | None = None
            for v, j in enumerate(current):
                if v and current[v - 1] == j:
                    continue
                for k in targets:
                    if k == j:
                        continue
                    trial = current.copy()
                    trial[v] = int(k)
                    f = score(trial, weight)[0]
                    if f < value - 1e-12 and (best is None or f < best[0] - 1e-12):
                        best = (f, v, int(k))
            if best is None:
                break
            _, v, k = best
            current[v] = k
            current.sort()
            moves += 1
            value, short, r = score(current, weight)
        if short <= 0.0:
            return tuple(current)
    return None


class _PlacementMilp:
    """The exact covering MILP of the module docstring, built site by site (COO rows)."""

    def __init__(self, travel: FloatArray, start: Sequence[int], cap: npt.NDArray[np.int64],
                 busy: float, fixed: float) -> None:
        self.travel, self.busy, self.fixed = travel, busy, fixed
        n_p = travel.shape[0]
        self.n_p, self.n = n_p, len(start)
        y0 = np.bincount(np.asarray(start, dtype=np.int64), minlength=n_p)
        # columns y_j (integer, <= cap) and u_j (<= y0_j): maximise sum u
        self.hi: list[float] = [*cap.astype(float), *y0.astype(float)]
        self.integer: list[int] = [1] * n_p + [0] * n_p
        self.cost: list[float] = [0.0] * n_p + [1.0] * n_p
        self.rows: list[tuple[list[int], list[float], float, float]] = []
        self._row(list(range(n_p)), [1.0] * n_p, float(self.n), float(self.n))
        for j in range(n_p):
            self._row([n_p + j, j], [1.0, -1.0], -np.inf, 0.0)

    def _col(self, hi: float, integer: bool = False) -> int:
        self.hi.append(hi)
        self.integer.append(int(integer))
        self.cost.append(0.0)
        return len(self.hi) - 1

    def _row(self, cols: list[int], coef: list[float], lo: float, hi: float) -> None:
        self.rows.append((cols, coef, lo, hi))

    def site_integral(self, i: int) -> tuple[list[int], list[float], float, float]:
        r"""Columns and coefficients of :math:`\int_0^{M_i} \varphi(N_i(t))\,dt` for site `i`.

        Returns (columns, coefficients, constant, slack): at integer vehicle counts the
        least ``constant + coef @ g`` the rows allow is the integral, up to ``slack``
        (nonzero only when the fleet exceeds `SECANTS` secants).
        """
        t = self.travel[:, i]
        far = float(t.max())
        levels = np.unique(t)
        b, n = self.busy, self.n
        bn = b ** n
        a_max = min(n, SECANTS)

        def phi(k: int) -> float:
            return b ** k + (bn if k == 0 else 0.0)

        cols: list[int] = []
        coef: list[float] = []
        prev: int | None = None
        for q, tau in enumerate(levels):
            nxt = float(levels[q + 1]) if q + 1 < len(levels) else far
            width = nxt - float(tau)
            at = np.flatnonzero(t == tau)
            big = float(n)
            n_col = self._col(big)
            # N_q = N_{q-1} + sum_{j at tau} y_j
            row_c = [n_col, *at.tolist()] + ([prev] if prev is not None else [])
            row_v = [1.0, *([-1.0] * at.size)] + ([-1.0] if prev is not None else [])
            self._row(row_c, row_v, 0.0, 0.0)
            prev = n_col
            if width <= 0:
                continue
            g = self._col(1.0 + bn)
            for a in range(a_max):  # g >= phi(a) + (phi(a+1) - phi(a))(N - a)
                slope = phi(a + 1) - phi(a)
                self._row([g, n_col], [1.0, -slope], phi(a) - slope * a, np.inf)
            cols.append(g)
            coef.append(width)
        slack = b ** a_max * (far - float(levels[0])) if a_max < n else 0.0
        return cols, coef, float(levels[0]) * (1.0 + bn), slack

    def add_standard(self, std: ResponseStandard, sites: Sequence[int], people: FloatArray,
                     ex: npt.NDArray[np.bool_]) -> None:
        """Rows making `sites` meet `std` (all of them, or enough people for a share)."""
        bn = self.busy ** self.n
        zs: list[int] = []
        weights: list[float] = []
        for i in sites:
            cols, coef, const, slack = self.site_integral(i)
            far = float(self.travel[:, i].max())
            rhs = std.minutes - self.fixed - bn * ALL_BUSY_EXTRA_MIN + bn * far - const - slack
            if std.every_site:
                self._row(cols, coef, -np.inf, rhs)
            else:
                z = self._col(1.0, integer=True)
                big = float(self.travel[:, i].max()) + 1.0
                self._row([*cols, z], [*coef, big], -np.inf, rhs + big)
                zs.append(z)
                weights.append(float(people[i]))
        if not std.every_site:
            need = std.share * float(people.sum()) - float(people[ex].sum())
            self._row(zs, weights, need * (1 - 1e-9), np.inf)

    def solve(self, slot: str) -> tuple[int, ...]:
        """Solve; the placement as sorted standby indices."""
        r_idx = np.concatenate([np.full(len(c), k) for k, (c, _, _, _) in
                                enumerate(self.rows)])
        c_idx = np.concatenate([np.asarray(c, dtype=np.int64) for c, _, _, _ in self.rows])
        vals = np.concatenate([np.asarray(v, dtype=np.float64) for _, v, _, _ in self.rows])
        m = sp.csr_array((vals, (r_idx, c_idx)), shape=(len(self.rows), len(self.hi)))
        h = build_highs(np.asarray(self.cost), m, np.array([r[2] for r in self.rows]),
                        np.array([r[3] for r in self.rows]), col_lower=0.0,
                        col_upper=np.asarray(self.hi), integrality=np.asarray(self.integer),
                        maximize=True, mip_rel_gap=0.0)
        res = run_highs(h, what=f"response-standard placement for slot {slot}")
        y = np.rint(res.x[:self.n_p]).astype(np.int64)
        return tuple(int(j) for j in np.repeat(np.arange(self.n_p), y))
