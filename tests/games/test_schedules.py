"""Tests for schedule-constrained games: validation, re-verified answers, brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from citywatch.errors import GameError
from citywatch.games.multiple_lp import solve_multiple_lps
from citywatch.games.origami import solve_origami
from citywatch.games.schedules import (
    ScheduleEquilibrium,
    ScheduleGame,
    singleton_schedules,
    solve_schedules,
    verify_schedule_equilibrium,
)
from citywatch.model.game import SecurityGame


def _game(n: int, *, types: int = 1, resources: int | list[int] = 1,
          groups: list[int] | None = None, seed: int = 0) -> SecurityGame:
    rng = np.random.default_rng(seed)
    shape = (types, n)
    return SecurityGame(rng.uniform(0, 10, shape), rng.uniform(-10, 0, shape),
                        rng.uniform(-10, 0, shape), rng.uniform(0, 10, shape),
                        resources=resources, groups=groups)


def _schedule_game(n: int, n_schedules: int, *, types: int = 1, teams: int = 1,
                   sizes: tuple[int, int] = (1, 3), seed: int = 0) -> ScheduleGame:
    rng = np.random.default_rng(seed + 1000)
    game = _game(n, types=types, resources=teams, seed=seed)
    schedules = [rng.choice(n, size=int(rng.integers(sizes[0], sizes[1] + 1)), replace=False)
                 for _ in range(n_schedules)]
    return ScheduleGame.from_lists(game, schedules)


def _brute_force(sgame: ScheduleGame) -> float:
    """Normal-form SSE over all joint schedules by multiple LPs (one per attack profile)."""
    game = sgame.game
    teams = sgame.teams()
    per_group = [list(itertools.combinations(
        np.flatnonzero(sgame.schedule_groups == g).tolist(), int(teams[g])))
        for g in range(game.n_groups)]
    pure = []
    for combo in itertools.product(*per_group):
        a = np.zeros(game.n_targets)
        for joint in combo:
            for s in joint:
                a[sgame.schedule_targets(s)] = 1.0
        pure.append(a)
    a_mat = np.unique(np.array(pure), axis=0)
    n = game.n_targets
    dd = game.defender_covered - game.defender_uncovered
    da = game.attacker_covered - game.attacker_uncovered
    best = -np.inf
    for profile in itertools.product(range(n), repeat=game.n_types):
        cost = np.zeros(a_mat.shape[0])
        const = 0.0
        rows, rhs = [], []
        for k, tk in enumerate(profile):
            cost -= game.priors[k] * dd[k, tk] * a_mat[:, tk]
            const += game.priors[k] * game.defender_uncovered[k, tk]
            for t in range(n):
                if t != tk:
                    rows.append(da[k, t] * a_mat[:, t] - da[k, tk] * a_mat[:, tk])
                    rhs.append(game.attacker_uncovered[k, tk] - game.attacker_uncovered[k, t])
        res = linprog(cost, A_ub=np.array(rows), b_ub=np.array(rhs),
                      A_eq=np.ones((1, a_mat.shape[0])), b_eq=[1.0], bounds=(0, None),
                      method="highs")
        if res.status == 0:
            best = max(best, const - res.fun)
    return float(best)


def _check(sgame: ScheduleGame, eq: ScheduleEquilibrium) -> None:
    assert verify_schedule_equilibrium(sgame, eq) == []
    assert np.all(eq.probabilities >= 0)
    totals = np.bincount(eq.joint_groups, weights=eq.probabilities,
                         minlength=sgame.game.n_groups)
    np.testing.assert_allclose(totals, 1.0, atol=1e-12)
    inc = sgame.incidence.toarray()
    union = np.zeros(sgame.game.n_targets)
    for joint, p in zip(eq.joint_schedules, eq.probabilities, strict=True):
        union += p * (inc[list(joint)].sum(axis=0) > 0)
    np.testing.assert_allclose(union, eq.coverage, atol=1e-9)
    teams = sgame.teams()
    for joint, g in zip(eq.joint_schedules, eq.joint_groups, strict=True):
        assert len(set(joint)) == len(joint) == teams[g]


# ------------------------------------------------------------------------- validation

def test_rejects_empty_schedule() -> None:
    game = _game(4)
    with pytest.raises(GameError, match="schedule 1 covers no target"):
        ScheduleGame(game, sp.csr_array(np.array([[1, 0, 0, 0], [0, 0, 0, 0]])))


def test_rejects_target_out_of_range() -> None:
    with pytest.raises(GameError, match="schedule 0 covers target 7"):
        ScheduleGame.from_lists(_game(4), [[0, 7]])


def test_rejects_schedule_across_groups() -> None:
    game = _game(4, resources=[1, 1], groups=[0, 0, 1, 1])
    with pytest.raises(GameError, match="covers target 2 of group 1"):
        ScheduleGame.from_lists(game, [[0, 2]])


def test_rejects_bad_group_and_entries() -> None:
    game = _game(4)
    with pytest.raises(GameError, match="`schedule_groups` values"):
        ScheduleGame.from_lists(game, [[0, 1]], groups=[3])
    with pytest.raises(GameError, match="entries must be 0 or 1"):
        ScheduleGame(game, sp.csr_array(np.array([[2.0, 0, 0, 0]])))
    with pytest.raises(GameError, match="shape"):
        ScheduleGame(game, sp.csr_array(np.ones((2, 3))))


def test_bad_limits() -> None:
    sgame = _schedule_game(4, 4)
    with pytest.raises(GameError, match="`time_limit`"):
        solve_schedules(sgame, time_limit=0)
    with pytest.raises(GameError, match="`max_iterations`"):
        solve_schedules(sgame, max_iterations=0)


# ------------------------------------------------------------------------- correctness

@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("n", "resources", "groups"), [
    (6, 2, None),
    (10, 3, None),
    (8, [1, 2], [0, 0, 0, 1, 1, 1, 1, 1]),
])
def test_singletons_equal_origami(seed: int, n: int, resources: int | list[int],
                                  groups: list[int] | None) -> None:
    game = _game(n, resources=resources, groups=groups, seed=seed)
    sgame = singleton_schedules(game)
    eq = solve_schedules(sgame, seed=seed)
    _check(sgame, eq)
    assert eq.optimal and eq.gap == 0.0
    assert eq.defender_utility == pytest.approx(solve_origami(game).defender_utility, abs=1e-6)
    assert eq.defender_utility == pytest.approx(solve_multiple_lps(game).defender_utility,
                                                abs=1e-6)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("teams", [1, 2])
def test_single_type_equals_brute_force(seed: int, teams: int) -> None:
    sgame = _schedule_game(6, 6, teams=teams, seed=seed)
    eq = solve_schedules(sgame, seed=seed)
    _check(sgame, eq)
    assert eq.optimal
    assert eq.defender_utility == pytest.approx(_brute_force(sgame), abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_two_types_equal_brute_force(seed: int) -> None:
    sgame = _schedule_game(5, 6, types=2, teams=2, seed=seed)
    eq = solve_schedules(sgame, seed=seed)
    _check(sgame, eq)
    brute = _brute_force(sgame)
    assert eq.defender_utility <= brute + 1e-6
    assert brute <= eq.defender_utility + eq.gap + 1e-6
    if eq.optimal:
        assert eq.defender_utility == pytest.approx(brute, abs=1e-6)


def test_two_groups_with_more_teams_than_schedules() -> None:
    game = _game(6, resources=[2, 1], groups=[0, 0, 0, 1, 1, 1], seed=3)
    sgame = ScheduleGame.from_lists(game, [[0, 1], [3, 4], [5], [4]])
    eq = solve_schedules(sgame, seed=0)
    _check(sgame, eq)
    group0 = [j for j, g in zip(eq.joint_schedules, eq.joint_groups, strict=True) if g == 0]
    assert group0 == [(0,)]  # one schedule for two teams: it always runs
    assert eq.defender_utility == pytest.approx(_brute_force(sgame), abs=1e-6)


def test_medium_instance_is_reverified() -> None:
    sgame = _schedule_game(40, 150, teams=4, sizes=(2, 5), seed=11)
    eq = solve_schedules(sgame, seed=1)
    _check(sgame, eq)
    assert eq.optimal and eq.columns >= len(eq.probabilities)


def test_iteration_limit_returns_gap() -> None:
    sgame = _schedule_game(40, 150, teams=4, sizes=(2, 5), seed=11)
    exact = solve_schedules(sgame, seed=1)
    eq = solve_schedules(sgame, seed=1, max_iterations=8)
    _check(sgame, eq)
    assert eq.defender_utility <= exact.defender_utility + 1e-6
    assert exact.defender_utility <= eq.defender_utility + eq.gap + 1e-6
    if not eq.optimal:
        assert eq.gap > 0
