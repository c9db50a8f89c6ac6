r"""Shift patterns that follow demand: the default rule and the shift optimiser.

A shift pattern says how many officers start work at each hour and for how long. With
``x_k`` officers starting shift ``k`` (start ``h_k`` on the hour, ``L_k`` normal hours)
each day, the officers on duty in slot ``s`` are

.. math::

    o_s = \sum_k M_{sk}\, x_k, \qquad
    M_{sk} = \frac{\text{overlap}(h_k, L_k + e;\ \text{slot } s)}{\text{hours of } s},

``e`` being the threat posture's shift extension, and the rostered pool works a fixed
number of normal officer-hours a day, :math:`\sum_k L_k x_k = H`
(`citywatch.model.force.rostered_hours_per_day`). A pattern is stored as
`citywatch.model.force.Shift` rows with ``share_k = L_k x_k / H``.

The default rule (`demand_shifts`)
----------------------------------
London's default pattern (``data/london/scenario.toml``) is derived from the
scenario's own footfall by this rule, and a test checks that it still is:

1. *Stake.* What an attack could cost in slot ``s``: the casualty model's crowd term
   summed over the sites, prior-weighted over the attack types,
   :math:`D_s = \sum_k \pi_k \sum_i (P_{is} / P_0)^{\beta_k}` (``P`` people present,
   ``P_0`` the model's reference crowd, ``β`` its fitted crowd exponent).
2. *Floor.* Every slot needs the ARVs that meet the response standards: ``n_s``, the
   least fleet whose standard-first greedy placement meets them
   (`citywatch.response.standards.greedy_order`), is ``n_s · crew / arv_share``
   officers on duty.
3. *Target.* The day's on-duty officer-slots (those of the scenario's force under
   the current posture, whatever the pattern) are shared out by water-filling:
   :math:`t_s = \max(\text{floor}_s, \lambda D_s)` with ``λ`` so the total is kept.
4. *Pattern.* Four shifts of the force's normal length starting on the hour, the
   four starts and their shares chosen to minimise :math:`\sum_s ((o_s - t_s)/t_s)^2`
   (every 4 of the 24 starts tried, shares by non-negative least squares with the
   day's hours kept), the shares then rounded to 5% (largest remainders).

The optimiser (`optimise_shifts`, ``citywatch plan --optimise-shifts``)
-----------------------------------------------------------------------
Chooses ``x`` over every shift of 8, 10 or 12 hours starting on the hour that the
working-time rules allow (`allowed_lengths`: normal length plus extension within the
longest shift, 11 hours' rest between a day's shift and the next, at most 6 working
days in 7, at most 48 hours a week on average, breaks as the roster plans them) to
minimise the expected casualties per attack of the plan. The casualties depend on
``x`` only through each slot's patrol teams and ARV crews, so the search moves in the
on-duty space: from the fixed pattern's ``o``, a *pattern search* tries moving
``δ`` officers from slot ``a`` to slot ``b`` (every ordered pair), realises the
target by the LP

.. math::

    \min \sum_k x_k \quad \text{s.t.} \quad M x \ge o', \;
    \sum_k L_k x_k = H, \; x \ge 0

(fewest officers starting, i.e. the longest shifts that serve), scores the realised
``o = M x``, takes the best improving move, and halves ``δ`` (48, 24, 12, 6) when no
move improves. Each pattern is scored by the planning model with the mixture
attacker (as ``make_plan(attacker="mixture", arv="greedy")``): ARVs placed by the
nested standard-first greedy (one run per slot gives every fleet size), patrol
coverage solved exactly by ORIGAMI, each attack type's best response and the
expected casualties there (`citywatch.plan.Plan.expected_casualties_per_attack`).
A slot never gets fewer ARVs than the least of the fixed pattern's and the greedy's
least fleet meeting the standards (proving fewer infeasible takes the covering MILP
minutes). The search stops at a local optimum or after ``max_evaluations`` scored
patterns: a work limit, so the result is deterministic. The scoring model is not the
real plan (the default plan solves the Bayesian game with jointly searched ARV posts),
so `citywatch.planner.make_plan` solves the real plan on the fixed pattern and on the
last `CANDIDATES` improving patterns of the search path and keeps the one of fewest
expected casualties per attack (the fixed one unless another is strictly better).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog, nnls

from citywatch.errors import GameError, ScenarioError
from citywatch.model.force import (
    Force,
    Shift,
    officers_on_duty,
    overlap_hours,
    rostered_hours_per_day,
    teams_per_slot,
)
from citywatch.model.scenario import Scenario
from citywatch.model.standards import ResponseStandard
from citywatch.options import SHIFT_LENGTHS
from citywatch.schedule.teams import WorkingTimeRules, _break_plan

__all__ = ["CANDIDATES", "SHIFT_LENGTHS", "ShiftOptimisation", "allowed_lengths",
           "demand_shifts", "demand_target", "optimise_shifts", "shift_matrix",
           "starting_officers"]

FloatArray = npt.NDArray[np.float64]

#: Patterns of the search's path whose real plans `make_plan` compares.
CANDIDATES = 3
#: Officers moved between two slots by one step of the pattern search, largest first.
STEPS = (48.0, 24.0, 12.0, 6.0)
_TOL = 1e-9


def _posture(scenario: Scenario) -> tuple[float, float, float]:
    p = scenario.postures[scenario.threat_level]
    return p.deployed_share, p.shift_extension_hours, p.committed_released_share


def _hours_per_day(scenario: Scenario) -> float:
    share, _, released = _posture(scenario)
    return rostered_hours_per_day(scenario.force, deployed_share=share,
                                  released_share=released)


def shift_matrix(scenario: Scenario, shifts: Sequence[tuple[float, float]]) -> FloatArray:
    """``M[s, k]``: officers on duty in slot ``s`` per officer starting shift ``k`` daily.

    `shifts` are ``(start hour, normal length)`` pairs; shifts last their length plus
    the posture's extension.
    """
    ext = _posture(scenario)[1]
    return np.array([[overlap_hours(h, length + ext, sl.start_hour, sl.hours) / sl.hours
                      for h, length in shifts] for sl in scenario.slots])


def allowed_lengths(scenario: Scenario, lengths: Sequence[float] = SHIFT_LENGTHS, *,
                    rules: WorkingTimeRules | None = None) -> tuple[float, ...]:
    """The shift lengths in `lengths` a roster may work under `rules` at this posture.

    The checks of `citywatch.schedule.working_time.check_working_time` for a team on
    the same shift every working day: normal length plus the posture's extension at
    most ``max_shift_hours``; ``24 − that`` at least ``min_rest_hours``;
    ``round(weekly_hours / length)`` working days (at most 6, so 24 hours off in 7);
    their working hours (meal breaks out, as `build_teams` plans them) at most
    ``max_average_weekly_hours``.
    """
    rules = rules or WorkingTimeRules()
    ext = _posture(scenario)[1]
    out = []
    for length in lengths:
        total = length + ext
        days = max(1, min(7, round(scenario.force.weekly_hours / length)))
        breaks = sum(b for _, b in _break_plan(total, rules, [])) / 60.0
        if (total <= rules.max_shift_hours + _TOL
                and 24.0 - total >= rules.min_rest_hours - _TOL
                and days <= 6
                and days * (total - breaks) <= rules.max_average_weekly_hours + _TOL):
            out.append(float(length))
    return tuple(out)


def _floor_arvs(scenario: Scenario, standards: Sequence[ResponseStandard],
                n_max: int, *, stop_when_met: bool = False
                ) -> tuple[list[list[int]], list[int | None]]:
    """Each slot's standard-first greedy order and least fleet meeting the standards."""
    from citywatch.model.payoffs import standby_travel_minutes
    from citywatch.model.protection import armed_on_site
    from citywatch.response.standards import greedy_order

    travel = standby_travel_minutes(scenario)
    tm = scenario.travel
    people = scenario.people()
    caps = [p.capacity for p in scenario.standby]
    guarded = armed_on_site(scenario)
    orders, firsts = [], []
    for s in range(len(scenario.slots)):
        order, first = greedy_order(travel[s], people[:, s], min(n_max, sum(caps)), caps,
                                    standards, busy_probability=tm.arv_busy_probability,
                                    fixed_minutes=tm.dispatch_delay_min + tm.engage_min,
                                    exempt=guarded[s], stop_when_met=stop_when_met)
        orders.append(order)
        firsts.append(first)
    return orders, firsts


