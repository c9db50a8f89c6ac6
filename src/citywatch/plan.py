"""The deployment plan: a scenario's game, its equilibrium, and what they mean."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from citywatch.errors import GameError, ScenarioError
from citywatch.games.equilibrium import Equilibrium, best_responses
from citywatch.games.policy import LinearConstraint, PolicyEquilibrium
from citywatch.model.payoffs import ScenarioGame, build_game
from citywatch.model.scenario import Scenario
from citywatch.model.standards import ResponseStandard

__all__ = [
    "ATTACKER_MODELS",
    "Plan",
    "PolicyOptions",
    "best_responses",
    "make_plan",
    "policy_constraints",
    "write_plan",
]

ATTACKER_MODELS = ("auto", "bayesian", "mixture", "qr")
ARV_METHODS = ("joint", "sequential", "greedy")
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PolicyOptions:
    """Planners' constraints on the randomised plan (all optional).

    Attributes
    ----------
    max_site_coverage
        Cap on any site's coverage in any slot (public reassurance: no site is under
        armed guard all the time).
    zone_min_teams
        Expected armed teams each zone (borough) gets in each slot at least, as far as
        its sites allow (no community left without).
    zone_max_share
        Largest share of a slot's patrol teams one zone may take (no community
        over-exposed to armed presence).
    required
        Minimum coverage of named sites in every slot, ``{site_id: coverage}``.
    """

    max_site_coverage: float | None = None
    zone_min_teams: float | None = None
    zone_max_share: float | None = None
    required: tuple[tuple[str, float], ...] = ()

    @property
    def active(self) -> bool:
        """Whether any constraint is asked for."""
        return (self.max_site_coverage is not None or self.zone_min_teams is not None
                or self.zone_max_share is not None or bool(self.required))


def policy_constraints(scenario: Scenario, built: ScenarioGame,
                       options: PolicyOptions) -> list[LinearConstraint]:
    """Linear coverage constraints for `options` on the scenario's game."""
    for name, value, high in (("max_site_coverage", options.max_site_coverage, 1.0),
                              ("zone_max_share", options.zone_max_share, 1.0),
                              ("zone_min_teams", options.zone_min_teams, None)):
        if value is not None and (not np.isfinite(value) or value < 0
                                  or (high is not None and value > high)):
            rng = "in [0, 1]" if high is not None else ">= 0"
            msg = f"`{name}` must be a number {rng}, got {value}"
            raise ScenarioError(msg)
    ns = built.n_sites
    out: list[LinearConstraint] = []
    zone_sites: dict[str, list[int]] = {}
    for i, site in enumerate(scenario.sites):
        zone_sites.setdefault(site.zone_id, []).append(i)
    for s, slot in enumerate(scenario.slot_names):
        teams = float(built.game.resources[s])
        if options.max_site_coverage is not None:
            out.extend(LinearConstraint(f"cap {site_id} {slot}", np.array([s * ns + i]),
                                        upper=options.max_site_coverage, family="site caps")
                       for i, site_id in enumerate(scenario.site_ids))
        for zone, idx in zone_sites.items():
            targets = np.asarray(idx) + s * ns
            if options.zone_min_teams is not None:
                floor = min(options.zone_min_teams, float(len(idx)))
                out.append(LinearConstraint(f"{zone} floor {slot}", targets, lower=floor,
                                            family="zone floors"))
            if options.zone_max_share is not None:
                out.append(LinearConstraint(f"{zone} ceiling {slot}", targets,
                                            upper=options.zone_max_share * teams,
                                            family="zone ceilings"))
        for site_id, minimum in options.required:
            i = scenario.site_ids.index(scenario.site(site_id).id)
            if not 0 <= minimum <= 1:
                msg = f"required coverage of `{site_id}` must lie in [0, 1], got {minimum}"
                raise ScenarioError(msg)
            out.append(LinearConstraint(f"{site_id} required {slot}", np.array([s * ns + i]),
                                        lower=minimum, family="required sites"))
    return out


