"""Simulation results: estimates with 95% confidence intervals, overall and by group."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from citywatch.sim._engine import Tally
from citywatch.sim.model import SimulationModel

__all__ = ["Z95", "Estimate", "Metrics", "SimulationResult", "casualties_label", "summarise"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A simulated quantity with its 95% confidence interval ``[low, high]``."""

    value: float
    low: float
    high: float

    @property
    def ci(self) -> list[float]:
        """The interval as a ``[low, high]`` pair."""
        return [self.low, self.high]

    def to_dict(self) -> dict[str, float]:
        """``{"value", "low", "high"}``."""
        return {"value": self.value, "low": self.low, "high": self.high}

    def __format__(self, spec: str) -> str:
        spec = spec or ".2f"
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"


@dataclass(frozen=True)
class Metrics:
    """What happened in a group of simulated attacks.

    Attributes
    ----------
    attacks
        Attacks simulated in the group.
    interdiction
        Share stopped before harm by an armed team already on site (Wilson interval).
    on_site
        Share finding an armed team on site.
    mean_minutes, median_minutes, p90_minutes
        Time from the first call to armed intervention (0 when interdicted); the mean
        has a normal interval, the quantiles a distribution-free order-statistic
        interval read off the time histogram (resolution ``1/bins_per_minute``).
    casualties
        Expected casualties (killed and seriously injured) per attack.
    within
        Share of attacks with armed intervention within each threshold (minutes).
    """

    attacks: int
    interdiction: Estimate
    on_site: Estimate
    mean_minutes: Estimate
    median_minutes: Estimate
    p90_minutes: Estimate
    casualties: Estimate
    within: dict[float, Estimate]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: each estimate as a number plus a ``<name>_ci`` ``[low, high]`` pair."""
        out: dict[str, Any] = {"attacks": self.attacks}
        for name in ("interdiction", "on_site", "mean_minutes", "median_minutes",
                     "p90_minutes", "casualties"):
            est: Estimate = getattr(self, name)
            out[name] = est.value
            out[f"{name}_ci"] = est.ci
        for x, est in self.within.items():
            out[f"within_{x:g}_min"] = est.value
            out[f"within_{x:g}_min_ci"] = est.ci
        return out


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """A simulation's metrics overall and per attack type, slot and site.

    ``population`` holds the same metrics for attacks placed in proportion to the
    people present (its ``within`` shares are the share of people within each
    threshold of armed help); ``complete`` is false when the run was interrupted and
    ``attacks`` counts what was simulated.
    """

    attacks: int
    requested: int
    targeting: str
    overall: Metrics
    by_type: dict[str, Metrics]
    by_slot: dict[str, Metrics]
    by_site: dict[str, Metrics]
    population: SimulationResult | None = None
    complete: bool = True
    notes: tuple[str, ...] = field(default=())
    seed: dict[str, Any] = field(default_factory=dict)

    @property
    def people_within(self) -> dict[float, Estimate]:
        """Share of people within each threshold of armed help (empty without population)."""
        return {} if self.population is None else self.population.overall.within

    def to_dict(self, *, groups: bool = True) -> dict[str, Any]:
        """JSON-ready result; `groups` adds the per-type, per-slot and per-site metrics."""
        out: dict[str, Any] = {"attacks": self.attacks, "requested": self.requested,
                               "complete": self.complete, "targeting": self.targeting,
                               "casualties_label": casualties_label(self.targeting),
                               "overall": self.overall.to_dict()}
        if self.population is not None:
            out["people_within_minutes"] = {f"{x:g}": e.to_dict()
                                            for x, e in self.people_within.items()}
        if groups:
            out["by_type"] = {k: v.to_dict() for k, v in self.by_type.items()}
            out["by_slot"] = {k: v.to_dict() for k, v in self.by_slot.items()}
            out["by_site"] = {k: v.to_dict() for k, v in self.by_site.items()}
            if self.population is not None:
                out["people_by_site"] = {k: {f"within_{x:g}_min": e.value
                                             for x, e in v.within.items()}
                                         for k, v in self.population.by_site.items()}
        out["notes"] = list(self.notes)
        out["seed"] = dict(self.seed)
        return out


# ----------------------------------------------------------------------- estimators
def wilson(successes: int, n: int, *, z: float = Z95) -> Estimate:
    """A proportion with its Wilson score interval."""
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan)
    p = successes / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half))


def mean_estimate(total: float, total_sq: float, n: int, *, z: float = Z95) -> Estimate:
    """A mean from its sums, with a normal interval."""
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan)
    mean = total / n
    var = max(0.0, (total_sq - n * mean * mean) / (n - 1)) if n > 1 else 0.0
    half = z * math.sqrt(var / n)
    return Estimate(mean, mean - half, mean + half)


def quantile_estimate(hist: IntArray, atoms: list[tuple[float, int]], p: float, *,
                      bins_per_minute: int, z: float = Z95) -> Estimate:
    """The `p`-quantile of atoms plus a histogram, with an order-statistic interval.

    The sample's ``r``-th smallest value is read off the pieces (atoms, then bins with
    values spread uniformly inside each bin); the 95% interval takes the order
    statistics at ranks ``np ∓ z√(np(1−p))`` (+1 above), the distribution-free
    binomial interval for a quantile.
    """
    lo = np.concatenate([[a for a, _ in atoms],
                         np.arange(hist.size) / bins_per_minute]).astype(np.float64)
    hi = np.concatenate([[a for a, _ in atoms],
                         (np.arange(hist.size) + 1) / bins_per_minute]).astype(np.float64)
    cnt = np.concatenate([[c for _, c in atoms], hist]).astype(np.float64)
    order = np.argsort(lo, kind="stable")
    lo, hi, cnt = lo[order], hi[order], cnt[order]
    cum = np.cumsum(cnt)
    n = float(cum[-1]) if cum.size else 0.0
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan)

    def at(rank: float) -> float:
        rank = min(max(rank, 1e-9), n)
        i = int(np.searchsorted(cum, rank, side="left"))
        prev = cum[i] - cnt[i]
        return float(lo[i] + (hi[i] - lo[i]) * (rank - prev) / cnt[i])

    half = z * math.sqrt(n * p * (1 - p))
    return Estimate(at(n * p), at(math.floor(n * p - half)), at(math.ceil(n * p + half) + 1))


# ------------------------------------------------------------------------ grouping
def _metrics(model: SimulationModel, tally: Tally, rows: IntArray, hist: IntArray) -> Metrics:
    n = int(tally.count[rows].sum())
    inter = int(tally.interdicted[rows].sum())
    on = int(tally.on_site[rows].sum())
    t_site = model.on_site_minutes
    atoms = [(0.0, inter), (t_site, on - inter)]
    bpm = model.bins_per_minute
    within = {}
    for x in model.thresholds:
        below = int(hist[:round(x * bpm)].sum()) + inter + (on - inter if t_site <= x else 0)
        within[x] = wilson(below, n)
    return Metrics(
        attacks=n, interdiction=wilson(inter, n), on_site=wilson(on, n),
        mean_minutes=mean_estimate(float(tally.sum_t[rows].sum()),
                                   float(tally.sum_t2[rows].sum()), n),
        median_minutes=quantile_estimate(hist, atoms, 0.5, bins_per_minute=bpm),
        p90_minutes=quantile_estimate(hist, atoms, 0.9, bins_per_minute=bpm),
        casualties=mean_estimate(float(tally.sum_k[rows].sum()),
                                 float(tally.sum_k2[rows].sum()), n),
        within=within)


_LABELS = {
    "plan": "people killed or injured per simulated attack, attackers choosing as the "
            "plan's attacker model assumes (estimates the plan's "
            "expected_casualties_per_attack)",
    "best": "people killed or injured per simulated attack, each attack type "
            "best-responding to the coverage",
    "qr": "people killed or injured per simulated attack, attackers choosing by quantal "
          "response (not the plan's figure unless the plan is qr with the same lambda)",
    "people": "people killed or injured per simulated attack, attackers choosing targets "
              "in proportion to people present (not the plan's figure)",
    "fixed": "people killed or injured per simulated attack on one fixed target (not the "
             "plan's figure)",
}


def casualties_label(targeting: str) -> str:
    """What ``overall.casualties`` measures for a way of choosing targets."""
    return _LABELS.get(targeting, "people killed or injured per simulated attack, with "
                                  "the model's own attack distribution")


def summarise(model: SimulationModel, tally: Tally, *, targeting: str, requested: int,
              complete: bool = True, population: SimulationResult | None = None,
              notes: tuple[str, ...] = (), seed: dict[str, Any] | None = None
              ) -> SimulationResult:
    """Turn a tally into metrics overall and per attack type, slot and site."""
    active = model.active_cells
    target = model.cell_target[active]
    types = model.cell_type[active]
    slot, site = np.divmod(target, model.n_sites)
    hist_t = tally.hist_target.reshape(model.n_slots, model.n_sites, -1)
    all_rows = np.arange(active.size)
    overall = _metrics(model, tally, all_rows, tally.hist_type.sum(axis=0))

    def groups(key: IntArray, labels: tuple[str, ...], hist_of: Any) -> dict[str, Metrics]:
        out = {}
        for g, label in enumerate(labels):
            rows = all_rows[key == g]
            if rows.size and tally.count[rows].sum() > 0:
                out[label] = _metrics(model, tally, rows, hist_of(g))
        return out

    return SimulationResult(
        attacks=tally.n, requested=requested, targeting=targeting, overall=overall,
        by_type=groups(types, model.type_ids, lambda g: tally.hist_type[g]),
        by_slot=groups(slot, model.slot_names, lambda g: hist_t[g].sum(axis=0)),
        by_site=groups(site, model.site_ids, lambda g: hist_t[:, g].sum(axis=0)),
        population=population, complete=complete, notes=notes,
        seed={} if seed is None else dict(seed))
