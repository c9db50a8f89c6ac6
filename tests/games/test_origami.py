"""ORIGAMI against multiple LPs, an independent minimax LP and the brute-force normal form."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import itertools
import sys
import types

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from citywatch.errors import GameError
from citywatch.games import (
    Equilibrium,
    SecurityGame,
    random_game,
    solve_multiple_lps,
    solve_origami,
    solve_sse,
    verify_equilibrium,
)

TOL = 1e-6


def _budget_cases(sizes: list[int], rng: np.random.Generator) -> list[list[int]]:
    """Zero, full and random budgets for groups of the given sizes."""
    return [[0] * len(sizes), list(sizes), [int(rng.integers(0, s + 1)) for s in sizes]]


def _random_games() -> list[SecurityGame]:
    rng = np.random.default_rng(20260)
    games = []
    for generator, covariance in (("uniform", 0.0), ("covariance", -0.3),
                                  ("covariance", -0.8), ("covariance", -1.0)):
        for _ in range(25):
            n = int(rng.integers(1, 9))
            n_groups = int(rng.integers(1, min(3, n) + 1))
            sizes = np.bincount(np.arange(n) % n_groups).tolist()
            for budget in _budget_cases(sizes, rng):
                games.append(random_game(targets=n, resources=budget, groups=n_groups,
                                         generator=generator, covariance=covariance,
                                         seed=rng))
    return games


def _assert_fills_leftover(game: SecurityGame, eq: Equilibrium) -> None:
    """Each group spends its whole budget unless every target but the attacked one is full."""
    used = game.group_coverage(eq.coverage)
    attacked = int(eq.attacked[0])
    for g in range(game.n_groups):
        members = np.flatnonzero(game.groups == g)
        others = members[members != attacked]
        full = bool(np.all(eq.coverage[others] >= 1 - TOL))
        assert used[g] == pytest.approx(game.resources[g], abs=TOL) or full, (g, used, eq)


RANDOM_GAMES = _random_games()


@pytest.mark.parametrize("game", RANDOM_GAMES)
def test_origami_matches_multiple_lps(game: SecurityGame) -> None:
    eq = solve_origami(game)
    reference = solve_multiple_lps(game)
    assert verify_equilibrium(game, eq) == []
    assert verify_equilibrium(game, reference) == []
    assert eq.defender_utility == pytest.approx(reference.defender_utility, abs=TOL)
    assert game.is_feasible(eq.coverage)
    assert (eq.method, eq.optimal, eq.gap) == ("origami", True, 0.0)
    _assert_fills_leftover(game, eq)


def _minimax_value(game: SecurityGame) -> float:
    """min over feasible coverage of the attacker's best utility, by an LP in (c, v)."""
    n = game.n_targets
    au, ac = game.attacker_uncovered[0], game.attacker_covered[0]
    # au_t - (au_t - ac_t) c_t <= v
    a_attack = np.hstack([-np.diag(au - ac), -np.ones((n, 1))])
    a_budget = np.hstack([(game.groups[None, :] == np.arange(game.n_groups)[:, None]),
                          np.zeros((game.n_groups, 1))])
    res = linprog(np.r_[np.zeros(n), 1.0], A_ub=np.vstack([a_attack, a_budget]),
                  b_ub=np.r_[-au, game.resources], bounds=[(0, 1)] * n + [(None, None)],
                  method="highs")
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("seed", range(40))
def test_zero_sum_value_is_minimax(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    n_groups = int(rng.integers(1, min(3, n) + 1))
    sizes = np.bincount(np.arange(n) % n_groups)
    budget = [int(rng.integers(0, s + 1)) for s in sizes]
    game = random_game(targets=n, resources=budget, groups=n_groups, generator="covariance",
                       covariance=-1.0, seed=rng)
    eq = solve_origami(game)
    assert verify_equilibrium(game, eq) == []
    assert eq.defender_utility == pytest.approx(-_minimax_value(game), abs=TOL)


def _normal_form_sse(game: SecurityGame) -> float:
    """SSE value of the normal form over pure assignments, by Conitzer-Sandholm's LPs.

    A pure assignment covers at most ``resources[g]`` targets of each group (teams may
    stay idle, as the compact form's ``<=`` allows).
    """
    per_group = []
    for g in range(game.n_groups):
        members = np.flatnonzero(game.groups == g).tolist()
        per_group.append([s for k in range(int(game.resources[g]) + 1)
                          for s in itertools.combinations(members, k)])
    pure = np.array([[t in set(itertools.chain(*combo)) for t in range(game.n_targets)]
                     for combo in itertools.product(*per_group)], dtype=np.float64)
    ud = pure * game.defender_covered + (1 - pure) * game.defender_uncovered  # (pure, targets)
    ua = pure * game.attacker_covered + (1 - pure) * game.attacker_uncovered
    best = -np.inf
    for t in range(game.n_targets):
        # sum_a x_a (ua[a, s] - ua[a, t]) <= 0 for all s; sum x = 1
        res = linprog(-ud[:, t], A_ub=(ua - ua[:, [t]]).T, b_ub=np.zeros(game.n_targets),
                      A_eq=np.ones((1, len(pure))), b_eq=[1.0], bounds=(0, None),
                      method="highs")
        if res.status == 0:
            best = max(best, -float(res.fun))
    return best


@pytest.mark.parametrize("seed", range(40))
def test_tiny_games_match_brute_force_normal_form(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(1, 6))
    n_groups = 1 if seed % 2 else int(rng.integers(1, min(2, n) + 1))
    resources = [1] * n_groups if n > 1 else [int(rng.integers(0, 2))]
    generator = "uniform" if seed % 3 else "covariance"
    game = random_game(targets=n, resources=resources, groups=n_groups, generator=generator,
                       covariance=-0.5 if generator == "covariance" else 0.0, seed=rng)
    eq = solve_origami(game)
    assert eq.defender_utility == pytest.approx(_normal_form_sse(game), abs=TOL)


def _game(dc: list[float], du: list[float], ac: list[float], au: list[float],
          resources: int | list[int] = 1, groups: list[int] | None = None) -> SecurityGame:
    return SecurityGame(_floats(dc), _floats(du), _floats(ac), _floats(au),
                        resources=np.atleast_1d(np.array(resources, dtype=np.int64)),
                        groups=np.array(groups or [0] * len(dc), dtype=np.int64))


def _floats(values: list[float]) -> npt.NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


def _check(game: SecurityGame) -> Equilibrium:
    eq = solve_origami(game)
    assert verify_equilibrium(game, eq) == []
    assert eq.defender_utility == pytest.approx(solve_multiple_lps(game).defender_utility,
                                                abs=TOL)
    return eq


def test_identical_targets_share_coverage_evenly() -> None:
    eq = _check(_game([5] * 4, [-5] * 4, [-5] * 4, [5] * 4, resources=2))
    np.testing.assert_allclose(eq.coverage, 0.5)
    assert eq.defender_utility == pytest.approx(0.0)
    assert eq.attacker_utility[0] == pytest.approx(0.0)


@pytest.mark.parametrize(("resources", "coverage", "value"), [(0, 0.0, -4.0), (1, 1.0, 3.0)])
def test_one_target(resources: int, coverage: float, value: float) -> None:
    eq = _check(_game([3], [-4], [-1], [2], resources=resources))
    assert eq.coverage.tolist() == [coverage]
    assert eq.defender_utility == pytest.approx(value)
    assert eq.attacked.tolist() == [0]


def test_no_resources_attacker_takes_best_target_and_ties_favour_defender() -> None:
    # targets 1 and 2 tie for the attacker; the defender loses less at 2
    eq = _check(_game([1, 1, 1], [-1, -9, -3], [-5, -5, -5], [3, 7, 7], resources=0))
    assert eq.coverage.tolist() == [0.0, 0.0, 0.0]
    assert eq.attacked.tolist() == [2]
    assert eq.defender_utility == pytest.approx(-3.0)


def test_attacker_ties_broken_for_defender() -> None:
    eq = _check(_game([2, 9], [-6, -6], [-4, -4], [4, 4], resources=1))
    np.testing.assert_allclose(eq.coverage, [0.5, 0.5])
    assert eq.attacked.tolist() == [1]
    assert eq.defender_utility == pytest.approx(1.5)


def test_flat_target_gets_the_spare_budget_when_attacked() -> None:
    # Target 0: covering it does not deter (Δa = 0) but saves the defender a lot.
    eq = _check(_game([10, 1], [-10, -1], [5, -5], [5, 5], resources=1))
    assert eq.attacked.tolist() == [0]
    np.testing.assert_allclose(eq.coverage, [1.0, 0.0])
    assert eq.defender_utility == pytest.approx(10.0)


def test_flat_target_limited_by_what_its_group_needs_elsewhere() -> None:
    # u* = 5 (target 0's flat payoff); target 1 needs 0.2 to be held to 5.
    eq = _check(_game([10, 1, 0], [-10, -1, 0], [5, -3, -9], [5, 7, 1], resources=1))
    assert eq.attacked.tolist() == [0]
    np.testing.assert_allclose(eq.coverage, [0.8, 0.2, 0.0])


def test_flat_targets_receive_leftover_budget() -> None:
    game = _game([1, 1, 1, 1], [-1, -1, -1, -1], [0, 0, -9, -9], [0, 0, 1, 1], resources=4)
    eq = _check(game)
    assert eq.attacked.tolist() == [0]
    np.testing.assert_allclose(eq.coverage, 1.0)


def test_all_flat_targets() -> None:
    game = _game([4, 2], [-4, -8], [3, 3], [3, 3], resources=1)
    eq = _check(game)
    # either target can be fully covered and stay a best response; 0 is worth more
    assert eq.attacked.tolist() == [0]
    np.testing.assert_allclose(eq.coverage, [1.0, 0.0])


def test_budget_larger_than_needed_is_still_deployed() -> None:
    # Covered payoffs cap the attacker at 1 (target 2) whatever the budget.
    game = _game([1, 1, 1], [-1, -1, -1], [-3, -2, 1], [2, 2, 2], resources=3)
    eq = _check(game)
    assert eq.attacker_utility[0] == pytest.approx(1.0)
    _assert_fills_leftover(game, eq)


def test_groups_budget_separately() -> None:
    # Group 1 has no teams: its target holds the attacker at 6 whatever group 0 does.
    game = _game([5, 5, 5], [-5, -5, -8], [-5, -5, -5], [8, 8, 6], resources=[2, 0],
                 groups=[0, 0, 1])
    eq = _check(game)
    assert eq.attacker_utility[0] == pytest.approx(6.0)
    assert eq.attacked.tolist() == [0]  # worth (5*2 - 5*11)/13 against -8 at target 2
    # target 1 takes the rest of group 0; the attacked target keeps exactly 2/13
    np.testing.assert_allclose(eq.coverage, [2 / 13, 1.0, 0.0])


def test_many_groups_match_multiple_lps() -> None:
    game = random_game(targets=300, resources=[1, 2, 0, 3, 3] * 20, groups=100, seed=7)
    eq = _check(game)
    _assert_fills_leftover(game, eq)


def test_rejects_several_attacker_types() -> None:
    game = random_game(targets=5, types=2, resources=1, seed=0)
    with pytest.raises(GameError, match="n_types"):
        solve_origami(game)


payoff = st.integers(0, 4).map(float)


@st.composite
def small_games(draw: st.DrawFn) -> SecurityGame:
    n = draw(st.integers(1, 6))
    n_groups = draw(st.integers(1, min(3, n)))
    groups = np.arange(n) % n_groups
    sizes = np.bincount(groups)
    budget = [draw(st.integers(0, int(s))) for s in sizes]
    dc = [draw(payoff) for _ in range(n)]
    du = [-draw(payoff) for _ in range(n)]
    au = [draw(payoff) for _ in range(n)]
    # covered attacker payoff is often equal to the uncovered one (Δa = 0)
    ac = [a - draw(st.sampled_from([0.0, 0.0, 1.0, 3.0, 6.0])) for a in au]
    return SecurityGame(_floats(dc), _floats(du), _floats(ac), _floats(au),
                        resources=np.array(budget, dtype=np.int64), groups=groups)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_games())
