"""Foot-patrol beats: short walking tours of nearby sites, and the schedule game they induce."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from citywatch._random import Seed, as_generator
from citywatch.errors import GameError
from citywatch.geo.distance import haversine_m
from citywatch.model.game import SecurityGame
from citywatch.model.scenario import Scenario

__all__ = [
    "STATIC",
    "TOUR",
    "Beat",
    "BeatPlan",
    "candidate_beats",
    "sample_beats",
    "solve_beats",
    "static_beats",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Tactic of a team standing at one site for its whole window (visible static presence).
STATIC = "static"
#: Tactic of a team walking a tour of sites with a short visible-presence stop at each.
TOUR = "beat"

WALK_SPEED_KMH = 4.8
"""Armed officers on foot in kit, km/h [assumption]."""
TRANSFER_SPEED_KMH = 13.0
"""Driving a team from its base to its first stop: central London general traffic (REFERENCE)."""


@dataclass(frozen=True)
class Beat:
    """One candidate beat: the sites visited in order, dwell at each and the legs between.

    ``legs_minutes`` has one more entry than ``sites``: base to the first stop, between
    stops, and the last stop back to base; ``closing_leg_minutes`` walks from the last
    stop back to the first when the team repeats the loop. A static beat (one site,
    ``tactic == "static"``) keeps the team at the site for its whole window.
    """

    id: str
    sites: tuple[int, ...]
    dwell_minutes: tuple[float, ...]
    legs_minutes: tuple[float, ...]
    base: int | None
    tactic: str = TOUR
    closing_leg_minutes: float = 0.0

    @property
    def minutes(self) -> float:
        """Length of one pass from base round the stops and back."""
        return float(sum(self.dwell_minutes) + sum(self.legs_minutes))

    @property
    def loop_minutes(self) -> float:
        """Length of one loop of the stops, back to the first, without the base legs."""
        return float(sum(self.dwell_minutes) + sum(self.legs_minutes[1:-1])
                     + self.closing_leg_minutes)


def static_beats(scenario: Scenario) -> tuple[Beat, ...]:
    """One static beat per site, in site order (beat ``i`` is site ``i``)."""
    return tuple(Beat(f"static-{s.id}", (i,), (0.0,), (0.0, 0.0), None, STATIC)
                 for i, s in enumerate(scenario.sites))


def _walk_minutes(lat: FloatArray, lon: FloatArray, *, speed_kmh: float,
                  circuity: float) -> FloatArray:
    d = haversine_m(lat[:, np.newaxis], lon[:, np.newaxis], lat[np.newaxis], lon[np.newaxis])
    return np.asarray(d * circuity / (speed_kmh * 1000.0 / 60.0))


def candidate_beats(scenario: Scenario, *, dwell_minutes: float = 15.0, max_stops: int = 3,
                    max_leg_minutes: float = 20.0, walk_speed_kmh: float = WALK_SPEED_KMH,
                    transfer_speed_kmh: float = TRANSFER_SPEED_KMH, circuity: float = 1.3,
                    slot_minutes: float | None = None,
                    include_static: bool = True) -> tuple[Beat, ...]:
    """Candidate beats from the scenario's geography.

    Each site anchors beats of 2 to `max_stops` stops: the anchor and its nearest
    neighbours reachable on foot within `max_leg_minutes` a leg, visited in
    nearest-neighbour order. Walking time is the great-circle distance times
    `circuity` at `walk_speed_kmh`; the team is driven from its base (the standby
    point nearest the first stop) at `transfer_speed_kmh` and back from the last. A
    beat is kept when one pass (transfers, walks and a `dwell_minutes` stop at each
    site) fits in `slot_minutes` (default: the shortest slot). Duplicate site sets are
    dropped. With `include_static`, one static beat per site comes first (beat ``i`` is
    site ``i``), so every site stays coverable.

    Parameters
    ----------
    scenario
        Sites and standby points (team bases).
    dwell_minutes
        Visible-presence stop at each site, typically 10 to 20 minutes.
    max_stops
        Most sites on one beat.
    max_leg_minutes
        Longest walk between consecutive stops.
    walk_speed_kmh, transfer_speed_kmh, circuity
        Travel model for walking legs and base transfers.
    slot_minutes
        Time a beat must fit in; default the shortest slot of the scenario.
    include_static
        Start the list with one static beat per site.
    """
    if not 10.0 <= dwell_minutes <= 20.0:
        msg = f"`dwell_minutes` should be 10 to 20 (a visible-presence stop), got {dwell_minutes}"
        raise GameError(msg)
    if max_stops < 1:
        msg = f"`max_stops` must be >= 1, got {max_stops}"
        raise GameError(msg)
    limit = (min(s.hours for s in scenario.slots) * 60.0 if slot_minutes is None
             else float(slot_minutes))
    lat = np.array([s.lat for s in scenario.sites])
    lon = np.array([s.lon for s in scenario.sites])
    walk = _walk_minutes(lat, lon, speed_kmh=walk_speed_kmh, circuity=circuity)
    if scenario.standby:
        blat = np.array([b.lat for b in scenario.standby])
        blon = np.array([b.lon for b in scenario.standby])
        to_base = haversine_m(lat[:, np.newaxis], lon[:, np.newaxis], blat[np.newaxis],
                              blon[np.newaxis]) * circuity / (transfer_speed_kmh * 1000 / 60)
        nearest_base = np.argmin(to_base, axis=1)
        base_minutes = to_base[np.arange(lat.size), nearest_base]
    else:
        nearest_base = np.full(lat.size, -1)
        base_minutes = np.zeros(lat.size)
    beats: list[Beat] = list(static_beats(scenario)) if include_static else []
    seen: set[frozenset[int]] = set()
    ids = scenario.site_ids
    for anchor in range(lat.size):
        near = [int(j) for j in np.argsort(walk[anchor], kind="stable")
                if j != anchor and walk[anchor, j] <= max_leg_minutes][:max_stops - 1]
        for size in range(2, min(max_stops, len(near) + 1) + 1):
            members = [anchor, *near[:size - 1]]
            order = [anchor]
            rest = set(members[1:])
            while rest:  # nearest-neighbour order from the anchor
                nxt = min(rest, key=lambda j: (walk[order[-1], j], j))
                order.append(nxt)
                rest.remove(nxt)
            key = frozenset(order)
            if key in seen:
                continue
            inner = [float(walk[a, b]) for a, b in zip(order, order[1:], strict=False)]
            if max(inner) > max_leg_minutes:
                continue
            legs = (float(base_minutes[order[0]]), *inner, float(base_minutes[order[-1]]))
            dwell = (float(dwell_minutes),) * len(order)
            if sum(legs) + sum(dwell) > limit:
                continue
            seen.add(key)
            base = int(nearest_base[order[0]])
            beats.append(Beat("beat-" + "+".join(ids[i] for i in order), tuple(order), dwell,
                              legs, None if base < 0 else base, TOUR,
                              float(walk[order[-1], order[0]])))
    return tuple(beats)


@dataclass(frozen=True, eq=False)
class BeatPlan:
    """A mixed strategy over beats, slot by slot, and the coverage it gives each site.

    Attributes
    ----------
    beats
        The candidate beats.
    equilibrium
        The schedule solver's result (``citywatch.games.schedules.ScheduleEquilibrium``);
        schedule ``s * len(beats) + b`` is beat ``b`` in slot ``s``.
    coverage
        Coverage each site gets in each slot, shape (slots, sites): the marginals of
        the mixed strategy.
    budgets
        Teams in each slot.
    """

    beats: tuple[Beat, ...]
    equilibrium: object
    coverage: FloatArray
    budgets: IntArray

    def support(self, slot: int) -> list[tuple[tuple[int, ...], float]]:
        """The pure strategies of `slot`: (beats run, probability)."""
        eq = self.equilibrium
        nb = len(self.beats)
        out = []
        for joint, g, p in zip(eq.joint_schedules, eq.joint_groups,  # type: ignore[attr-defined]
                               eq.probabilities, strict=True):  # type: ignore[attr-defined]
            if int(g) == slot:
                out.append((tuple(int(s) - slot * nb for s in joint), float(p)))
        return out


def solve_beats(game: SecurityGame, beats: Sequence[Beat], *, n_sites: int,
                time_limit: float | None = 60.0, seed: Seed = None) -> BeatPlan:
    """Solve the schedule-constrained game in which each team runs one beat per slot.

    Targets are slot-major (``slot * n_sites + site``, as `citywatch.model.payoffs`
    builds them) and each budget group is a slot. Every beat is a schedule in every
    slot it fits; the solver (ASPEN-style column generation,
    `citywatch.games.schedules.solve_schedules`) returns a mixed strategy over sets of
    beats whose marginals are the sites' coverage.

    Parameters
    ----------
    game
        The scenario's game (one attacker type solves exactly; several by
        price-and-branch with a proven gap).
    beats
        Candidate beats, e.g. from `candidate_beats`.
    n_sites
        Sites per slot.
    time_limit
        Seconds for the solver; on reaching it the best strategy found is returned.
    seed
        Seeds the solver's initial columns.
    """
    from citywatch.games.schedules import ScheduleGame, solve_schedules

    n_slots = game.n_groups
    if game.n_targets != n_slots * n_sites:
        msg = (f"`game` has {game.n_targets} targets, expected {n_slots} slots x {n_sites} "
               f"sites")
        raise GameError(msg)
    schedules = [[s * n_sites + i for i in b.sites] for s in range(n_slots) for b in beats]
    groups = [s for s in range(n_slots) for _ in beats]
    sgame = ScheduleGame.from_lists(game, schedules, groups=groups)
    eq = solve_schedules(sgame, time_limit=time_limit, seed=seed)
    coverage = np.asarray(eq.coverage, dtype=np.float64).reshape(n_slots, n_sites)
    return BeatPlan(tuple(beats), eq, coverage, np.asarray(sgame.teams(), dtype=np.int64))


def sample_beats(plan: BeatPlan, *, draws: int = 1, seed: Seed = None) -> list[list[list[int]]]:
    """Draw the beats run in each slot of each day from the plan's mixed strategy.

    Returns ``out[day][slot]``: the beat indices run (distinct, at most the slot's
    teams), drawn independently per day and slot with the plan's probabilities, so
    each site's visit frequency converges to its coverage.
    """
    from citywatch.schedule.sampling import sample_joint_schedules

    rng = as_generator(seed)
    eq = plan.equilibrium
    n_slots = plan.coverage.shape[0]
    nb = len(plan.beats)
    picks = sample_joint_schedules(eq.joint_groups, eq.probabilities,  # type: ignore[attr-defined]
                                   n_groups=n_slots, draws=draws, seed=rng)
    joints = eq.joint_schedules  # type: ignore[attr-defined]
    return [[[] if picks[d, s] < 0 else [int(j) - s * nb for j in joints[picks[d, s]]]
             for s in range(n_slots)] for d in range(draws)]
