"""What-if re-planning (officers, threat level, closed sites, events) and capacity curves."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citywatch._random import Seed
from citywatch.errors import ScenarioError, require
from citywatch.model.scenario import Scenario
from citywatch.model.threat import ThreatLevel
from citywatch.options import QUICK, PlanOptions
from citywatch.plan import Plan
from citywatch.planner import make_plan
from citywatch.sim.model import Spread
from citywatch.sim.results import Estimate, SimulationResult
from citywatch.sim.simulate import root_seed, simulate

__all__ = [
    "CapacityCurve",
    "CapacityPoint",
    "Event",
    "Outcome",
    "WhatIf",
    "apply_changes",
    "capacity",
    "evaluate",
    "parse_event",
    "parse_range",
    "plot_capacity",
    "whatif",
]


@dataclass(frozen=True)
class Event:
    """A planned event: extra people at a site in one slot."""

    site: str
    slot: str
    people: float


def parse_event(text: str) -> Event:
    """An event from ``"site,slot,people"`` (e.g. ``"wembley_stadium,16-20,90000"``)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        msg = f"`event` must be 'site,slot,people', got {text!r}"
        raise ScenarioError(msg)
    try:
        people = float(parts[2])
    except ValueError:
        msg = f"`event` people must be a number, got {parts[2]!r} in {text!r}"
        raise ScenarioError(msg) from None
    if not np.isfinite(people) or people < 0:
        msg = f"`event` people must be >= 0, got {people} in {text!r}"
        raise ScenarioError(msg)
    return Event(parts[0], parts[1], people)


