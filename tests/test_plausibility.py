"""Plausibility findings explain, in plain words, what a planner would query."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from citywatch.data import london
from citywatch.model.protection import armed_on_site
from citywatch.model.standards import ResponseStandard
from citywatch.plan import Plan, make_plan
from citywatch.plausibility import check_plan, loss_rates


@pytest.fixture(scope="module")
def plan() -> Plan:
    return make_plan(london(), attacker="mixture", arv="greedy")


def test_far_sites_are_named_with_their_minutes(plan: Plan) -> None:
    far = [f for f in check_plan(plan) if f.kind == "far"]
    resp = plan.built.response_minutes
    slots_far = {plan.scenario.slot_names[s] for s in range(resp.shape[0])
                 if (resp[s] > 15).any()}
    assert {f.slot for f in far} == slots_far
    for f in far:
        assert "min" in f.text and "beyond 15 minutes" in f.text
    assert not [f for f in check_plan(plan, standard_min=1e6) if f.kind == "far"]
    # the plan's own every-site standard sets "far" (here 10 minutes: more sites)
    strict = dataclasses.replace(plan, response_standards=(ResponseStandard(10.0),))
    far10 = [f for f in check_plan(strict) if f.kind == "far"]
    assert far10 and all("beyond 10 minutes" in f.text for f in far10)


def test_busiest_sites_with_little_coverage_are_explained(plan: Plan) -> None:
    sc = plan.scenario
    n = len(sc.sites)
    cov = np.asarray(plan.coverage).reshape(len(sc.slots), n).copy()
    s = sc.slot_index("08-12")
    top = np.argsort(-sc.people()[:, s])[:20]
    moved = cov[s, top].sum()
    cov[s, top] = 0.0
    rest = np.setdiff1d(np.arange(n), top)
    cov[s, rest] = np.minimum(1.0, cov[s, rest] + moved / rest.size)
    odd = dataclasses.replace(plan, equilibrium=dataclasses.replace(
        plan.equilibrium, coverage=cov.reshape(-1)))
    found = [f for f in check_plan(odd) if f.kind == "busiest" and f.slot == "08-12"]
    assert len(found) == 1
    # only protection posts (BTP at the termini) stay on site when the patrols go
    guarded = armed_on_site(sc)[s, top].mean()
    assert f"busiest sites get {guarded:.2f} armed presence" in found[0].text
    assert "Patrols go where an attack would pay most" in found[0].text
    assert not [f for f in check_plan(plan) if f.kind == "busiest" and f.slot == "08-12"]


def test_a_worst_case_patrols_cannot_lower_is_said(plan: Plan) -> None:
    pinned = [f for f in check_plan(plan) if f.kind == "pinned"]
    ua = plan.built.game.mixture().attacker_payoffs(plan.coverage)[0]
    best = ua >= ua.max() - 1e-6
    assert bool(pinned) == bool(((plan.coverage >= 1 - 1e-6) & best).any())
    for f in pinned:
        assert "covers fully" in f.text and "cannot lower" in f.text


def test_loss_rates_of_a_plan(plan: Plan) -> None:
    r = loss_rates(plan)
    c = plan.expected_casualties_per_attack
    likelihood = plan.scenario.postures[plan.scenario.threat_level].attack_likelihood
    assert r["per_attack"] == pytest.approx(c)
    assert r["per_week"] == pytest.approx(c * likelihood * 7 / 365.25)
