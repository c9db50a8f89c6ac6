"""Tests for quantal-response and SUQR attackers: responses, evaluation, PASAQ certificates."""

from __future__ import annotations

import numpy as np
import pytest

from citywatch.errors import GameError
from citywatch.games.equilibrium import verify_equilibrium
from citywatch.games.origami import solve_origami
from citywatch.games.quantal import (
    SUQR_WEIGHTS,
    evaluate_against,
    quantal_response,
    solve_quantal,
    suqr_response,
)
from citywatch.model.game import SecurityGame


def _game(n: int, *, types: int = 1, resources: int = 1, seed: int = 0) -> SecurityGame:
    rng = np.random.default_rng(seed)
    shape = (types, n)
    return SecurityGame(rng.uniform(0, 10, shape), rng.uniform(-10, 0, shape),
                        rng.uniform(-10, 0, shape), rng.uniform(0, 10, shape),
                        resources=resources)


def _grid_max(game: SecurityGame, n: int, step: float, alpha: np.ndarray,
              gamma: np.ndarray) -> float:
    """Best prior-weighted defender utility over the `step` grid of ``sum(c) <= 1``.

    One resource, n = 2 or 3; evaluated slice by slice (first coordinate fixed).
    """
    m = round(1 / step)
    axis = np.arange(m + 1)
    if n == 2:
        rest = axis[:, np.newaxis]
    else:
        a, b = np.meshgrid(axis, axis, indexing="ij")
        keep = a + b <= m
        rest = np.stack([a[keep], b[keep]], axis=1)
    # Attack weights and defender utilities per target and grid level, looked up by index
    # (no exponentials inside the loop); weights are scaled per type to avoid overflow.
    level = axis * step
    weight = [np.exp(alpha[k][:, np.newaxis] + gamma[k][:, np.newaxis] * level
                     - float(np.max(alpha[k] + np.maximum(gamma[k], 0.0))))
              for k in range(game.n_types)]
    util = [game.defender_uncovered[k][:, np.newaxis]
            + (game.defender_covered[k] - game.defender_uncovered[k])[:, np.newaxis] * level
            for k in range(game.n_types)]
    best = -np.inf
    for first in axis:
        tail = rest[rest.sum(axis=1) <= m - first]
        idx = np.column_stack([np.full(tail.shape[0], first), tail])
        total = np.zeros(idx.shape[0])
        for k in range(game.n_types):
            num = np.zeros(idx.shape[0])
            den = np.zeros(idx.shape[0])
            for t in range(n):
                w = weight[k][t, idx[:, t]]
                num += w * util[k][t, idx[:, t]]
                den += w
            total += game.priors[k] * num / den
        best = max(best, float(total.max()))
    return best


