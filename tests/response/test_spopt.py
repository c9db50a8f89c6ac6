"""Cross-check with PySAL's spopt on the same cost matrices (test-only dependency)."""

from __future__ import annotations

import numpy as np
import pytest
from _response import random_instance

from citywatch.response import (
    CoverageProblem,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)

spopt_locate = pytest.importorskip("spopt.locate")
pulp = pytest.importorskip("pulp")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SEEDS = range(4)


def _cbc() -> object:
    return pulp.PULP_CBC_CMD(msg=False)


def _instance(seed: int) -> tuple[np.ndarray, np.ndarray]:
    t, w = random_instance(seed, n_d=40, n_c=12)
    return t, w + 1.0  # spopt's p-center ignores weights; keep every point weighted


@pytest.mark.parametrize("seed", SEEDS)
def test_mclp_equals_spopt(seed: int) -> None:
    t, w = _instance(seed)
    ref = spopt_locate.MCLP.from_cost_matrix(t, w, service_radius=6.0, p_facilities=3)
    ref = ref.solve(_cbc())
    ours = solve_mclp(CoverageProblem.from_travel_times(t, w), 3, standard_min=6.0)
    assert ours.objective == pytest.approx(pulp.value(ref.problem.objective))


@pytest.mark.parametrize("seed", SEEDS)
def test_lscp_equals_spopt(seed: int) -> None:
    t, w = _instance(seed)
    radius = float(t.min(axis=1).max()) + 2.0  # every point coverable
    ref = spopt_locate.LSCP.from_cost_matrix(t, service_radius=radius).solve(_cbc())
    ours = solve_lscp(CoverageProblem.from_travel_times(t, w), standard_min=radius)
    assert ours.objective == pytest.approx(pulp.value(ref.problem.objective))


@pytest.mark.parametrize("seed", SEEDS)
def test_pmedian_equals_spopt(seed: int) -> None:
    t, w = _instance(seed)
    ref = spopt_locate.PMedian.from_cost_matrix(t, w, p_facilities=3).solve(_cbc())
    ours = solve_pmedian(CoverageProblem.from_travel_times(t, w), 3)
    assert ours.objective == pytest.approx(pulp.value(ref.problem.objective), rel=1e-7)


@pytest.mark.parametrize("seed", SEEDS)
def test_pcenter_equals_spopt(seed: int) -> None:
    t, w = _instance(seed)
    ref = spopt_locate.PCenter.from_cost_matrix(t, p_facilities=3).solve(_cbc())
    ours = solve_pcenter(CoverageProblem.from_travel_times(t, w), 3)
    assert ours.objective == pytest.approx(pulp.value(ref.problem.objective), rel=1e-7)
