"""The roster artifact: the beat each named team runs in each slot, and its missions."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from citywatch.model.scenario import Scenario
from citywatch.schedule.beats import Beat
from citywatch.schedule.overrides import OverrideImpact
from citywatch.schedule.teams import Team, WorkingTimeRules

__all__ = ["Mission", "Roster"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Mission:
    """One entry of a team's orders: a stop at a site, from arrival (`start`) to departure (`end`).

    ``stop`` numbers the stops of one deployment (a team's beat in one working window
    of a slot) in walking order; ``hub`` is where that beat starts and ends.
    """

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
    stop: int = 1
    hub: str = ""


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
        site; ``dwell_minutes`` is the window); a beat gives one mission per stop, with
        its arrival and departure, looping the stops while the window allows (walk from
        the hub first, back to the hub last; `Beat.timetable`). A mission never crosses
        the team's meal break or shift end.
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
                    hub = "" if beat.hub is None else beat.hub[0]
                    for lo, hi in self.windows(d, s, int(k)):
                        for stop in beat.timetable(lo, hi):
                            start, end = self.at(stop.arrive), self.at(stop.depart)
                            if end <= start:
                                continue
                            n += 1
                            st = sc.sites[stop.site]
                            minutes = (end.timestamp() - start.timestamp()) / 60.0
                            yield d, s, stop.site, Mission(
                                f"{day_tag}-{slot.name}-{team.name}-{n:02d}", team.name,
                                start, end, slot.name, st.id, st.name, st.lat, st.lon,
                                minutes, beat.tactic, beat.id, n, hub)

    def planned_presence(self) -> FloatArray:
        """Mean presence share the drawn beats give each site per slot, shape (slots, sites).

        Each drawn beat counts with its full-slot timetable (`Beat.presence`), as the
        plan does; shift changes and meal breaks then shorten what the missions realise.
        """
        sc = self.scenario
        out = np.zeros((len(sc.slots), len(sc.sites)))
        cache: dict[tuple[int, int], dict[int, float]] = {}
        for d, s, k in zip(*np.nonzero(self.assignment >= 0), strict=True):
            b = int(self.assignment[d, s, k])
            share = cache.get((b, int(s)))
            if share is None:
                share = self.beats[b].presence(sc.slots[int(s)].hours * 60.0)
                cache[(b, int(s))] = share
            for i, v in share.items():
                out[s, i] += v
        return out / max(1, self.days)

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
