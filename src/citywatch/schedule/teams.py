"""Foot-patrol teams: shifts, rest days and meal breaks, and which teams deploy in a slot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

import numpy as np
import numpy.typing as npt

from citywatch.errors import GameError, RosterError
from citywatch.model.scenario import Scenario

__all__ = ["Team", "WorkingTimeRules", "build_teams"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class WorkingTimeRules:
    """Working-time rules every published roster must meet.

    Defaults follow the Working Time Regulations 1998 (reg. 10: 11 hours' daily rest;
    reg. 11: 24 hours' uninterrupted rest in each 7 days; reg. 12: a break when the
    working day exceeds 6 hours; reg. 4: 48 hours a week on average) and a 45-minute
    refreshment break per tour [est: police practice]; `max_shift_hours` is a planning
    assumption. The 48-hour average is taken over the roster's horizon (at least one
    week), not the Regulations' 17-week reference period.
    """

    max_shift_hours: float = 12.0
    max_continuous_hours: float = 6.0
    meal_break_minutes: float = 45.0
    min_rest_hours: float = 11.0
    weekly_rest_hours: float = 24.0
    max_average_weekly_hours: float = 48.0
    min_mission_minutes: float = 30.0


@dataclass(frozen=True)
class Team:
    """A named armed foot-patrol team on a fixed shift with a rotating rest-day pattern.

    The team works the shift starting at `start` (local time) on day ``d`` of the
    roster when ``(d + rest_offset) % 7 < work_days``. A shift lasts `hours` of real
    time, so over a clock change it ends an hour earlier or later by the clock.
    `breaks` are (minutes after the shift start, minutes long) of its meal breaks.
    """

    name: str
    officers: tuple[str, ...]
    shift: str
    start: time
    hours: float
    work_days: int
    rest_offset: int
    breaks: tuple[tuple[float, float], ...]

    def works(self, day: int) -> bool:
        """Whether the team starts a shift on roster day `day` (may be -1)."""
        return (day + self.rest_offset) % 7 < self.work_days

    def work_offsets(self) -> list[tuple[float, float]]:
        """Working intervals of a shift, minutes after its start, meal breaks cut out."""
        pieces, t = [], 0.0
        for offset, length in self.breaks:
            pieces.append((t, offset))
            t = offset + length
        pieces.append((t, self.hours * 60.0))
        return [(a, b) for a, b in pieces if b > a]


def _break_plan(hours: float, rules: WorkingTimeRules,
                boundaries: Sequence[float]) -> tuple[tuple[float, float], ...]:
    """Meal breaks (offset minutes, length) so no stretch exceeds the continuous-work limit.

    ``k`` breaks split the shift evenly (offsets rounded to 5 minutes); each is moved
    to the nearest slot boundary (`boundaries`, minutes after the shift start) when the
    stretches still meet the limit, so breaks shorten a mission window instead of
    splitting it.
    """
    total = hours * 60.0
    b = rules.meal_break_minutes
    limit = rules.max_continuous_hours * 60.0
    if total <= limit:
        return ()
    k = 1
    while (total - k * b) / (k + 1) > limit + 1e-9:
        k += 1
        if k > 48:
            break
    work = (total - k * b) / (k + 1)
    starts = [5.0 * math.floor((j * work + (j - 1) * b) / 5.0) for j in range(1, k + 1)]
    for j, ideal in enumerate(starts):
        for cand in sorted(boundaries, key=lambda x: abs(x - ideal)):
            trial = sorted([*starts[:j], cand, *starts[j + 1:]])
            edges = [0.0]
            for st in trial:
                edges += [st, st + b]
            edges.append(total)
            stretches = [edges[i + 1] - edges[i] for i in range(0, len(edges), 2)]
            if min(stretches) >= 0 and max(stretches) <= limit + 1e-9:
                starts[j] = cand
                break
    return tuple((float(s), float(b)) for s in sorted(starts))


def _overlap(start_h: float, length_h: float, breaks: Sequence[tuple[float, float]],
             slot_start_h: float, slot_h: float, day_shift: int) -> float:
    """Working minutes of a shift (starting `day_shift` days after the slot's day) in the slot."""
    s0 = (day_shift * 24 + start_h) * 60.0
    pieces, t = [], s0
    for offset, blen in breaks:
        pieces.append((t, s0 + offset))
        t = s0 + offset + blen
    pieces.append((t, s0 + length_h * 60.0))
    a, b = slot_start_h * 60.0, (slot_start_h + slot_h) * 60.0
    return float(sum(max(0.0, min(b, q) - max(a, p)) for p, q in pieces))


def build_teams(scenario: Scenario, budgets: npt.ArrayLike, *,
                rules: WorkingTimeRules | None = None,
                officers: Sequence[str] | None = None) -> tuple[tuple[Team, ...], tuple[str, ...]]:
    """Form named teams on the scenario's shifts, enough to deploy `budgets` teams each slot.

    Shifts start at the scenario's shift times and last their length (`Shift.length`)
    plus the threat posture's extension. A team counts for a slot when it works at least
    ``rules.min_mission_minutes`` of it. The teams on duty each day are split over
    the shifts by share over length, scaled up until every slot can be staffed; each
    team works ``round(weekly_hours / length)`` consecutive days in 7 (rest days
    staggered across teams) and has its meal breaks planned by the continuous-work rule.

    Parameters
    ----------
    scenario
        The scenario (force, shift pattern, slots, threat posture).
    budgets
        Teams deployed in each slot.
    rules
        Working-time rules (break length, continuous-work limit, shortest mission).
    officers
        Officer names or numbers; default ``AFO0001``, ``AFO0002``, ...

    Returns
    -------
    tuple
        The teams and notes on staffing (officers needed against those available).

    Raises
    ------
    RosterError
        If `officers` is too short (rule ``"establishment"``).
    """
    rules = rules or WorkingTimeRules()
    force = scenario.force
    posture = scenario.postures[scenario.threat_level]
    lengths = [sh.length(force) for sh in force.shifts]
    hours_of = [h + posture.shift_extension_hours for h in lengths]
    slots = scenario.slots
    need = np.asarray(budgets, dtype=np.int64)
    if need.shape != (len(slots),):
        msg = f"`budgets` must have one entry per slot ({len(slots)}), got {need.tolist()}"
        raise GameError(msg)
    plans = []
    for k, sh in enumerate(force.shifts):
        start_h = sh.start.hour + sh.start.minute / 60.0
        hours = hours_of[k]
        bounds = sorted({((sl.start_hour - start_h) % 24) * 60.0 for sl in slots})
        plans.append(_break_plan(hours, rules, [x for x in bounds if 0 < x < hours * 60]))
    eligible = np.zeros((len(force.shifts), len(slots)), dtype=bool)
    for k, sh in enumerate(force.shifts):
        start_h = sh.start.hour + sh.start.minute / 60.0
        for s, sl in enumerate(slots):
            minutes = max(_overlap(start_h, hours_of[k], plans[k], sl.start_hour, sl.hours,
                                   dd) for dd in (-1, 0))
            eligible[k, s] = minutes >= rules.min_mission_minutes
    # the day's starters split by share / length (`citywatch.model.force.officers_on_duty`)
    shares = np.array([sh.share / h for sh, h in zip(force.shifts, lengths, strict=True)],
                      dtype=np.float64)
    shares = shares / shares.sum()
    per_day = np.zeros(len(force.shifts), dtype=np.int64)
    for total in range(int(need.max()), 50 * int(need.sum()) + 2):
        per_day = np.ceil(shares * total - 1e-9).astype(np.int64)
        if np.all(eligible.T.astype(np.int64) @ per_day >= need):
            break
    else:
        s = int(np.argmax(eligible.sum(axis=0) == 0))
        msg = (f"no shift works {rules.min_mission_minutes:g} minutes of slot "
               f"`{slots[s].name}`, so its {int(need[s])} teams cannot be staffed")
        raise RosterError(msg, rule="staffing")
    teams: list[Team] = []
    names = iter(officers) if officers is not None else None
    counter = 0
    for k, sh in enumerate(force.shifts):
        n = int(per_day[k])
        if n == 0:
            continue
        work_days = max(1, min(7, round(force.weekly_hours / lengths[k])))
        count = math.ceil(n * 7 / work_days)
        while min(sum(((d + (j * 7) // count) % 7) < work_days for j in range(count))
                  for d in range(7)) < n:
            count += 1
        for j in range(count):
            members = []
            for _ in range(force.patrol_team_size):
                counter += 1
                if names is None:
                    members.append(f"AFO{counter:04d}")
                else:
                    try:
                        members.append(str(next(names)))
                    except StopIteration:
                        msg = (f"`officers` lists {counter - 1} officers, too few for the "
                               f"teams the slots need")
                        raise RosterError(msg, rule="establishment") from None
            teams.append(Team(f"{sh.name.upper()}-{j + 1:02d}", tuple(members), sh.name,
                              sh.start, hours_of[k], work_days, (j * 7) // count, plans[k]))
    needed = len(teams) * force.patrol_team_size
    available = (force.street_officers * (1 - force.abstraction_rate)
                 * posture.deployed_share * (1 - force.arv_share))
    notes = [f"{len(teams)} foot-patrol teams ({needed} officers) on "
             f"{', '.join(f'{sh.name} {int(per_day[k])}/day' for k, sh in enumerate(force.shifts))}"
             f"; about {available:.0f} officers are available for foot patrol after "
             f"abstraction, posture and ARV crews"]
    if needed > available + 1e-9:
        notes.append(f"the roster needs {needed - available:.0f} more officers than the force "
                     f"model makes available (whole teams and rest days round up)")
    return tuple(teams), tuple(notes)


def _eligible_minutes(scenario: Scenario, teams: Sequence[Team], days: int) -> FloatArray:
    """Working minutes of each team in each slot, shape (days, slots, teams)."""
    out = np.zeros((days, len(scenario.slots), len(teams)))
    works = np.array([[t.works(e) for e in range(-1, days)] for t in teams], dtype=bool)
    for k, t in enumerate(teams):
        start_h = t.start.hour + t.start.minute / 60.0
        for s, sl in enumerate(scenario.slots):
            for dd in (-1, 0):
                m = _overlap(start_h, t.hours, t.breaks, sl.start_hour, sl.hours, dd)
                if m > 0:
                    # shift of day d + dd: works index (d + dd) + 1
                    out[:, s, k] += m * works[k, 1 + dd:1 + dd + days]
    return out


def _choose_teams(eligible: FloatArray, budgets: IntArray, rules: WorkingTimeRules,
                  scenario: Scenario, start: date, rng: np.random.Generator) -> IntArray:
    """Pick each slot's deployed teams: most working minutes first, ties at random.

    Returns shape (days, slots, max budget), team indices (-1 past the slot's budget).
    """
    days, n_slots, n_teams = eligible.shape
    ok = eligible >= rules.min_mission_minutes
    have = ok.sum(axis=2)
    short = np.argwhere(have < budgets[np.newaxis, :])
    if short.size:
        d, s = (int(v) for v in short[0])
        msg = (f"slot `{scenario.slot_names[s]}` on {start + timedelta(days=d)} needs "
               f"{int(budgets[s])} teams but only {int(have[d, s])} are on duty")
        raise RosterError(msg, rule="staffing")
    width = int(budgets.max()) if budgets.size else 0
    key = np.where(ok, eligible + rng.random(eligible.shape), -np.inf)
    order = np.argsort(-key, axis=2)[:, :, :width]
    return np.where(np.arange(width) < budgets[np.newaxis, :, np.newaxis], order, -1)


def _worked_share_note(scenario: Scenario, eligible: FloatArray, chosen: IntArray) -> str:
    """How much of its slot a deployed team works, on average (shifts and slots differ)."""
    d, s, k = np.nonzero(chosen >= 0)
    if d.size == 0:
        return "no team is deployed"
    minutes = eligible[d, s, chosen[d, s, k]]
    slot_minutes = np.array([sl.hours * 60.0 for sl in scenario.slots])[s]
    share = float((minutes / slot_minutes).mean())
    return (f"deployed teams work {share:.0%} of their slot on average: shift changes and "
            f"meal breaks leave the rest of the slot uncovered at that site")