@dataclass(frozen=True, eq=False)
class Plan:
    """A solved deployment plan for one scenario.

    Attributes
    ----------
    scenario
        The scenario planned for.
    built
        The security game the scenario induced, with response times and casualties.
    equilibrium
        The solver's result on the game it solved.
    attacker_model
        ``"bayesian"`` (each attack type responds on its own), ``"mixture"`` (one
        prior-weighted type) or ``"qr"`` (quantal response).
    attacked
        Each real attack type's best response to the plan's coverage.
    defender_utility
        Prior-weighted defender utility with each real type best-responding
        (casualty-equivalents per attack, negative).
    notes
        Plain statements about how the plan was made (approximations, gaps).
    """

    scenario: Scenario
    built: ScenarioGame
    equilibrium: Equilibrium
    attacker_model: str
    attacked: npt.NDArray[np.int64]
    defender_utility: float
    notes: tuple[str, ...] = field(default=())
    policy: PolicyEquilibrium | None = None
    arv_plan: dict[str, Any] | None = None
    response_standards: tuple[ResponseStandard, ...] = ()

    def response_report(self) -> dict[str, dict[str, Any]]:
        """Per slot: share of people within 5/8/10/15 minutes of armed help, the worst site.

        Minutes are expected from the call to armed intervention with no patrol at the
        site, with the plan's ARV posts (`ScenarioGame.response_minutes`).
        """
        from citywatch.response.standards import slot_report, violations

        sc = self.scenario
        people = sc.people()
        out = {}
        for s, slot in enumerate(sc.slot_names):
            r = self.built.response_minutes[s]
            rep = slot_report(r, people[:, s], sc.site_ids)
            rep["meets_standards"] = not violations(r, people[:, s], self.response_standards)
            out[slot] = rep
        return out

    @property
    def coverage(self) -> FloatArray:
        """Coverage of each (site, slot) target, slot-major."""
        return self.equilibrium.coverage

    @property
    def expected_loss(self) -> float:
        """Expected casualty-equivalents per attack (``−defender_utility``)."""
        return -self.defender_utility

    def coverage_rows(self) -> Iterator[dict[str, Any]]:
        """One ``{"site", "slot", "coverage"}`` record per target."""
        for t, c in enumerate(self.coverage):
            site, slot = self.built.target_label(t)
            yield {"site": site, "slot": slot, "coverage": float(c)}

    def top_sites(self, slot: str, *, n: int = 5) -> list[tuple[str, float]]:
        """The `n` most covered sites in `slot` as (site id, coverage)."""
        s = self.scenario.slot_index(slot)
        ns = self.built.n_sites
        cov = self.coverage[s * ns:(s + 1) * ns]
        order = np.argsort(-cov, kind="stable")[:n]
        return [(self.built.site_ids[i], float(cov[i])) for i in order]

    def indifferent_targets(self, *, k: int | None = None, tol: float = 1e-6
                            ) -> list[tuple[str, str]]:
        """Targets between which the attacker is indifferent (its best responses).

        For the mixture model this is the attack set of the prior-weighted attacker;
        otherwise that of attack type `k` (default: the most likely type).
        """
        game = self.built.game.mixture() if self.attacker_model == "mixture" else self.built.game
        if k is None:
            k = 0 if game.n_types == 1 else int(np.argmax(game.priors))
        ua = game.attacker_payoffs(self.coverage)[k]
        idx = np.flatnonzero(ua >= ua.max() - tol)
        return [self.built.target_label(int(t)) for t in idx]

    def summary(self) -> str:
        """What the equilibrium means, in plain words."""
        site_names = {s.id: s.name for s in self.scenario.sites}
        attack = [(site_names[s], sl) for s, sl in
                  (self.built.target_label(int(t)) for t in self.attacked)]
        names = [a.name.lower() for a in self.scenario.attackers]
        loss = self.expected_loss
        indiff = self.indifferent_targets()
        lines = [
            f"The plan randomises {sum(t.patrol_teams for t in self.built.teams)} armed patrol "
            f"team-slots a day over {len(self.built.site_ids)} sites so that a watching "
            f"attacker gains as little as possible from any one target: {len(indiff)} "
            f"(site, slot) pairs are equally attractive to it, so there is no weak spot to "
            f"pick.",
            f"Against this plan an attack costs about {loss:.1f} casualty-equivalents on "
            f"average; each attack type's best target against it is "
            + "; ".join(f"{n} at {s} ({sl})" for n, (s, sl) in zip(names, attack, strict=True))
            + ".",
        ]
        return " ".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The full plan as JSON-ready data."""
        sc = self.scenario
        eq = self.equilibrium
        posture = sc.postures[sc.threat_level]
        return {
            "scenario": {"name": sc.name, "version": sc.version},
            "threat_level": sc.threat_level.name,
            "threat_meaning": sc.threat_level.meaning,
            "posture_version": sc.postures.version,
            "attack_likelihood_per_year": posture.attack_likelihood,
            "slots": {t.slot: t.patrol_teams for t in self.built.teams},
            "arv_crews": {t.slot: t.arv_crews for t in self.built.teams},
            "officers_on_duty": {t.slot: round(t.officers, 1) for t in self.built.teams},
            "coverage": list(self.coverage_rows()),
            "defender_utility": self.defender_utility,
            "expected_casualties_per_attack": self.expected_loss,
            "attack": {a.id: {"site": s, "slot": sl} for a, (s, sl) in zip(
                sc.attackers, (self.built.target_label(int(t)) for t in self.attacked),
                strict=True)},
            "indifferent_targets": [{"site": s, "slot": sl}
                                    for s, sl in self.indifferent_targets()],
            "arv_posts": {slot: [sc.standby[j].id for j in posts]
                          for slot, posts in zip(sc.slot_names, self.built.arv_posts,
                                                 strict=True)},
            "response_minutes": {slot: dict(zip(sc.site_ids,
                                                np.round(self.built.response_minutes[s], 2)
                                                .tolist(), strict=True))
                                 for s, slot in enumerate(sc.slot_names)},
            "attacker_model": self.attacker_model,
            "method": eq.method,
            "optimal": eq.optimal,
            "gap": eq.gap if np.isfinite(eq.gap) else None,
            "solve_seconds": eq.seconds,
            "solver_defender_utility": eq.defender_utility,
            "notes": list(self.notes),
            "summary": self.summary(),
            "arv_plan": self.arv_plan,
            "response_standards": [str(x) for x in self.response_standards],
            "response_report": self.response_report(),
            "policy": None if self.policy is None else {
                "unconstrained_solver_utility": self.policy.unconstrained_utility,
                "cost_of_policy": self.policy.total_cost,
                "cost_by_family": self.policy.costs,
                "binding": [{"name": b.name, "family": b.family, "side": b.side,
                             "bound": b.bound, "shadow_price": b.shadow_price}
                            for b in self.policy.binding],
            },
        }


def make_plan(scenario: Scenario, *, attacker: str = "auto", time_limit: float | None = 15.0,
              lam: float | None = None, policy: PolicyOptions | None = None,
              arv: str = "joint", arv_time_limit: float | None = 8.0,
              response_standards: tuple[ResponseStandard, ...] | None = None) -> Plan:
    """Solve the scenario's deployment game.

    Parameters
    ----------
    scenario
        The scenario.
    attacker
        ``"bayesian"``: the exact Bayesian Stackelberg equilibrium over the attack types
        (returns the incumbent and its proven gap if `time_limit` runs out);
        ``"mixture"``: one attacker with prior-weighted payoffs, solved exactly by
        ORIGAMI; ``"qr"``: a quantal-response attacker with rationality `lam`;
        ``"auto"``: bayesian when that solver is installed, else mixture.
    time_limit
        Seconds allowed for the Bayesian MILP.
    lam
        Quantal-response rationality (only with ``attacker="qr"``).
    policy
        Planners' constraints (`PolicyOptions`); the plan is then solved exactly for
        the mixture attacker under them, with the cost of each binding family.
    arv
        Where armed response vehicles wait: ``"joint"`` chooses them together with
        the patrols for the least expected loss (`citywatch.response.joint_plan`,
        compared with the sequential plan); ``"sequential"`` places them by maximal
        covering first (MCLP, 8-minute standard); ``"greedy"`` uses the payoff
        model's quick greedy placement.
    arv_time_limit
        Seconds for the joint ARV search.
    response_standards
        Response standards every slot's ARV posts must meet, a hard constraint
        (default: the scenario's; London's is armed help within 15 minutes at every
        site); ``()`` for none. Greedy and sequential posts are moved as little as
        needed to meet them (`citywatch.response.standards.repair`).

    Raises
    ------
    InfeasibleError
        When the fleet cannot meet a response standard.
    """
    if attacker not in ATTACKER_MODELS:
        msg = f"`attacker` must be one of {', '.join(ATTACKER_MODELS)}, got {attacker!r}"
        raise GameError(msg)
    if arv not in ARV_METHODS:
        msg = f"`arv` must be one of {', '.join(ARV_METHODS)}, got {arv!r}"
        raise GameError(msg)
    notes: list[str] = []
    arv_plan: dict[str, Any] | None = None
    standards = (scenario.response_standards if response_standards is None
                 else tuple(response_standards))
    if arv == "greedy":
        from citywatch.response.joint import meet_standards

        built = build_game(scenario)
        if standards:
            built = build_game(scenario, arv_posts=meet_standards(scenario, built.arv_posts,
                                                                  standards))
        notes.append("ARV posts placed greedily for the least people-weighted expected "
                     "response time.")
    elif arv == "sequential":
        from citywatch.response.joint import sequential_posts

        from citywatch.response.joint import meet_standards

        built = build_game(scenario, arv_posts=meet_standards(
            scenario, sequential_posts(scenario), standards))
        notes.append("ARV posts placed first by maximal covering (MCLP, 8-minute standard), "
                     "then the patrols planned (the sequential plan).")
    else:
        from citywatch.response.joint import joint_plan

        jp = joint_plan(scenario, time_limit=arv_time_limit, standards=standards)
        arv_plan = jp.to_dict()
        built = build_game(scenario, arv_posts=jp.arv_posts)
        proof = ("proven optimal" if jp.optimal else
                 f"within {jp.expected_loss - jp.bound:.3g} of the optimum (proven bound)")
        notes.append(f"ARV posts chosen jointly with the patrols ({jp.method} search, "
                     f"{proof}): {jp.expected_loss:.3g} casualty-equivalents per attack for "
                     f"the mixture attacker against {jp.sequential_loss:.3g} for the "
                     f"sequential plan (MCLP first, then the game), a gain of "
                     f"{jp.gain:.3g}.")
    game = built.game
    policy_result = None
    policy_rows: list[LinearConstraint] = []
    if policy is not None and policy.active:
        if attacker not in ("auto", "mixture", "bayesian"):
            msg = (f"policy constraints are solved for the mixture or the Bayesian attacker; "
                   f"got `attacker` = {attacker!r}")
            raise GameError(msg)
        policy_rows = policy_constraints(scenario, built, policy)
        if attacker == "auto":
            attacker = "mixture"
    if attacker == "auto":
        try:
            import citywatch.games.bayesian  # noqa: F401
            attacker = "bayesian"
        except ImportError:
            attacker = "mixture"
    if attacker == "mixture" and policy is not None and policy.active:
        from citywatch.games.policy import solve_with_policy

        policy_result = solve_with_policy(game.mixture(), policy_rows)
        eq = policy_result.equilibrium
        notes.append("Planned against the prior-weighted mixture of the attack types under "
                     "the policy constraints (exact: one LP per attacked target); the policy "
                     f"costs {policy_result.total_cost:.3g} casualty-equivalents per attack "
                     "against that attacker.")
    elif attacker == "mixture":
        from citywatch.games.origami import solve_origami

        eq = solve_origami(game.mixture())
        notes.append("Planned against one attacker whose payoffs are the prior-weighted "
                     "mixture of the attack types (solved exactly with ORIGAMI); each type's "
                     "own best response is then evaluated against that coverage.")
    elif attacker == "bayesian":
        from citywatch.games.bayesian import solve_bayesian

        eq = solve_bayesian(game, time_limit=time_limit, constraints=policy_rows)
        if policy_rows:
            notes.append(f"Solved under {len(policy_rows)} policy constraints. What each "
                         f"family costs is computed exactly for the mixture attacker: run "
                         f"with --attacker mixture.")
        unused = float(game.resources.sum() - eq.coverage.sum())
        if unused > 1e-6 and not policy_rows:
            from citywatch.games.leftover import spend_leftover

            filled = spend_leftover(game, eq.coverage, eq.attacked)
            eq = dataclasses.replace(eq, coverage=filled)
            notes.append(f"{unused:.3g} team-slots the equilibrium left unused were put on "
                         f"targets no attack type chooses (every team deploys; the "
                         f"guarantee is unchanged).")
        if eq.optimal:
            notes.append("Bayesian Stackelberg equilibrium over the attack types, proven "
                         "optimal.")
        else:
            notes.append(f"Bayesian Stackelberg equilibrium over the attack types: the "
                         f"time limit ({time_limit} s) ran out; the plan is within "
                         f"{eq.gap:.3g} casualty-equivalents of the optimum (proven gap).")
    else:
        from citywatch.games.quantal import solve_quantal

        eq = solve_quantal(game, lam=lam, time_limit=time_limit)
        notes.append(f"Planned against a quantal-response attacker (lambda={lam}).")
    attacked, value = best_responses(game, eq.coverage)
    if attacker == "qr" and eq.attack_distribution is not None:
        notes.append(f"Against a fully rational attacker this coverage would cost "
                     f"{-value:.3g} casualty-equivalents per attack; the figures shown are "
                     f"against the quantal-response attacker planned for, each type's "
                     f"target being its most likely one.")
        attacked = np.argmax(eq.attack_distribution, axis=1).astype(np.int64)
        value = eq.defender_utility
    if any(built.idle_teams):
        notes.append(f"{sum(built.idle_teams)} patrol team-slots exceed one team per site "
                     f"and are left unassigned.")
    if standards:
        notes.append("Every slot's ARV posts meet the response standard"
                     + ("s " if len(standards) > 1 else " ")
                     + ", ".join(str(x) for x in standards)
                     + " (expected minutes from call to armed intervention; 100% means "
                       "every site).")
    return Plan(scenario, built, eq, attacker, attacked, value, tuple(notes), policy_result,
                arv_plan, standards)


def _atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so a crash leaves either the old file or the new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_plan(plan: Plan, folder: str | Path) -> list[Path]:
    """Write ``plan.json``, ``coverage.csv`` and ``sites.geojson`` into `folder`."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    data = plan.to_dict()
    written = []
    p = out / "plan.json"
    _atomic_write(p, json.dumps(data, indent=2))
    written.append(p)

    import io
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["site_id", "site_name", "slot", "coverage", "people", "response_minutes"])
    sc = plan.scenario
    people = sc.people()
    for t, c in enumerate(plan.coverage):
        s, i = divmod(t, plan.built.n_sites)
        site = sc.sites[i]
        w.writerow([site.id, site.name, sc.slot_names[s], f"{c:.6f}", f"{people[i, s]:g}",
                    f"{plan.built.response_minutes[s, i]:.2f}"])
    p = out / "coverage.csv"
    _atomic_write(p, buf.getvalue())
    written.append(p)

    ns = plan.built.n_sites
    features = []
    for i, site in enumerate(sc.sites):
        props: dict[str, Any] = {"id": site.id, "name": site.name, "category": site.category}
        for s, slot in enumerate(sc.slot_names):
            props[f"coverage_{slot}"] = round(float(plan.coverage[s * ns + i]), 6)
            props[f"people_{slot}"] = site.people[s]
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]}})
    p = out / "sites.geojson"
    _atomic_write(p, json.dumps({"type": "FeatureCollection", "features": features}))
    written.append(p)
    return written
