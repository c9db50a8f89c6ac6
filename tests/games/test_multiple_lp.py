"""Multiple LPs (Conitzer & Sandholm)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from citywatch.errors import GameError, InfeasibleError, SolverError
from citywatch._highs import solve_highs
from citywatch.games import SecurityGame, random_game, solve_multiple_lps, verify_equilibrium



def _best_target_by_enumeration(game: SecurityGame) -> float:
    """Value of the best candidate, re-solving each candidate's LP from scratch."""
    n = game.n_targets
    au, ac = game.attacker_uncovered[0], game.attacker_covered[0]
    dc, du = game.defender_covered[0], game.defender_uncovered[0]
    best = -math.inf
    for t in range(n):
        # c_t*: maximise; others: Ua(s) <= Ua(t), i.e. -Δs cs + Δt ct <= au_t - au_s
        rows = [np.eye(n)[s] * -(au[s] - ac[s]) + np.eye(n)[t] * (au[t] - ac[t])
                for s in range(n) if s != t]
        budget = (game.groups[None, :] == np.arange(game.n_groups)[:, None]).astype(float)
        matrix = np.vstack([*rows, budget]) if rows else budget
        upper = np.r_[[au[t] - au[s] for s in range(n) if s != t], game.resources]
        cost = np.zeros(n)
        cost[t] = dc[t] - du[t]
        try:
            res = solve_highs(cost, matrix, -np.inf, upper, col_upper=1.0, maximize=True)
        except InfeasibleError:
            continue
        best = max(best, du[t] + res.objective)
    return best


@pytest.mark.parametrize("seed", range(30))
def test_matches_independent_per_target_lps(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    n_groups = int(rng.integers(1, min(3, n) + 1))
    sizes = np.bincount(np.arange(n) % n_groups)
    game = random_game(targets=n, resources=[int(rng.integers(0, s + 1)) for s in sizes],
                       groups=n_groups, generator="covariance",
                       covariance=float(rng.uniform(-1, 0)), seed=rng)
    eq = solve_multiple_lps(game)
    assert verify_equilibrium(game, eq) == []
    assert (eq.method, eq.optimal, eq.gap) == ("multiple-lps", True, 0.0)
    assert eq.defender_utility == pytest.approx(_best_target_by_enumeration(game), abs=1e-6)


def test_skips_targets_that_cannot_be_attacked() -> None:
    # Target 1 (worth most to the defender when covered) can never be a best
    # response: target 0's covered payoff 2 exceeds its uncovered payoff 1.
    game = SecurityGame(np.array([1.0, 9.0]), np.array([-5.0, -1.0]), np.array([2.0, -3.0]),
                        np.array([6.0, 1.0]), resources=np.array([1]))
    eq = solve_multiple_lps(game)
    assert eq.attacked.tolist() == [0]
    assert verify_equilibrium(game, eq) == []


def test_rejects_several_types_and_bad_time_limit() -> None:
    with pytest.raises(GameError, match="n_types"):
        solve_multiple_lps(random_game(targets=3, types=2, resources=1, seed=0))
    with pytest.raises(GameError, match="`time_limit`"):
        solve_multiple_lps(random_game(targets=3, resources=1, seed=0), time_limit=0.0)


def test_time_limit_before_any_candidate_raises() -> None:
    game = random_game(targets=50, resources=5, seed=1)
    with pytest.raises(SolverError, match="time_limit"):
        solve_multiple_lps(game, time_limit=1e-12)
