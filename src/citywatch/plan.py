"""The deployment plan: one artifact from the solve to every consumer.

`make_plan` solves a scenario's game under one `PlanOptions`; the `Plan` it returns
is what every consumer reads (`simulate`, `compare`, `whatif`, rosters, reports, the
web service). `Plan.to_dict` / `Plan.from_dict` and `write_plan` / `load_plan` round-trip
it exactly, so a stored plan is loaded, never solved again.

Two figures say how good a plan is, each named for what it is:

* ``expected_casualties_per_attack``: people killed or injured per attack (casualties
  only), each attack type responding as the plan's attacker model assumes;
* ``defender_utility``: the game's value, in casualty-equivalents per attack
  (negative), symbolic damage included.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from citywatch.errors import GameError, ScenarioError
from citywatch.games.equilibrium import Equilibrium, best_responses
from citywatch.games.policy import BindingConstraint, LinearConstraint, PolicyEquilibrium
from citywatch.model.payoffs import ScenarioGame, build_game
from citywatch.model.scenario import Scenario
from citywatch.model.standards import ResponseStandard
from citywatch.options import (
    ARV_METHODS,
    ATTACKER_MODELS,
    PlanOptions,
    PolicyOptions,
    SolveLimits,
)
from citywatch.plan_io import load_plan, write_plan
from citywatch.plausibility import check_plan

__all__ = [
    "ARV_METHODS",
    "ATTACKER_MODELS",
    "PLAN_FORMAT",
    "Plan",
    "PlanOptions",
    "PolicyOptions",
    "SolveLimits",
    "best_responses",
    "game_fingerprint",
    "load_plan",
    "make_plan",
    "plan_arv_posts",
    "policy_constraints",
    "write_plan",
]

if TYPE_CHECKING:
    from citywatch.schedule.shifts import ShiftOptimisation

FloatArray = npt.NDArray[np.float64]
#: Version of the plan file format (``plan.json``).
PLAN_FORMAT = 2


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




def game_fingerprint(built: ScenarioGame) -> str:
    """SHA-256 of the game a plan was solved on (payoffs, budgets, priors, ARV posts).

    A stored plan is only valid on the game it was solved for: `Plan.from_dict` refuses
    a scenario whose game differs (another force, threat level or payoff model).
    """
    g = built.game
    h = hashlib.sha256()
    for arr in (g.defender_covered, g.defender_uncovered, g.attacker_covered,
                g.attacker_uncovered, g.priors, g.resources, g.groups):
        a = np.ascontiguousarray(arr)
        h.update(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    h.update(json.dumps([list(p) for p in built.arv_posts]).encode())
    return h.hexdigest()


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
        The solver's result on the game it solved (its coverage includes `filler`).
    attacker_model
        ``"bayesian"`` (each attack type responds on its own), ``"mixture"`` (one
        prior-weighted type) or ``"qr"`` (quantal response).
    attacked
        Each real attack type's target against the plan's coverage (best response, or
        for ``"qr"`` the most likely one).
    defender_utility
        The game value: prior-weighted defender utility with each real type
        responding as the attacker model assumes (casualty-equivalents per attack,
        negative; symbolic damage included).
    notes
        Plain statements about how the plan was made (approximations, gaps, limits).
    policy
        The policy solve (what binds, what it costs), when policy constraints were set.
    arv_plan
        The joint ARV search's report, when ``arv="joint"``.
    options
        The options the plan was solved with.
    filler
        Coverage per target placed by the filler rule on team-slots the equilibrium
        did not need (see `make_plan`); zero where none.
    seed
        Entropy of the `numpy.random.SeedSequence` that randomised consumers of this
        plan (rosters, simulations) derive their streams from unless given their own.
    clock_limited
        Whether a wall-clock safety net stopped a solve (the plan may then differ on
        another machine).
    shift_optimisation
        With ``options.optimise_shifts``: the chosen shift pattern, officers per slot
        before and after, and expected casualties per attack on the fixed and the chosen
        pattern (`citywatch.schedule.shifts.ShiftOptimisation`); `scenario` then carries
        the chosen pattern.
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
    options: PlanOptions = field(default_factory=PlanOptions)
    filler: FloatArray | None = None
    seed: int | None = None
    clock_limited: bool = False
    shift_optimisation: ShiftOptimisation | None = None

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
        """Coverage of each (site, slot) target, slot-major (filler included)."""
        return self.equilibrium.coverage

    @property
    def deterrence_coverage(self) -> FloatArray:
        """Coverage the equilibrium needs: `coverage` without the `filler`."""
        if self.filler is None:
            return self.coverage
        return np.clip(self.coverage - self.filler, 0.0, 1.0)

    @property
    def expected_loss(self) -> float:
        """Casualty-equivalents per attack, the game value (``−defender_utility``)."""
        return -self.defender_utility

    def attack_probability(self) -> FloatArray:
        """Joint probability of attack type and target the plan assumes, (types, targets).

        Types by the scenario's priors; within a type, its best response (Bayesian and
        mixture models) or its quantal-response distribution (``"qr"``).
        """
        game = self.built.game
        p = np.zeros((game.n_types, game.n_targets))
        dist = self.equilibrium.attack_distribution
        if self.attacker_model == "qr" and dist is not None and dist.shape == p.shape:
            p = game.priors[:, None] * dist / dist.sum(axis=1, keepdims=True)
        else:
            p[np.arange(game.n_types), self.attacked] = game.priors
        return p

    def casualties_by_target(self) -> FloatArray:
        """Expected people killed or injured by an attack of each type on each target.

        ``c·(1 − q)·K_covered + (1 − c)·E[K_uncovered]``, shape (types, targets), with
        ``c`` the coverage and ``q`` the type's interdiction probability; ``E[K]`` is over
        the response-time distribution (`citywatch.model.response_time`).
        """
        from citywatch.model.protection import armed_on_site

        q = np.array([a.interdiction for a in self.scenario.attackers])[:, None]
        # armed officers permanently on site (protection posts) are there for certain
        c = np.maximum(self.coverage, armed_on_site(self.scenario).reshape(-1))[None, :]
        return np.asarray(c * (1.0 - q) * self.built.casualties_covered
                          + (1.0 - c) * self.built.casualties_uncovered)

    @property
    def expected_casualties_per_attack(self) -> float:
        """People killed or injured per attack (casualties only, no symbolic damage).

        Each attack type responds as the plan's attacker model assumes
        (`attack_probability`); the simulator's ``overall.casualties`` estimates the
        same quantity.
        """
        return float(np.sum(self.attack_probability() * self.casualties_by_target()))

    def coverage_rows(self) -> Iterator[dict[str, Any]]:
        """One ``{"site", "slot", "coverage", "filler"}`` record per target."""
        filler = np.zeros_like(self.coverage) if self.filler is None else self.filler
        for t, c in enumerate(self.coverage):
            site, slot = self.built.target_label(t)
            yield {"site": site, "slot": slot, "coverage": float(c),
                   "filler": float(filler[t])}

    def top_sites(self, slot: str, *, n: int = 5) -> list[tuple[str, float]]:
        """The `n` sites the equilibrium covers most in `slot` (filler not counted)."""
        s = self.scenario.slot_index(slot)
        ns = self.built.n_sites
        cov = self.deterrence_coverage[s * ns:(s + 1) * ns]
        order = np.argsort(-cov, kind="stable")[:n]
        return [(self.built.site_ids[i], float(cov[i])) for i in order if cov[i] > 1e-9]

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
        scale = max(1.0, float(np.abs(ua).max()))
        idx = np.flatnonzero(ua >= ua.max() - tol * scale)
        return [self.built.target_label(int(t)) for t in idx]

    def summary(self) -> str:
        """What the equilibrium means, in plain words."""
        site_names = {s.id: s.name for s in self.scenario.sites}
        attack = [(site_names[s], sl) for s, sl in
                  (self.built.target_label(int(t)) for t in self.attacked)]
        names = [a.name.lower() for a in self.scenario.attackers]
        indiff = self.indifferent_targets()
        filler = 0.0 if self.filler is None else float(self.filler.sum())
        lines = [
            f"The plan randomises {sum(t.patrol_teams for t in self.built.teams)} armed patrol "
            f"team-slots a day over {len(self.built.site_ids)} sites so that a watching "
            f"attacker gains as little as possible from any one target: "
            + _weak_spot(self.attacker_model, len(indiff)),
            f"Against this plan an attack kills or injures about "
            f"{self.expected_casualties_per_attack:.1f} people on average (expected "
            f"casualties per attack); counting symbolic damage the game value is "
            f"{self.expected_loss:.1f} casualty-equivalents. Each attack type's target "
            "against it is "
            + "; ".join(f"{n} at {s} ({sl})" for n, (s, sl) in zip(names, attack, strict=True))
            + ".",
        ]
        if filler > 1e-6:
            lines.append(f"{filler:.1f} team-slots the equilibrium does not need are "
                         f"filler, placed by people present (they are not part of the "
                         f"deterrence and are not counted as most covered).")
        posture = self.scenario.postures[self.scenario.threat_level]
        rates = posture.loss_rates(self.expected_casualties_per_attack)
        n = posture.attack_likelihood
        lines.append(f"At {self.scenario.threat_level.name} ({n:g} "
                     f"attack{'' if n == 1 else 's'} a year expected) the expected "
                     f"casualties are "
                     f"{rates['per_week']:.2f} a week, {rates['per_year']:.1f} a year.")
        return " ".join(lines)

    # ------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """The full plan as JSON-ready data; `from_dict` reads it back exactly."""
        sc = self.scenario
        eq = self.equilibrium
        posture = sc.postures[sc.threat_level]
        return {
            "format": PLAN_FORMAT,
            "scenario": {"name": sc.name, "version": sc.version},
            "game_sha256": game_fingerprint(self.built),
            "threat_level": sc.threat_level.name,
            "threat_meaning": sc.threat_level.meaning,
            "posture_version": sc.postures.version,
            "attack_likelihood_per_year": posture.attack_likelihood,
            "slots": {t.slot: t.patrol_teams for t in self.built.teams},
            "arv_crews": {t.slot: t.arv_crews for t in self.built.teams},
            "officers_on_duty": {t.slot: round(t.officers, 1) for t in self.built.teams},
            "shifts": [{"name": x.name, "start": x.start.strftime("%H:%M"), "share": x.share,
                        "hours": x.length(sc.force)} for x in sc.force.shifts],
            "shift_optimisation": None if self.shift_optimisation is None
            else self.shift_optimisation.to_dict(),
            "coverage": list(self.coverage_rows()),
            "expected_casualties_per_attack": self.expected_casualties_per_attack,
            "defender_utility": self.defender_utility,
            **{f"expected_casualties_{k}": v for k, v in
               posture.loss_rates(self.expected_casualties_per_attack).items()
               if k != "per_attack"},
            "plausibility": [f.to_dict() for f in check_plan(self)],
            "units": {
                "expected_casualties_per_attack":
                    "people killed or injured per attack (casualties only), each attack "
                    f"type responding as the {self.attacker_model} attacker model assumes",
                "defender_utility":
                    "game value in casualty-equivalents per attack (negative), symbolic "
                    "damage included",
            },
            "attack": {a.id: {"site": s, "slot": sl} for a, (s, sl) in zip(
                sc.attackers, (self.built.target_label(int(t)) for t in self.attacked),
                strict=True)},
            "attacked": [int(t) for t in self.attacked],
            "indifferent_targets": [{"site": s, "slot": sl}
                                    for s, sl in self.indifferent_targets()],
            "filler_team_slots": 0.0 if self.filler is None else float(self.filler.sum()),
            "arv_posts": {slot: [sc.standby[j].id for j in posts]
                          for slot, posts in zip(sc.slot_names, self.built.arv_posts,
                                                 strict=True)},
            "response_minutes": {slot: dict(zip(sc.site_ids,
                                                np.round(self.built.response_minutes[s], 2)
                                                .tolist(), strict=True))
                                 for s, slot in enumerate(sc.slot_names)},
            "attacker_model": self.attacker_model,
            "options": self.options.to_dict(),
            "seed": self.seed,
            "method": eq.method,
            "optimal": eq.optimal,
            "gap": eq.gap if np.isfinite(eq.gap) else None,
            "bound_source": eq.bound_source,
            "clock_limited": self.clock_limited,
            "solve_seconds": eq.seconds,
            "solver": {
                "defender_utility": eq.defender_utility,
                "attacked": [int(t) for t in eq.attacked],
                "attacker_utility": [float(u) for u in eq.attacker_utility],
                "attack_distribution": None if eq.attack_distribution is None
                else np.asarray(eq.attack_distribution, dtype=np.float64).tolist(),
            },
            "notes": list(self.notes),
            "summary": self.summary(),
            "arv_plan": self.arv_plan,
            "response_standards": [str(x) for x in self.response_standards],
            "protection": [{"site": p.site_id, "force": p.force, "officers": p.officers,
                            "slots": list(p.slots) or list(sc.slot_names), "unit": p.unit}
                           for p in sc.protection],
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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], scenario: Scenario, *,
                  source: str = "plan") -> Plan:
        """The plan `to_dict` wrote, on the scenario it was made for (never re-solved).

        Coverage, ARV posts, attacked targets, method, gap, options and seed come from
        `data`; the game is rebuilt from `scenario` with the stored ARV posts and must
        be the game the plan was solved on (same name, version and game fingerprint).

        Raises
        ------
        ScenarioError
            Naming the field, if `data` is not a plan of this scenario.
        """
        where = f"`{source}`"
        if not isinstance(data, Mapping):
            msg = f"{where} must be a JSON object, got {type(data).__name__}"
            raise ScenarioError(msg)
        if data.get("format") != PLAN_FORMAT:
            msg = (f"{where} has format {data.get('format')!r}, expected {PLAN_FORMAT} "
                   f"(re-run `citywatch plan --out` with this version)")
            raise ScenarioError(msg)
        meta = data.get("scenario") or {}
        if meta.get("name") != scenario.name or meta.get("version") != scenario.version:
            msg = (f"{where} was made for scenario {meta.get('name')!r} version "
                   f"{meta.get('version')!r}, not {scenario.name!r} version "
                   f"{scenario.version!r}")
            raise ScenarioError(msg)
        ns = len(scenario.sites)
        site_pos = {s: i for i, s in enumerate(scenario.site_ids)}
        stand = {s.id: j for j, s in enumerate(scenario.standby)}
        try:
            cov = np.zeros(len(scenario.slots) * ns)
            filler = np.zeros_like(cov)
            for row in data["coverage"]:
                t = scenario.slot_index(row["slot"]) * ns + site_pos[row["site"]]
                cov[t] = float(row["coverage"])
                filler[t] = float(row.get("filler", 0.0))
            posts = [[stand[x] for x in data["arv_posts"][slot]]
                     for slot in scenario.slot_names]
            solver = data["solver"]
            options = PlanOptions.from_dict(data["options"])
            attacked = np.asarray(data["attacked"], dtype=np.int64)
            dist = solver.get("attack_distribution")
            gap = data["gap"]
            eq = Equilibrium(
                coverage=cov, defender_utility=float(solver["defender_utility"]),
                attacked=np.asarray(solver["attacked"], dtype=np.int64),
                attacker_utility=np.asarray(solver["attacker_utility"], dtype=np.float64),
                method=str(data["method"]), optimal=bool(data["optimal"]),
                gap=float("inf") if gap is None else float(gap),
                seconds=float(data["solve_seconds"]),
                bound_source=str(data.get("bound_source", "")),
                attack_distribution=None if dist is None else np.asarray(dist, np.float64))
        except KeyError as err:
            msg = f"{where} does not match scenario {scenario.name!r}: missing or unknown {err}"
            raise ScenarioError(msg) from None
        except (TypeError, ValueError, GameError) as err:
            msg = f"{where} is not a valid plan: {err}"
            raise ScenarioError(msg) from None
        shift_opt = None
        if data.get("shift_optimisation") is not None:
            from citywatch.schedule.shifts import ShiftOptimisation

            shift_opt = ShiftOptimisation.from_dict(data["shift_optimisation"])
            if not shift_opt.kept_fixed:  # the plan was solved on the chosen pattern
                scenario = scenario.with_force(shifts=shift_opt.shifts)
        built = build_game(scenario, arv_posts=posts)
        if data.get("game_sha256") != game_fingerprint(built):
            msg = (f"{where} was solved on a different game than scenario {scenario.name!r} "
                   f"gives now (force, threat level or payoff model changed): solve it again")
            raise ScenarioError(msg)
        if attacked.shape != (built.game.n_types,) or np.any(attacked < 0) \
                or np.any(attacked >= built.game.n_targets):
            msg = f"{where}: `attacked` must hold one target per attack type, got {attacked}"
            raise ScenarioError(msg)
        pol = data.get("policy")
        policy = None if pol is None else PolicyEquilibrium(
            eq, float(pol["unconstrained_solver_utility"]),
            tuple(BindingConstraint(b["name"], b["family"], b["side"], float(b["bound"]),
                                    float(b["shadow_price"])) for b in pol["binding"]),
            {k: float(v) for k, v in pol["cost_by_family"].items()})
        return cls(scenario, built, eq, str(data["attacker_model"]), attacked,
                   float(data["defender_utility"]), tuple(data.get("notes", ())), policy,
                   data.get("arv_plan"), _standards(scenario, options), options,
                   filler if np.any(filler) else None, data.get("seed"),
                   bool(data.get("clock_limited", False)), shift_opt)


def _weak_spot(attacker_model: str, n_indifferent: int) -> str:
    """The end of the summary's first sentence, true to the attacker model."""
    if attacker_model == "qr":
        return ("a quantal-response attacker picks at random, likelier where it gains more, "
                "so the plan lowers the gain everywhere rather than equalising it.")
    if n_indifferent == 1:
        return ("one (site, slot) pair stays its best target; the patrols cannot make any "
                "other as attractive without leaving that one weaker.")
    return (f"{n_indifferent} (site, slot) pairs are equally attractive to it, so there is "
            f"no weak spot to pick.")


def _standards(scenario: Scenario, options: PlanOptions) -> tuple[ResponseStandard, ...]:
    """The response standards a plan meets: the options', else the scenario's."""
    return (scenario.response_standards if options.response_standards is None
            else tuple(options.response_standards))


def __getattr__(name: str) -> Any:
    """`make_plan` and `plan_arv_posts` live in `citywatch.planner` (the solve pipeline),
    importable from here too: the artifact and the function that makes it, one import."""
    if name in ("make_plan", "plan_arv_posts"):
        from citywatch import planner

        return getattr(planner, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
