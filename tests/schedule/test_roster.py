"""Rosters: budgets, visit frequencies, no double booking, working time, overrides."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from _schedule_scenarios import write_small
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from citywatch.errors import GameError, RosterError
from citywatch.model.io import load_scenario
from citywatch.model.payoffs import build_game
from citywatch.model.scenario import Scenario
from citywatch.plan import best_responses
from citywatch.schedule.overrides import Forbid, Pin, _override_coverage
from citywatch.schedule.predictability import predictability
from citywatch.schedule.roster import make_roster
from citywatch.schedule.teams import WorkingTimeRules
from citywatch.schedule.working_time import check_working_time

COVERAGE = np.array([[0.9, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0],
                     [0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 1.0]])
BUDGETS = [3, 3]
START = date(2026, 3, 23)  # the week of the spring clock change (29 March)


@pytest.fixture(scope="module")
def long_roster(small: Scenario):  # type: ignore[no-untyped-def]
    return make_roster(small, COVERAGE, days=400, start=START, seed=7, budgets=BUDGETS)


def test_visit_frequencies_match_coverage(long_roster) -> None:  # type: ignore[no-untyped-def]
    v = long_roster.visits()
    counts = v.sum(axis=0)
    n = v.shape[0]
    lo = stats.binom.ppf(1e-7, n, COVERAGE)
    hi = stats.binom.isf(1e-7, n, COVERAGE)
    assert np.all((counts >= lo) & (counts <= hi)), (counts / n).round(3)
    # the missions really put teams there (every static window has a mission)
    assert np.array_equal(long_roster.mission_visits(), v)


def test_budgets_hold_every_slot(long_roster) -> None:  # type: ignore[no-untyped-def]
    deployed = (long_roster.assignment >= 0).sum(axis=2)
    assert np.all(deployed <= np.array(BUDGETS))
    assert np.all(long_roster.visits().sum(axis=2) <= np.array(BUDGETS))


def test_no_team_in_two_places_at_once(small: Scenario) -> None:
    r = make_roster(small, COVERAGE, days=21, start=START, seed=3, budgets=BUDGETS)
    by_team = defaultdict(list)
    for m in r.missions():
        assert m.start.tzinfo is not None
        assert m.end.timestamp() > m.start.timestamp()
        by_team[m.team].append((m.start.timestamp(), m.end.timestamp()))
    assert by_team
    for spans in by_team.values():
        spans.sort()
        for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
            assert s2 >= e1


def test_missions_inside_shifts_and_outside_breaks(small: Scenario) -> None:
    r = make_roster(small, COVERAGE, days=10, start=START, seed=4, budgets=BUDGETS)
    teams = {t.name: k for k, t in enumerate(r.teams)}
    for m in r.missions():
        k = teams[m.team]
        inside = any(
            r.at(lo).timestamp() <= m.start.timestamp() <= m.end.timestamp()
            <= r.at(hi).timestamp()
            for day in range(-1, r.days) for lo, hi in r.work_pieces(k, day))
        assert inside, m
        assert m.dwell_minutes == pytest.approx((m.end - m.start).total_seconds() / 60) or \
            m.start.utcoffset() != m.end.utcoffset()


def test_working_time_holds_across_clock_change(small: Scenario) -> None:
    r = make_roster(small, COVERAGE, days=14, start=START, seed=1, budgets=BUDGETS)
    check_working_time(r)  # no raise
    for t in r.teams:
        assert t.hours <= r.rules.max_shift_hours
        assert all(length >= r.rules.meal_break_minutes for _, length in t.breaks)


def test_long_shift_is_refused(tmp_path: Path) -> None:
    sc = load_scenario(write_small(tmp_path / "s", force="shift_hours = 14\n"))
    with pytest.raises(RosterError, match=r"max_shift|more than the 12 h") as err:
        make_roster(sc, COVERAGE, days=7, start=START, seed=0, budgets=BUDGETS)
    assert err.value.rule == "max_shift_hours"
    assert err.value.team is not None and err.value.team in str(err.value)


def test_short_rest_is_refused(small: Scenario) -> None:
    rules = WorkingTimeRules(min_rest_hours=15)
    with pytest.raises(RosterError, match="rest") as err:
        make_roster(small, COVERAGE, days=7, start=START, seed=0, budgets=BUDGETS, rules=rules)
    assert err.value.rule == "min_rest_hours"


def test_weekly_hours_and_continuous_rules(small: Scenario) -> None:
    with pytest.raises(RosterError) as err:
        make_roster(small, COVERAGE, days=14, start=START, seed=0, budgets=BUDGETS,
                    rules=WorkingTimeRules(max_average_weekly_hours=30))
    assert err.value.rule == "max_average_weekly_hours"
    r = make_roster(small, COVERAGE, days=7, start=START, seed=0, budgets=BUDGETS)
    strict = dataclasses.replace(r, rules=WorkingTimeRules(max_continuous_hours=3))
    with pytest.raises(RosterError, match="without a break") as err:
        check_working_time(strict)
    assert err.value.rule == "max_continuous_hours"
    no_rest = dataclasses.replace(r, teams=tuple(dataclasses.replace(t, work_days=7)
                                                 for t in r.teams))
    with pytest.raises(RosterError) as err:
        check_working_time(no_rest)
    assert err.value.rule in {"weekly_rest_hours", "max_average_weekly_hours"}


def test_seed_reproduces(small: Scenario) -> None:
    a = make_roster(small, COVERAGE, days=5, start=START, seed=9, budgets=BUDGETS)
    b = make_roster(small, COVERAGE, days=5, start=START, seed=9, budgets=BUDGETS)
    c = make_roster(small, COVERAGE, days=5, start=START, seed=10, budgets=BUDGETS)
    assert list(a.missions()) == list(b.missions())
    assert list(a.missions()) != list(c.missions())


def test_pin_and_forbid(small: Scenario) -> None:
    base = make_roster(small, COVERAGE, days=7, start=START, seed=2, budgets=BUDGETS)
    deployed = np.flatnonzero((base.assignment[2] >= 0).any(axis=0))
    team = base.teams[int(deployed[0])].name
    r = make_roster(small, COVERAGE, days=7, start=START, seed=2, budgets=BUDGETS,
                    overrides=[Pin(team, "eye", 2), Forbid("abbey", START + timedelta(days=3))])
    k = [t.name for t in r.teams].index(team)
    eye = small.site_ids.index("eye")
    slots = np.flatnonzero(r.assignment[2, :, k] >= 0)
    assert slots.size and np.all(r.assignment[2, slots, k] == eye)
    assert not r.visits()[3, :, small.site_ids.index("abbey")].any()
    assert np.all((r.assignment >= 0).sum(axis=2) <= np.array(BUDGETS))
    assert [i.day for i in r.overrides] == [2, 3]
    forbid = r.overrides[1]
    game = build_game(small).game
    assert forbid.l1_shift > 0 and forbid.max_shift == pytest.approx(0.9)
    # the cost is recomputed independently from the game
    assert forbid.expected_loss_equilibrium == pytest.approx(
        -best_responses(game, COVERAGE.reshape(-1))[1])
    assert forbid.expected_loss_override >= forbid.expected_loss_equilibrium - 1e-9
    assert "abbey" in forbid.warning()


def test_override_errors(small: Scenario) -> None:
    with pytest.raises(GameError, match="not on the roster"):
        make_roster(small, COVERAGE, days=3, start=START, seed=0, budgets=BUDGETS,
                    overrides=[Pin("NOBODY", "eye", 0)])
    with pytest.raises(GameError, match="outside the roster"):
        make_roster(small, COVERAGE, days=3, start=START, seed=0, budgets=BUDGETS,
                    overrides=[Forbid("eye", 5)])


def test_coverage_shape_checked(small: Scenario) -> None:
    with pytest.raises(GameError, match="shape"):
        make_roster(small, np.ones(3), days=1, seed=0)
    flat = make_roster(small, COVERAGE.reshape(-1), days=2, start=START, seed=1,
                       budgets=BUDGETS)
    assert flat.target_coverage.shape == (2, 8)


def test_predictability_tells_routine_from_random() -> None:
    days = 400
    rng = np.random.default_rng(0)
    v = np.zeros((days, 1, 3), dtype=bool)
    v[:, 0, 0] = rng.random(days) < 0.5       # independent coin flips
    v[::2, 0, 1] = True                        # every other day: a routine
    v[:, 0, 2] = True                          # every day: certain
    p = predictability(v, ["random", "routine", "always"])
    assert p[0].predictability < 0.05 and p[0].entropy_bits > 0.95
    assert p[1].entropy_bits == pytest.approx(1.0) and p[1].predictability > 0.99
    assert p[2].entropy_bits == 0.0 and p[2].predictability == 1.0
    assert [x.visits for x in p][1:] == [200, 400]


def test_year_over_both_clock_changes(small: Scenario) -> None:
    # Shifts last real hours, so the autumn night shift ends an hour earlier by the clock.
    r = make_roster(small, COVERAGE, days=366, start=date(2026, 1, 1), seed=2, budgets=BUDGETS)
    check_working_time(r)
    assert r.rules.max_continuous_hours == 6.0


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.sets(st.integers(0, 9), max_size=3),
       st.sets(st.integers(0, 9), max_size=4))
def test_override_coverage_stays_feasible(seed: int, budget: int, pins: set[int],
                                          bans: set[int]) -> None:
    rng = np.random.default_rng(seed)
    base = np.minimum(rng.dirichlet(np.ones(10)) * budget, 1.0)[np.newaxis]
    base[0, rng.random(10) < 0.3] = 0.0  # equilibria leave many sites uncovered
    pins = set(list(pins)[:budget])
    out = _override_coverage(base, np.array([budget]), {0: pins}, {0: bans})
    assert np.all(out >= 0) and np.all(out <= 1 + 1e-12)
    assert out.sum() <= budget + 1e-9
    assert np.all(out[0, sorted(pins)] == 1.0)
    assert np.all(out[0, sorted(bans - pins)] == 0.0)
    # freed coverage is spread, not lost, while there is room for it
    free = [i for i in range(10) if i not in pins | bans]
    support = [i for i in free if base[0, i] > 0]
    expected = min(float(budget - len(pins)), float(base.sum() - base[0, sorted(pins)].sum()),
                   float(len(support)))
    assert out[0, free].sum() == pytest.approx(expected, abs=1e-9)