def demand_target(scenario: Scenario, *,
                  standards: Sequence[ResponseStandard] | None = None) -> FloatArray:
    """Officers on duty per slot that demand calls for (module docstring, steps 1-3)."""
    fo = scenario.force
    people = scenario.people()  # (sites, slots)
    stake = np.zeros(people.shape[1])
    for prior, a in zip(scenario.priors(), scenario.attackers, strict=True):
        stake += prior * ((people / a.reference_people) ** a.crowd_exponent).sum(axis=0)
    stds = scenario.response_standards if standards is None else tuple(standards)
    per_arv = fo.arv_crew_size / fo.arv_share if fo.arv_share > 0 else math.inf
    _, firsts = _floor_arvs(scenario, stds, 10_000, stop_when_met=True)
    floor = np.array([0.0 if f is None or not stds else f * per_arv for f in firsts])
    share, ext, released = _posture(scenario)
    total = float(sum(officers_on_duty(fo, scenario.slots, deployed_share=share,
                                       shift_extension_hours=ext,
                                       released_share=released)))
    if floor.sum() >= total or stake.sum() <= 0:
        return floor * total / max(floor.sum(), _TOL) if floor.sum() > 0 else \
            np.full(stake.size, total / stake.size)
    lo, hi = 0.0, total / max(float(stake.min(initial=np.inf, where=stake > 0)), _TOL)
    for _ in range(200):  # bisection on lambda: sum of max(floor, lambda D) = total
        mid = 0.5 * (lo + hi)
        if np.maximum(floor, mid * stake).sum() > total:
            hi = mid
        else:
            lo = mid
    return np.maximum(floor, lo * stake)


