"""Comb sampling keeps every site's coverage exactly and every slot within budget."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from citywatch.errors import GameError
from citywatch.schedule.sampling import assign_teams, comb_sample, sample_joint_schedules


def binomial_ok(counts: np.ndarray, n: int, p: np.ndarray, *, alpha: float = 1e-6) -> bool:
    """Every count lies inside its two-sided exact binomial interval at level `alpha`."""
    lo = stats.binom.ppf(alpha / 2, n, p)
    hi = stats.binom.isf(alpha / 2, n, p)
    return bool(np.all((counts >= lo) & (counts <= hi)))


def test_inclusion_frequencies_match_coverage() -> None:
    rng = np.random.default_rng(11)
    c = rng.dirichlet(np.ones(40), size=3) * np.array([[7.0], [3.5], [12.0]])
    c = np.minimum(c, 1.0)
    budgets = np.ceil(c.sum(axis=1)).astype(np.int64)
    draws = 20_000
    x = comb_sample(c, budgets=budgets, draws=draws, seed=5)
    assert x.shape == (draws, 3, 40)
    assert binomial_ok(x.sum(axis=0), draws, c)
    # chi-square on the expected number of covered sites per slot
    counts = x.sum(axis=2)
    assert np.all(counts <= budgets)
    assert np.all(counts >= np.floor(c.sum(axis=1) - 1e-9))


def test_chi_square_over_sites() -> None:
    c = np.array([[0.9, 0.5, 0.3, 0.2, 0.1]])  # sums to 2
    x = comb_sample(c, budgets=[2], draws=50_000, seed=3)
    observed = x.sum(axis=0)[0]
    assert np.all(x.sum(axis=2) == 2)  # integer total: exactly that many every draw
    expected = c[0] * 50_000
    stat = ((observed - expected) ** 2 / expected).sum()
    # totals are fixed, so 4 degrees of freedom at most; p > 1e-6
    assert stats.chi2.sf(stat, 4) > 1e-6


def test_certain_and_impossible_sites() -> None:
    c = [[1.0, 0.0, 0.5, 0.5, 1.0 - 1e-13]]
    x = comb_sample(c, budgets=[3], draws=2000, seed=1)
    assert x[:, 0, 0].all() and x[:, 0, 4].all() and not x[:, 0, 1].any()


def test_seed_reproduces_and_none_uses_entropy() -> None:
    c = [[0.3] * 10]
    a = comb_sample(c, budgets=[3], draws=50, seed=42)
    assert np.array_equal(a, comb_sample(c, budgets=[3], draws=50, seed=42))
    assert not np.array_equal(a, comb_sample(c, budgets=[3], draws=50, seed=43))
    assert comb_sample(c, budgets=[3], draws=2, seed=None).shape == (2, 1, 10)


def test_round_off_above_budget_is_scaled_away() -> None:
    c = np.full((1, 4), 0.5 + 1e-9)
    x = comb_sample(c, budgets=[2], draws=1000, seed=0)
    assert x.sum(axis=2).max() <= 2


@pytest.mark.parametrize(("coverage", "budgets", "match"), [
    ([[0.5, 1.2]], [2], r"\[0, 1\]"),
    ([[0.9, 0.9]], [1], "more than its budget"),
    ([[0.5, np.nan]], [1], "finite"),
    ([[0.5, 0.5]], [1, 2], "one integer"),
])
def test_bad_coverage(coverage: list[list[float]], budgets: list[int], match: str) -> None:
    with pytest.raises(GameError, match=match):
        comb_sample(coverage, budgets=budgets, seed=0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30), st.integers(0, 2**32 - 1))
def test_count_is_floor_or_ceil_of_total(p: list[float], seed: int) -> None:
    c = np.array([p])
    total = c.sum()
    x = comb_sample(c, draws=20, seed=seed)
    n = x.sum(axis=2)
    assert np.all(n >= np.floor(total - 1e-9)) and np.all(n <= np.ceil(total + 1e-9))
    assert not np.any(x[:, 0, c[0] == 0.0])


def test_assign_teams_is_a_matching() -> None:
    c = np.array([[0.6] * 10, [0.2] * 10])
    budgets = np.array([6, 2])
    x = comb_sample(c, budgets=budgets, draws=500, seed=9)
    a = assign_teams(x, budgets, seed=10)
    assert a.shape == (500, 2, 6)
    for d in range(500):
        for g in range(2):
            row = a[d, g]
            sites = row[row >= 0]
            assert len(set(sites.tolist())) == len(sites)  # no site twice, no team twice
            assert set(sites.tolist()) == set(np.flatnonzero(x[d, g]).tolist())
            assert np.all(row[budgets[g]:] == -1)
    # every team gets work equally often
    busy = (a[:, 0, :] >= 0).mean(axis=0)
    assert np.allclose(busy, 1.0, atol=1e-12)
    busy1 = (a[:, 1, :2] >= 0).mean(axis=0)
    assert np.allclose(busy1, 1.0)


def test_assign_teams_idle_team_is_random() -> None:
    x = comb_sample([[0.5] * 4], budgets=[3], draws=6000, seed=1)  # 2 sites, 3 teams
    a = assign_teams(x, [3], seed=2)
    idle = (a[:, 0, :] < 0).mean(axis=0)
    assert binomial_ok((a[:, 0, :] < 0).sum(axis=0), 6000, np.full(3, 1 / 3))
    assert idle.sum() == pytest.approx(1.0)


def test_assign_teams_too_few() -> None:
    x = np.ones((1, 1, 3), dtype=bool)
    with pytest.raises(GameError, match="only 2 `teams`"):
        assign_teams(x, [2], seed=0)


def test_joint_schedule_frequencies() -> None:
    groups = np.array([0, 0, 0, 1])
    probs = np.array([0.2, 0.3, 0.5, 1.0])
    draws = 20_000
    picks = sample_joint_schedules(groups, probs, n_groups=3, draws=draws, seed=4)
    assert np.all(picks[:, 1] == 3) and np.all(picks[:, 2] == -1)
    counts = np.bincount(picks[:, 0], minlength=3)
    assert binomial_ok(counts, draws, probs[:3])
    with pytest.raises(GameError, match="sum to 1"):
        sample_joint_schedules(groups, [0.2, 0.2, 0.2, 1.0], n_groups=2, seed=0)
