"""Rosters: named teams on shifts, the missions sampled for them, and working-time checks."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from citywatch._random import Seed, as_generator
from citywatch.errors import GameError, RosterError
from citywatch.model.force import teams_per_slot
from citywatch.model.game import SecurityGame
from citywatch.model.scenario import Scenario
from citywatch.schedule.beats import STATIC, Beat, BeatPlan, sample_beats, static_beats
from citywatch.schedule.sampling import assign_teams, comb_sample

if TYPE_CHECKING:
    from citywatch.plan import Plan

__all__ = [
    "Forbid",
    "Mission",
    "OverrideImpact",
    "Pin",
    "Roster",
    "SitePredictability",
    "Team",
    "WorkingTimeRules",
    "build_teams",
    "check_working_time",
    "make_beat_roster",
    "make_roster",
    "predictability",
    "roster_from_plan",
]

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


@dataclass(frozen=True)
class Mission:
    """One entry of a team's orders: be at a site for a time window."""

    mission_id: str
    team: str
    start: datetime
    end: datetime
    slot: str
    site_id: str
    site_name: str
    lat: float
    lon: float
    dwell_minutes: float
    tactic: str
    beat_id: str


@dataclass(frozen=True)
class Pin:
    """Planner override: `team` covers `site_id` in every slot it is deployed on `day`.

    ``slot`` limits the pin to one slot. ``day`` is a roster day index or a date.
    """

    team: str
    site_id: str
    day: int | date
    slot: str | None = None


@dataclass(frozen=True)
class Forbid:
    """Planner override: no team goes to `site_id` on `day` (or only in `slot`)."""

    site_id: str
    day: int | date
    slot: str | None = None


@dataclass(frozen=True)
class OverrideImpact:
    """How far a day's overrides move coverage from the equilibrium and what that costs.

    ``expected_loss_*`` are casualty-equivalents per attack with each attack type
    best-responding to that day's coverage (``−`` the prior-weighted defender payoff);
    ``now_certain`` lists (site, slot) pairs the overrides made certain (always or never
    covered) although the equilibrium randomised them: an attacker can plan on those.
    """

    day: int
    overrides: tuple[str, ...]
    l1_shift: float
    max_shift: float
    expected_loss_equilibrium: float
    expected_loss_override: float
    now_certain: tuple[tuple[str, str], ...]

    @property
    def extra_loss(self) -> float:
        """Expected loss added by the overrides (>= 0 when the plan was optimal)."""
        return self.expected_loss_override - self.expected_loss_equilibrium

    def warning(self) -> str:
        """A one-line warning for the planner (ARMOR warned its users the same way)."""
        msg = (f"day {self.day}: overrides ({'; '.join(self.overrides)}) move coverage by "
               f"{self.l1_shift:.2f} team-slots (largest change {self.max_shift:.2f}) and "
               f"change expected loss by {self.extra_loss:+.3f} casualty-equivalents per attack")
        if self.now_certain:
            msg += ("; now predictable: " + ", ".join(f"{s} ({sl})"
                                                       for s, sl in self.now_certain[:5]))
        return msg


@dataclass(frozen=True)
class SitePredictability:
    """How predictable a site's visits were over the horizon.

    ``entropy_bits`` is the mean over slots of the binary entropy of the site's visit
    frequency in that slot (0: always or never visited; 1: a fair coin).
    ``conditional_entropy_bits`` is the same given whether the site was visited in the
    same slot the day before. ``predictability = 1 − conditional / marginal`` is 0 when
    yesterday says nothing about today (independent draws) and 1 for a fixed routine;
    a site with zero entropy (always or never visited) scores 1.
    """

    site_id: str
    visits: int
    entropy_bits: float
    conditional_entropy_bits: float
    predictability: float


