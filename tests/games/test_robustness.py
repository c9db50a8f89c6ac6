"""Robustness of a coverage to attacker error and payoff uncertainty."""

from __future__ import annotations

import numpy as np
import pytest

from citywatch.errors import GameError
from citywatch.games import random_game, solve_origami
from citywatch.games.robustness import robustness_report


@pytest.mark.parametrize("seed", range(20))
def test_matches_brute_force(seed: int) -> None:
    game = random_game(targets=8, types=2, resources=2, seed=seed)
    rng = np.random.default_rng(seed)
    c = rng.dirichlet(np.ones(8)) * 2
    c = np.minimum(c, 1.0)
    eps, delta = rng.uniform(0, 2), rng.uniform(0, 1)
    rep = robustness_report(game, c, epsilon=eps, interval=delta)
    ua, ud = game.attacker_payoffs(c), game.defender_payoffs(c)
    worst_eps, worst_int = [], []
    for k in range(2):
        worst_eps.append(min(ud[k, t] for t in range(8) if ua[k, t] >= ua[k].max() - eps))
        # brute force over perturbations at the extremes: attacker utility of t can be
        # raised by delta and every other lowered by delta
        options = [t for t in range(8)
                   if all(ua[k, t] + delta >= ua[k, s] - delta for s in range(8))]
        worst_int.append(min(ud[k, t] - delta for t in options))
    assert rep.epsilon_worst == pytest.approx(game.priors @ worst_eps)
    assert rep.interval_worst == pytest.approx(game.priors @ worst_int)
    assert rep.epsilon_loss >= -1e-12 and rep.interval_loss >= -1e-12


def test_zero_error_is_nominal() -> None:
    game = random_game(targets=30, resources=5, seed=1)
    eq = solve_origami(game)
    rep = robustness_report(game, eq.coverage)
    assert rep.nominal == pytest.approx(eq.defender_utility)
    # with no error, the only loss is the SSE's tie-breaking in the defender's favour:
    # the worst of the attacker's exact best responses
    ua, ud = game.attacker_payoffs(eq.coverage)[0], game.defender_payoffs(eq.coverage)[0]
    weak = ud[ua >= ua.max() - 1e-9].min()
    assert rep.epsilon_worst == pytest.approx(weak)
    assert rep.interval_worst == pytest.approx(weak)


def test_loss_grows_with_error() -> None:
    game = random_game(targets=40, resources=6, seed=2)
    c = solve_origami(game).coverage
    losses = [robustness_report(game, c, epsilon=e).epsilon_loss for e in (0, 0.5, 1, 2, 4)]
    assert losses == sorted(losses)


def test_bad_arguments() -> None:
    game = random_game(targets=5, resources=1, seed=0)
    with pytest.raises(GameError, match="`coverage`"):
        robustness_report(game, np.ones(5))
    with pytest.raises(GameError, match="`epsilon`"):
        robustness_report(game, np.zeros(5), epsilon=-1)
