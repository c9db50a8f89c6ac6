"""Tests for the Bayesian Stackelberg MILPs and DOBSS, re-verified by brute force."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from citywatch.errors import GameError, SolverError
from citywatch.games import bayesian_milp, bayesian_profiles
from citywatch.games._lp_model import _Result
from citywatch.games.bayesian import FORMULATIONS, METHODS, solve_bayesian
from citywatch.games.dobss import pure_strategies, solve_dobss
from citywatch.games.equilibrium import verify_equilibrium
from citywatch.games.multiple_lp import solve_multiple_lps
from citywatch.games.origami import solve_origami
from citywatch.games.random import random_game
from citywatch.model.game import SecurityGame

TOL = 1e-6
N_GAMES = 108


def _case(i: int) -> dict[str, object]:
    """Parameters of small random game `i`: 2-4 types, 3-7 targets, 1-3 teams, 1-2 groups."""
    rng = np.random.default_rng(1000 + i)
    types = int(rng.integers(2, 5))
    # Keep the brute force (targets ** types profile LPs) small.
    max_targets = {2: 7, 3: 6, 4: 4}[types]
    targets = int(rng.integers(3, max_targets + 1))
    groups = int(rng.integers(1, 3))
    smallest_group = targets // groups
    resources = [int(rng.integers(1, min(3, smallest_group) + 1)) for _ in range(groups)]
    generator = "uniform" if i % 2 == 0 else "covariance"
    covariance = 0.0 if generator == "uniform" else float(-rng.uniform(0.0, 1.0))
    return {"targets": targets, "types": types, "resources": resources, "groups": groups,
            "generator": generator, "covariance": covariance, "seed": i}


@functools.cache
def _game(i: int) -> SecurityGame:
    return random_game(**_case(i))  # type: ignore[arg-type]


@functools.cache
def _brute_force(i: int) -> float:
    """Best over every attack profile (one target per type) of the LP that induces it.

    ``max sum_k p_k U^d_k(t_k, c)`` s.t. ``U^a_k(t, c) <= U^a_k(t_k, c)`` for all k, t,
    budgets and ``0 <= c <= 1`` -- Conitzer and Sandholm's multiple LPs, over profiles.
    """
    game = _game(i)
    n_k, n_t = game.n_types, game.n_targets
    au, ac = game.attacker_uncovered, game.attacker_covered
    du, dc = game.defender_uncovered, game.defender_covered
    budget_rows = np.zeros((game.n_groups, n_t))
    budget_rows[game.groups, np.arange(n_t)] = 1.0
    best = -np.inf
    for profile in itertools.product(range(n_t), repeat=n_k):
        a_ub, b_ub = [budget_rows], [game.resources.astype(float)]
        cost = np.zeros(n_t)
        constant = 0.0
        for k, tk in enumerate(profile):
            # au_t - (au_t - ac_t) c_t <= au_tk - (au_tk - ac_tk) c_tk
            rows = np.zeros((n_t, n_t))
            rows[:, tk] += au[k, tk] - ac[k, tk]
            rows[np.arange(n_t), np.arange(n_t)] -= au[k] - ac[k]
            a_ub.append(rows)
            b_ub.append(au[k, tk] - au[k])
            cost[tk] -= game.priors[k] * (dc[k, tk] - du[k, tk])
            constant += game.priors[k] * du[k, tk]
        res = linprog(cost, A_ub=np.vstack(a_ub), b_ub=np.concatenate(b_ub),
                      bounds=[(0.0, 1.0)] * n_t, method="highs")
        if res.status == 0:
            best = max(best, constant - res.fun)
    return float(best)


SOLVERS = [("milp", f) for f in FORMULATIONS]


@pytest.mark.parametrize("i", range(N_GAMES))
def test_levels_matches_brute_force(i: int) -> None:
    game = _game(i)
    eq = solve_bayesian(game, method="levels")
    assert verify_equilibrium(game, eq) == []
    assert eq.optimal and eq.gap == 0.0 and eq.method == "bayesian-levels"
    assert eq.defender_utility == pytest.approx(_brute_force(i), abs=TOL)


@pytest.mark.parametrize("i", range(N_GAMES))
def test_every_method_matches_brute_force(i: int) -> None:
    game = _game(i)
    expected = _brute_force(i)
    for method, formulation in SOLVERS:
        eq = solve_bayesian(game, method=method, formulation=formulation)
        assert verify_equilibrium(game, eq) == [], formulation
        assert eq.optimal and eq.gap == 0.0
        assert eq.method == ("bayesian-levels" if method == "levels"
                             else f"bayesian-{formulation}")
        assert eq.bound_source
        assert eq.defender_utility == pytest.approx(expected, abs=TOL), (method, formulation)


def test_cases_span_the_requested_grid() -> None:
    cases = [_case(i) for i in range(N_GAMES)]
    assert {c["types"] for c in cases} == {2, 3, 4}
    assert {c["targets"] for c in cases} == set(range(3, 8))
    assert {c["groups"] for c in cases} == {1, 2}
    assert {r for c in cases for r in c["resources"]} == {1, 2, 3}  # type: ignore[attr-defined]
    assert {c["generator"] for c in cases} == {"uniform", "covariance"}


def test_without_warm_start_matches_brute_force() -> None:
    for i in range(0, N_GAMES, 9):
        for method in METHODS:
            eq = solve_bayesian(_game(i), method=method, warm_start=False)
            assert eq.defender_utility == pytest.approx(_brute_force(i), abs=TOL)


TINY = [i for i in range(N_GAMES) if int(_case(i)["targets"]) <= 5][:12]  # type: ignore[call-overload]


@pytest.mark.parametrize("i", TINY)
def test_dobss_matches_brute_force_and_compact(i: int) -> None:
    game = _game(i)
    eq = solve_dobss(game)
    assert verify_equilibrium(game, eq) == []
    assert eq.optimal and eq.method == "dobss"
    assert eq.defender_utility == pytest.approx(_brute_force(i), abs=TOL)
    assert eq.defender_utility == pytest.approx(solve_bayesian(game).defender_utility, abs=TOL)


def test_pure_strategies_allow_idle_teams() -> None:
    game = random_game(targets=4, types=2, resources=[1, 1], groups=2, seed=3)
    covers = pure_strategies(game)
    # (1 + 2) ways per group: nothing, or one of its two targets.
    assert covers.shape == (9, 4)
    assert len({tuple(row) for row in covers}) == 9
    for row in covers:
        assert np.all(np.bincount(game.groups, weights=row, minlength=2) <= game.resources)


def test_dobss_refuses_huge_normal_form() -> None:
    game = random_game(targets=40, types=2, resources=5, seed=0)
    with pytest.raises(GameError, match="max_pure_strategies"):
        solve_dobss(game)


@pytest.mark.parametrize("formulation", FORMULATIONS)
@pytest.mark.parametrize("warm_start", [True, False])
def test_tiny_time_limit_returns_feasible_answer(formulation: str, warm_start: bool) -> None:
    game = random_game(targets=60, types=4, resources=[3, 3], groups=2, seed=7)
    eq = solve_bayesian(game, method="milp", formulation=formulation, time_limit=1e-3,
                        warm_start=warm_start)
    assert verify_equilibrium(game, eq) == []
    assert eq.gap >= 0.0
    assert eq.optimal or eq.gap > 0.0
    assert isinstance(eq.optimal, bool)


def test_time_limit_gap_brackets_the_optimum() -> None:
    game = random_game(targets=40, types=3, resources=4, seed=11)
    exact = solve_bayesian(game).defender_utility
    for formulation in FORMULATIONS:
        eq = solve_bayesian(game, method="milp", formulation=formulation, time_limit=0.05)
        assert eq.defender_utility <= exact + TOL
        assert eq.defender_utility + eq.gap >= exact - TOL


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("formulation", FORMULATIONS)
def test_single_type_equals_origami_and_multiple_lps(seed: int, formulation: str) -> None:
    game = random_game(targets=12, types=1, resources=[2, 1], groups=2, seed=seed)
    eq = solve_bayesian(game, method="milp", formulation=formulation)
    assert verify_equilibrium(game, eq) == []
    assert eq.defender_utility == pytest.approx(solve_origami(game).defender_utility, abs=TOL)
    assert eq.defender_utility == pytest.approx(solve_multiple_lps(game).defender_utility,
                                                abs=TOL)


@pytest.mark.parametrize("seed", range(10))
def test_minimax_level_is_origamis_attacker_utility(seed: int) -> None:
    game = random_game(targets=15, types=3, resources=[1, 2, 3], groups=3, seed=seed)
    bounds = bayesian_profiles._attack_bounds(game)
    for k in range(game.n_types):
        single = game.single_type(k)
        assert bounds.low[k] == pytest.approx(solve_origami(single).attacker_utility[0],
                                              abs=1e-9)


def test_dominated_targets_are_never_attacked_by_the_optimum() -> None:
    for i in range(0, N_GAMES, 4):
        game = _game(i)
        eq = solve_bayesian(game, method="milp", formulation="bigm")  # bigm keeps every target
        bounds = bayesian_profiles._attack_bounds(game)
        assert bounds.attackable[np.arange(game.n_types), eq.attacked].all()


def test_unknown_formulation_raises() -> None:
    with pytest.raises(GameError, match="`formulation`"):
        solve_bayesian(_game(0), formulation="dobss")


@pytest.mark.parametrize("limit", [0.0, -1.0])
def test_bad_time_limit_raises(limit: float) -> None:
    with pytest.raises(GameError, match="`time_limit`"):
        solve_bayesian(_game(0), time_limit=limit)
    with pytest.raises(GameError, match="`time_limit`"):
        solve_dobss(_game(0), time_limit=limit)


def test_unproven_answer_without_time_limit_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def stalled(*args: object, **kwargs: object) -> _Result:
        return _Result(status="time limit", x=None, objective=-np.inf, bound=np.inf)

    monkeypatch.setattr(bayesian_milp, "_solve_milp", stalled)
    with pytest.raises(SolverError, match="status time limit"):
        solve_bayesian(_game(0), method="milp")
