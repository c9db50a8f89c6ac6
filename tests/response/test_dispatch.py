"""Recommended units by ETA, and move-up options after a commitment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from citywatch.errors import ScenarioError, TravelTimeError
from citywatch.geo.distance import straight_line_times
from citywatch.model.io import load_scenario
from citywatch.model.scenario import TravelModel
from citywatch.response import CoverageProblem
from citywatch.response.dispatch import UnitState, recommend, scenario_units
from citywatch.response.moveup import recommend_moveups

UNITS = (
    UnitState("A", 51.500, -0.120),
    UnitState("B", 51.520, -0.080),
    UnitState("C", 51.501, -0.121, status="committed"),
    UnitState("D", 51.450, -0.200, on_patrol=True),
    UnitState("E", 51.505, -0.118, status="off_duty"),
)


def test_units_ranked_by_eta_recomputed() -> None:
    tm = TravelModel()
    ranked = recommend(51.505, -0.115, UNITS, travel=tm)
    assert [r.unit_id for r in ranked] == ["A", "B", "D"]
    assert [r.rank for r in ranked] == [1, 2, 3]
    for r in ranked:
        u = next(u for u in UNITS if u.id == r.unit_id)
        secs = straight_line_times(u.lat, u.lon, 51.505, -0.115, speed_kmh=tm.inner_speed_kmh)
        delay = 0.0 if u.on_patrol else tm.dispatch_delay_min
        assert r.eta_min == pytest.approx(delay + secs[0, 0] / 60)
    assert all(a.eta_min <= b.eta_min for a, b in zip(ranked, ranked[1:], strict=False))


def test_patrol_unit_skips_dispatch_delay() -> None:
    units = [UnitState("base", 51.5, -0.12), UnitState("patrol", 51.5, -0.12, on_patrol=True)]
    ranked = recommend(51.51, -0.12, units)
    assert ranked[0].unit_id == "patrol"
    assert ranked[1].eta_min - ranked[0].eta_min == pytest.approx(TravelModel().dispatch_delay_min)


def test_custom_travel_function_and_top() -> None:
    def travel(olat: np.ndarray, olon: np.ndarray, dlat: np.ndarray, dlon: np.ndarray
               ) -> np.ndarray:
        return np.arange(olat.size, 0, -1, dtype=float)[:, None] * 60.0

    ranked = recommend(51.5, -0.1, UNITS, travel_seconds=travel, top=2)
    assert [r.unit_id for r in ranked] == ["D", "B"]


def test_bad_inputs() -> None:
    with pytest.raises(ScenarioError, match="`status`"):
        recommend(51.5, -0.1, [UnitState("x", 51.5, -0.1, status="lunch")])
    with pytest.raises(ScenarioError, match="more than once"):
        recommend(51.5, -0.1, [UnitState("x", 51.5, -0.1), UnitState("x", 51.5, -0.1)])
    with pytest.raises(TravelTimeError, match="incident_lat"):
        recommend(95.0, -0.1, UNITS)
    assert recommend(51.5, -0.1, [UNITS[2]]) == ()


def test_scenario_units(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir)
    units = scenario_units(sc, "day", posts=[0, 0, 2], busy=["ARV02"])
    assert [u.id for u in units] == ["ARV01", "ARV02", "ARV03"]
    assert units[1].status == "committed"
    with pytest.raises(ScenarioError, match="ARV09"):
        scenario_units(sc, "day", posts=[0], busy=["ARV09"])


def _line_problem() -> CoverageProblem:
    # demand at x = 0..9 km on a line, candidates at x = 0, 3, 6, 9; 1 km = 1 min
    x_d = np.arange(10.0)
    x_c = np.array([0.0, 3.0, 6.0, 9.0])
    t = np.abs(x_d[:, None] - x_c[None, :])
    return CoverageProblem.from_travel_times(t, np.ones(10), candidate_ids=list("abcd"),
                                             capacity=2)


def test_moveup_restores_coverage_and_reverifies() -> None:
    problem = _line_problem()
    reloc = np.abs(np.array([0.0, 3, 6, 9])[:, None] - np.array([0.0, 3, 6, 9])[None, :])
    # vehicles at a, b, c, d; vehicle 1 (at b) goes to an incident
    options = recommend_moveups(problem, [0, 1, 2, 3], [1], standard_min=1.0,
                                relocation=reloc, max_moves=2, top=10)
    assert options, "some move must help"
    best = options[0]
    assert best.share_before_incident == pytest.approx(1.0)
    assert best.share_now == pytest.approx(0.7)
    for opt in options:
        counts = np.bincount([0, 2, 3], minlength=4)
        for m in opt.moves:
            counts["abcd".index(m.from_id)] -= 1
            counts["abcd".index(m.to_id)] += 1
            assert m.vehicle != 1
        assert np.all(counts >= 0) and np.all(counts <= 2)
        reach = (problem.minutes[:, counts > 0] <= 1.0).any(axis=1)
        assert opt.share_after == pytest.approx(reach.mean())
        assert opt.travel_minutes == pytest.approx(sum(m.minutes for m in opt.moves))
        assert opt.share_after > opt.share_now
    assert any(o.efficient for o in options)
    assert max(o.share_after for o in options) == pytest.approx(0.8)


def test_moveup_bad_inputs() -> None:
    problem = _line_problem()
    with pytest.raises(ScenarioError, match="`positions`"):
        recommend_moveups(problem, [7], [], relocation=np.zeros((4, 4)))
    with pytest.raises(ScenarioError, match="`committed`"):
        recommend_moveups(problem, [0, 1], [5], relocation=np.zeros((4, 4)))
    with pytest.raises(ScenarioError, match="candidate coordinates"):
        recommend_moveups(problem, [0, 1], [0])


def test_moveups_are_distinct_and_ranked_by_coverage_per_minute() -> None:
    problem = _line_problem()
    reloc = np.abs(np.array([0.0, 3, 6, 9])[:, None] - np.array([0.0, 3, 6, 9])[None, :])
    # two interchangeable vehicles wait at a; the one at b goes to an incident
    options = recommend_moveups(problem, [0, 0, 1, 3], [2], standard_min=1.0,
                                relocation=reloc, max_moves=2, top=50)
    moves = [tuple(sorted((m.from_id, m.to_id) for m in o.moves)) for o in options]
    assert len(moves) == len(set(moves)), moves  # no option repeats another's moves
    rates = [o.gain_per_minute for o in options]
    assert rates == sorted(rates, reverse=True)
    for o in options:
        assert o.gain_per_minute == pytest.approx((o.share_after - o.share_now)
                                                  / o.travel_minutes)
