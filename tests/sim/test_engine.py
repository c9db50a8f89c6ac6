"""The simulator's two kernels: compiled (numba) and NumPy give bit-identical tallies."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from citywatch.model.io import load_scenario
from citywatch.plan import make_plan
from citywatch.sim import SimulationModel
from citywatch.sim._engine import (
    _FIELDS,
    KERNEL_ENV,
    PIECE,
    Tally,
    _busy_nearer,
    busy_thresholds,
    default_kernel,
    simulate_block,
)
from citywatch.sim.simulate import sample_rosters

numba = pytest.importorskip("numba")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SimulationModel]:
    from _scenarios import write_tiny

    folder = write_tiny(Path(tmp_path_factory.mktemp("tiny")) / "tiny")
    plan = make_plan(load_scenario(folder), attacker="mixture")
    people = SimulationModel.from_plan(plan, targeting="people")
    return {
        "best": SimulationModel.from_plan(plan),
        "people": people,
        "no patrols": dataclasses.replace(people, coverage=np.zeros_like(people.coverage)),
        "never busy": dataclasses.replace(people, busy_probability=0.0),
        "always busy": dataclasses.replace(people, busy_probability=1.0),
        "rosters": SimulationModel.from_plan(
            plan, targeting="people", rosters=sample_rosters(plan, draws=50, seed=0)),
    }


def _assert_identical(a: Tally, b: Tally) -> None:
    for name in _FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
        assert x.tobytes() == y.tobytes(), name  # bit for bit, signed zeros included


@pytest.mark.parametrize("case", ["best", "people", "no patrols", "never busy",
                                  "always busy", "rosters"])
def test_kernels_bit_identical(models: dict[str, SimulationModel], case: str) -> None:
    model = models[case]
    # several chunks, one of them longer than a piece, one of a single attack
    sizes = [3 * PIECE + 17, 1, 5_000]
    seeds = np.random.SeedSequence(2024).spawn(len(sizes))
    fast = simulate_block(model, sizes, seeds, kernel="numba")
    slow = simulate_block(model, sizes, seeds, kernel="numpy")
    assert fast.n == slow.n == sum(sizes)
    _assert_identical(fast, slow)
    assert fast.hist_target.sum() == sum(sizes) - int(fast.on_site.sum())


def test_roster_presence_is_binomial_in_the_roster_share(
        models: dict[str, SimulationModel]) -> None:
    """An attack reads a uniformly drawn roster, so a target's attacks find a team at the
    rate of the rosters' share there (per-target counts within 5 standard deviations)."""
    model = models["rosters"]
    assert model.rosters is not None
    share = model.roster_share
    assert np.array_equal(share, model.rosters.reshape(50, -1).sum(axis=0) / 50)
    tally = simulate_block(model, [400_000], [np.random.SeedSequence(11)], kernel="numpy")
    target = model.cell_target[model.active_cells]
    count = np.bincount(target, weights=tally.count, minlength=model.n_targets)
    on = np.bincount(target, weights=tally.on_site, minlength=model.n_targets)
    sd = np.sqrt(count * share * (1 - share))
    assert np.all(np.abs(on - count * share) <= 5 * sd + 1e-9)
    assert 0 < on.sum() < count.sum()
    assert abs((on - count * share).sum()) <= 4 * np.sqrt((sd**2).sum())


def test_different_seeds_differ(models: dict[str, SimulationModel]) -> None:
    model = models["people"]
    a = simulate_block(model, [20_000], [np.random.SeedSequence(1)], kernel="numba")
    b = simulate_block(model, [20_000], [np.random.SeedSequence(2)], kernel="numba")
    assert not np.array_equal(a.sum_t, b.sum_t)


@pytest.mark.parametrize("b", [0.0, 1e-12, 0.05, 0.25, 0.5, 0.9, 1.0])
def test_busy_thresholds_match_the_log_formula(b: float) -> None:
    """``J ≥ j`` exactly when ``v ≤ b^j``: checked at and around every threshold."""
    vmax = 12
    theta = busy_thresholds(b, vmax)
    assert theta[0] == 1 << 32 and np.all(np.diff(theta) <= 0)
    for j in range(1, vmax + 1):
        for h in (theta[j] - 2, theta[j] - 1, theta[j], theta[j] + 1):
            if 0 <= h < 1 << 32:
                v = (h + 0.5) / 2 ** 32
                assert (h < theta[j]) == (v <= b ** j), (j, h)


def test_busy_nearer_is_exact_where_log_rounds(models: dict[str, SimulationModel]) -> None:
    """The NumPy path's ``log`` estimate is corrected to the integer thresholds."""
    model = dataclasses.replace(models["people"], busy_probability=0.5)
    theta = busy_thresholds(0.5, model.max_vehicles)
    edges = np.concatenate([theta[1:] - 1, theta[1:], theta[1:] + 1])
    edges = edges[(edges >= 0) & (edges < 1 << 32)].astype(np.uint64)
    rng = np.random.default_rng(0)
    h = np.concatenate([edges, rng.integers(0, 1 << 32, 10_000, dtype=np.uint64)])
    raw = (h << np.uint64(32)) | rng.integers(0, 1 << 32, h.size, dtype=np.uint64)
    j = _busy_nearer(model, raw)
    expected = (h[:, None].astype(np.int64) < theta[None, 1:]).sum(axis=1)
    np.testing.assert_array_equal(j, expected)
    # and the distribution: P(J >= 1) = b
    assert math.isclose((j[edges.size:] >= 1).mean(), 0.5, abs_tol=0.02)


def test_kernel_choice(monkeypatch: pytest.MonkeyPatch, models: dict[str, SimulationModel]
                       ) -> None:
    monkeypatch.setenv(KERNEL_ENV, "numpy")
    assert default_kernel() == "numpy"
    monkeypatch.setenv(KERNEL_ENV, "")
    assert default_kernel() == "numba"
    monkeypatch.setenv(KERNEL_ENV, "fortran")
    with pytest.raises(ValueError, match=KERNEL_ENV):
        default_kernel()
    with pytest.raises(ValueError, match="`kernel`"):
        simulate_block(models["best"], [10], [np.random.SeedSequence(0)], kernel="cuda")
