"""Spending unused budget keeps the equilibrium's guarantee."""

from __future__ import annotations

import numpy as np
import pytest

from citywatch.games import random_game
from citywatch.games.leftover import spend_leftover
from citywatch.plan import best_responses


@pytest.mark.parametrize("seed", range(30))
def test_leftover_keeps_best_responses_and_value(seed: int) -> None:
    rng = np.random.default_rng(seed)
    game = random_game(targets=12, types=3, resources=[3, 2], groups=2, seed=seed)
    c = np.minimum(rng.dirichlet(np.ones(12)) * 2.5, 1.0)
    while not game.is_feasible(c):
        c *= 0.9
    attacked, value = best_responses(game, c)
    filled = spend_leftover(game, c, attacked)
    assert game.is_feasible(filled)
    assert np.all(filled >= c - 1e-12)
    np.testing.assert_allclose(filled[attacked], c[attacked])
    ua = game.attacker_payoffs(filled)
    for k, t in enumerate(attacked):
        assert ua[k, t] >= ua[k].max() - 1e-9
    again, value2 = best_responses(game, filled)
    assert value2 >= value - 1e-9
    used = game.group_coverage(filled)
    others = [(game.groups == g) & ~np.isin(np.arange(12), attacked) for g in range(2)]
    for g in range(2):
        # every group's budget is spent unless all its other targets are full
        assert used[g] == pytest.approx(game.resources[g], abs=1e-6) or np.all(
            filled[others[g]] >= 1 - 1e-9)