def _round_shares(x: FloatArray, step: float) -> FloatArray:
    """Shares rounded to multiples of `step`, summing to 1 (largest remainders)."""
    units = round(1.0 / step)
    raw = x / x.sum() * units
    base = np.floor(raw + _TOL)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:int(units - base.sum())]] += 1
    return base / units


def demand_shifts(scenario: Scenario, *, starts: int = 4, step: float = 0.05,
                  standards: Sequence[ResponseStandard] | None = None) -> tuple[Shift, ...]:
    """The default shift pattern the scenario's footfall calls for (module docstring)."""
    target = demand_target(scenario, standards=standards)
    length = scenario.force.shift_hours
    hours = _hours_per_day(scenario)
    m = shift_matrix(scenario, [(float(h), length) for h in range(24)])
    # share variables: officers starting = share * H / L; rows relative to the target
    a_all = m * (hours / length) / target[:, None]
    weight = 1e3
    best: tuple[float, tuple[int, ...], FloatArray] | None = None
    for combo in itertools.combinations(range(24), starts):
        a = np.vstack([a_all[:, combo], np.full((1, starts), weight)])
        b = np.concatenate([np.ones(target.size), [weight]])
        x, _ = nnls(a, b)
        if x.sum() <= 0:
            continue
        x = x / x.sum()
        err = float(np.sum((a_all[:, combo] @ x - 1.0) ** 2))
        if best is None or err < best[0] - 1e-12:
            best = (err, combo, x)
    if best is None:
        msg = "no shift pattern can staff the slots"
        raise ScenarioError(msg)
    _, combo, x = best
    shares = _round_shares(x, step)
    return tuple(Shift(f"{h:02d}:00", time(h), float(round(sh, 6)))
                 for h, sh in zip(combo, shares, strict=True) if sh > 0)


