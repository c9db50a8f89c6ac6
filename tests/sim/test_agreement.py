"""The model and the simulator are the same model: the plan's expected casualties per
attack lie inside the simulated 95% interval (widened by 1%), on London and at random."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from _scenarios import write_tiny
from citywatch.data import london
from citywatch.model.io import load_scenario
from citywatch.model.scenario import Scenario
from citywatch.options import QUICK, PlanOptions
from citywatch.plan import Plan, make_plan
from citywatch.sim.simulate import simulate


def _agrees(plan: Plan, *, n: int, seed: int) -> tuple[float, float, float]:
    r = simulate(plan, n=n, seed=seed, people_share=False)
    est = r.overall.casualties
    value = plan.expected_casualties_per_attack
    assert r.targeting == "plan"
    assert est.low * 0.99 <= value <= est.high * 1.01, (value, est)
    return value, est.low, est.high


def test_london_plan_and_simulator_agree() -> None:
    plan = make_plan(london(), QUICK)
    _agrees(plan, n=2_000_000, seed=11)


def _random_scenario(base: Scenario, rng: np.random.Generator) -> Scenario:
    attackers = tuple(dataclasses.replace(
        a, initial_casualties=float(rng.uniform(0, 15)),
        casualties_per_minute=float(rng.uniform(0.2, 6)),
        people_cap=float(rng.uniform(0.001, 0.05)), interdiction=float(rng.uniform(0, 0.9)),
        hardening_effect=float(rng.uniform(0, 0.8))) for a in base.attackers)
    sites = tuple(dataclasses.replace(
        s, people=tuple(float(x) for x in rng.uniform(50, 5000, size=len(s.people))),
        hardening=float(rng.uniform(0, 1))) for s in base.sites)
    travel = dataclasses.replace(base.travel, arv_busy_probability=float(rng.uniform(0, 0.8)),
                                 dispatch_delay_min=float(rng.uniform(0.5, 4)),
                                 dispatch_sigma=float(rng.uniform(0, 1)),
                                 travel_sigma=float(rng.uniform(0, 0.7)))
    return dataclasses.replace(base, attackers=attackers, sites=sites, travel=travel)


@pytest.mark.parametrize("k", range(4))
def test_random_scenarios_agree(tmp_path, k: int) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(100 + k)
    sc = _random_scenario(load_scenario(write_tiny(tmp_path / "tiny")), rng)
    model = ("bayesian", "mixture", "qr", "bayesian")[k]
    options = PlanOptions(attacker=model, arv="greedy", lam=0.2 if model == "qr" else None)
    plan = make_plan(sc, options)
    _agrees(plan, n=1_000_000, seed=k)


def test_other_targeting_is_labelled_as_another_quantity(tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = make_plan(load_scenario(write_tiny(tmp_path / "tiny")), QUICK)
    data = simulate(plan, n=20_000, seed=1, targeting="people", people_share=False).to_dict()
    assert data["targeting"] == "people" and "not the plan's figure" in data["casualties_label"]
    data = simulate(plan, n=20_000, seed=1, people_share=False).to_dict()
    assert "expected_casualties_per_attack" in data["casualties_label"]