def test_property_origami_equals_multiple_lps(game: SecurityGame) -> None:
    eq = solve_origami(game)
    reference = solve_multiple_lps(game)
    assert verify_equilibrium(game, eq) == []
    assert verify_equilibrium(game, reference) == []
    assert eq.defender_utility == pytest.approx(reference.defender_utility, abs=TOL)
    _assert_fills_leftover(game, eq)


# solve_sse dispatch (kept here until a tests/games/test_solve.py exists)

def test_solve_sse_auto_uses_origami_for_one_type() -> None:
    game = random_game(targets=6, resources=2, seed=3)
    assert solve_sse(game).method == "origami"
    assert solve_sse(game, method="single").method == "origami"
    assert solve_sse(game, method="multiple-lps").method == "multiple-lps"


def test_solve_sse_rejects_unknown_method() -> None:
    with pytest.raises(GameError, match="`method`.*'auto'.*'dobss'"):
        solve_sse(random_game(targets=3, resources=1, seed=0), method="dobss")


def test_solve_sse_several_types_without_bayesian(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name == "citywatch.games.bayesian" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(GameError, match="method='bayesian'"):
        solve_sse(random_game(targets=4, types=2, resources=1, seed=0))


def test_solve_sse_several_types_calls_bayesian(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    fake = types.ModuleType("citywatch.games.bayesian")
    fake.__spec__ = importlib.machinery.ModuleSpec("citywatch.games.bayesian", None)

    def solve_bayesian(game: SecurityGame, *, method: str, time_limit: float | None = None,
                       node_limit: int | None = None) -> str:
        calls.append((method, time_limit, node_limit))
        return "bayesian result"

    fake.solve_bayesian = solve_bayesian  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "citywatch.games.bayesian", fake)
    game = random_game(targets=4, types=2, resources=1, seed=0)
    assert solve_sse(game, time_limit=5.0) == "bayesian result"  # type: ignore[comparison-overlap]
    assert solve_sse(game, method="bayesian-milp",  # type: ignore[comparison-overlap]
                     node_limit=7) == "bayesian result"
    assert calls == [("levels", 5.0, None), ("milp", None, 7)]


@pytest.mark.parametrize("seed", range(40))
def test_value_from_group_levels_is_origamis(seed: int) -> None:
    """`origami_value` from per-group levels equals the full solve, groups solved apart."""
    from citywatch.games.origami import origami_group_level, origami_value

    rng = np.random.default_rng(seed)
    n_groups = int(rng.integers(1, 5))
    game = random_game(targets=int(rng.integers(2, 9)) * n_groups, types=1,
                       resources=1, seed=seed)
    groups = np.repeat(np.arange(n_groups), game.n_targets // n_groups)
    budget = rng.integers(0, game.n_targets // n_groups + 1, n_groups)
    au, ac = game.attacker_uncovered[0].copy(), game.attacker_covered[0].copy()
    if seed % 4 == 0:   # flat targets (covered for certain) and exact ties
        au[::3] = ac[::3]
        au[1] = au[2]
    g = SecurityGame(game.defender_covered, game.defender_uncovered, ac[None], au[None],
                     resources=budget, groups=groups)
    scale = max(1.0, float(np.abs(au).max()), float(np.abs(ac).max()))
    levels = [origami_group_level(au[groups == k], ac[groups == k], float(budget[k]),
                                  scale=scale) for k in range(n_groups)]
    value = origami_value(au, ac, g.defender_uncovered[0], g.defender_covered[0], groups,
                          budget.astype(float), levels)
    assert value == pytest.approx(solve_origami(g).defender_utility, rel=1e-12, abs=1e-12)