def _exponents(game: SecurityGame, lam: float | None,
               weights: tuple[float, float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    au, ac = game.attacker_uncovered, game.attacker_covered
    if lam is not None:
        return lam * au, lam * (ac - au)
    assert weights is not None
    return weights[1] * au + weights[2] * ac, np.full(au.shape, weights[0])


# ------------------------------------------------------------------------- responses

@pytest.mark.parametrize("lam", [0.0, 0.3, 2.0, 1e4])
def test_quantal_response_is_a_distribution(lam: float) -> None:
    game = _game(7, types=2, seed=1)
    c = np.full(7, 1 / 7)
    q = quantal_response(game, c, lam=lam)
    assert q.shape == (2, 7)
    assert np.all(np.isfinite(q)) and np.all(q >= 0)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)


def test_lambda_zero_is_uniform() -> None:
    game = _game(5, seed=2)
    q = quantal_response(game, np.array([0.2, 0.0, 0.5, 0.3, 0.0]), lam=0.0)
    np.testing.assert_allclose(q, 0.2)


def test_quantal_response_formula_and_large_lambda() -> None:
    game = _game(4, seed=3)
    c = np.array([0.1, 0.4, 0.3, 0.2])
    ua = game.attacker_payoffs(c)[0]
    expected = np.exp(0.7 * ua) / np.exp(0.7 * ua).sum()
    np.testing.assert_allclose(quantal_response(game, c, lam=0.7)[0], expected, rtol=1e-12)
    sharp = quantal_response(game, c, lam=1e4)[0]
    assert sharp[np.argmax(ua)] == pytest.approx(1.0)


def test_suqr_matches_formula_with_paper_weights() -> None:
    assert SUQR_WEIGHTS == (-9.85, 0.37, 0.15)
    game = _game(5, seed=4)
    c = np.array([0.3, 0.1, 0.2, 0.4, 0.0])
    logits = (-9.85 * c + 0.37 * game.attacker_uncovered[0]
              + 0.15 * game.attacker_covered[0])
    expected = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(suqr_response(game, c)[0], expected, rtol=1e-12)
    q = suqr_response(game, c, weights=(-1.0, 0.5, 0.2))
    np.testing.assert_allclose(q.sum(), 1.0)


def test_response_argument_errors() -> None:
    game = _game(3)
    with pytest.raises(GameError, match="`lam`"):
        quantal_response(game, np.zeros(3), lam=-1.0)
    with pytest.raises(GameError, match="`weights`"):
        suqr_response(game, np.zeros(3), weights=(1.0, 2.0))
    with pytest.raises(GameError, match="`coverage`"):
        quantal_response(game, np.zeros(4), lam=1.0)
    with pytest.raises(GameError, match="`model`"):
        evaluate_against(game, np.zeros(3), model="nash")
    with pytest.raises(GameError, match="exactly one of"):
        solve_quantal(game)
    with pytest.raises(GameError, match="exactly one of"):
        solve_quantal(game, lam=1.0, weights=SUQR_WEIGHTS)
    with pytest.raises(GameError, match="`method`"):
        solve_quantal(game, lam=1.0, method="newton")
    with pytest.raises(GameError, match="`segments`"):
        solve_quantal(game, lam=1.0, segments=0)


# ------------------------------------------------------------------------- evaluation

@pytest.mark.parametrize("seed", range(5))
def test_rational_evaluation_equals_sse(seed: int) -> None:
    game = _game(8, resources=3, seed=seed)
    eq = solve_origami(game)
    assert evaluate_against(game, eq.coverage, model="rational") == pytest.approx(
        eq.defender_utility, abs=1e-9)


def test_qr_evaluation_matches_distribution() -> None:
    game = _game(6, types=2, resources=2, seed=5)
    c = np.array([0.5, 0.2, 0.3, 0.4, 0.3, 0.3])
    q = quantal_response(game, c, lam=0.5)
    expected = float(np.dot(game.priors, np.sum(q * game.defender_payoffs(c), axis=1)))
    assert evaluate_against(game, c, model="qr", lam=0.5) == pytest.approx(expected)
    assert evaluate_against(game, c, model="suqr") == pytest.approx(float(np.dot(
        game.priors, np.sum(suqr_response(game, c) * game.defender_payoffs(c), axis=1))))


# ------------------------------------------------------------------------- PASAQ

# N = 3 uses a 0.002 grid (21 million points) to keep the file under a minute.
@pytest.mark.parametrize(("n", "step", "seed"), [(2, 0.001, 0), (2, 0.001, 1), (2, 0.001, 2),
                                                 (3, 0.002, 0), (3, 0.002, 1)])
@pytest.mark.parametrize("model", [{"lam": 0.76}, {"lam": 0.2}, {"weights": SUQR_WEIGHTS}])
def test_pasaq_certificate_against_grid(n: int, step: float, seed: int,
                                        model: dict[str, object]) -> None:
    game = _game(n, seed=seed)
    eps = 1e-3
    eq = solve_quantal(game, epsilon=eps, **model)  # type: ignore[arg-type]
    assert verify_equilibrium(game, eq) == []
    assert np.all(eq.attacked == -1)
    assert eq.attack_distribution is not None
    np.testing.assert_allclose(eq.attack_distribution.sum(axis=1), 1.0)
    assert eq.optimal and 0 <= eq.gap <= eps
    bound = eq.defender_utility + eq.gap
    alpha, gamma = _exponents(game, model.get("lam"), model.get("weights"))  # type: ignore[arg-type]
    grid_best = _grid_max(game, n, step, alpha, gamma)
    assert grid_best <= bound + 1e-9
    assert eq.defender_utility >= grid_best - eps - 1e-9
    # The value is exact: re-evaluate the returned coverage independently.
    model_name = "qr" if "lam" in model else "suqr"
    assert eq.defender_utility == pytest.approx(evaluate_against(
        game, eq.coverage, model=model_name, **model), abs=1e-12)  # type: ignore[arg-type]


def test_fixed_segments_report_a_valid_gap() -> None:
    game = _game(3, seed=7)
    coarse = solve_quantal(game, lam=0.76, segments=2, epsilon=1e-4)
    fine = solve_quantal(game, lam=0.76, epsilon=1e-3)
    assert coarse.defender_utility <= fine.defender_utility + fine.gap + 1e-12
    assert fine.defender_utility <= coarse.defender_utility + coarse.gap + 1e-12


def test_large_lambda_approaches_sse() -> None:
    game = _game(6, resources=2, seed=8)
    sse = solve_origami(game).defender_utility
    errors = [abs(solve_quantal(game, lam=lam, method="gradient").defender_utility - sse)
              for lam in (0.1, 1.0, 10.0, 100.0)]
    assert errors[-1] < 0.5
    assert errors[-1] < errors[0]


def test_gradient_is_below_pasaq_bound_and_close() -> None:
    game = _game(12, resources=3, seed=9)
    exact = solve_quantal(game, lam=0.5, epsilon=1e-3)
    local = solve_quantal(game, lam=0.5, method="gradient")
    assert not local.optimal and local.gap == np.inf
    assert local.defender_utility <= exact.defender_utility + exact.gap + 1e-9
    assert local.defender_utility >= exact.defender_utility - 0.05


@pytest.mark.parametrize("seed", range(2))
def test_two_types_certified_bound(seed: int) -> None:
    game = _game(2, types=2, seed=seed)
    eq = solve_quantal(game, lam=0.76, epsilon=1e-3)
    assert verify_equilibrium(game, eq) == []
    alpha, gamma = _exponents(game, 0.76, None)
    grid_best = _grid_max(game, 2, 0.001, alpha, gamma)
    assert grid_best <= eq.defender_utility + eq.gap + 1e-9
    assert eq.defender_utility >= grid_best - 1e-3  # local search from several starts


def test_time_limit_returns_certified_gap() -> None:
    game = _game(40, resources=8, seed=10)
    eq = solve_quantal(game, lam=0.76, epsilon=1e-6, time_limit=0.5)
    assert eq.gap >= 0
    assert verify_equilibrium(game, eq) == []
    # the certified bound brackets the optimum the unlimited solver proves
    full = solve_quantal(game, lam=0.76, epsilon=1e-3)
    assert eq.defender_utility <= full.defender_utility + full.gap + 1e-9
    assert eq.defender_utility + eq.gap >= full.defender_utility - 1e-9


def test_budget_groups_are_respected() -> None:
    rng = np.random.default_rng(3)
    n = 8
    game = SecurityGame(rng.uniform(0, 10, n), rng.uniform(-10, 0, n), rng.uniform(-10, 0, n),
                        rng.uniform(0, 10, n), resources=[1, 2], groups=[0, 0, 0, 1, 1, 1, 1, 1])
    exact = solve_quantal(game, lam=0.5)
    local = solve_quantal(game, lam=0.5, method="gradient")
    for eq in (exact, local):
        assert game.is_feasible(eq.coverage)
        assert verify_equilibrium(game, eq) == []
    assert exact.optimal
    assert local.defender_utility <= exact.defender_utility + exact.gap + 1e-9
