"""Baseline deployments and side-by-side comparison of plans with significance tests."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from citywatch._random import Seed, children
from citywatch.errors import ScenarioError
from citywatch.games.equilibrium import Equilibrium
from citywatch.model.payoffs import ScenarioGame, build_game
from citywatch.model.scenario import Scenario
from citywatch.options import PlanOptions
from citywatch.plan import Plan, best_responses, load_plan
from citywatch.planner import make_plan
from citywatch.sim.model import Spread
from citywatch.sim.results import Z95, Estimate, SimulationResult
from citywatch.sim.simulate import root_seed, simulate

__all__ = [
    "BASELINES",
    "COMPARED_METRICS",
    "Comparison",
    "Difference",
    "baseline",
    "compare",
    "footfall_plan",
    "load_plan",
    "plan_from_coverage",
    "pre2016_plan",
    "static_guards_plan",
    "uniform_plan",
]

FloatArray = npt.NDArray[np.float64]

#: Names accepted by `baseline`.
BASELINES = ("uniform", "footfall", "static", "pre-2016")
#: Metrics compared with a significance test: (attribute of `Metrics`, label).
COMPARED_METRICS = (("casualties", "expected casualties per attack"),
                    ("interdiction", "interdiction probability"),
                    ("mean_minutes", "mean minutes to armed intervention"),
                    ("within_8", "share of attacks with armed help within 8 min"))


def plan_from_coverage(scenario: Scenario, coverage: npt.ArrayLike, *, method: str,
                       built: ScenarioGame | None = None,
                       notes: Sequence[str] = ()) -> Plan:
    """A `Plan` for a given coverage (slots, sites) or slot-major vector, not solved for.

    Each attack type's best response and the defender's utility are recomputed against
    the coverage; the equilibrium is marked not optimal, with method `method`.
    """
    built = build_game(scenario) if built is None else built
    game = built.game
    c = np.asarray(coverage, dtype=np.float64).reshape(-1)
    if not game.is_feasible(c, tol=1e-6):
        msg = (f"`coverage` for {method!r} breaks a slot's team budget or [0, 1]: uses "
               f"{np.round(game.group_coverage(c), 3).tolist()} of "
               f"{game.resources.tolist()}")
        raise ScenarioError(msg)
    attacked, value = best_responses(game, c)
    ua = game.attacker_payoffs(c)
    eq = Equilibrium(coverage=c, defender_utility=value, attacked=attacked,
                     attacker_utility=ua[np.arange(game.n_types), attacked], method=method,
                     optimal=False, gap=math.inf, seconds=0.0)
    return Plan(scenario, built, eq, "none", attacked, value, tuple(notes))


def _budgets(built: ScenarioGame) -> npt.NDArray[np.int64]:
    return built.game.resources


def uniform_plan(scenario: Scenario, *, built: ScenarioGame | None = None) -> Plan:
    """Each slot's patrol teams spread evenly over all sites (coverage ``teams / sites``).

    `built` reuses the scenario's game when the caller has it (as in the other baselines).
    """
    built = build_game(scenario) if built is None else built
    n = built.n_sites
    cov = np.repeat(_budgets(built)[:, None] / n, n, axis=1)
    return plan_from_coverage(scenario, cov, method="baseline:uniform", built=built,
                              notes=("Uniform random coverage: every site equally likely.",))


def _water_fill(weights: FloatArray, budget: float) -> FloatArray:
    """Coverage proportional to `weights`, capped at 1, the excess re-spread (sums to budget)."""
    w = np.asarray(weights, dtype=np.float64)
    c = np.zeros_like(w)
    if budget <= 0 or w.sum() <= 0:
        return c
    free = np.ones(w.size, dtype=bool)
    left = min(float(budget), float(np.count_nonzero(w > 0)))
    while left > 1e-12 and free.any() and w[free].sum() > 0:
        share = left * w / w[free].sum()
        share[~free] = 0.0
        over = free & (c + share >= 1.0)
        if not over.any():
            c += share
            break
        left -= float((1.0 - c[over]).sum())
        c[over] = 1.0
        free &= ~over
    return np.minimum(c, 1.0)


def footfall_plan(scenario: Scenario, *, built: ScenarioGame | None = None) -> Plan:
    """Coverage proportional to the people present in each slot (capped at 1)."""
    built = build_game(scenario) if built is None else built
    people = scenario.people().T  # (slots, sites)
    cov = np.vstack([_water_fill(people[s], float(b)) for s, b in enumerate(_budgets(built))])
    return plan_from_coverage(scenario, cov, method="baseline:footfall", built=built,
                              notes=("Footfall-proportional coverage: the busier the site "
                                     "in a slot, the likelier a patrol.",))


def static_guards_plan(scenario: Scenario, *, k: int | None = None,
                       built: ScenarioGame | None = None) -> Plan:
    """Static armed guards at the sites with the most people over the day.

    Parameters
    ----------
    scenario
        The scenario.
    k
        Sites guarded in every slot; by default as many as the slot has patrol teams
        (so busier slots guard further down the same ranking). A predictable posture:
        the watching attacker simply goes elsewhere.
    """
    built = build_game(scenario) if built is None else built
    daily = scenario.people().sum(axis=1)
    order = np.argsort(-daily, kind="stable")
    budgets = _budgets(built)
    if k is not None and k < 0:
        msg = f"`k` must be >= 0, got {k}"
        raise ScenarioError(msg)
    cov = np.zeros((len(scenario.slots), built.n_sites))
    for s, b in enumerate(budgets):
        cov[s, order[:int(b) if k is None else min(k, int(b))]] = 1.0
    label = "top sites by daily footfall" if k is None else f"top {k} sites"
    return plan_from_coverage(scenario, cov, method="baseline:static", built=built,
                              notes=(f"Static guards at the {label}, every slot.",))


def pre2016_plan(options: PlanOptions | None = None) -> Plan:
    """London's optimised plan with the force before the 2016 uplift (about 2,200 AFOs).

    Solved with `options` (default ``PlanOptions()``, the same as today's plan).
    """
    from citywatch.data import london

    return make_plan(london(force="pre-2016"), options)


def baseline(name: str, scenario: Scenario, *, k: int | None = None,
             options: PlanOptions | None = None, built: ScenarioGame | None = None) -> Plan:
    """The baseline plan `name` (one of `BASELINES`) for `scenario`.

    `built` reuses the scenario's game (and ARV posts) when the caller has it.
    """
    if name == "uniform":
        return uniform_plan(scenario, built=built)
    if name == "footfall":
        return footfall_plan(scenario, built=built)
    if name == "static":
        return static_guards_plan(scenario, k=k, built=built)
    if name == "pre-2016":
        if scenario.name != "London":
            msg = f"baseline 'pre-2016' exists for London only, not {scenario.name!r}"
            raise ScenarioError(msg)
        return pre2016_plan(options)
    msg = f"`baseline` must be one of {', '.join(BASELINES)}, got {name!r}"
    raise ScenarioError(msg)


@dataclass(frozen=True)
class Difference:
    """A plan's difference from the reference plan in one metric, with its test.

    ``difference`` is plan − reference with a 95% interval (independent runs: the
    standard errors add in quadrature); ``p_value`` is the two-sided z-test,
    ``p_adjusted`` its Holm–Bonferroni adjustment over every test of the comparison,
    and ``significant`` means ``p_adjusted < alpha``.
    """

    plan: str
    metric: str
    difference: Estimate
    p_value: float
    p_adjusted: float
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"plan": self.plan, "metric": self.metric,
                "difference": self.difference.value, "difference_ci": self.difference.ci,
                "p_value": self.p_value, "p_adjusted": self.p_adjusted,
                "significant": self.significant}


@dataclass(frozen=True, eq=False)
class Comparison:
    """Plans simulated side by side, with the reference plan first."""

    reference: str
    results: dict[str, SimulationResult]
    differences: tuple[Difference, ...]
    alpha: float
    plan_figures: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: each plan's overall metrics and the tests against the reference.

        Each plan also carries its own model figures (``plan_expected_casualties_per_attack``,
        ``plan_defender_utility``) beside the simulated ``overall.casualties``.
        """
        return {"reference": self.reference, "alpha": self.alpha,
                "plans": {k: {**v.to_dict(groups=False), **self.plan_figures.get(k, {})}
                          for k, v in self.results.items()},
                "differences": [d.to_dict() for d in self.differences]}


def _metric(result: SimulationResult, name: str) -> Estimate:
    if name.startswith("within_"):
        return result.overall.within[float(name.split("_")[1])]
    est: Estimate = getattr(result.overall, name)
    return est


def _holm(p: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (monotone, capped at 1)."""
    order = np.argsort(p, kind="stable")
    m = len(p)
    adj = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj


def compare(plans: Mapping[str, Plan] | Sequence[Plan], *, n: int = 1_000_000,
            seed: Seed = None, targeting: str = "plan", spread: Spread | None = None,
            alpha: float = 0.05) -> Comparison:
    """Simulate plans side by side and test each against the first (the reference).

    Each plan gets its own independent stream (spawned from `seed`), so differences
    have standard error ``√(se_a² + se_b²)``; the z-tests of every plan and metric in
    `COMPARED_METRICS` are adjusted together (Holm–Bonferroni, family-wise `alpha`).
    Quantiles are reported with their intervals but not tested.
    """
    from math import erfc, sqrt

    named = dict(plans) if isinstance(plans, Mapping) else {
        f"{i}:{p.equilibrium.method}": p for i, p in enumerate(plans)}
    if len(named) < 1:
        msg = "`plans` must hold at least one plan"
        raise ScenarioError(msg)
    seeds = children(root_seed(seed), len(named))
    results = {name: simulate(p, n=n, seed=s, targeting=targeting,
                              spread=spread, people_share=False)
               for (name, p), s in zip(named.items(), seeds, strict=True)}
    ref = next(iter(named))
    raw: list[tuple[str, str, Estimate, float]] = []
    for name, res in results.items():
        if name == ref:
            continue
        for metric, _ in COMPARED_METRICS:
            a, b = _metric(res, metric), _metric(results[ref], metric)
            se = sqrt(((a.high - a.low) / (2 * Z95)) ** 2 + ((b.high - b.low) / (2 * Z95)) ** 2)
            d = a.value - b.value
            p = 1.0 if se == 0 and d == 0 else (0.0 if se == 0 else erfc(abs(d) / se / sqrt(2)))
            raw.append((name, metric, Estimate(d, d - Z95 * se, d + Z95 * se), p))
    adjusted = _holm([r[3] for r in raw])
    diffs = tuple(Difference(name, metric, est, p, pa, pa < alpha)
                  for (name, metric, est, p), pa in zip(raw, adjusted, strict=True))
    figures = {name: {"plan_expected_casualties_per_attack": p.expected_casualties_per_attack,
                      "plan_defender_utility": p.defender_utility}
               for name, p in named.items()}
    return Comparison(ref, results, diffs, alpha, figures)
