"""The joint deter+respond plan, re-verified by brute force through the payoff model."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from citywatch.data import london
from citywatch.errors import ScenarioError
from citywatch.games.origami import solve_origami
from citywatch.model.io import load_scenario
from citywatch.model.payoffs import build_game
from citywatch.model.scenario import Scenario
from citywatch.errors import InfeasibleError
from citywatch.model.standards import ResponseStandard
from citywatch.response.joint import joint_plan, meet_standards, sequential_posts


def _loss(sc: Scenario, posts: tuple[tuple[int, ...], ...]) -> float:
    return -solve_origami(build_game(sc, arv_posts=posts).game.mixture()).defender_utility


def _all_posts(n: int, caps: list[int]) -> list[tuple[int, ...]]:
    out = []
    for combo in itertools.combinations_with_replacement(range(len(caps)), n):
        if all(combo.count(j) <= c for j, c in enumerate(caps)):
            out.append(combo)
    return out


@pytest.mark.parametrize("officers", [100, 120, 140])
def test_exhaustive_is_optimal_by_brute_force(tiny_dir: Path, officers: int) -> None:
    sc = load_scenario(tiny_dir).with_force(officers=officers)
    plan = joint_plan(sc, method="exhaustive")
    caps = [p.capacity for p in sc.standby]
    per_slot = [_all_posts(max(t.arv_crews, 1), caps) for t in plan.built.teams]
    best = min(_loss(sc, combo) for combo in itertools.product(*per_slot))
    assert plan.optimal and plan.method == "exhaustive"
    assert plan.expected_loss == pytest.approx(best)
    assert plan.expected_loss == pytest.approx(_loss(sc, plan.arv_posts))
    assert plan.sequential_loss == pytest.approx(_loss(sc, plan.sequential_posts))
    assert plan.gain >= -1e-9
    assert plan.bound == pytest.approx(best)
    # the local search's proven bound really is below the optimum
    local = joint_plan(sc, method="local")
    assert local.bound <= best + 1e-9
    assert local.expected_loss >= best - 1e-9
    assert local.expected_loss <= local.sequential_loss + 1e-9
    assert local.optimal == (local.expected_loss <= local.bound + 1e-9)


def test_sequential_posts_use_every_crew(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir).with_force(officers=140)
    built = build_game(sc)
    for model in ("mclp", "mexclp", "greedy"):
        posts = sequential_posts(sc, model=model)
        assert [len(p) for p in posts] == [max(t.arv_crews, 1) for t in built.teams]
        for p in posts:
            assert all(p.count(j) <= s.capacity for j, s in enumerate(sc.standby))
    with pytest.raises(ScenarioError, match="`model`"):
        sequential_posts(sc, model="random")


def test_bad_method(tiny_dir: Path) -> None:
    with pytest.raises(ScenarioError, match="`method`"):
        joint_plan(load_scenario(tiny_dir), method="milp")


def test_to_dict_names_posts(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir).with_force(officers=120)
    data = joint_plan(sc).to_dict()
    assert set(data["arv_posts"]) == {"day", "night"}
    assert data["gain"] == pytest.approx(data["sequential_loss"] - data["expected_loss"])
    assert data["method"] == "exhaustive" and data["optimal"] is True


def test_london_local_search_keeps_its_promises() -> None:
    sc = london()
    plan = joint_plan(sc, method="auto", time_limit=8.0, neighbours=4)
    assert plan.method == "local"
    assert plan.expected_loss <= plan.sequential_loss + 1e-9
    assert plan.bound <= plan.expected_loss + 1e-9
    assert [len(p) for p in plan.arv_posts] == [max(t.arv_crews, 1) for t in plan.built.teams]
    assert plan.expected_loss == pytest.approx(_loss(sc, plan.arv_posts))
    caps = np.array([p.capacity for p in sc.standby])
    for posts in plan.arv_posts:
        assert np.all(np.bincount(posts, minlength=caps.size) <= caps)
    # London's response standard: armed help within 15 minutes at every site, every slot
    assert sc.response_standards == (ResponseStandard(15.0, 1.0),)
    assert plan.built.response_minutes.max() <= 15.0 + 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_bound_holds_on_random_variants(tiny_dir: Path, seed: int) -> None:
    import dataclasses

    rng = np.random.default_rng(seed)
    sc = load_scenario(tiny_dir).with_force(officers=int(rng.integers(95, 160)))
    sc = dataclasses.replace(
        sc,
        payoffs=dataclasses.replace(sc.payoffs,
                                    symbolic_weight=float(rng.choice([0.3, 1.0, 2.5]))),
        travel=dataclasses.replace(sc.travel, arv_busy_probability=float(rng.uniform(0, 0.6))),
        sites=tuple(dataclasses.replace(
            s, people=tuple(float(rng.integers(10, 5000)) for _ in s.people),
            symbolic_value=float(rng.uniform(0, 30)), hardening=float(rng.uniform(0, 0.8)))
            for s in sc.sites))
    exact = joint_plan(sc, method="exhaustive")
    local = joint_plan(sc, method="local")
    assert local.bound <= exact.expected_loss + 1e-9
    assert exact.expected_loss <= local.expected_loss + 1e-9


@pytest.mark.parametrize(("officers", "minutes"), [(140, 28.0), (200, 16.0), (200, 14.0)])
def test_exhaustive_under_a_standard_is_optimal_among_placements_meeting_it(
        tiny_dir: Path, officers: int, minutes: float) -> None:
    sc = load_scenario(tiny_dir).with_force(officers=officers)
    std = (ResponseStandard(minutes),)
    plan = joint_plan(sc, method="exhaustive", standards=std)
    caps = [p.capacity for p in sc.standby]
    per_slot = []
    for s, t in enumerate(plan.built.teams):
        ok = []
        for combo in _all_posts(max(t.arv_crews, 1), caps):
            built = build_game(sc, arv_posts=[combo] * len(sc.slots))
            if built.response_minutes[s].max() <= minutes + 1e-9:
                ok.append(combo)
        per_slot.append(ok)
    best = min(_loss(sc, combo) for combo in itertools.product(*per_slot))
    assert plan.built.response_minutes.max() <= minutes + 1e-9
    assert plan.expected_loss == pytest.approx(best)
    local = joint_plan(sc, method="local", standards=std)
    assert local.built.response_minutes.max() <= minutes + 1e-9
    assert meet_standards(sc, sequential_posts(sc), std) is not None


def test_a_standard_the_fleet_cannot_meet_is_a_clear_error(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir).with_force(officers=100)
    with pytest.raises(InfeasibleError, match="response standard 15m@100%"):
        joint_plan(sc, standards=(ResponseStandard(15.0),))
