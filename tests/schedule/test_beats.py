"""Beats: every candidate is walkable from the coordinates, and sampled beats realise the plan."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citywatch.data import london
from citywatch.errors import GameError, ScenarioError
from citywatch.games.schedules.presence import PresenceGame, verify_presence_equilibrium
from citywatch.geo.distance import haversine_m
from citywatch.model.payoffs import build_game
from citywatch.model.scenario import Scenario
from citywatch.schedule.beat_plan import (
    BeatPlan,
    beat_features,
    beat_game,
    sample_beats,
    solve_beats,
)
from citywatch.schedule.beats import TOUR
from citywatch.schedule.roster import make_beat_roster
from citywatch.schedule.walking import (
    DRIVE_CIRCUITY,
    TRANSFER_SPEED_KMH,
    apply_beat_edits,
    candidate_beats,
    read_beats_csv,
)
from citywatch.schedule.working_time import check_working_time

WALK_M_PER_MIN = 4800 / 60  # 4.8 km/h
CIRCUITY = 1.4


def _minutes(a: tuple[float, float], b: tuple[float, float], *, drive: bool = False) -> float:
    d = float(haversine_m(a[0], a[1], b[0], b[1]))
    if drive:
        return d * DRIVE_CIRCUITY / (TRANSFER_SPEED_KMH * 1000 / 60)
    return d * CIRCUITY / WALK_M_PER_MIN


@pytest.fixture(scope="module")
def london_beats() -> tuple[Scenario, tuple]:  # type: ignore[type-arg]
    sc = london()
    return sc, candidate_beats(sc)


def test_every_london_beat_is_walkable_from_coordinates(london_beats) -> None:  # type: ignore[no-untyped-def]
    sc, beats = london_beats
    slot = min(s.hours for s in sc.slots) * 60
    assert len(beats) > 400
    assert {i for b in beats for i in b.sites} == set(range(len(sc.sites)))
    assert len({frozenset(b.sites) for b in beats}) == len(beats)
    for b in beats:
        pts = [(sc.sites[i].lat, sc.sites[i].lon) for i in b.sites]
        hub = (b.hub[2], b.hub[3])
        driven = _minutes(hub, pts[0]) > 30.0 + 1e-9
        # every leg recomputes from the coordinates: walked, or driven from a base
        assert b.legs_minutes[0] == pytest.approx(_minutes(hub, pts[0], drive=driven))
        for (p, q), leg in zip(itertools.pairwise(pts), b.legs_minutes[1:-1], strict=True):
            assert leg == pytest.approx(_minutes(p, q))
            assert leg <= 20.0 + 1e-9
        assert all(10 <= d <= 20 for d in b.dwell_minutes)
        # walking plus dwell of one full pass fits the slot
        one_pass = (b.legs_minutes[0] + sum(b.dwell_minutes) + sum(b.legs_minutes[1:-1])
                    + b.back(len(b.sites) - 1))
        assert one_pass <= slot + 1e-9
        # and the looping timetable stays inside the slot, never two places at once
        stops = b.timetable(0.0, slot)
        assert {s.site for s in stops} == set(b.sites)
        assert stops[0].arrive >= b.legs_minutes[0] - 1e-9
        for s, t in itertools.pairwise(stops):
            assert t.arrive >= s.depart - 1e-9
        last = stops[-1]
        assert last.depart + b.back(b.sites.index(last.site)) <= slot + 1e-9
        share = b.presence(slot)
        assert 0 < sum(share.values()) <= 1.0


def test_candidate_parameters_are_checked(small: Scenario) -> None:
    with pytest.raises(GameError, match="dwell_minutes"):
        candidate_beats(small, dwell_minutes=45)
    with pytest.raises(GameError, match="max_stops"):
        candidate_beats(small, max_stops=0)
    more = candidate_beats(small, neighbours=5, max_stops=4)
    assert len(more) > len(candidate_beats(small))


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "beats.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_planner_adds_edits_and_forbids_beats(small: Scenario, tmp_path: Path) -> None:
    beats = candidate_beats(small)
    gone = beats[5].id
    edited = beats[0].id
    path = _write(tmp_path, "action,id,stops,dwell_minutes,hub\n"
                            f"forbid,{gone},,,\n"
                            f"add,{edited},abbey;parliament,12;18,waterloo\n"
                            "add,my-beat,eye;southbank;waterloo,20,\n"
                            "static,post-eye,eye,,\n")
    added, forbidden = read_beats_csv(path, small)
    out = apply_beat_edits(beats, added, forbidden, slot_minutes=720)
    ids = [b.id for b in out]
    assert gone not in ids and "my-beat" in ids and len(out) == len(beats) + 1
    post = [b for b in out if b.id == "post-eye"][0]
    assert post.tactic == "static" and post.presence(720) == {2: 1.0}
    mine = {b.id: b for b in out}
    assert mine[edited].dwell_minutes == (12.0, 18.0) and mine[edited].hub[0] == "waterloo"
    assert mine["my-beat"].sites == (2, 7, 3)


@pytest.mark.parametrize(("row", "field"), [
    ("add,x,abbey;nowhere,15,", "stops"),
    ("add,x,abbey,45,", "dwell_minutes"),
    ("add,x,abbey,fifteen,", "dwell_minutes"),
    ("remove,x,abbey,15,", "action"),
    ("add,x,abbey,15,mars", "hub"),
    ("add,,abbey,15,", "id"),
])
def test_bad_beats_csv_names_the_field(small: Scenario, tmp_path: Path, row: str,
                                       field: str) -> None:
    path = _write(tmp_path, "action,id,stops,dwell_minutes,hub\n" + row + "\n")
    with pytest.raises(ScenarioError) as err:
        read_beats_csv(path, small)
    assert err.value.problems[0].field == field
    assert err.value.problems[0].row == 2
    assert f"`{field}`" in str(err.value)


def test_forbidding_an_unknown_beat_is_an_error(small: Scenario, tmp_path: Path) -> None:
    path = _write(tmp_path, "action,id\nforbid,beat-nothing\n")
    added, forbidden = read_beats_csv(path, small)
    with pytest.raises(ScenarioError, match="beat-nothing"):
        apply_beat_edits(candidate_beats(small), added, forbidden, slot_minutes=720)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet="abeyprlmnt;,0123456789. x\n", max_size=30), min_size=1,
                max_size=4))
def test_beats_csv_parser_fails_only_with_named_problems(small: Scenario, tmp_path: Path,
                                                         lines: list[str]) -> None:
    path = _write(tmp_path, "action,id,stops,dwell_minutes,hub\n" + "\n".join(lines))
    try:
        read_beats_csv(path, small)
    except ScenarioError as err:
        assert err.problems and all(p.field for p in err.problems)


@pytest.fixture(scope="module")
def beat_plan(small: Scenario) -> BeatPlan:
    game = build_game(small).game
    return solve_beats(game, candidate_beats(small), n_sites=len(small.sites),
                       slot_minutes=[s.hours * 60 for s in small.slots], rel_gap=0.0)


def test_beat_plan_is_a_verified_equilibrium(beat_plan: BeatPlan, small: Scenario) -> None:
    game = build_game(small).game
    pgame, _ = beat_game(game, beat_plan.beats, n_sites=len(small.sites),
                         slot_minutes=beat_plan.slot_minutes)
    mix = PresenceGame(game.mixture(), pgame.presence, pgame.schedule_groups)
    assert verify_presence_equilibrium(mix, beat_plan.equilibrium) == []
    # the support, recomputed from the beats' own timetables, is the coverage
    recomputed = np.zeros_like(beat_plan.coverage)
    for s in range(len(small.slots)):
        support = beat_plan.support(s)
        assert sum(p for _, p in support) == pytest.approx(1.0)
        for run, p in support:
            assert len(run) == beat_plan.budgets[s]
            sites = [i for b in run for i in beat_plan.beats[b].sites]
            assert len(sites) == len(set(sites))  # one team per site per slot
            for b in run:
                for i, v in beat_plan.beats[b].presence(beat_plan.slot_minutes[s]).items():
                    recomputed[s, i] += p * v
    assert np.abs(recomputed - beat_plan.coverage).max() < 1e-9
    assert beat_plan.equilibrium.gap == pytest.approx(0.0, abs=1e-6)


def test_beat_plan_round_trips(beat_plan: BeatPlan, small: Scenario) -> None:
    again = BeatPlan.from_dict(beat_plan.to_dict(), small)
    assert np.abs(again.coverage - beat_plan.coverage).max() < 1e-12
    feats = beat_features(beat_plan, small)
    assert feats and all(f["geometry"]["type"] == "LineString" for f in feats)
    for f in feats:
        props = f["properties"]
        assert {"slot", "stops", "dwell_minutes"} <= set(props)
        # hub, the stops in order, hub
        lonlat = [[s.lon, s.lat] for s in small.sites]
        assert f["geometry"]["coordinates"][1:-1] == [lonlat[small.site_ids.index(i)]
                                                       for i in props["stops"]]


def test_sampled_beats_realise_the_coverage(beat_plan: BeatPlan) -> None:
    draws = 3000
    drawn = sample_beats(beat_plan, draws=draws, seed=3)
    total = np.zeros_like(beat_plan.coverage)
    sq = np.zeros_like(beat_plan.coverage)
    for day in drawn:
        day_p = np.zeros_like(beat_plan.coverage)
        for s, run in enumerate(day):
            assert len(run) == beat_plan.budgets[s]
            for b in run:
                for i, v in beat_plan.beats[b].presence(beat_plan.slot_minutes[s]).items():
                    day_p[s, i] += v
        total += day_p
        sq += day_p ** 2
    mean = total / draws
    sd = np.sqrt(np.maximum(sq / draws - mean ** 2, 0.0) / draws)
    # a seeded draw: the mean presence is within 5 standard errors of the plan everywhere
    assert np.all(np.abs(mean - beat_plan.coverage) <= 5 * sd + 1e-9)


def test_beat_roster_lists_timed_stops(beat_plan: BeatPlan, small: Scenario) -> None:
    r = make_beat_roster(small, beat_plan, days=200, start=date(2026, 10, 19), seed=5)
    check_working_time(r)
    planned = r.planned_presence()
    # the beats drawn for the roster realise the plan's coverage (200 seeded days)
    assert np.abs(planned - beat_plan.coverage).max() < 0.12
    assert np.abs(planned - beat_plan.coverage).mean() < 0.03
    missions = list(r.missions())
    tours = [m for m in missions if m.tactic == TOUR]
    assert tours and all(10 <= m.dwell_minutes <= 20 for m in tours)
    assert all(m.hub for m in tours)
    # stops are numbered in walking order within each deployment
    by_dep: dict[tuple[str, str, str], list] = {}  # type: ignore[type-arg]
    for m in tours:
        by_dep.setdefault((m.team, m.mission_id[:8], m.slot), []).append(m)
    for ms in by_dep.values():
        assert [m.stop for m in ms] == sorted(m.stop for m in ms)
    spans: dict[str, list[tuple[float, float]]] = {}
    for m in missions:
        spans.setdefault(m.team, []).append((m.start.timestamp(), m.end.timestamp()))
    for team_spans in spans.values():
        team_spans.sort()
        assert all(b[0] >= a[1] for a, b in itertools.pairwise(team_spans))
