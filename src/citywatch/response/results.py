"""Typed results of the location models, with coverage re-measured from the travel-time matrix."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from citywatch.response._problem import CoverageProblem

__all__ = ["DEFAULT_STANDARDS_MIN", "CoverageResult", "ResponseStats", "response_stats"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_STANDARDS_MIN: tuple[float, ...] = (5.0, 8.0, 10.0)
"""Armed-arrival travel standards reported together, minutes (no published ARV target
exists; these are the ones planners asked for)."""


@dataclass(frozen=True, eq=False)
class ResponseStats:
    """How well a placement of vehicles serves the demand, measured from the matrix.

    Attributes
    ----------
    response_min
        Minutes from the nearest vehicle to each demand point, shape (demand,).
    nearest
        Candidate index of that vehicle, shape (demand,) (-1 if none reaches it).
    standards_min
        The standards reported.
    share_within
        Share of the demand weight reached within each standard (same order).
    mean_min
        Weighted mean response minutes (over points some vehicle can reach).
    p90_min
        Weighted 90th percentile: the smallest response time ``r`` such that points
        reached within ``r`` hold at least 90% of the weight.
    max_min
        Worst response minutes over points with positive weight.
    covered_twice_share
        Share of the weight reached by at least two vehicles within the main standard.
    """

    response_min: FloatArray
    nearest: IntArray
    standards_min: tuple[float, ...]
    share_within: tuple[float, ...]
    mean_min: float
    p90_min: float
    max_min: float
    covered_twice_share: float

    def share(self, standard_min: float) -> float:
        """Share reached within `standard_min` (one of `standards_min`)."""
        for s, v in zip(self.standards_min, self.share_within, strict=True):
            if math.isclose(s, standard_min):
                return v
        msg = f"`standard_min` {standard_min} was not measured; have {self.standards_min}"
        raise KeyError(msg)


def response_stats(problem: CoverageProblem, vehicles: npt.ArrayLike, *,
                   standard_min: float | None = None,
                   standards_min: Sequence[float] = DEFAULT_STANDARDS_MIN) -> ResponseStats:
    """Measure a placement from the matrix (no solver involved).

    Parameters
    ----------
    problem
        The coverage problem.
    vehicles
        Vehicles at each candidate, shape (candidates,).
    standard_min
        The model's own standard, added to `standards_min` if missing; it also
        defines `covered_twice_share`.
    standards_min
        Standards to report.
    """
    y = np.asarray(vehicles, dtype=np.int64)
    stds = sorted({float(s) for s in standards_min} | (
        set() if standard_min is None else {float(standard_min)}))
    w = problem.weights
    total = float(w.sum())
    open_ = np.flatnonzero(y > 0)
    n_d = problem.n_demand
    if open_.size == 0:
        resp = np.full(n_d, np.inf)
        nearest = np.full(n_d, -1, dtype=np.int64)
    else:
        sub = problem.minutes[:, open_]
        k = np.argmin(sub, axis=1)
        resp = sub[np.arange(n_d), k]
        nearest = np.where(np.isfinite(resp), open_[k], -1).astype(np.int64)
    share = tuple(float(w[resp <= s].sum() / total) if total > 0 else 1.0 for s in stds)
    reach = np.isfinite(resp)
    mean = float(w[reach] @ resp[reach] / w[reach].sum()) if w[reach].sum() > 0 else math.inf
    p90 = _weighted_quantile(resp, w, 0.9)
    pos = w > 0
    worst = float(resp[pos].max()) if pos.any() else 0.0
    if standard_min is None or open_.size == 0:
        twice = 0.0
    else:
        counts = (problem.minutes[:, open_] <= standard_min) @ y[open_]
        twice = float(w[counts >= 2].sum() / total) if total > 0 else 0.0
    return ResponseStats(resp, nearest, tuple(stds), share, mean, p90, worst, twice)


def _weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """Smallest value ``v`` with ``sum(weights[values <= v]) >= q * sum(weights)``."""
    pos = weights > 0
    if not pos.any():
        return 0.0
    v, w = values[pos], weights[pos]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    k = int(np.searchsorted(cum, q * cum[-1] * (1 - 1e-12)))
    return float(v[order][min(k, v.size - 1)])


@dataclass(frozen=True, eq=False)
class CoverageResult:
    """A solved location model.

    Attributes
    ----------
    model
        ``"lscp"``, ``"mclp"``, ``"mexclp"``, ``"backup"``, ``"pmedian"`` or ``"pcenter"``.
    status
        HiGHS's final status (``"Optimal"``, ``"Time limit reached"``...).
    optimal
        Whether the answer is proven optimal (within HiGHS's tolerances). When
        ``False`` the answer is the best found, `bound` the best proven bound and
        `gap` their distance; never treat it as optimal.
    objective
        The model's objective value (see each solver's docstring for its meaning).
    bound
        Best proven bound on the objective (equal to it when optimal).
    gap
        ``|objective - bound|``.
    vehicles
        Vehicles placed at each candidate, shape (candidates,).
    candidate_ids
        Candidate names (same order).
    standard_min
        The model's response standard in minutes (``None`` for p-median/p-center).
    stats
        Coverage, mean and 90th-percentile response measured from the matrix.
    seconds
        Wall-clock seconds spent solving.
    details
        Model-specific figures (expected coverage, busy probability...).
    """

    model: str
    status: str
    optimal: bool
    objective: float
    bound: float
    gap: float
    vehicles: IntArray
    candidate_ids: tuple[str, ...]
    standard_min: float | None
    stats: ResponseStats
    seconds: float
    details: dict[str, float] = field(default_factory=dict)

    @property
    def chosen(self) -> tuple[int, ...]:
        """Candidate index of every vehicle (a point holding two appears twice)."""
        return tuple(int(j) for j in np.repeat(np.arange(self.vehicles.size), self.vehicles))

    @property
    def chosen_ids(self) -> tuple[str, ...]:
        """Candidate id of every vehicle."""
        return tuple(self.candidate_ids[j] for j in self.chosen)

    @property
    def n_vehicles(self) -> int:
        """Vehicles placed."""
        return int(self.vehicles.sum())

    def uncovered(self, problem: CoverageProblem, standard_min: float | None = None) -> IntArray:
        """Demand points with positive weight not reached within the standard."""
        s = self.standard_min if standard_min is None else standard_min
        if s is None:
            s = max(self.stats.standards_min)
        return np.flatnonzero((self.stats.response_min > s) & (problem.weights > 0)
                              ).astype(np.int64)

    def covered_weight(self, problem: CoverageProblem,
                       standard_min: float | None = None) -> float:
        """Demand weight reached within the standard."""
        s = self.standard_min if standard_min is None else standard_min
        if s is None:
            s = max(self.stats.standards_min)
        return float(problem.weights[self.stats.response_min <= s].sum())

    def to_dict(self, problem: CoverageProblem | None = None) -> dict[str, Any]:
        """JSON-ready summary; with `problem`, also covered weight and uncovered points."""
        st = self.stats
        out: dict[str, Any] = {
            "model": self.model,
            "status": self.status,
            "optimal": self.optimal,
            "objective": self.objective,
            "bound": self.bound if math.isfinite(self.bound) else None,
            "gap": self.gap if math.isfinite(self.gap) else None,
            "vehicles": self.n_vehicles,
            "chosen": list(self.chosen),
            "chosen_ids": list(self.chosen_ids),
            "standard_min": self.standard_min,
            "share_within": {f"{s:g}": v for s, v in zip(st.standards_min, st.share_within,
                                                          strict=True)},
            "mean_response_min": st.mean_min,
            "p90_response_min": st.p90_min,
            "max_response_min": st.max_min,
            "covered_twice_share": st.covered_twice_share,
            "seconds": self.seconds,
            "details": dict(self.details),
        }
        if problem is not None:
            out["covered_weight"] = self.covered_weight(problem)
            out["total_weight"] = problem.total_weight
            out["uncovered"] = [problem.demand_ids[i] for i in self.uncovered(problem)]
        return out
