"""Rosters: sampling named teams' beats and sites from a plan, checked for working time.

The roster artifact (`Roster`, `Mission`) lives in `citywatch.schedule.missions`, teams
and shifts in `citywatch.schedule.teams`, overrides in `citywatch.schedule.overrides`,
the working-time check in `citywatch.schedule.working_time` and predictability in
`citywatch.schedule.predictability`; they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from citywatch._random import Seed, as_generator
from citywatch.errors import GameError
from citywatch.model.force import teams_per_slot
from citywatch.model.game import SecurityGame
from citywatch.model.scenario import Scenario
from citywatch.progress import advance, stage
from citywatch.schedule.beat_plan import BeatPlan, sample_beats
from citywatch.schedule.beats import static_beats
from citywatch.schedule.missions import Mission, Roster
from citywatch.schedule.overrides import (
    Forbid,
    OverrideImpact,
    Pin,
    _apply_overrides,
    _Pins,
)
from citywatch.schedule.predictability import SitePredictability, predictability
from citywatch.schedule.sampling import assign_teams, comb_sample
from citywatch.schedule.teams import (
    Team,
    WorkingTimeRules,
    _choose_teams,
    _eligible_minutes,
    _worked_share_note,
    build_teams,
)
from citywatch.schedule.working_time import check_working_time

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
    with stage("roster: teams and shifts"):
        teams, notes = build_teams(scenario, b, rules=rules, officers=officers)
        eligible = _eligible_minutes(scenario, teams, days)
        chosen = _choose_teams(eligible, b, rules, scenario, start, rng)
        notes = (*notes, _worked_share_note(scenario, eligible, chosen))
    with stage("roster: each day's sites drawn from the plan", total=days):
        selected = comb_sample(c, budgets=b, draws=days, seed=rng)
        advance(days)
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
    with stage("roster: working-time check"):
        check_working_time(roster)
    return roster


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


def roster_from_plan(plan: Plan, *, days: int = 7, start: date | None = None,
                     seed: Seed = None, beats: bool = False,
                     overrides: Sequence[Pin | Forbid] = (),
                     rules: WorkingTimeRules | None = None,
                     time_limit: float | None = 240.0,
                     beat_plan: BeatPlan | None = None,
                     beats_attacker: str = "mixture") -> Roster:
    """The roster for a solved plan: what ``citywatch roster`` and ``plan --roster-days`` run.

    With ``beats=False`` the plan's coverage is sampled site by site (`make_roster`).
    With ``beats=True`` beats are sampled from `beat_plan` (`make_beat_roster`); when
    it is not given, candidate beats are built from the geography and the game over
    them is solved (`solve_beats`, for `beats_attacker`: ``"mixture"`` or
    ``"bayesian"``). Overrides are supported for site rosters only.
    """
    from citywatch.schedule.beat_plan import solve_beats
    from citywatch.schedule.walking import candidate_beats

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
    if beat_plan is None:
        beat_plan = solve_beats(game, candidate_beats(sc), n_sites=len(sc.sites),
                                slot_minutes=[s.hours * 60.0 for s in sc.slots],
                                attacker=beats_attacker, time_limit=time_limit)
    return make_beat_roster(sc, beat_plan, days=days, start=start, seed=rng, rules=rules)