@dataclass(frozen=True)
class ShiftOptimisation:
    """The optimised shift pattern and what it changes.

    Attributes
    ----------
    shifts
        The chosen pattern (`Shift` rows with their lengths).
    fixed_shifts
        The scenario's own pattern it is compared with.
    officers_before, officers_after
        Officers on duty per slot under the fixed and the chosen pattern.
    starting
        Officers starting each chosen shift a day, ``{"HH:00/Lh": officers}``.
    model_before, model_after
        Expected casualties per attack of the search's scoring model (mixture attacker,
        greedy ARVs) for the two patterns.
    plan_before, plan_after
        Expected casualties per attack of the real plan on the fixed pattern and on
        `shifts` (set by `citywatch.planner.make_plan`; ``None`` until then).
    kept_fixed
        Whether the plan kept the fixed pattern because no candidate was better on the
        real plan.
    candidates
        The search's last improving patterns, best (by its model) first, at most
        `CANDIDATES`: `make_plan` solves the real plan on each and keeps the best.
    plan_candidates
        Expected casualties per attack of the real plan on each candidate.
    evaluations, finished
        Patterns scored, and whether the search reached a local optimum (``False``:
        the work limit stopped it).
    lengths
        Shift lengths allowed (after the working-time rules).
    """

    shifts: tuple[Shift, ...]
    fixed_shifts: tuple[Shift, ...]
    officers_before: tuple[float, ...]
    officers_after: tuple[float, ...]
    starting: dict[str, float]
    model_before: float
    model_after: float
    evaluations: int
    finished: bool
    lengths: tuple[float, ...]
    plan_before: float | None = None
    plan_after: float | None = None
    kept_fixed: bool = False
    notes: tuple[str, ...] = field(default=())
    candidates: tuple[tuple[Shift, ...], ...] = ()
    plan_candidates: tuple[float, ...] = ()

    @property
    def gain(self) -> float | None:
        """Expected casualties per attack saved by the chosen pattern (real plan)."""
        if self.plan_before is None or self.plan_after is None:
            return None
        return self.plan_before - self.plan_after

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; `from_dict` inverts it exactly."""
        return {"shifts": [_shift_dict(s) for s in self.shifts],
                "fixed_shifts": [_shift_dict(s) for s in self.fixed_shifts],
                "officers_before": list(self.officers_before),
                "officers_after": list(self.officers_after),
                "starting": dict(self.starting),
                "model_before": self.model_before, "model_after": self.model_after,
                "plan_before": self.plan_before, "plan_after": self.plan_after,
                "gain": self.gain, "kept_fixed": self.kept_fixed,
                "evaluations": self.evaluations, "finished": self.finished,
                "lengths": list(self.lengths), "notes": list(self.notes),
                "candidates": [[_shift_dict(s) for s in c] for c in self.candidates],
                "plan_candidates": list(self.plan_candidates)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShiftOptimisation:
        """The inverse of `to_dict`."""
        try:
            return cls(tuple(_shift_from(s) for s in data["shifts"]),
                       tuple(_shift_from(s) for s in data["fixed_shifts"]),
                       tuple(float(x) for x in data["officers_before"]),
                       tuple(float(x) for x in data["officers_after"]),
                       {str(k): float(v) for k, v in data["starting"].items()},
                       float(data["model_before"]), float(data["model_after"]),
                       int(data["evaluations"]), bool(data["finished"]),
                       tuple(float(x) for x in data["lengths"]),
                       None if data.get("plan_before") is None else float(data["plan_before"]),
                       None if data.get("plan_after") is None else float(data["plan_after"]),
                       bool(data.get("kept_fixed", False)), tuple(data.get("notes", ())),
                       tuple(tuple(_shift_from(s) for s in c)
                             for c in data.get("candidates", ())),
                       tuple(float(x) for x in data.get("plan_candidates", ())))
        except (KeyError, TypeError, ValueError) as err:
            msg = f"`shift_optimisation` is not a valid record: {err!r}"
            raise ScenarioError(msg) from None


def _shift_dict(s: Shift) -> dict[str, Any]:
    return {"name": s.name, "start": s.start.strftime("%H:%M"), "share": s.share,
            "hours": s.hours}


def _shift_from(d: Mapping[str, Any]) -> Shift:
    hh, mm = (int(x) for x in str(d["start"]).split(":"))
    return Shift(str(d["name"]), time(hh, mm), float(d["share"]),
                 None if d.get("hours") is None else float(d["hours"]))


class _Scorer:
    """Expected casualties per attack of a slot staffing (module docstring)."""

    def __init__(self, scenario: Scenario, standards: Sequence[ResponseStandard],
                 n_max: int) -> None:
        from citywatch.model.payoffs import build_game, standby_travel_minutes
        from citywatch.model.protection import armed_on_site
        from citywatch.response.joint import PlacementEvaluator

        self.sc = scenario
        self.standards = tuple(standards)
        base = build_game(scenario)
        g = base.game
        self.ns = len(scenario.sites)
        self.n_slots = len(scenario.slots)
        self.dc, self.ac = g.defender_covered, g.attacker_covered
        self.sym_att = g.attacker_uncovered - base.casualties_uncovered
        self.sym_def = -g.defender_uncovered - base.casualties_uncovered
        self.kc = base.casualties_covered
        self.q = np.array([a.interdiction for a in scenario.attackers])[:, None]
        self.priors = g.priors
        self.groups = g.groups
        self.on = armed_on_site(scenario).reshape(-1)
        self.travel = standby_travel_minutes(scenario)
        self.ev = PlacementEvaluator(scenario, self.travel, standards)
        self.orders, self.firsts = _floor_arvs(scenario, standards, n_max)
        self._harm: dict[tuple[int, int], FloatArray | None] = {}
        self._value: dict[tuple[tuple[int, ...], tuple[int, ...]], float] = {}
        self.evaluations = 0

    def posts(self, s: int, n: int) -> tuple[int, ...]:
        first = self.firsts[s]
        prefix = tuple(sorted(self.orders[s][:n]))
        if not self.standards or (first is not None and n >= first):
            return prefix
        return self.ev.repair_slot(s, prefix)

    def harm(self, s: int, n: int) -> FloatArray | None:
        """Each type's casualties at slot `s`'s sites with `n` ARVs (None: infeasible)."""
        from citywatch.errors import InfeasibleError

        key = (s, n)
        if key not in self._harm:
            try:
                self._harm[key] = np.asarray(self.ev.table(s)(self.posts(s, n)))
            except InfeasibleError:
                self._harm[key] = None
        return self._harm[key]

    def __call__(self, patrols: Sequence[int], arvs: Sequence[int]) -> float:
        from citywatch.games.equilibrium import best_responses
        from citywatch.games.origami import solve_origami
        from citywatch.model.game import SecurityGame

        key = (tuple(int(x) for x in patrols), tuple(int(x) for x in arvs))
        if key in self._value:
            return self._value[key]
        self.evaluations += 1
        # a slot with no crew still has one vehicle, as in `build_game`
        harms = [self.harm(s, max(n, 1)) for s, n in enumerate(key[1])]
        if any(h is None for h in harms):
            self._value[key] = math.inf
            return math.inf
        ku = np.concatenate(harms, axis=1)
        ku = np.where(self.on, self.kc, ku)
        au = np.where(self.on, self.ac, ku + self.sym_att)
        du = np.where(self.on, self.dc, -(ku + self.sym_def))
        res = np.minimum(np.asarray(key[0], dtype=np.int64), self.ns)
        game = SecurityGame(self.dc, du, self.ac, au, resources=res, groups=self.groups,
                            priors=self.priors)
        cov = solve_origami(game.mixture()).coverage
        attacked, _ = best_responses(game, cov)
        c = np.maximum(cov, self.on.astype(np.float64))[None, :]
        cas = c * (1.0 - self.q) * self.kc + (1.0 - c) * ku
        value = float(self.priors @ cas[np.arange(len(attacked)), attacked])
        self._value[key] = value
        return value


def _counts(force: Force, officers: FloatArray) -> tuple[list[int], list[int]]:
    """Patrol teams and ARV crews per slot, as `teams_per_slot` rounds them."""
    arv = [math.floor(o * force.arv_share / force.arv_crew_size + 1e-9) for o in officers]
    pat = [math.floor(o * (1.0 - force.arv_share) / force.patrol_team_size + 1e-9)
           for o in officers]
    return pat, arv


def _realise(m: FloatArray, lengths: FloatArray, hours: float, target: FloatArray,
             least: float) -> FloatArray | None:
    """Officers starting each shift with ``M x >= target``, the day's hours kept.

    Shifts the LP would start fewer than `least` officers on are dropped and the LP
    solved again without them (while it stays feasible), so no shift is a token one.
    """
    usable = np.ones(m.shape[1], dtype=bool)
    best: FloatArray | None = None
    for _ in range(4):
        cols = np.flatnonzero(usable)
        res = linprog(np.ones(cols.size), A_ub=-m[:, cols], b_ub=-target,
                      A_eq=lengths[None, cols], b_eq=[hours], bounds=(0, None),
                      method="highs")
        if res.status != 0:
            break
        x = np.zeros(m.shape[1])
        x[cols] = res.x
        best = x
        small = (x > 0) & (x < least)
        if not small.any():
            break
        usable &= ~small
    return best


def _whole(x: FloatArray, lengths: FloatArray, hours: float) -> FloatArray:
    """Whole officers starting each shift, the day's hours as near `hours` as can be."""
    base = np.floor(x + _TOL)
    order = np.argsort(-(x - base), kind="stable")
    for k in order:
        if base @ lengths + lengths[k] > hours + _TOL or x[k] - base[k] <= _TOL:
            continue
        base[k] += 1
    return base


