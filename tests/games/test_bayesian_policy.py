"""Policy constraints in the Bayesian solver, against brute force over attack profiles."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from citywatch.errors import InfeasibleError
from citywatch.games import random_game, solve_bayesian
from citywatch.games.bayesian import METHODS
from citywatch.games.policy import coverage_cap, coverage_floor, group_bounds


def _brute(game, cons) -> float:  # type: ignore[no-untyped-def]
    """Best value over every attack profile, each an LP with the policy rows."""
    n, k_types = game.n_targets, game.n_types
    au, ac = game.attacker_uncovered, game.attacker_covered
    du, dc = game.defender_uncovered, game.defender_covered
    best = -np.inf
    for prof in itertools.product(range(n), repeat=k_types):
        a_ub, b_ub = [], []
        cost = np.zeros(n)
        const = 0.0
        for k, tk in enumerate(prof):
            cost[tk] -= game.priors[k] * (dc[k, tk] - du[k, tk])
            const += game.priors[k] * du[k, tk]
            for t in range(n):
                if t == tk:
                    continue
                # Ua_k(t) <= Ua_k(tk)
                row = np.zeros(n)
                row[t] -= au[k, t] - ac[k, t]
                row[tk] += au[k, tk] - ac[k, tk]
                a_ub.append(row)
                b_ub.append(au[k, tk] - au[k, t])
        for g in range(game.n_groups):
            a_ub.append((game.groups == g).astype(float))
            b_ub.append(game.resources[g])
        for con in cons:
            row = np.zeros(n)
            row[con.targets] = con.weights
            if np.isfinite(con.upper):
                a_ub.append(row)
                b_ub.append(con.upper)
            if np.isfinite(con.lower):
                a_ub.append(-row)
                b_ub.append(-con.lower)
        res = linprog(cost, A_ub=np.array(a_ub), b_ub=np.array(b_ub), bounds=[(0, 1)] * n,
                      method="highs")
        if res.status == 0:
            best = max(best, const - res.fun)
    return best


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(12))
def test_constrained_bayesian_matches_brute_force(seed: int, method: str) -> None:
    game = random_game(targets=5, types=2, resources=2, seed=seed)
    cons = [coverage_cap("cap0", [0], 0.4), coverage_floor("floor4", [4], 0.3),
            group_bounds("pair", [1, 2], upper=0.8)]
    eq = solve_bayesian(game, method=method, constraints=cons)
    c = eq.coverage
    assert c[0] <= 0.4 + 1e-7 and c[4] >= 0.3 - 1e-7 and c[1] + c[2] <= 0.8 + 1e-7
    assert game.is_feasible(c)
    assert eq.optimal
    assert eq.defender_utility == pytest.approx(_brute(game, cons), abs=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_constrained_bayesian_infeasible(method: str) -> None:
    game = random_game(targets=4, types=2, resources=1, seed=0)
    with pytest.raises(InfeasibleError, match="relax"):
        solve_bayesian(game, method=method,
                       constraints=[group_bounds("all", range(4), lower=2)])
