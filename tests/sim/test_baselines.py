"""Baseline deployments, plan loading, and the significance of comparisons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from citywatch.errors import ScenarioError
from citywatch.model.io import load_scenario
from citywatch.model.scenario import Scenario
from citywatch.plan import Plan, make_plan, write_plan
from citywatch.sim.baselines import (
    _holm,
    _water_fill,
    baseline,
    compare,
    footfall_plan,
    load_plan,
    plan_from_coverage,
    static_guards_plan,
    uniform_plan,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    from _scenarios import write_tiny

    return load_scenario(write_tiny(Path(tmp_path_factory.mktemp("tiny")) / "tiny"))


@pytest.fixture(scope="module")
def optimal(tiny: Scenario) -> Plan:
    # the baselines keep the greedy ARV posts, so the comparison isolates the patrols
    return make_plan(tiny, attacker="mixture", arv="greedy")


def slot_use(plan: Plan) -> np.ndarray:
    return plan.built.game.group_coverage(plan.coverage)


def test_uniform_spends_every_team(tiny: Scenario) -> None:
    p = uniform_plan(tiny)
    np.testing.assert_allclose(slot_use(p), p.built.game.resources)
    cov = p.coverage.reshape(2, 5)
    assert np.allclose(cov, cov[:, :1])


def test_footfall_is_proportional_and_capped(tiny: Scenario) -> None:
    p = footfall_plan(tiny)
    cov = p.coverage.reshape(2, 5)
    people = tiny.people().T
    assert cov.max() <= 1.0 + 1e-12
    np.testing.assert_allclose(slot_use(p), np.minimum(p.built.game.resources, 5))
    for s in range(2):
        free = cov[s] < 1.0 - 1e-9
        if not free.any():
            continue
        ratio = cov[s, free] / people[s, free]
        assert np.allclose(ratio, ratio[0])


@pytest.mark.parametrize(("weights", "budget", "expected"), [
    ([1, 1, 1, 1], 2, [0.5] * 4),
    ([10, 1, 1], 2, [1, 0.5, 0.5]),
    ([5, 0, 5], 5, [1, 0, 1]),
])
def test_water_fill(weights: list[float], budget: float, expected: list[float]) -> None:
    np.testing.assert_allclose(_water_fill(np.array(weights, float), budget), expected)


def test_static_guards_are_deterministic(tiny: Scenario) -> None:
    p = static_guards_plan(tiny, k=1)
    cov = p.coverage.reshape(2, 5)
    busiest = int(np.argmax(tiny.people().sum(axis=1)))
    assert set(np.unique(cov)) <= {0.0, 1.0}
    assert cov[:, busiest].tolist() == [1.0, 1.0] and cov.sum() == 2
    # the watching attacker never attacks a guarded site
    for t in p.attacked:
        assert p.coverage[t] == 0.0


def test_baseline_errors(tiny: Scenario) -> None:
    with pytest.raises(ScenarioError, match="`baseline`"):
        baseline("random-walk", tiny)
    with pytest.raises(ScenarioError, match="London only"):
        baseline("pre-2016", tiny)
    with pytest.raises(ScenarioError, match="budget"):
        plan_from_coverage(tiny, np.full(10, 1.5), method="too-many")


def test_optimal_beats_baselines_significantly(tiny: Scenario, optimal: Plan) -> None:
    plans = {"optimal": optimal, "uniform": uniform_plan(tiny),
             "static": static_guards_plan(tiny)}
    c = compare(plans, n=200_000, seed=3)
    assert c.reference == "optimal" and list(c.results) == list(plans)
    cas = {d.plan: d for d in c.differences if d.metric == "casualties"}
    assert cas["static"].significant and cas["static"].difference.low > 0
    assert all(d.p_adjusted >= d.p_value for d in c.differences)


def test_a_plan_against_itself_is_rarely_significant(optimal: Plan) -> None:
    """Same plan, independent streams: the family-wise error rate is controlled."""
    false = sum(any(d.significant for d in compare({"a": optimal, "b": optimal}, n=20_000,
                                                   seed=s).differences) for s in range(20))
    assert false <= 3  # P(Binomial(20, 0.05) > 3) ≈ 0.016


def test_holm() -> None:
    assert _holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_load_plan_round_trip(tiny: Scenario, optimal: Plan, tmp_path: Path) -> None:
    write_plan(optimal, tmp_path / "plan")
    loaded = load_plan(tmp_path / "plan", tiny)
    np.testing.assert_allclose(loaded.coverage, optimal.coverage, atol=1e-6)
    assert loaded.built.arv_posts == optimal.built.arv_posts
    assert loaded.defender_utility == pytest.approx(optimal.defender_utility, abs=1e-4)
    with pytest.raises(ScenarioError, match="not found"):
        load_plan(tmp_path / "nothing", tiny)
