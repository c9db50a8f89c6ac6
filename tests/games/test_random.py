"""The random game generators: shapes, ranges, seeding, groups and their statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from citywatch.errors import GameError
from citywatch.games import random_game


@pytest.mark.parametrize("generator,covariance", [("uniform", 0.0), ("covariance", -0.4),
                                                  ("covariance", -1.0)])
def test_shapes_ranges_and_security_game_order(generator: str, covariance: float) -> None:
    game = random_game(targets=200, types=3, resources=[10, 20], groups=2,
                       generator=generator, covariance=covariance, seed=5)
    assert game.defender_covered.shape == (3, 200)
    for arr, lo, hi in ((game.defender_covered, 0, 10), (game.defender_uncovered, -10, 0),
                        (game.attacker_covered, -10, 0), (game.attacker_uncovered, 0, 10)):
        assert arr.min() >= lo and arr.max() <= hi
    np.testing.assert_allclose(game.priors, 1 / 3)


def test_groups_round_robin_and_resources() -> None:
    game = random_game(targets=7, resources=[1, 2, 0], groups=3, seed=0)
    assert game.groups.tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert game.resources.tolist() == [1, 2, 0]
    assert random_game(targets=7, resources=2, groups=3, seed=0).resources.tolist() == [2, 2, 2]


def test_seed_reproducible_and_generator_accepted() -> None:
    a = random_game(targets=10, resources=2, seed=42)
    b = random_game(targets=10, resources=2, seed=42)
    c = random_game(targets=10, resources=2, seed=np.random.default_rng(42))
    d = random_game(targets=10, resources=2, seed=43)
    np.testing.assert_array_equal(a.attacker_uncovered, b.attacker_uncovered)
    np.testing.assert_array_equal(a.attacker_uncovered, c.attacker_uncovered)
    assert not np.array_equal(a.attacker_uncovered, d.attacker_uncovered)


def test_zero_sum_at_covariance_minus_one() -> None:
    game = random_game(targets=50, resources=5, generator="covariance", covariance=-1.0, seed=1)
    np.testing.assert_allclose(game.attacker_covered, -game.defender_covered)
    np.testing.assert_allclose(game.attacker_uncovered, -game.defender_uncovered)


def test_uniform_marginals() -> None:
    game = random_game(targets=4000, resources=1, seed=11)
    for arr, lo in ((game.defender_covered, 0), (game.defender_uncovered, -10),
                    (game.attacker_covered, -10), (game.attacker_uncovered, 0)):
        assert stats.kstest(arr[0], stats.uniform(loc=lo, scale=10).cdf).pvalue > 0.001


@pytest.mark.parametrize("covariance", [0.0, -0.25, -0.5, -0.75])
def test_covariance_sets_the_correlation(covariance: float) -> None:
    game = random_game(targets=20000, resources=1, generator="covariance",
                       covariance=covariance, seed=3)
    r = -covariance
    expected = -r / np.hypot(r, 1 - r)
    for attacker, defender in ((game.attacker_uncovered, game.defender_uncovered),
                               (game.attacker_covered, game.defender_covered)):
        observed = np.corrcoef(attacker[0], defender[0])[0, 1]
        assert observed == pytest.approx(expected, abs=0.03)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"targets": 0, "resources": 0}, "`targets`"),
    ({"targets": 3, "types": 0, "resources": 1}, "`types`"),
    ({"targets": 3, "resources": 1, "groups": 4}, "`groups`"),
    ({"targets": 3, "resources": 1, "generator": "normal"}, "`generator`"),
    ({"targets": 3, "resources": 1, "generator": "covariance", "covariance": 0.5},
     "`covariance`"),
    ({"targets": 3, "resources": 1, "covariance": -0.5}, "generator='covariance'"),
    ({"targets": 4, "resources": [1, 1, 1], "groups": 2}, "`resources`"),
    ({"targets": 4, "resources": 1.5}, "`resources`"),
    ({"targets": 4, "resources": 3, "groups": 2}, "more than its"),
])
def test_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(GameError, match=match):
        random_game(**kwargs)  # type: ignore[arg-type]
