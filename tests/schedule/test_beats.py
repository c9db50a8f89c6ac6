"""Beats: candidate tours fit their slot, and sampled beats realise the solver's coverage."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy import stats

from citywatch.errors import GameError
from citywatch.geo.distance import haversine_m
from citywatch.model.payoffs import build_game
from citywatch.model.scenario import Scenario
from citywatch.schedule.beats import STATIC, TOUR, candidate_beats, sample_beats, solve_beats
from citywatch.schedule.roster import make_beat_roster
from citywatch.schedule.working_time import check_working_time


@pytest.fixture(scope="module")
def beat_plan(small: Scenario):  # type: ignore[no-untyped-def]
    game = build_game(small).game
    return solve_beats(game, candidate_beats(small), n_sites=len(small.sites), time_limit=60,
                       seed=1)


def test_candidate_beats_fit_and_walk(small: Scenario) -> None:
    beats = candidate_beats(small, dwell_minutes=12, max_stops=3, slot_minutes=120)
    n = len(small.sites)
    assert [b.sites for b in beats[:n]] == [(i,) for i in range(n)]
    assert all(b.tactic == STATIC for b in beats[:n])
    tours = beats[n:]
    assert tours and all(b.tactic == TOUR and 2 <= len(b.sites) <= 3 for b in tours)
    assert len({frozenset(b.sites) for b in tours}) == len(tours)
    for b in tours:
        assert b.minutes <= 120 + 1e-9
        assert b.dwell_minutes == (12.0,) * len(b.sites)
        # walking legs recompute from the great-circle distance at 4.8 km/h x 1.3
        for (i, j), leg in zip(zip(b.sites, b.sites[1:], strict=False), b.legs_minutes[1:-1],
                               strict=True):
            si, sj = small.sites[i], small.sites[j]
            d = float(haversine_m(si.lat, si.lon, sj.lat, sj.lon))
            assert leg == pytest.approx(d * 1.3 / (4800 / 60))
            assert leg <= 20
    with pytest.raises(GameError, match="dwell_minutes"):
        candidate_beats(small, dwell_minutes=45)


def test_solver_coverage_is_the_mixed_strategy(beat_plan, small: Scenario) -> None:  # type: ignore[no-untyped-def]
    n_slots, n = len(small.slots), len(small.sites)
    recomputed = np.zeros((n_slots, n))
    for s in range(n_slots):
        support = beat_plan.support(s)
        assert sum(p for _, p in support) == pytest.approx(1.0)
        for run, p in support:
            assert len(run) <= beat_plan.budgets[s]
            covered = {i for b in run for i in beat_plan.beats[b].sites}
            recomputed[s, sorted(covered)] += p
    assert np.allclose(recomputed, beat_plan.coverage, atol=1e-7)


def test_sampled_beats_match_coverage(beat_plan, small: Scenario) -> None:  # type: ignore[no-untyped-def]
    draws = 4000
    drawn = sample_beats(beat_plan, draws=draws, seed=3)
    counts = np.zeros_like(beat_plan.coverage)
    for day in drawn:
        for s, run in enumerate(day):
            assert len(run) == len(set(run)) <= beat_plan.budgets[s]
            for i in {i for b in run for i in beat_plan.beats[b].sites}:
                counts[s, i] += 1
    p = beat_plan.coverage
    lo = stats.binom.ppf(1e-7, draws, p)
    hi = stats.binom.isf(1e-7, draws, p)
    assert np.all((counts >= lo - 1e-9) & (counts <= hi + 1e-9))


def test_beat_roster(beat_plan, small: Scenario) -> None:  # type: ignore[no-untyped-def]
    r = make_beat_roster(small, beat_plan, days=60, start=date(2026, 10, 19), seed=5)
    check_working_time(r)
    assert np.all((r.assignment >= 0).sum(axis=2) <= beat_plan.budgets)
    missions = list(r.missions())
    tours = [m for m in missions if m.tactic == TOUR]
    if tours:
        assert all(10 <= m.dwell_minutes <= 20 for m in tours)
    # the realised coverage comes from the stops that fit, never above what was drawn
    assert np.all(r.mission_visits() <= r.visits())
    # no team in two places at once, in real time across the autumn clock change
    spans: dict[str, list[tuple[float, float]]] = {}
    for m in missions:
        spans.setdefault(m.team, []).append((m.start.timestamp(), m.end.timestamp()))
    for team_spans in spans.values():
        team_spans.sort()
        assert all(b[0] >= a[1] for a, b in zip(team_spans, team_spans[1:], strict=False))


def test_plan_uses_tours(beat_plan) -> None:  # type: ignore[no-untyped-def]
    used = {b for s in range(beat_plan.coverage.shape[0]) for run, _ in beat_plan.support(s)
            for b in run}
    assert any(beat_plan.beats[b].tactic == TOUR for b in used)
