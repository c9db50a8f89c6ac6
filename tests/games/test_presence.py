"""Presence games (walked beats): answers re-verified against brute force over joint assignments."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from citywatch.errors import GameError
from citywatch.games.schedules.presence import (
    PresenceGame,
    solve_presence,
    solve_presence_bayesian,
    verify_presence_equilibrium,
)
from citywatch.model.game import SecurityGame


def _game(seed: int, *, types: int = 1, per_group: int = 5, teams: tuple[int, ...] = (2, 1),
          n_schedules: int = 9) -> PresenceGame:
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(len(teams)), per_group)
    n = groups.size
    shape = (types, n)
    game = SecurityGame(rng.uniform(0, 10, shape), rng.uniform(-10, 0, shape),
                        rng.uniform(-10, 0, shape), rng.uniform(0, 10, shape),
                        resources=list(teams), groups=groups.tolist(),
                        priors=None if types == 1 else np.full(types, 1 / types))
    rows, cols, vals, sg = [], [], [], []
    j = 0
    for g in range(len(teams)):
        targets = np.flatnonzero(groups == g)
        for _ in range(n_schedules):
            k = int(rng.integers(1, 4))
            stops = rng.choice(targets, size=k, replace=False)
            shares = rng.dirichlet(np.ones(k + 1))[:k]  # the rest of the slot is walking
            rows += [j] * k
            cols += stops.tolist()
            vals += shares.tolist()
            sg.append(g)
            j += 1
    f = sp.csr_array((vals, (rows, cols)), shape=(j, n))
    return PresenceGame(game, f, np.array(sg))


def _joint_columns(pg: PresenceGame) -> tuple[np.ndarray, np.ndarray]:
    """Coverage vector and group of every site-disjoint joint assignment (brute force)."""
    f = pg.presence.toarray()
    cols, grp = [], []
    for g in range(pg.game.n_groups):
        scheds = np.flatnonzero(pg.schedule_groups == g)
        for joint in itertools.combinations(scheds, int(pg.game.resources[g])):
            support = f[list(joint)] > 0
            if np.any(support.sum(axis=0) > 1):
                continue
            cols.append(f[list(joint)].sum(axis=0))
            grp.append(g)
    return np.array(cols).T, np.array(grp)


def _brute_sse(pg: PresenceGame, profile_types: int | None = None) -> float:
    """Bayesian (or one-type) SSE by multiple LPs over attack profiles and explicit columns."""
    game = pg.game
    a, grp = _joint_columns(pg)
    n, m = a.shape
    k = game.n_types
    best = -np.inf
    dd = game.defender_covered - game.defender_uncovered
    da = game.attacker_uncovered - game.attacker_covered
    a_eq = np.zeros((game.n_groups, m))
    a_eq[grp, np.arange(m)] = 1.0
    for profile in itertools.product(range(n), repeat=k):
        cost = -sum(game.priors[kk] * dd[kk, t] * a[t] for kk, t in enumerate(profile))
        rows, rhs = [], []
        for kk, t in enumerate(profile):
            for u in range(n):
                if u != t:  # Ua(u) <= Ua(t)
                    rows.append(-da[kk, u] * a[u] + da[kk, t] * a[t])
                    rhs.append(game.attacker_uncovered[kk, t] - game.attacker_uncovered[kk, u])
        res = linprog(cost, A_ub=np.array(rows), b_ub=np.array(rhs), A_eq=a_eq,
                      b_eq=np.ones(game.n_groups), bounds=(0, None), method="highs")
        if res.status == 0:
            value = -res.fun + sum(game.priors[kk] * game.defender_uncovered[kk, t]
                                   for kk, t in enumerate(profile))
            best = max(best, value)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_one_type_matches_brute_force(seed: int) -> None:
    pg = _game(seed)
    sol = solve_presence(pg, rel_gap=0.0)
    eq = sol.equilibrium
    assert verify_presence_equilibrium(pg, eq) == []
    brute = _brute_sse(pg)
    assert eq.defender_utility == pytest.approx(brute, abs=1e-6)
    assert sol.bound >= brute - 1e-6
    # the bound brackets the optimum and the reported gap is the bracket
    assert eq.gap == pytest.approx(max(0.0, sol.bound - eq.defender_utility), abs=1e-9)
    u, u_lb = sol.minimax
    assert u_lb <= u + 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_bayesian_brackets_brute_force(seed: int) -> None:
    pg = _game(seed, types=2, per_group=3, teams=(1, 1), n_schedules=5)
    sol = solve_presence_bayesian(pg)
    eq = sol.equilibrium
    assert verify_presence_equilibrium(pg, eq) == []
    brute = _brute_sse(pg)
    assert eq.defender_utility <= brute + 1e-6
    assert sol.bound >= brute - 1e-6
    assert eq.gap == pytest.approx(sol.bound - eq.defender_utility, abs=1e-6)


def test_mixed_strategy_reproduces_coverage_exactly() -> None:
    pg = _game(11, teams=(2, 2), n_schedules=12)
    eq = solve_presence(pg).equilibrium
    assert np.abs(pg.coverage_of(eq.joint_schedules, eq.probabilities)
                  - eq.coverage).max() < 1e-9
    assert len(eq.joint_schedules) <= pg.n_schedules + pg.game.n_groups + pg.game.n_targets


def test_is_deterministic() -> None:
    pg = _game(4)
    a, b = solve_presence(pg).equilibrium, solve_presence(pg).equilibrium
    assert a.joint_schedules == b.joint_schedules
    assert np.array_equal(a.probabilities, b.probabilities)


def test_bad_games_are_named() -> None:
    game = SecurityGame(np.ones((1, 2)), np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 2)),
                        resources=[1, 1], groups=[0, 1])
    one_group = SecurityGame(np.ones((1, 2)), np.zeros((1, 2)), np.zeros((1, 2)),
                             np.ones((1, 2)), resources=[1], groups=[0, 0])
    with pytest.raises(GameError, match="one place at a time"):
        PresenceGame(one_group, sp.csr_array(np.array([[0.7, 0.6]])), np.array([0]))
    with pytest.raises(GameError, match="of group"):
        PresenceGame(game, sp.csr_array(np.array([[0.5, 0.3]])), np.array([0]))
    with pytest.raises(GameError, match=r"\(0, 1\]"):
        PresenceGame(game, sp.csr_array(np.array([[1.5, 0.0]])), np.array([0]))
    with pytest.raises(GameError, match="one attacker type"):
        two = SecurityGame(np.ones((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)),
                           np.ones((2, 2)), resources=[1, 1], groups=[0, 1])
        solve_presence(PresenceGame(two, sp.csr_array(np.eye(2) * 0.5), np.array([0, 1])))


@pytest.mark.parametrize("seed", range(4))
def test_diversifying_keeps_the_guarantee_and_spreads_beats(seed: int) -> None:
    pg = _game(seed + 20, teams=(2, 2), n_schedules=14)
    plain = solve_presence(pg, diversify=False).equilibrium
    mixed = solve_presence(pg).equilibrium
    assert verify_presence_equilibrium(pg, mixed) == []
    assert mixed.defender_utility >= plain.defender_utility - 1e-9

    def largest_marginal(eq) -> float:  # type: ignore[no-untyped-def]
        counts = np.zeros(pg.n_schedules)
        for joint, p in zip(eq.joint_schedules, eq.probabilities, strict=True):
            counts[list(joint)] += p
        return float(counts.max())

    assert largest_marginal(mixed) <= largest_marginal(plain) + 1e-7
