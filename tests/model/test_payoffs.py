"""The payoff model, recomputed by hand and checked against a simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from citywatch.errors import ScenarioError
from citywatch.model.io import load_scenario
from citywatch.model.payoffs import (
    ALL_BUSY_EXTRA_MIN,
    build_game,
    casualties,
    default_arv_posts,
    expected_response_minutes,
    explain_site,
    standby_travel_minutes,
)


def test_target_payoffs_recompute_by_hand(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir)
    built = build_game(sc)
    g = built.game
    site, slot = 2, 1  # charlie at night
    t = built.target(site, slot)
    assert built.target_label(t) == ("charlie", "night")
    people = 2500.0
    resp = built.response_minutes[slot, site]
    for k, a in enumerate(sc.attackers):
        k_on = min(a.people_cap * people, a.initial_casualties + a.casualties_per_minute * 1.0)
        k_resp = min(a.people_cap * people, a.initial_casualties + a.casualties_per_minute * resp)
        h = 1 - a.hardening_effect * 0.5
        k_on, k_resp = k_on * h, k_resp * h
        q = a.interdiction
        sym = 8 * h
        assert g.defender_covered[k, t] == pytest.approx(-(1 - q) * (k_on + sym))
        assert g.defender_uncovered[k, t] == pytest.approx(-(k_resp + sym))
        assert g.attacker_covered[k, t] == pytest.approx((1 - q) * (k_on + sym) - q * 20)
        assert g.attacker_uncovered[k, t] == pytest.approx(k_resp + sym)
    assert g.resources.tolist() == [min(t.patrol_teams, 5) for t in built.teams]
    assert list(built.idle_teams) == [max(0, t.patrol_teams - 5) for t in built.teams]
    assert g.groups[t] == slot


def test_response_time_components(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir)
    built = build_game(sc)
    travel = standby_travel_minutes(sc)
    for s, posts in enumerate(built.arv_posts):
        expect = sc.travel.dispatch_delay_min + sc.travel.engage_min + \
            expected_response_minutes(travel[s], posts,
                                      busy_probability=sc.travel.arv_busy_probability)
        np.testing.assert_allclose(built.response_minutes[s], expect)
        assert len(posts) == built.teams[s].arv_crews


def test_far_from_help_is_a_worse_target(tiny_dir: Path) -> None:
    """Moving every vehicle away from a site raises its uncovered loss and attacker gain."""
    sc = load_scenario(tiny_dir)
    near = build_game(sc, arv_posts=[[0, 0], [0, 0]])   # HQ, next to alpha
    far = build_game(sc, arv_posts=[[2, 2], [2, 2]])    # East junction
    t = near.target(0, 0)
    assert far.response_minutes[0, 0] > near.response_minutes[0, 0]
    assert far.game.defender_uncovered[0, t] < near.game.defender_uncovered[0, t]
    assert far.game.attacker_uncovered[0, t] > near.game.attacker_uncovered[0, t]


def test_expected_nearest_available_matches_simulation() -> None:
    rng = np.random.default_rng(7)
    travel = rng.uniform(2, 20, size=(5, 4))
    posts = [0, 1, 1, 3]
    b = 0.4
    expect = expected_response_minutes(travel, posts, busy_probability=b)
    n = 200_000
    busy = rng.random((n, len(posts))) < b
    times = travel[posts]  # (vehicles, destinations)
    sim = np.empty((n, 4))
    masked = np.where(busy[:, :, None], np.inf, times[None])
    best = masked.min(axis=1)
    all_busy = np.isinf(best)
    sim = np.where(all_busy, times.min(axis=0) + ALL_BUSY_EXTRA_MIN, best)
    se = sim.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(sim.mean(axis=0) - expect) < 4 * se)


def test_greedy_posts_respect_capacity() -> None:
    travel = np.array([[1.0, 1.0, 9.0], [9.0, 9.0, 1.0]])
    posts = default_arv_posts(travel, np.array([10.0, 10.0, 1.0]), 3, [2, 5],
                              busy_probability=0.0)
    assert sorted(posts) == [0, 0, 1]
    with pytest.raises(ScenarioError, match="total capacity"):
        default_arv_posts(travel, np.ones(3), 8, [2, 5], busy_probability=0.0)


def test_casualty_curve() -> None:
    k = casualties([100, 10_000], [1, 10], initial=10, rate=5, people_cap=0.3,
                   hardening=[0.0, 0.5], hardening_effect=0.5)
    np.testing.assert_allclose(k, [15.0, 60 * 0.75])


def test_travel_minutes_shape_checked(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir)
    with pytest.raises(ScenarioError, match="travel_minutes"):
        build_game(sc, travel_minutes=np.ones((3, 3)))
    built = build_game(sc, travel_minutes=np.full((3, 5), 4.0))
    for s, posts in enumerate(built.arv_posts):
        b_n = 0.3 ** len(posts)
        expect = 1.5 + 1.0 + 4.0 * (1 - b_n) + b_n * (4.0 + ALL_BUSY_EXTRA_MIN)
        np.testing.assert_allclose(built.response_minutes[s], expect)


def test_explain_site(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir)
    ex = explain_site(sc, "delta")
    built = build_game(sc)
    t = built.target(3, 0)
    assert ex.defender_uncovered[0] == pytest.approx(float(built.game.priors
                                                           @ built.game.defender_uncovered[:, t]))
    assert ex.people == (600.0, 20.0)
    with pytest.raises(ScenarioError, match="did you mean"):
        explain_site(sc, "delt")