@dataclass(frozen=True, eq=False)
class Roster:
    """Named teams, their shifts and the beat each runs in each slot of each day.

    Attributes
    ----------
    scenario
        The scenario (sites, slots, time zone).
    start
        Date of roster day 0 (local).
    teams
        The teams; their shifts start on days -1 .. days-1 (day -1's night shift covers
        day 0's early hours).
    beats
        Beats that `assignment` indexes (static beats, one per site, when sampled from
        plain coverage).
    assignment
        Shape (days, slots, teams): the beat each team runs, -1 when not deployed.
    target_coverage
        Coverage the roster was sampled from, shape (slots, sites).
    budgets
        Teams deployed per slot.
    rules
        The working-time rules it was checked against.
    overrides
        The impact of the planner's overrides, one entry per day they touch.
    notes
        Plain statements about staffing and approximations.
    """

    scenario: Scenario
    start: date
    teams: tuple[Team, ...]
    beats: tuple[Beat, ...]
    assignment: IntArray
    target_coverage: FloatArray
    budgets: IntArray
    rules: WorkingTimeRules
    overrides: tuple[OverrideImpact, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def days(self) -> int:
        """Days in the horizon."""
        return int(self.assignment.shape[0])

    @property
    def tz(self) -> ZoneInfo:
        """The scenario's time zone."""
        return ZoneInfo(self.scenario.timezone)

    def incidence(self) -> BoolArray:
        """Shape (beats, sites): whether each beat visits each site."""
        inc = np.zeros((len(self.beats), len(self.scenario.sites)), dtype=bool)
        for b, beat in enumerate(self.beats):
            inc[b, list(beat.sites)] = True
        return inc

    def visits(self) -> BoolArray:
        """Shape (days, slots, sites): whether some team is deployed to each site."""
        a = self.assignment
        inc = self.incidence()
        out = np.zeros((a.shape[0], a.shape[1], inc.shape[1]), dtype=bool)
        d, s, k = np.nonzero(a >= 0)
        beats = a[d, s, k]
        for b in np.unique(beats):
            rows = beats == b
            sites = np.flatnonzero(inc[b])
            out[d[rows][:, None], s[rows][:, None], sites[None, :]] = True
        return out

    def realised_coverage(self) -> FloatArray:
        """Share of days each site is deployed to in each slot, shape (slots, sites)."""
        return np.asarray(self.visits().mean(axis=0), dtype=np.float64)

    def local(self, minutes: float) -> datetime:
        """Aware local datetime `minutes` of wall-clock time after day 0's midnight.

        Wall-clock arithmetic: on a clock-change day, 02:00 is 120 minutes after
        midnight whatever the real time elapsed. Rounded to the minute.
        """
        whole = math.floor(minutes + 0.5)
        day, rest = divmod(whole, 1440)
        return datetime.combine(self.start + timedelta(days=day),
                                time(rest // 60, rest % 60), tzinfo=self.tz)

    def real_minutes(self, minutes: float) -> float:
        """Real minutes elapsed from day 0's midnight to wall-clock minute `minutes`."""
        return _real_minutes(self.start, self.scenario.timezone, float(minutes))

    def at(self, real: float) -> datetime:
        """Aware local datetime `real` elapsed minutes after day 0's midnight (to the minute)."""
        return _at(self.start, self.scenario.timezone, math.floor(real + 0.5))

    def slot_window(self, day: int, slot: int) -> tuple[float, float]:
        """Wall-clock minutes of a slot from day 0's midnight."""
        sl = self.scenario.slots[slot]
        a = day * 1440.0 + sl.start.hour * 60.0 + sl.start.minute
        return a, a + sl.hours * 60.0

    def shift_start(self, team: int, day: int) -> float:
        """Real minutes from day 0's midnight to the start of `team`'s shift on `day`."""
        t = self.teams[team]
        return self.real_minutes(day * 1440.0 + t.start.hour * 60.0 + t.start.minute)

    def work_pieces(self, team: int, day: int) -> list[tuple[float, float]]:
        """The team's working intervals on its shift of `day`, real minutes ([] on rest days)."""
        t = self.teams[team]
        if not t.works(day):
            return []
        s0 = self.shift_start(team, day)
        return [(s0 + a, s0 + b) for a, b in _work_offsets(t)]

    def windows(self, day: int, slot: int, team: int) -> list[tuple[float, float]]:
        """The team's working intervals inside a slot, in real minutes from day 0's midnight."""
        wa, wb = self.slot_window(day, slot)
        a, b = self.real_minutes(wa), self.real_minutes(wb)
        out = []
        for e in (day - 1, day):
            for p, q in self.work_pieces(team, e):
                lo, hi = max(a, p), min(b, q)
                if hi - lo > 1e-9:
                    out.append((lo, hi))
        return out

    def missions(self) -> Iterator[Mission]:
        """Every mission, day by day and slot by slot.

        A static beat gives one mission per working window (the team stays at the
        site; ``dwell_minutes`` is the window); a tour gives one mission per stop visit,
        looping the stops while the window allows (transfer from base first, back to
        base last). A mission never crosses the team's meal break or shift end.
        """
        for _, _, _, mission in self._indexed_missions():
            yield mission

    def _indexed_missions(self) -> Iterator[tuple[int, int, int, Mission]]:
        sc = self.scenario
        a = self.assignment
        for d in range(a.shape[0]):
            day_tag = (self.start + timedelta(days=d)).strftime("%Y%m%d")
            for s, slot in enumerate(sc.slots):
                for k in np.flatnonzero(a[d, s] >= 0):
                    beat = self.beats[int(a[d, s, k])]
                    team = self.teams[int(k)]
                    n = 0
                    for lo, hi in self.windows(d, s, int(k)):
                        for site, t0, t1 in _visits(beat, lo, hi):
                            start, end = self.at(t0), self.at(t1)
                            if end <= start:
                                continue
                            n += 1
                            st = sc.sites[site]
                            minutes = (end.timestamp() - start.timestamp()) / 60.0
                            yield d, s, site, Mission(
                                f"{day_tag}-{slot.name}-{team.name}-{n:02d}", team.name,
                                start, end, slot.name, st.id, st.name, st.lat, st.lon,
                                minutes, beat.tactic, beat.id)

    def mission_visits(self) -> BoolArray:
        """Like `visits`, counting only the stops that fit in the teams' working windows."""
        sc = self.scenario
        out = np.zeros((self.days, len(sc.slots), len(sc.sites)), dtype=bool)
        for d, s, i, _ in self._indexed_missions():
            out[d, s, i] = True
        return out


@lru_cache(maxsize=65536)
def _at(start: date, timezone: str, whole_minutes: int) -> datetime:
    tz = ZoneInfo(timezone)
    base = datetime.combine(start, time(0), tzinfo=tz).astimezone(UTC)
    return (base + timedelta(minutes=whole_minutes)).astimezone(tz)


@lru_cache(maxsize=4096)
def _work_offsets(team: Team) -> tuple[tuple[float, float], ...]:
    return tuple(team.work_offsets())


@lru_cache(maxsize=65536)
def _real_minutes(start: date, timezone: str, minutes: float) -> float:
    tz = ZoneInfo(timezone)
    midnight = datetime.combine(start, time(0), tzinfo=tz)
    day, rest = divmod(minutes, 1440.0)
    wall = datetime.combine(start + timedelta(days=int(day)), time(0), tzinfo=tz) + timedelta(
        minutes=rest)
    return (wall.timestamp() - midnight.timestamp()) / 60.0


def _visits(beat: Beat, lo: float, hi: float) -> list[tuple[int, float, float]]:
    """Stops of `beat` that fit in the window [lo, hi) minutes, as (site, start, end)."""
    if beat.tactic == STATIC:
        return [(beat.sites[0], lo, hi)]
    out = []
    t = lo + beat.legs_minutes[0]
    back = beat.legs_minutes[-1]
    k = 0
    n = len(beat.sites)
    while True:
        i = k % n
        dwell = beat.dwell_minutes[i]
        if t + dwell + back > hi + 1e-9:
            break
        out.append((beat.sites[i], t, t + dwell))
        t += dwell
        t += beat.legs_minutes[i + 1] if i < n - 1 else beat.closing_leg_minutes
        k += 1
    return out


# --------------------------------------------------------------------------- teams


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

    Shifts start at the scenario's shift times and last ``shift_hours`` plus the
    threat posture's extension. A team counts for a slot when it works at least
    ``rules.min_mission_minutes`` of it. The teams on duty each day are split over
    the shifts by the shift shares, scaled up until every slot can be staffed; each
    team works ``round(weekly_hours / shift_hours)`` consecutive days in 7 (rest days
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
    hours = force.shift_hours + posture.shift_extension_hours
    slots = scenario.slots
    need = np.asarray(budgets, dtype=np.int64)
    if need.shape != (len(slots),):
        msg = f"`budgets` must have one entry per slot ({len(slots)}), got {need.tolist()}"
        raise GameError(msg)
    plans = []
    for sh in force.shifts:
        start_h = sh.start.hour + sh.start.minute / 60.0
        bounds = sorted({((sl.start_hour - start_h) % 24) * 60.0 for sl in slots})
        plans.append(_break_plan(hours, rules, [x for x in bounds if 0 < x < hours * 60]))
    eligible = np.zeros((len(force.shifts), len(slots)), dtype=bool)
    for k, sh in enumerate(force.shifts):
        start_h = sh.start.hour + sh.start.minute / 60.0
        for s, sl in enumerate(slots):
            minutes = max(_overlap(start_h, hours, plans[k], sl.start_hour, sl.hours, dd)
                          for dd in (-1, 0))
            eligible[k, s] = minutes >= rules.min_mission_minutes
    shares = np.array([sh.share for sh in force.shifts], dtype=np.float64)
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
    work_days = max(1, min(7, round(force.weekly_hours / force.shift_hours)))
    teams: list[Team] = []
    names = iter(officers) if officers is not None else None
    counter = 0
    for k, sh in enumerate(force.shifts):
        n = int(per_day[k])
        if n == 0:
            continue
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
                              sh.start, hours, work_days, (j * 7) // count, plans[k]))
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


# --------------------------------------------------------------------------- working time


def _team_edges(roster: Roster, team: int, days: Sequence[int]) -> FloatArray:
    """Real minutes of each shift's start, break edges and end, shape (shifts, edges)."""
    t = roster.teams[team]
    s0 = np.array([roster.shift_start(team, e) for e in days])
    cols = [s0]
    for offset, length in t.breaks:
        cols += [s0 + offset, s0 + offset + length]
    cols.append(s0 + t.hours * 60.0)
    return np.stack(cols, axis=1)


def check_working_time(roster: Roster) -> None:
    """Check every team's shifts against the roster's working-time rules.

    Times are real elapsed time in the scenario's time zone (rest after a shift that
    crosses a clock change is an hour shorter or longer). Rules: shift length, longest stretch
    without a break, meal-break length, rest between shifts, 24 hours' rest in every
    7 days (no run of shifts without such a gap spans more than 6 days), and average
    weekly hours over the horizon.

    Raises
    ------
    RosterError
        Naming the first rule broken and the team that breaks it.
    """
    r = roster.rules
    weeks = max(1.0, roster.days / 7.0)
    for k, team in enumerate(roster.teams):
        days = [e for e in range(-1, roster.days) if team.works(e)]
        if not days:
            continue
        edges = _team_edges(roster, k, days)
        for _, length in team.breaks:
            if length + 1e-9 < r.meal_break_minutes:
                msg = (f"team {team.name}: meal break of {length:g} min is shorter than "
                       f"the rule's {r.meal_break_minutes:g} min")
                raise RosterError(msg, rule="meal_break_minutes", team=team.name)
        start_real, end_real = edges[:, 0], edges[:, -1]
        length_h = (end_real - start_real) / 60.0
        if length_h.max() > r.max_shift_hours + 1e-9:
            i = int(np.argmax(length_h))
            msg = (f"team {team.name}: shift starting {roster.at(edges[i, 0]).isoformat()} lasts "
                   f"{length_h[i]:.2f} h, more than the {r.max_shift_hours:g} h allowed")
            raise RosterError(msg, rule="max_shift_hours", team=team.name)
        stretches = (edges[:, 1::2] - edges[:, 0::2]) / 60.0
        if stretches.max() > r.max_continuous_hours + 1e-9:
            msg = (f"team {team.name}: works {stretches.max():.2f} h without a break, more "
                   f"than the {r.max_continuous_hours:g} h allowed")
            raise RosterError(msg, rule="max_continuous_hours", team=team.name)
        gaps = (start_real[1:] - end_real[:-1]) / 60.0
        if gaps.size and gaps.min() < r.min_rest_hours - 1e-9:
            i = int(np.argmin(gaps))
            msg = (f"team {team.name}: {gaps[i]:.2f} h rest before the shift starting "
                   f"{roster.at(edges[i + 1, 0]).isoformat()}, less than the "
                   f"{r.min_rest_hours:g} h required")
            raise RosterError(msg, rule="min_rest_hours", team=team.name)
        cut = np.flatnonzero(gaps >= r.weekly_rest_hours - 1e-9)
        run_first = np.concatenate([[0], cut + 1])
        run_last = np.concatenate([cut, [len(days) - 1]])
        spans = (end_real[run_last] - start_real[run_first]) / 60.0
        # Runs cut by the horizon are checked as if they went on no further.
        limit = 7 * 24.0 - r.weekly_rest_hours
        if spans.max() > limit + 1e-9:
            msg = (f"team {team.name}: works {spans.max() / 24:.1f} days without "
                   f"{r.weekly_rest_hours:g} h off; the rule needs that rest in every 7 days")
            raise RosterError(msg, rule="weekly_rest_hours", team=team.name)
        in_horizon = np.array([0 <= e < roster.days for e in days])
        worked = float(stretches.sum(axis=1)[in_horizon].sum())
        if worked / weeks > r.max_average_weekly_hours + 1e-9:
            msg = (f"team {team.name}: averages {worked / weeks:.1f} h a week, more than the "
                   f"{r.max_average_weekly_hours:g} h allowed")
            raise RosterError(msg, rule="max_average_weekly_hours", team=team.name)


# --------------------------------------------------------------------------- sampling


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


def _coverage_grid(scenario: Scenario, coverage: npt.ArrayLike) -> FloatArray:
    c = np.asarray(coverage, dtype=np.float64)
    n_slots, n_sites = len(scenario.slots), len(scenario.sites)
    if c.shape == (n_slots * n_sites,):
        c = c.reshape(n_slots, n_sites)
    if c.shape != (n_slots, n_sites):
        msg = (f"`coverage` must have shape ({n_slots}, {n_sites}) or ({n_slots * n_sites},) "
               f"(slot-major targets), got {np.shape(coverage)}")
        raise GameError(msg)
    return c


def _default_budgets(scenario: Scenario) -> IntArray:
    posture = scenario.postures[scenario.threat_level]
    teams = teams_per_slot(scenario.force, scenario.slots, posture=posture)
    return np.array([min(t.patrol_teams, len(scenario.sites)) for t in teams], dtype=np.int64)


def _day_index(day: int | date, start: date, days: int) -> int:
    d = (day - start).days if isinstance(day, date) else int(day)
    if not 0 <= d < days:
        msg = f"override day {day} is outside the roster's {days} days from {start}"
        raise GameError(msg)
    return d


def _override_coverage(base: FloatArray, budgets: IntArray, pinned: dict[int, set[int]],
                       forbidden: dict[int, set[int]]) -> FloatArray:
    """Coverage of one day after overrides, slot by slot (shape (slots, sites)).

    Pinned sites get coverage 1, forbidden sites 0; the rest keep the equilibrium's
    coverage, scaled down when pins use up budget, and a forbidden site's coverage is
    spread over the other sites the equilibrium covers, in proportion to their
    coverage and capped at 1 each (what does not fit leaves a team free).
    """
    c = base.copy()
    for s in range(c.shape[0]):
        pin = sorted(pinned.get(s, set()))
        ban = sorted(forbidden.get(s, set()) - set(pin))
        free = np.ones(c.shape[1], dtype=bool)
        free[pin] = False
        free[ban] = False
        room = float(budgets[s] - len(pin))
        target = min(room, float(base[s].sum()) - float(base[s, pin].sum()))
        c[s, pin] = 1.0
        c[s, ban] = 0.0
        if room <= 0:
            c[s, free] = 0.0
            continue
        rest = c[s, free]
        total = rest.sum()
        if total > 0 and target <= total:  # pins used budget: scale everyone down
            rest = rest * (target / total)
        elif total > 0:  # a ban freed coverage: water-fill it up, capping sites at 1
            for _ in range(len(rest) + 1):
                capped = rest >= 1.0
                scalable = rest[~capped].sum()
                need = target - capped.sum()
                if scalable <= 0 or need <= scalable + 1e-12:
                    break
                rest = np.minimum(np.where(capped, 1.0, rest * (need / scalable)), 1.0)
        c[s, free] = rest
    return c


def _loss(game: SecurityGame, coverage: FloatArray) -> float:
    from citywatch.games.equilibrium import best_responses

    _, value = best_responses(game, coverage.reshape(-1))
    return -value


def make_roster(scenario: Scenario, coverage: npt.ArrayLike, *, days: int = 7,
                start: date | None = None, seed: Seed = None,
                budgets: npt.ArrayLike | None = None,
                rules: WorkingTimeRules | None = None,
                overrides: Sequence[Pin | Forbid] = (),
                officers: Sequence[str] | None = None,
                game: SecurityGame | None = None) -> Roster:
    """Sample a roster from per-slot coverage: which named team stands at which site when.

    Each day and slot, the sites covered are drawn by comb sampling (`comb_sample`),
    so each site is covered with probability exactly its coverage and no slot uses
    more teams than its budget; the slot's deployed teams are those working most of
    it (ties at random) and are matched to the sites at random (`assign_teams`).
    Days are independent draws. The roster is checked against the working-time rules
    before it is returned.

    Parameters
    ----------
    scenario
        The scenario.
    coverage
        Coverage per (slot, site): shape (slots, sites) or slot-major (targets,), e.g.
        ``plan.coverage``.
    days
        Days to roster.
    start
        Date of the first day; default tomorrow in the scenario's time zone.
    seed
        ``None`` draws from OS entropy (operational rosters); an int reproduces a
        roster for drills and tests.
    budgets
        Teams per slot; default the force model's patrol teams (as in the game).
    rules
        Working-time rules; default `WorkingTimeRules()`.
    overrides
        `Pin` and `Forbid` overrides; their cost is reported in ``Roster.overrides``.
    officers
        Officer names to form teams from; default generated numbers.
    game
        The scenario's game for pricing overrides; default ``build_game(scenario).game``.

    Raises
    ------
    RosterError
        If the slots cannot be staffed or a working-time rule is broken.
    GameError
        If coverage, budgets or overrides are malformed.
    """
    rng = as_generator(seed)
    c = _coverage_grid(scenario, coverage)
    b = _default_budgets(scenario) if budgets is None else np.asarray(budgets, dtype=np.int64)
    if days < 1:
        msg = f"`days` must be >= 1, got {days}"
        raise GameError(msg)
    start = start or (datetime.now(ZoneInfo(scenario.timezone)).date() + timedelta(days=1))
    rules = rules or WorkingTimeRules()
    teams, notes = build_teams(scenario, b, rules=rules, officers=officers)
    eligible = _eligible_minutes(scenario, teams, days)
    chosen = _choose_teams(eligible, b, rules, scenario, start, rng)
    notes = (*notes, _worked_share_note(scenario, eligible, chosen))
    selected = comb_sample(c, budgets=b, draws=days, seed=rng)
    impacts: list[OverrideImpact] = []
    pins_by_day: _Pins = {}
    if overrides:
        selected, impacts, pins_by_day = _apply_overrides(
            scenario, c, b, teams, chosen, selected, overrides, start, days, rng, game)
    slot_sites = assign_teams(selected, b, seed=rng)
    assignment = np.full((days, len(scenario.slots), len(teams)), -1, dtype=np.int64)
    d_idx, s_idx, k_idx = np.nonzero(chosen >= 0)
    assignment[d_idx, s_idx, chosen[d_idx, s_idx, k_idx]] = slot_sites[d_idx, s_idx, k_idx]
    for d, pins in pins_by_day.items():
        for s, team, site in pins:
            row = assignment[d, s]
            holder = np.flatnonzero(row == site)
            if holder.size and holder[0] != team:  # swap so the pinned team holds the site
                row[holder[0]] = row[team]
            row[team] = site
    roster = Roster(scenario, start, teams, static_beats(scenario), assignment, c, b, rules,
                    tuple(impacts), notes)
    check_working_time(roster)
    return roster


_Pins = dict[int, list[tuple[int, int, int]]]


def _apply_overrides(scenario: Scenario, c: FloatArray, b: IntArray, teams: Sequence[Team],
                     chosen: IntArray, selected: BoolArray,
                     overrides: Sequence[Pin | Forbid], start: date, days: int,
                     rng: np.random.Generator, game: SecurityGame | None
                     ) -> tuple[BoolArray, list[OverrideImpact], _Pins]:
    team_index = {t.name: k for k, t in enumerate(teams)}
    site_index = {sid: i for i, sid in enumerate(scenario.site_ids)}
    n_slots = len(scenario.slots)
    by_day: dict[int, list[Pin | Forbid]] = {}
    for o in overrides:
        if o.site_id not in site_index:
            scenario.site(o.site_id)  # raises with a suggestion
        if isinstance(o, Pin) and o.team not in team_index:
            msg = f"`team` {o.team!r} is not on the roster (teams are like {teams[0].name!r})"
            raise GameError(msg)
        if o.slot is not None:
            scenario.slot_index(o.slot)
        by_day.setdefault(_day_index(o.day, start, days), []).append(o)
    if game is None:
        from citywatch.model.payoffs import build_game

        game = build_game(scenario).game
    impacts = []
    pins_out: _Pins = {}
    selected = selected.copy()
    for d, items in sorted(by_day.items()):
        pinned: dict[int, set[int]] = {}
        forbidden: dict[int, set[int]] = {}
        pins: list[tuple[int, int, int]] = []
        for o in items:
            slots = range(n_slots) if o.slot is None else [scenario.slot_index(o.slot)]
            i = site_index[o.site_id]
            for s in slots:
                if isinstance(o, Pin):
                    k = team_index[o.team]
                    pos = np.flatnonzero(chosen[d, s] == k)
                    if pos.size == 0:
                        continue  # the team is not deployed in this slot
                    pinned.setdefault(s, set()).add(i)
                    pins.append((s, k, i))
                else:
                    forbidden.setdefault(s, set()).add(i)
            if isinstance(o, Pin) and not any(p[1] == team_index[o.team] for p in pins):
                msg = (f"team {o.team} is not deployed on day {d} "
                       f"({start + timedelta(days=d)}); it cannot be pinned to {o.site_id}")
                raise RosterError(msg, rule="pin", team=o.team)
        day_c = _override_coverage(c, b, pinned, forbidden)
        selected[d] = comb_sample(day_c, budgets=b, draws=1, seed=rng)[0]
        moved = np.abs(day_c - c)
        certain = (((day_c <= 0) | (day_c >= 1)) & (c > 1e-9) & (c < 1 - 1e-9))
        impacts.append(OverrideImpact(
            d, tuple(_describe(o) for o in items), float(moved.sum()), float(moved.max()),
            _loss(game, c), _loss(game, day_c),
            tuple((scenario.site_ids[i], scenario.slot_names[s])
                  for s, i in zip(*np.nonzero(certain), strict=True))))
        pins_out[d] = pins
    return selected, impacts, pins_out


def _describe(o: Pin | Forbid) -> str:
    when = f" in {o.slot}" if o.slot else ""
    if isinstance(o, Pin):
        return f"pin {o.team} to {o.site_id}{when}"
    return f"forbid {o.site_id}{when}"


def make_beat_roster(scenario: Scenario, plan: BeatPlan, *, days: int = 7,
                     start: date | None = None, seed: Seed = None,
                     rules: WorkingTimeRules | None = None,
                     officers: Sequence[str] | None = None) -> Roster:
    """Sample a roster from a mixed strategy over beats (see `citywatch.schedule.beats`).

    Each day and slot one pure strategy (a set of beats) is drawn with its
    probability; its beats go to the slot's deployed teams at random. Overrides are
    not supported for beat rosters yet.
    """
    rng = as_generator(seed)
    if days < 1:
        msg = f"`days` must be >= 1, got {days}"
        raise GameError(msg)
    start = start or (datetime.now(ZoneInfo(scenario.timezone)).date() + timedelta(days=1))
    rules = rules or WorkingTimeRules()
    b = np.asarray(plan.budgets, dtype=np.int64)
    teams, notes = build_teams(scenario, b, rules=rules, officers=officers)
    eligible = _eligible_minutes(scenario, teams, days)
    chosen = _choose_teams(eligible, b, rules, scenario, start, rng)
    notes = (*notes, _worked_share_note(scenario, eligible, chosen))
    drawn = sample_beats(plan, draws=days, seed=rng)
    n_slots = len(scenario.slots)
    assignment = np.full((days, n_slots, len(teams)), -1, dtype=np.int64)
    for d in range(days):
        for s in range(n_slots):
            beats = drawn[d][s]
            if not beats:
                continue
            order = rng.permutation(len(beats))
            crew = chosen[d, s, :len(beats)]
            assignment[d, s, crew] = np.asarray(beats, dtype=np.int64)[order]
    roster = Roster(scenario, start, teams, plan.beats, assignment, plan.coverage, b, rules,
                    (), notes)
    check_working_time(roster)
    return roster


# --------------------------------------------------------------------------- predictability


def _entropy(p: FloatArray) -> FloatArray:
    q = np.clip(p, 1e-300, 1.0)
    r = np.clip(1.0 - p, 1e-300, 1.0)
    h = -(p * np.log2(q) + (1.0 - p) * np.log2(r))
    return np.asarray(np.where((p <= 0) | (p >= 1), 0.0, h), dtype=np.float64)


def predictability(visits: npt.ArrayLike, site_ids: Sequence[str]) -> list[SitePredictability]:
    """Entropy of each site's visit pattern over the horizon (see `SitePredictability`).

    Parameters
    ----------
    visits
        Boolean, shape (days, slots, sites), e.g. ``roster.visits()``.
    site_ids
        Site ids in order.
    """
    v = np.asarray(visits, dtype=bool)
    days, n_slots, n_sites = v.shape
    freq = v.mean(axis=0)  # (slots, sites)
    marginal = _entropy(freq).mean(axis=0)
    if days > 1:
        prev, cur = v[:-1], v[1:]
        cond = np.zeros(n_sites)
        for state in (False, True):
            mask = prev == state
            n = mask.sum(axis=0)  # (slots, sites)
            p1 = np.where(n > 0, (cur & mask).sum(axis=0) / np.maximum(n, 1), 0.0)
            cond += (_entropy(p1) * n / (days - 1)).mean(axis=0)
    else:
        cond = marginal.copy()
    score = np.where(marginal > 1e-12, 1.0 - cond / np.maximum(marginal, 1e-12), 1.0)
    return [SitePredictability(site_ids[i], int(v[:, :, i].sum()), float(marginal[i]),
                               float(cond[i]), float(np.clip(score[i], 0.0, 1.0)))
            for i in range(n_sites)]


def roster_from_plan(plan: Plan, *, days: int = 7, start: date | None = None,
                     seed: Seed = None, beats: bool = False,
                     overrides: Sequence[Pin | Forbid] = (),
                     rules: WorkingTimeRules | None = None,
                     time_limit: float | None = 60.0) -> Roster:
    """The roster for a solved plan: what ``citywatch roster`` and ``plan --roster-days`` run.

    With ``beats=False`` the plan's coverage is sampled site by site (`make_roster`);
    with ``beats=True`` candidate beats are built from the geography, the
    schedule-constrained game is solved over them (`solve_beats`, against the plan's
    attacker model: the prior-weighted mixture when the plan used it) and beats are
    sampled (`make_beat_roster`; overrides are not supported there yet).
    """
    from citywatch.schedule.beats import candidate_beats, solve_beats

    rng = as_generator(seed)
    sc = plan.scenario
    game = plan.built.game
    if not beats:
        return make_roster(sc, plan.coverage, days=days, start=start, seed=rng,
                           budgets=game.resources, rules=rules, overrides=overrides,
                           game=game)
    if overrides:
        msg = "overrides are supported for site rosters only, not with `beats=True` yet"
        raise GameError(msg)
    solve_game = game.mixture() if plan.attacker_model == "mixture" else game
    beat_plan = solve_beats(solve_game, candidate_beats(sc), n_sites=len(sc.sites),
                            time_limit=time_limit, seed=rng)
    return make_beat_roster(sc, beat_plan, days=days, start=start, seed=rng, rules=rules)