def optimise_shifts(scenario: Scenario, *, lengths: Sequence[float] = SHIFT_LENGTHS,
                    rules: WorkingTimeRules | None = None,
                    standards: Sequence[ResponseStandard] | None = None,
                    max_evaluations: int = 400) -> ShiftOptimisation:
    """The shift pattern of least expected casualties per attack (module docstring).

    Parameters
    ----------
    scenario
        The scenario; its own pattern is the start and the comparison.
    lengths
        Shift lengths to choose from (hours, each 8, 10 or 12).
    rules
        Working-time rules (`allowed_lengths`).
    standards
        Response standards the ARVs must meet (default the scenario's).
    max_evaluations
        Patterns the search may score (a work limit: deterministic).

    Raises
    ------
    GameError
        Naming the option, for lengths outside 8/10/12, no length the rules allow, or a
        bad work limit.
    """
    bad = [x for x in lengths if x not in SHIFT_LENGTHS]
    if not lengths or bad:
        msg = (f"`shift_lengths` must be hours among {', '.join(f'{x:g}' for x in SHIFT_LENGTHS)}, "
               f"got {', '.join(f'{x:g}' for x in lengths) or 'none'}")
        raise GameError(msg)
    if not (isinstance(max_evaluations, int) and not isinstance(max_evaluations, bool)
            and max_evaluations >= 1):
        msg = f"`shift_evaluations` must be an integer >= 1, got {max_evaluations!r}"
        raise GameError(msg)
    if any(sl.patrol_teams is not None or sl.arv_crews is not None for sl in scenario.slots):
        msg = ("`optimise_shifts`: the scenario's slots set their teams explicitly, so the "
               "shift pattern does not change them")
        raise GameError(msg)
    allowed = allowed_lengths(scenario, sorted(set(float(x) for x in lengths)), rules=rules)
    if not allowed:
        ext = _posture(scenario)[1]
        msg = (f"`shift_lengths`: none of {', '.join(f'{x:g}' for x in lengths)} h is allowed "
               f"by the working-time rules at {scenario.threat_level.name} "
               f"(+{ext:g} h extension)")
        raise GameError(msg)
    fo = scenario.force
    stds = scenario.response_standards if standards is None else tuple(standards)
    hours = _hours_per_day(scenario)
    types = [(float(h), length) for length in allowed for h in range(24)]
    m = shift_matrix(scenario, types)
    lens = np.array([length for _, length in types])
    share, ext, released = _posture(scenario)
    before = np.array(officers_on_duty(fo, scenario.slots, deployed_share=share,
                                       shift_extension_hours=ext, released_share=released))
    n_max = math.floor(hours / min(allowed) * fo.arv_share / fo.arv_crew_size) + 1
    score = _Scorer(scenario, stds, n_max)
    fixed_arv = [t.arv_crews for t in teams_per_slot(fo, scenario.slots,
                                                     posture=scenario.postures[
                                                         scenario.threat_level])]
    floor = [min(fixed_arv[s], f if f is not None else fixed_arv[s])
             for s, f in enumerate(score.firsts)]

    def value(o: FloatArray) -> float:
        pat, arv = _counts(fo, o)
        if any(a < f for a, f in zip(arv, floor, strict=True)):
            return math.inf
        return score(pat, arv)

    def realised(xt: FloatArray) -> tuple[tuple[Shift, ...], FloatArray]:
        """The pattern of whole officers `xt` rounds to, and its officers on duty.

        Shifts left with fewer than `least` officers are dropped and the others scaled
        to the day's hours: no token shifts (the move is scored as realised).
        """
        whole = _whole(xt, lens, hours)
        whole[whole < least] = 0.0
        if not whole.any():
            whole = _whole(xt, lens, hours)
        used = float(whole @ lens)
        pattern = tuple(
            Shift(f"{int(h):02d}:00/{length:g}h", time(int(h)), float(lens[k] * whole[k] / used),
                  float(length))
            for k, (h, length) in enumerate(types) if whole[k] > 0)
        force = dataclasses.replace(fo, shifts=pattern)
        return pattern, np.array(officers_on_duty(force, scenario.slots, deployed_share=share,
                                                  shift_extension_hours=ext,
                                                  released_share=released))

    model_before = value(before)
    # the least officers worth starting a shift for: one ARV crew and one patrol
    least = float(fo.arv_crew_size + fo.patrol_team_size)
    x = _realise(m, lens, hours, before * (1 - 1e-9), least)
    notes: list[str] = []
    if x is None:  # the fixed pattern uses a length not allowed: start from nothing
        x = _realise(m, lens, hours, np.full(before.size, 0.0), least)
        notes.append("The fixed pattern uses shift lengths the optimiser may not; the "
                     "search started from the fewest-officers pattern.")
    assert x is not None
    chosen, current = realised(x)
    best = value(current)
    path: list[tuple[Shift, ...]] = [chosen] if best < model_before else []
    finished = False
    n_slots = len(scenario.slots)
    for delta in STEPS:
        while True:
            move: tuple[float, tuple[Shift, ...], FloatArray] | None = None
            for a, b in itertools.permutations(range(n_slots), 2):
                if score.evaluations >= max_evaluations:
                    break
                target = current.copy()
                if target[a] < delta:
                    continue
                target[a] -= delta
                target[b] += delta
                xt = _realise(m, lens, hours, target * (1 - 1e-9), least)
                if xt is None:
                    continue
                pattern, o = realised(xt)
                v = value(o)
                if v < best - 1e-9 * max(1.0, abs(best)) and (move is None or v < move[0]):
                    move = (v, pattern, o)
            if move is None:
                break
            best, chosen, current = move
            path.append(chosen)
        if score.evaluations >= max_evaluations:
            break
    else:
        finished = True
    after, model_after = current, best
    if model_after > model_before:  # never report a pattern worse than the fixed one
        chosen, after, model_after = fo.shifts, before, model_before
        notes.append("No pattern scored better than the fixed one; it is kept.")
    candidates: list[tuple[Shift, ...]] = []
    for pattern in reversed(path):
        if pattern not in candidates and pattern != fo.shifts:
            candidates.append(pattern)
        if len(candidates) == CANDIDATES:
            break
    starting = starting_officers(scenario, chosen)
    if not finished:
        notes.append(f"The search stopped at its work limit ({max_evaluations} patterns "
                     f"scored) before a local optimum.")
    return ShiftOptimisation(chosen, fo.shifts, tuple(float(v) for v in before),
                             tuple(float(v) for v in after), starting, model_before,
                             model_after, score.evaluations, finished, allowed,
                             notes=tuple(notes), candidates=tuple(candidates))


def starting_officers(scenario: Scenario, shifts: Sequence[Shift]) -> dict[str, float]:
    """Officers starting each shift a day, ``{name: officers}`` (one decimal)."""
    hours = _hours_per_day(scenario)
    return {s.name: round(s.share * hours / s.length(scenario.force), 1) for s in shifts}
