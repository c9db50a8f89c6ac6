"""Shift patterns that follow demand: the default rule, the optimiser, its plan and CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from citywatch.data import london
from citywatch.errors import GameError
from citywatch.model.force import officers_on_duty, teams_per_slot
from citywatch.model.io import load_scenario
from citywatch.model.scenario import Scenario
from citywatch.options import PlanOptions, SolveLimits
from citywatch.plan import Plan, make_plan
from citywatch.schedule.roster import make_roster
from citywatch.schedule.shifts import (
    ShiftOptimisation,
    allowed_lengths,
    demand_shifts,
    demand_target,
    optimise_shifts,
)

from _cli import assert_clean_error, run
from _scenarios import write_tiny

QUICK_SHIFTS = PlanOptions(attacker="mixture", arv="greedy", optimise_shifts=True)


@pytest.fixture(scope="module")
def ldn() -> Scenario:
    return london()


@pytest.fixture(scope="module")
def ldn_opt(ldn: Scenario) -> ShiftOptimisation:
    return optimise_shifts(ldn)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return load_scenario(write_tiny(tmp_path_factory.mktemp("tiny") / "tiny"))


def _on_duty(sc: Scenario) -> np.ndarray:
    p = sc.postures[sc.threat_level]
    return np.array(officers_on_duty(sc.force, sc.slots, deployed_share=p.deployed_share,
                                     shift_extension_hours=p.shift_extension_hours,
                                     released_share=p.committed_released_share))


def test_london_default_pattern_is_the_demand_rule(ldn: Scenario) -> None:
    """The shifts in scenario.toml are what the documented rule derives from footfall."""
    rule = demand_shifts(ldn)
    assert [(s.start, s.share, s.length(ldn.force)) for s in rule] == \
        [(s.start, s.share, s.length(ldn.force)) for s in ldn.force.shifts]


def test_morning_peak_has_the_officers_its_crowds_call_for(ldn: Scenario) -> None:
    on = _on_duty(ldn)
    target = demand_target(ldn)
    people = ldn.people().sum(axis=0)
    assert np.all(np.abs(on - target) <= 0.1 * target)       # within 10% of the rule
    morning = ldn.slot_index("08-12")
    assert on[morning] > 1.5 * on[ldn.slot_index("00-04")]
    assert on[morning] > on[ldn.slot_index("20-24")]
    # slots ranked by people present get officers in the same order, ties within 5%
    order = np.argsort(people)
    assert np.all(np.diff(on[order]) >= -0.05 * on.max())
    teams = teams_per_slot(ldn.force, ldn.slots, posture=ldn.postures[ldn.threat_level])
    assert sum(t.officers for t in teams) == pytest.approx(on.sum())


def test_lengths_the_working_time_rules_allow(ldn: Scenario) -> None:
    assert allowed_lengths(ldn) == (8.0, 10.0, 12.0)
    critical = ldn.with_threat("critical")    # shifts extended by 2 hours
    assert allowed_lengths(critical) == (8.0, 10.0)
    with pytest.raises(GameError, match="shift_lengths"):
        optimise_shifts(critical, lengths=(12.0,))
    with pytest.raises(GameError, match="shift_lengths.*9"):
        optimise_shifts(ldn, lengths=(9.0,))
    with pytest.raises(GameError, match="shift_evaluations"):
        optimise_shifts(ldn, max_evaluations=0)


def test_optimised_london_pattern_beats_the_fixed_one_and_obeys_the_rules(
        ldn: Scenario, ldn_opt: ShiftOptimisation) -> None:
    r = ldn_opt
    assert r.model_after <= r.model_before
    assert r.finished and 0 < r.evaluations <= 400
    assert r.fixed_shifts == ldn.force.shifts
    assert all(s.hours in (8.0, 10.0, 12.0) and s.start.minute == 0 for s in r.shifts)
    assert sum(s.share for s in r.shifts) == pytest.approx(1.0)
    assert all(v >= 5 for v in r.starting.values())     # no token shifts
    chosen = ldn.with_force(shifts=r.shifts)
    assert _on_duty(chosen) == pytest.approx(np.array(r.officers_after))
    assert _on_duty(chosen).sum() * 4 == pytest.approx(_on_duty(ldn).sum() * 4)
    # a roster on the chosen pattern passes every working-time check (make_roster runs
    # check_working_time), over two weeks
    roster = make_roster(chosen, np.zeros(len(ldn.slots) * len(ldn.sites)), days=14, seed=0)
    assert {t.hours for t in roster.teams} <= {8.0, 10.0, 12.0}
    assert ShiftOptimisation.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_optimiser_is_deterministic_and_honours_its_work_limit(ldn: Scenario,
                                                               ldn_opt: ShiftOptimisation
                                                               ) -> None:
    short = optimise_shifts(ldn, max_evaluations=5)
    assert short.evaluations <= 5 and not short.finished
    assert short.model_after <= short.model_before
    assert optimise_shifts(ldn, max_evaluations=5) == short


def test_plan_with_optimised_shifts_round_trips(tiny: Scenario) -> None:
    p = make_plan(tiny, QUICK_SHIFTS, seed=4)
    so = p.shift_optimisation
    assert so is not None and so.plan_before is not None and so.plan_after is not None
    assert so.plan_after <= so.plan_before and so.gain is not None and so.gain >= 0
    fixed = make_plan(tiny, dataclasses.replace(QUICK_SHIFTS, optimise_shifts=False), seed=4)
    assert so.plan_before == pytest.approx(fixed.expected_casualties_per_attack)
    assert p.expected_casualties_per_attack == pytest.approx(so.plan_after)
    assert len(so.plan_candidates) == len(so.candidates)
    assert all(v >= so.plan_after - 1e-9 for v in so.plan_candidates)
    if not so.kept_fixed:
        assert p.scenario.force.shifts == so.shifts
    data = json.loads(json.dumps(p.to_dict()))
    assert data["options"]["optimise_shifts"] is True
    again = Plan.from_dict(data, tiny)
    assert again.to_dict() == p.to_dict()
    assert again.shift_optimisation == so
    assert PlanOptions.from_dict(QUICK_SHIFTS.to_dict()) == QUICK_SHIFTS


def test_plan_options_validate_shift_fields() -> None:
    with pytest.raises(GameError, match="shift_lengths"):
        PlanOptions(shift_lengths=(9.0,))
    with pytest.raises(GameError, match="shift_lengths"):
        PlanOptions(shift_lengths=())
    with pytest.raises(GameError, match="optimise_shifts"):
        PlanOptions(optimise_shifts="yes")  # type: ignore[arg-type]
    with pytest.raises(GameError, match="shift_evaluations"):
        SolveLimits(shift_evaluations=0)


def test_cli_optimise_shifts(tiny: Scenario, tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "tiny")
    out = run("plan", "--scenario", str(folder), "--attacker", "mixture", "--arv", "greedy",
              "--optimise-shifts", "--shift-lengths", "8,12", "--seed", "1")
    assert out.returncode == 0, out.stderr
    assert "Shift optimisation" in out.stdout and "gain" in out.stdout
    for args, needle in ((("--shift-lengths", "9"), "--shift-lengths"),
                         (("--shift-lengths", "8,x"), "--shift-lengths"),
                         (("--shift-evaluations", "0"), "--shift-evaluations")):
        bad = run("plan", "--scenario", str(folder), "--optimise-shifts", *args)
        assert_clean_error(bad, needle)
        assert len(bad.stderr.strip().splitlines()) == 1


def test_shift_lengths_round_trip_through_scenario_files(tiny: Scenario, tmp_path: Path) -> None:
    from datetime import time

    from citywatch.model.force import Shift
    from citywatch.model.io import save_scenario

    sc = tiny.with_force(shifts=(Shift("a", time(6), 0.6, 12.0), Shift("b", time(18), 0.4)))
    again = load_scenario(save_scenario(sc, tmp_path / "t"))
    assert again.force.shifts == sc.force.shifts
    assert again.force.shifts[1].length(again.force) == again.force.shift_hours
