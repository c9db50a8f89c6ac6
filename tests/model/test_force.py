"""Officers to teams on duty per slot."""

from __future__ import annotations

from datetime import time

import pytest

from citywatch.errors import ScenarioError
from citywatch.model.force import Force, Shift, overlap_hours, officers_on_duty, teams_per_slot
from citywatch.model.scenario import TimeSlot
from citywatch.model.threat import default_postures

SIX = [TimeSlot(f"{h:02d}-{h + 4:02d}", time(h), 4) for h in range(0, 24, 4)]


def test_person_hours_are_conserved() -> None:
    """Officer-hours on duty over a day equal those rostered, whatever the shift pattern."""
    f = Force(officers=2800, committed_officers=1600, abstraction_rate=0.25)
    on_duty = officers_on_duty(f, SIX, deployed_share=0.9, shift_extension_hours=2)
    pool = 1200 * 0.75 * 0.9
    working = pool * 40 / 10 / 7
    assert sum(x * 4 for x in on_duty) == pytest.approx(working * 12)


def test_hand_computed_teams() -> None:
    f = Force(officers=1000, committed_officers=0, abstraction_rate=0.0, weekly_hours=56,
              shift_hours=8, arv_share=0.25,
              shifts=(Shift("a", time(0), 0.5), Shift("b", time(12), 0.5)))
    # 1000 officers work 7 of 7 days: 1000 a day, 500 per shift, 8 h from 00:00 and 12:00
    teams = teams_per_slot(f, SIX)
    assert [round(t.officers, 6) for t in teams] == [500, 500, 0, 500, 500, 0]
    assert teams[0].arv_crews == 41 and teams[0].patrol_teams == 187


def test_midnight_wrap() -> None:
    assert overlap_hours(22, 10, 0, 4) == pytest.approx(4)
    assert overlap_hours(22, 10, 20, 4) == pytest.approx(2)
    assert overlap_hours(22, 10, 4, 4) == pytest.approx(4)
    assert overlap_hours(22, 10, 8, 4) == pytest.approx(0)


def test_more_officers_never_fewer_teams() -> None:
    prev = None
    for officers in range(1600, 4000, 100):
        f = Force(officers=officers, committed_officers=1600)
        teams = teams_per_slot(f, SIX, posture=default_postures()["SEVERE"])
        total = [(t.patrol_teams, t.arv_crews) for t in teams]
        if prev is not None:
            assert all(a >= b and c >= d for (a, c), (b, d) in zip(total, prev, strict=True))
        prev = total


def test_critical_deploys_more_than_severe() -> None:
    f = Force(officers=2800, committed_officers=1600)
    table = default_postures()
    severe = sum(t.patrol_teams for t in teams_per_slot(f, SIX, posture=table["SEVERE"]))
    critical = sum(t.patrol_teams for t in teams_per_slot(f, SIX, posture=table["CRITICAL"]))
    assert critical > severe


def test_committed_exceeding_officers() -> None:
    with pytest.raises(ScenarioError, match="committed_officers"):
        teams_per_slot(Force(officers=10, committed_officers=20), SIX)


def test_slot_override_checked_against_officers() -> None:
    slots = [TimeSlot("day", time(0), 24, patrol_teams=60)]
    with pytest.raises(ScenarioError, match="more than the 100 street officers"):
        teams_per_slot(Force(officers=100), slots)
    assert teams_per_slot(Force(officers=200), slots)[0].patrol_teams == 60


def test_mixed_shift_lengths_keep_the_day_s_hours() -> None:
    """An officer on 8-hour shifts works more of them: the pool's officer-hours a day are
    the same whatever the lengths, and a 12-hour shift puts 12/8 times fewer officers
    on duty per share than an 8-hour one."""
    f = Force(officers=1000, committed_officers=0, abstraction_rate=0.0, weekly_hours=40,
              shifts=(Shift("a", time(0), 0.5, 8.0), Shift("b", time(12), 0.5, 12.0)))
    on = officers_on_duty(f, SIX)
    assert sum(x * 4 for x in on) == pytest.approx(1000 * 40 / 7)
    a, b = 1000 * 0.5 * 40 / 7 / 8, 1000 * 0.5 * 40 / 7 / 12
    assert on == pytest.approx([a, a, 0, b, b, b])