def parse_range(text: str) -> list[int]:
    """Officer counts from ``"start:stop:step"`` (stop included) or ``"a,b,c"``."""
    try:
        if ":" in text:
            start, stop, step = (int(x) for x in text.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            return list(range(start, stop + 1, step))
        return [int(x) for x in text.split(",")]
    except ValueError:
        msg = f"`officers` must be 'start:stop:step' with step > 0 or 'a,b,c', got {text!r}"
        raise ScenarioError(msg) from None


def apply_changes(scenario: Scenario, *, add_officers: int = 0,
                  threat: ThreatLevel | str | None = None, close_sites: Sequence[str] = (),
                  events: Sequence[Event] = ()) -> Scenario:
    """The scenario after the what-if changes.

    Officers are added to the force (negative removes); closed sites leave the
    scenario (nobody there, nothing to attack); an event adds people to a site in a
    slot.
    """
    sc = scenario
    if add_officers:
        officers = sc.force.officers + int(add_officers)
        if officers < sc.force.committed_officers:
            msg = (f"`add_officers` ({add_officers}) leaves {officers} officers, fewer than "
                   f"the {sc.force.committed_officers} committed to other duties")
            raise ScenarioError(msg)
        sc = sc.with_force(officers=officers)
    if threat is not None:
        sc = sc.with_threat(threat)
    closed = {sc.site(s).id for s in close_sites}
    if closed:
        sites = tuple(s for s in sc.sites if s.id not in closed)
        if not sites:
            msg = "`close_sites` closes every site"
            raise ScenarioError(msg)
        sc = dataclasses.replace(sc, sites=sites)
    for ev in events:
        site = sc.site(ev.site)
        s = sc.slot_index(ev.slot)
        people = list(site.people)
        people[s] += ev.people
        new = dataclasses.replace(site, people=tuple(people))
        sc = dataclasses.replace(sc, sites=tuple(new if x.id == site.id else x
                                                 for x in sc.sites))
    return sc


@dataclass(frozen=True, eq=False)
class Outcome:
    """A plan and what the simulator says about it."""

    plan: Plan
    result: SimulationResult

    @property
    def teams_on_duty(self) -> dict[str, int]:
        """Armed foot-patrol teams on duty per slot."""
        return {t.slot: t.patrol_teams for t in self.plan.built.teams}

    @property
    def arv_crews_on_duty(self) -> dict[str, int]:
        """ARV crews on duty per slot."""
        return {t.slot: t.arv_crews for t in self.plan.built.teams}

    def busiest_sites(self, n: int = 5) -> dict[str, dict[str, float]]:
        """Coverage per slot of the `n` sites with the most people over the day."""
        sc = self.plan.scenario
        order = np.argsort(-sc.people().sum(axis=1), kind="stable")[:n]
        cov = self.plan.coverage.reshape(len(sc.slots), len(sc.sites))
        return {sc.sites[i].id: {slot: round(float(cov[s, i]), 4)
                                 for s, slot in enumerate(sc.slot_names)} for i in order}

    def to_dict(self, *, busiest: int = 5) -> dict[str, Any]:
        """The figures the what-if reports; each estimate has a ``<key>_ci`` pair."""
        o = self.result.overall
        out: dict[str, Any] = {
            "officers": self.plan.scenario.force.officers,
            "threat_level": self.plan.scenario.threat_level.name,
            "teams_on_duty": self.teams_on_duty,
            "arv_crews_on_duty": self.arv_crews_on_duty,
        }

        def put(key: str, est: Estimate) -> None:
            out[key] = est.value
            out[f"{key}_ci"] = est.ci

        put("expected_casualties_per_attack", o.casualties)
        put("median_minutes_to_armed_intervention", o.median_minutes)
        put("p90_minutes_to_armed_intervention", o.p90_minutes)
        put("mean_minutes_to_armed_intervention", o.mean_minutes)
        put("interdiction_probability", o.interdiction)
        for x, est in self.result.people_within.items():
            put(f"share_of_people_within_{x:g}_min", est)
        # the plan's own figures (the model), beside the simulated ones above
        out["plan_expected_casualties_per_attack"] = self.plan.expected_casualties_per_attack
        out["plan_defender_utility"] = self.plan.defender_utility
        out["plan_expected_loss"] = self.plan.expected_loss
        out["busiest_sites_coverage"] = self.busiest_sites(busiest)
        out["seed"] = dict(self.result.seed)   # what reproduces the simulation
        return out


def evaluate(plan: Plan, *, n: int, seed: Seed, targeting: str = "plan",
             spread: Spread | None = None) -> Outcome:
    """Simulate attacks against `plan` (with the people-weighted shares)."""
    return Outcome(plan, simulate(plan, n=n, seed=seed, targeting=targeting, spread=spread))


@dataclass(frozen=True, eq=False)
class WhatIf:
    """The plan and outcomes before and after a change."""

    changes: tuple[str, ...]
    before: Outcome
    after: Outcome

    def to_dict(self) -> dict[str, Any]:
        """``{"changes", "before", "after", "change"}`` (change = after − before)."""
        b, a = self.before.to_dict(), self.after.to_dict()
        change = {k: a[k] - b[k] for k in b
                  if isinstance(b[k], int | float) and not k.endswith("_ci")
                  and isinstance(a.get(k), int | float)}
        change["teams_on_duty"] = {s: a["teams_on_duty"].get(s, 0) - t
                                   for s, t in b["teams_on_duty"].items()}
        return {"changes": list(self.changes), "before": b, "after": a, "change": change}


def whatif(scenario: Scenario, *, add_officers: int = 0,
           threat: ThreatLevel | str | None = None, close_sites: Sequence[str] = (),
           events: Sequence[Event] = (), options: PlanOptions | None = None,
           n: int = 1_000_000, seed: Seed = None, spread: Spread | None = None,
           before: Plan | None = None) -> WhatIf:
    """Re-plan after a change and simulate both plans.

    Parameters
    ----------
    scenario
        The scenario as it is.
    add_officers, threat, close_sites, events
        The changes (see `apply_changes`).
    options
        How both plans are solved (`citywatch.options.PlanOptions`); the default is
        ``PlanOptions()``, so "before" is the default plan (``citywatch plan``).
    n, seed
        Attacks simulated per plan, and the seed (both plans use the same streams:
        common random numbers sharpen the comparison).
    before
        The plan as it is, if already solved or stored (it must be `scenario`'s plan
        under `options`); otherwise it is solved here.
    """
    opts = PlanOptions() if options is None else options
    changes = []
    if add_officers:
        changes.append(f"{add_officers:+d} armed officers")
    if threat is not None:
        changes.append(f"threat level {ThreatLevel.parse(threat).name}")
    changes += [f"close {s}" for s in close_sites]
    changes += [f"event at {e.site} ({e.slot}): +{e.people:g} people" for e in events]
    after_sc = apply_changes(scenario, add_officers=add_officers, threat=threat,
                             close_sites=close_sites, events=events)
    s = root_seed(seed)   # every plan draws the same streams (children are positional)
    plan_before = make_plan(scenario, opts) if before is None else before
    return WhatIf(tuple(changes), evaluate(plan_before, n=n, seed=s, spread=spread),
                  evaluate(make_plan(after_sc, opts), n=n, seed=s, spread=spread))


@dataclass(frozen=True)
class CapacityPoint:
    """Outcome with `added` officers."""

    added: int
    officers: int
    patrol_team_slots: int
    arv_crew_slots: int
    plan_expected_loss: float
    casualties: Estimate
    median_minutes: Estimate
    p90_minutes: Estimate
    interdiction: Estimate

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, estimates with ``_ci`` pairs."""
        out: dict[str, Any] = {k: getattr(self, k) for k in (
            "added", "officers", "patrol_team_slots", "arv_crew_slots", "plan_expected_loss")}
        for k in ("casualties", "median_minutes", "p90_minutes", "interdiction"):
            est: Estimate = getattr(self, k)
            out[k] = est.value
            out[f"{k}_ci"] = est.ci
        return out


@dataclass(frozen=True)
class CapacityCurve:
    """Expected loss and response time against officers added."""

    scenario: str
    points: tuple[CapacityPoint, ...]

    def marginal(self) -> list[dict[str, float]]:
        """Change between consecutive points per 100 officers added."""
        out = []
        for a, b in zip(self.points, self.points[1:], strict=False):
            per = 100.0 / (b.added - a.added) if b.added != a.added else float("nan")
            out.append({"from": a.added, "to": b.added,
                        "casualties_per_100": (b.casualties.value - a.casualties.value) * per,
                        "median_minutes_per_100":
                            (b.median_minutes.value - a.median_minutes.value) * per,
                        "plan_loss_per_100":
                            (b.plan_expected_loss - a.plan_expected_loss) * per})
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"scenario": self.scenario, "points": [p.to_dict() for p in self.points],
                "marginal": self.marginal()}


def capacity(scenario: Scenario, *, added: Sequence[int], options: PlanOptions = QUICK,
             n: int = 500_000, seed: Seed = None,
             spread: Spread | None = None,
             progress: Callable[[int, int], None] | None = None,
             interruptible: bool = False) -> CapacityCurve:
    """Re-plan and simulate with each number of officers added (common random numbers).

    Each point is solved with `options` (default `citywatch.options.QUICK`: the
    mixture attacker and greedy ARV posts, as a curve re-plans many times).

    With `interruptible`, Ctrl-C returns the points finished so far.
    """
    s = root_seed(seed)   # every plan draws the same streams (children are positional)
    points: list[CapacityPoint] = []
    try:
        for j, extra in enumerate(added):
            sc = apply_changes(scenario, add_officers=int(extra))
            plan = make_plan(sc, options)
            r = simulate(plan, n=n, seed=s, spread=spread, people_share=False).overall
            points.append(CapacityPoint(
                int(extra), sc.force.officers, sum(t.patrol_teams for t in plan.built.teams),
                sum(t.arv_crews for t in plan.built.teams), plan.expected_loss, r.casualties,
                r.median_minutes, r.p90_minutes, r.interdiction))
            if progress is not None:
                progress(j + 1, len(added))
    except KeyboardInterrupt:
        if not interruptible:
            raise
    return CapacityCurve(scenario.name, tuple(points))


def plot_capacity(curve: CapacityCurve, path: str | Path) -> Path:
    """Draw the capacity curve to a PNG or SVG file (by suffix); needs matplotlib."""
    require("matplotlib", "plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        msg = f"`path` must end in .png or .svg, got {path.name!r}"
        raise ScenarioError(msg)
    x = [p.added for p in curve.points]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, key, label in ((ax1, "casualties", "expected casualties per attack"),
                           (ax2, "median_minutes", "minutes to armed intervention")):
        est = [getattr(p, key) for p in curve.points]
        ax.plot(x, [e.value for e in est], marker="o", label="median" if ax is ax2 else None)
        ax.fill_between(x, [e.low for e in est], [e.high for e in est], alpha=0.25)
        if ax is ax2:
            p90 = [p.p90_minutes for p in curve.points]
            ax.plot(x, [e.value for e in p90], marker="s", label="90th percentile")
            ax.fill_between(x, [e.low for e in p90], [e.high for e in p90], alpha=0.25)
            ax.legend()
        ax.set_xlabel("armed officers added")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{curve.scenario}: what more armed officers buy (95% intervals)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
