"""Foot-patrol beats: a loop of nearby sites with a visible stop at each, and its timetable.

A beat starts at a hub (a police base or a transport hub), walks to its first stop,
loops the stops (a visible-presence dwell at each, walking between them) for as long as
the window allows, and walks back to the hub from wherever it is when time runs out.
Candidate beats are generated from the geography in `citywatch.schedule.walking`; the
game over them is solved in `citywatch.schedule.beat_plan`.
"""

from __future__ import annotations

from dataclasses import dataclass

from citywatch.model.scenario import Scenario

__all__ = [
    "STATIC",
    "TOUR",
    "Beat",
    "Stop",
    "static_beats",
]

#: Tactic of a team standing at one site for its whole window (visible static presence).
STATIC = "static"
#: Tactic of a team walking a loop of sites with a short visible-presence stop at each.
TOUR = "beat"

_EPS = 1e-9


@dataclass(frozen=True)
class Stop:
    """One visible-presence stop of a timetable: site index, arrival and departure minutes."""

    site: int
    arrive: float
    depart: float


@dataclass(frozen=True)
class Beat:
    """A beat: its stops in loop order, the dwell at each and the walks between them.

    Attributes
    ----------
    id
        Stable identifier (``beat-<site>+<site>...`` when generated).
    sites
        Site indices of the stops, in the order walked.
    dwell_minutes
        Visible-presence stop at each site (10 to 20 minutes is typical).
    legs_minutes
        ``len(sites) + 1`` walks: hub to the first stop, between consecutive stops,
        and the last stop back to the hub.
    base
        Index of the standby point the beat starts from, when its hub is one.
    tactic
        `TOUR` or `STATIC`.
    closing_leg_minutes
        Walk from the last stop back to the first, to start the next loop (for a
        one-stop beat: the walk round the area between two stops at the site).
    return_minutes
        Walk from each stop back to the hub (default: the last leg for every stop).
    hub
        ``(id, name, lat, lon)`` of the hub, when known.
    """

    id: str
    sites: tuple[int, ...]
    dwell_minutes: tuple[float, ...]
    legs_minutes: tuple[float, ...]
    base: int | None
    tactic: str = TOUR
    closing_leg_minutes: float = 0.0
    return_minutes: tuple[float, ...] = ()
    hub: tuple[str, str, float, float] | None = None

    @property
    def minutes(self) -> float:
        """One pass: hub, every stop once in order, back to the hub."""
        return float(sum(self.dwell_minutes) + sum(self.legs_minutes))

    @property
    def loop_minutes(self) -> float:
        """One loop of the stops, back to the first, without the hub legs."""
        return float(sum(self.dwell_minutes) + sum(self.legs_minutes[1:-1])
                     + self.closing_leg_minutes)

    @property
    def walk_minutes(self) -> float:
        """Walking in one pass (hub legs and legs between stops)."""
        return float(sum(self.legs_minutes))

    def back(self, i: int) -> float:
        """Walk from stop `i` back to the hub."""
        if self.return_minutes:
            return float(self.return_minutes[i])
        return float(self.legs_minutes[-1])

    def timetable(self, start: float, end: float) -> list[Stop]:
        """The stops made in the window [start, end) minutes, looping while time allows.

        A static beat stays at its site for the whole window. A tour walks from the hub
        to its first stop and makes one full pass of its stops (when the window holds
        one: `fits`), then loops on to the next stop only while that stop and the walk
        back to the hub from it still fit. In a window too short for one pass (a team's
        shift ends mid-slot) it makes the stops it can in order and walks back.
        """
        if self.tactic == STATIC:
            return [Stop(self.sites[0], start, end)] if end > start + _EPS else []
        out: list[Stop] = []
        n = len(self.sites)
        t = start + self.legs_minutes[0]
        if not self.fits(end - start):  # not even one pass: the stops that fit in order
            for i in range(n):
                dwell = self.dwell_minutes[i]
                if t + dwell + self.back(i) > end + _EPS:
                    break
                out.append(Stop(self.sites[i], t, t + dwell))
                t += dwell + (self.legs_minutes[i + 1] if i < n - 1 else 0.0)
            return out
        # one full pass first (it fits), then loop on while the next stop and the walk
        # back to the hub from it still fit
        for i in range(n):
            dwell = self.dwell_minutes[i]
            out.append(Stop(self.sites[i], t, t + dwell))
            t += dwell
            if i < n - 1:
                t += self.legs_minutes[i + 1]
        i = n - 1
        while True:
            nxt = (i + 1) % n
            leg = self.legs_minutes[i + 1] if i < n - 1 else self.closing_leg_minutes
            dwell = self.dwell_minutes[nxt]
            if t + leg + dwell + self.back(nxt) > end + _EPS:
                break
            t += leg
            out.append(Stop(self.sites[nxt], t, t + dwell))
            t += dwell
            i = nxt
        return out

    def presence(self, minutes: float) -> dict[int, float]:
        """Share of a `minutes`-long slot spent at each stop (the beat's coverage)."""
        shares: dict[int, float] = {}
        for stop in self.timetable(0.0, minutes):
            shares[stop.site] = shares.get(stop.site, 0.0) + (stop.depart - stop.arrive)
        return {s: v / minutes for s, v in shares.items()}

    def fits(self, minutes: float) -> bool:
        """Whether one full pass (every stop once, back to the hub) fits in `minutes`."""
        if self.tactic == STATIC:
            return True
        k = len(self.sites) - 1
        one_pass = (self.legs_minutes[0] + sum(self.dwell_minutes)
                    + sum(self.legs_minutes[1:-1]) + self.back(k))
        return one_pass <= minutes + _EPS


def static_beats(scenario: Scenario) -> tuple[Beat, ...]:
    """One static beat per site, in site order (beat ``i`` is site ``i``)."""
    return tuple(Beat(f"static-{s.id}", (i,), (0.0,), (0.0, 0.0), None, STATIC)
                 for i, s in enumerate(scenario.sites))
