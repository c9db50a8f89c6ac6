"""MEXCLP: expected coverage when each vehicle may be busy (Daskin 1983)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from citywatch.errors import ScenarioError
from citywatch.response._milp import (
    Timer,
    check_standard,
    check_vehicles,
    package,
    solve,
    unique_rows,
    vehicle_bounds,
)
from citywatch.response._problem import CoverageProblem
from citywatch.response.results import DEFAULT_STANDARDS_MIN, CoverageResult

__all__ = ["busy_probability", "expected_coverage", "solve_mexclp"]


def busy_probability(calls_per_hour: float, service_minutes: float, vehicles: int) -> float:
    r"""System-wide busy fraction of a vehicle, :math:`q = \lambda \tau / P`.

    :math:`\lambda` calls an hour needing an armed vehicle, each holding it for
    :math:`\tau` minutes on average, shared by :math:`P` vehicles (Daskin's MEXCLP
    assumption: vehicles are busy independently, each with the same probability).

    Raises
    ------
    ScenarioError
        If an argument is negative or the fleet would be saturated (:math:`q \ge 1`).
    """
    for name, v in (("calls_per_hour", calls_per_hour), ("service_minutes", service_minutes)):
        if not (math.isfinite(v) and v >= 0):
            msg = f"`{name}` must be finite and >= 0, got {v!r}"
            raise ScenarioError(msg)
    if vehicles < 1:
        msg = f"`vehicles` must be >= 1, got {vehicles!r}"
        raise ScenarioError(msg)
    q = calls_per_hour * service_minutes / 60.0 / vehicles
    if q >= 1.0:
        msg = (f"the fleet is saturated: {calls_per_hour} calls/h x {service_minutes} min over "
               f"{vehicles} vehicles gives busy probability {q:.2f} >= 1")
        raise ScenarioError(msg)
    return q


def expected_coverage(problem: CoverageProblem, vehicles: np.ndarray, *, standard_min: float,
                      busy: float) -> float:
    r""":math:`\sum_i w_i (1 - q^{n_i})`, `n_i` the vehicles within the standard of point `i`."""
    y = np.asarray(vehicles, dtype=np.float64)
    n = problem.coverage_matrix(standard_min) @ y
    return float(problem.weights @ (1.0 - busy ** n))


def solve_mexclp(problem: CoverageProblem, vehicles: int, *, busy: float,
                 standard_min: float = 8.0, time_limit: float | None = None,
                 mip_rel_gap: float | None = None,
                 standards_min: Sequence[float] = DEFAULT_STANDARDS_MIN) -> CoverageResult:
    r"""Maximum expected covering location (Daskin 1983).

    Each vehicle is busy with probability :math:`q` independently, so a point reached
    by :math:`n_i` vehicles within the standard is covered by a free one with
    probability :math:`1 - q^{n_i} = \sum_{k=1}^{n_i} (1 - q) q^{k-1}`:

    .. math::

        \max \sum_i w_i \sum_{k=1}^{K_i} (1 - q) q^{k-1} x_{ik} \quad \text{s.t.}\quad
        \sum_k x_{ik} \le \sum_{j \in N_i} y_j, \quad \sum_j y_j = P, \quad
        0 \le x_{ik} \le 1, \quad y_j \in \{l_j, \dots, u_j\},

    with :math:`K_i = \min(P, \sum_{N_i} u_j)`. Several vehicles may wait at one point
    (up to its capacity), since a second vehicle there is a backup. The coefficients
    decrease in :math:`k`, so for integral :math:`y` the optimum fills
    :math:`x_{i1}, \dots, x_{in_i}` and :math:`x` may be continuous.

    Parameters
    ----------
    busy
        Probability :math:`q \in [0, 1)` that a vehicle is busy (see
        `busy_probability`; the scenario's ``travel.arv_busy_probability``).

    Returns
    -------
    CoverageResult
        ``objective`` is the expected covered weight; ``details["busy"]`` is :math:`q`.
    """
    timer = Timer()
    s = check_standard(standard_min)
    if not (math.isfinite(busy) and 0 <= busy < 1):
        msg = f"`busy` must be a probability in [0, 1), got {busy!r}"
        raise ScenarioError(msg)
    check_vehicles(problem, vehicles)
    lower, upper = vehicle_bounds(problem, stack=True)
    a, w, _ = unique_rows(problem.coverage_matrix(s), problem.weights)
    n_c, n_r = problem.n_candidates, a.shape[0]
    levels = np.minimum(vehicles, np.rint(a @ upper).astype(np.int64))  # K_i
    n_x = int(levels.sum())
    row_of_x = np.repeat(np.arange(n_r), levels)
    k_of_x = np.arange(n_x) - np.repeat(np.cumsum(levels) - levels, levels)
    x_block = sp.csr_array((np.ones(n_x), (row_of_x, np.arange(n_x))), shape=(n_r, n_x))
    cover = sp.hstack([-a.astype(np.float64), x_block])
    total = sp.hstack([sp.csr_array(np.ones((1, n_c))), sp.csr_array((1, n_x))])
    mat = sp.vstack([cover, total], format="csc")
    cost = np.concatenate([np.zeros(n_c), w[row_of_x] * (1 - busy) * busy ** k_of_x])
    res = solve(cost, mat, np.concatenate([np.full(n_r, -np.inf), [vehicles]]),
                np.concatenate([np.zeros(n_r), [vehicles]]),
                col_lower=np.concatenate([lower, np.zeros(n_x)]),
                col_upper=np.concatenate([upper, np.ones(n_x)]),
                integrality=np.concatenate([np.ones(n_c), np.zeros(n_x)]), maximize=True,
                time_limit=time_limit, mip_rel_gap=mip_rel_gap,
                what=f"MEXCLP ({problem.n_demand} demand points, {n_c} candidates, "
                     f"P={vehicles})")
    return package("mexclp", problem, res.x[:n_c], res, standard_min=s, seconds=timer.seconds,
                   standards_min=standards_min, details={"busy": busy})
