"""Policy constraints: feasibility, optimality against brute force, and their costs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from citywatch.errors import GameError, InfeasibleError
from citywatch.games import random_game, solve_origami, verify_equilibrium
from citywatch.games.policy import (
    coverage_cap,
    coverage_floor,
    group_bounds,
    solve_with_policy,
)


def _brute(game, cons, grid: int = 40) -> float:  # type: ignore[no-untyped-def]
    """Best SSE value over a coverage grid on 3 targets with one resource."""
    best = -np.inf
    steps = np.linspace(0, 1, grid + 1)
    for c in itertools.product(steps, repeat=3):
        c = np.array(c)
        if c.sum() > 1 + 1e-12:
            continue
        if any(not (con.lower - 1e-9 <= con.weights @ c[con.targets] <= con.upper + 1e-9)
               for con in cons):
            continue
        ua, ud = game.attacker_payoffs(c)[0], game.defender_payoffs(c)[0]
        best = max(best, ud[ua >= ua.max() - 1e-9].max())
    return float(best)


def test_no_constraints_equals_origami() -> None:
    for seed in range(10):
        game = random_game(targets=12, resources=3, groups=2, seed=seed)
        res = solve_with_policy(game, [])
        assert res.equilibrium.defender_utility == pytest.approx(
            solve_origami(game).defender_utility, abs=1e-6)
        assert res.binding == () and res.costs == {}
        assert res.total_cost == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_constraints_hold_and_beat_grid(seed: int) -> None:
    game = random_game(targets=3, resources=1, seed=seed)
    cons = [coverage_cap("cap0", [0], 0.3), coverage_floor("floor2", [2], 0.2)]
    res = solve_with_policy(game, cons)
    c = res.equilibrium.coverage
    assert c[0] <= 0.3 + 1e-9 and c[2] >= 0.2 - 1e-9 and c.sum() <= 1 + 1e-9
    assert verify_equilibrium(game, res.equilibrium) == []
    assert res.equilibrium.defender_utility >= _brute(game, cons) - 1e-9
    assert res.total_cost >= -1e-9


def test_binding_constraint_costs() -> None:
    game = random_game(targets=20, resources=4, seed=3)
    free = solve_origami(game)
    top = int(np.argmax(free.coverage))
    cap = coverage_cap("cap", [top], free.coverage[top] / 2)
    res = solve_with_policy(game, [cap, group_bounds("loose", range(20), upper=100)])
    names = [b.name for b in res.binding]
    assert names == ["cap"]
    b = res.binding[0]
    assert b.side == "upper" and b.shadow_price >= 0
    assert res.costs == {"cap": pytest.approx(res.total_cost, abs=1e-9)}
    assert res.costs["cap"] > 0


def test_family_costed_together() -> None:
    game = random_game(targets=20, resources=6, seed=5)
    free = solve_origami(game)
    caps = [coverage_cap(f"cap {t}", [t], 0.3) for t in range(20)]
    caps = [type(c)(c.name, c.targets, lower=c.lower, upper=c.upper, family="caps")
            for c in caps]
    res = solve_with_policy(game, caps)
    assert set(res.costs) == {"caps"}
    assert res.costs["caps"] == pytest.approx(free.defender_utility
                                              - res.equilibrium.defender_utility, abs=1e-7)
    assert np.all(res.equilibrium.coverage <= 0.3 + 1e-9)


def test_infeasible_policy() -> None:
    game = random_game(targets=5, resources=1, seed=1)
    with pytest.raises(InfeasibleError, match="relax"):
        solve_with_policy(game, [group_bounds("too many", range(5), lower=2)])


def test_bad_constraints() -> None:
    game = random_game(targets=5, resources=1, seed=1)
    with pytest.raises(GameError, match="lower"):
        group_bounds("x", [0, 1], lower=2, upper=1)
    with pytest.raises(GameError, match="0..4"):
        solve_with_policy(game, [group_bounds("x", [7], upper=1)])
    with pytest.raises(GameError, match="unique"):
        solve_with_policy(game, [group_bounds("x", [1], upper=1)] * 2)
