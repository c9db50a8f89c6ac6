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

import dataclasses
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
from citywatch.progress import stage

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
    from citywatch.response.joint import JointPlan
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


def make_plan(scenario: Scenario, options: PlanOptions | None = None, *,
              attacker: str | None = None, arv: str | None = None, lam: float | None = None,
              policy: PolicyOptions | None = None, limits: SolveLimits | None = None,
              response_standards: tuple[ResponseStandard, ...] | None = None,
              seed: int | np.random.SeedSequence | None = None) -> Plan:
    """Solve the scenario's deployment game under `options`.

    Parameters
    ----------
    scenario
        The scenario.
    options
        How to solve (`PlanOptions`); ``None`` is ``PlanOptions()``, the default of every
        command, the web service and this function alike.
    attacker, arv, lam, policy, limits
        Shorthands that replace the matching field of `options`
        (``make_plan(sc, attacker="mixture")`` is
        ``make_plan(sc, PlanOptions(attacker="mixture"))``).
    seed
        Entropy recorded in the plan for the rosters and simulations drawn from it
        (an int or a `numpy.random.SeedSequence`); ``None`` draws fresh OS entropy and
        records it, so a run without a seed can be reproduced. Solving uses no
        randomness.

    Notes
    -----
    The patrols are solved for the attacker model: ``"bayesian"`` (and ``"auto"``) is
    the exact Bayesian Stackelberg equilibrium over the attack types (with the policy
    constraints, if any); ``"mixture"`` one prior-weighted attacker, exactly (ORIGAMI,
    or one LP per attacked target under policy constraints); ``"qr"`` a quantal-response
    attacker. The ARV posts are chosen first (``"joint"``: with the patrols of the
    mixture game, `citywatch.response.joint_plan`; ``"sequential"``: MCLP;
    ``"greedy"``: one vehicle at a time, the response standards first, then the least
    people-weighted response time, `citywatch.response.joint.greedy_posts`).

    Team-slots the Bayesian equilibrium does not need are deployed by a stated rule
    (*filler*): in each slot, on the targets no attack type chooses, in proportion to
    the people present (water-filled, none above coverage one). Adding coverage where
    no type attacks leaves every type's best response and the plan's value unchanged;
    the filler is recorded per target (`Plan.filler`) and never counted among the most
    covered sites.

    Every solve stops on a deterministic work limit or at its proven optimum; the
    wall-clock limits in `SolveLimits` are safety nets, and when one stops a solve
    the plan says so (`Plan.clock_limited`).

    Response standards (`PlanOptions.response_standards`, default the scenario's;
    London's is armed help within 15 minutes at every site) are a hard constraint on
    every slot's ARV posts; sequential posts are moved as little as needed to meet
    them (`citywatch.response.standards.repair`), greedy ones meet them first.

    Raises
    ------
    InfeasibleError
        When the fleet cannot meet a response standard.
    """
    opts = options if options is not None else PlanOptions()
    changes = {k: v for k, v in (("attacker", attacker), ("arv", arv), ("lam", lam),
                                 ("policy", policy), ("limits", limits),
                                 ("response_standards", response_standards))
               if v is not None}
    if changes:
        opts = dataclasses.replace(opts, **changes)
    if not isinstance(opts, PlanOptions):
        msg = f"`options` must be a PlanOptions, got {type(opts).__name__}"
        raise GameError(msg)
    entropy = _entropy(seed)
    if opts.optimise_shifts:
        return _plan_optimising_shifts(scenario, opts, entropy)
    lim = opts.limits
    notes: list[str] = []
    clock_limited = False
    arv_plan: dict[str, Any] | None = None
    standards = _standards(scenario, opts)
    posts, jp = plan_arv_posts(scenario, opts)
    with stage("payoffs of every site and slot"):
        built = build_game(scenario, arv_posts=posts)
    if jp is None and opts.arv == "greedy":
        notes.append("ARV posts placed greedily one vehicle at a time: first to meet the "
                     "response standards, then for the least people-weighted expected "
                     "response time (nested: a larger fleet keeps the smaller one's posts).")
    elif jp is None:
        notes.append("ARV posts placed first by maximal covering (MCLP, 8-minute standard), "
                     "then the patrols planned (the sequential plan).")
    else:
        arv_plan = jp.to_dict()
        proof = ("proven optimal" if jp.optimal else
                 f"within {jp.expected_loss - jp.bound:.3g} of the optimum (proven bound)")
        notes.append(f"ARV posts chosen jointly with the patrols ({jp.method} search, "
                     f"{proof}): {jp.expected_loss:.3g} casualty-equivalents per attack for "
                     f"the mixture attacker against {jp.sequential_loss:.3g} for the "
                     f"sequential plan (MCLP first, then the game), a gain of "
                     f"{jp.gain:.3g}.")
        if jp.clock_limited:
            clock_limited = True
            notes.append(f"The ARV search was stopped by its wall-clock safety net "
                         f"({lim.arv_time_limit} s) before its work limit: the posts may "
                         f"differ on another machine.")
    game = built.game
    model = opts.attacker_model
    policy_result = None
    policy_rows = (policy_constraints(scenario, built, opts.policy) if opts.policy.active
                   else [])
    filler: FloatArray | None = None
    if model == "mixture" and policy_rows:
        from citywatch.games.policy import solve_with_policy

        with stage("mixture solve under the policy constraints"):
            policy_result = solve_with_policy(game.mixture(), policy_rows)
        eq = policy_result.equilibrium
        notes.append("Planned against the prior-weighted mixture of the attack types under "
                     "the policy constraints (exact: one LP per attacked target); the policy "
                     f"costs {policy_result.total_cost:.3g} casualty-equivalents per attack "
                     "against that attacker.")
    elif model == "mixture":
        from citywatch.games.origami import solve_origami

        with stage("mixture solve (ORIGAMI)"):
            eq = solve_origami(game.mixture())
        notes.append("Planned against one attacker whose payoffs are the prior-weighted "
                     "mixture of the attack types (solved exactly with ORIGAMI); each type's "
                     "own best response is then evaluated against that coverage.")
    elif model == "bayesian":
        from citywatch.games.bayesian import solve_bayesian

        with stage("Bayesian Stackelberg solve", limit_s=lim.time_limit):
            eq = solve_bayesian(game, time_limit=lim.time_limit, constraints=policy_rows,
                                node_limit=lim.mip_nodes)
        if policy_rows:
            notes.append(f"Solved under {len(policy_rows)} policy constraints. What each "
                         f"family costs is computed exactly for the mixture attacker: run "
                         f"with --attacker mixture.")
        if eq.optimal:
            notes.append(f"Bayesian Stackelberg equilibrium over the attack types, proven "
                         f"optimal (bound: {eq.bound_source}).")
        elif lim.time_limit is not None and eq.seconds >= lim.time_limit:
            clock_limited = True
            notes.append(f"Bayesian Stackelberg equilibrium over the attack types: the "
                         f"wall-clock safety net ({lim.time_limit} s) stopped the solver; the "
                         f"plan is within {eq.gap:.3g} casualty-equivalents "
                         f"({eq.relative_gap:.2%}) of the optimum (proven gap; bound: "
                         f"{eq.bound_source}) and may differ on another machine.")
        else:
            how = ("the solver's profile-LP heuristic (no branch and bound)"
                   if lim.mip_nodes == 0 else
                   f"the level branch and bound stopped at its work limit "
                   f"({lim.mip_nodes} boxes)")
            notes.append(f"Bayesian Stackelberg strategy over the attack types from {how}: "
                         f"within {eq.gap:.3g} casualty-equivalents ({eq.relative_gap:.2%}) "
                         f"of the optimum (proven gap; bound: {eq.bound_source}); a "
                         f"deterministic limit, the same on any machine.")
        unused = float(game.resources.sum() - eq.coverage.sum())
        if unused > 1e-6 * max(1.0, float(game.resources.sum())) and not policy_rows:
            from citywatch.games.leftover import fill_by_demand

            from citywatch.model.protection import armed_on_site

            # no filler where armed officers are permanently on site
            demand = np.where(armed_on_site(scenario).reshape(-1), 0.0,
                              scenario.people().T.reshape(-1))
            filled = fill_by_demand(game, eq.coverage, eq.attacked, demand=demand)
            filler = np.asarray(filled - eq.coverage)
            eq = dataclasses.replace(eq, coverage=filled)
            notes.append(f"{unused:.3g} team-slots the equilibrium does not need are filler: "
                         f"put, slot by slot, on targets no attack type chooses in "
                         f"proportion to the people present (the guarantee is unchanged; "
                         f"filler is not deterrence and is listed apart).")
    else:
        from citywatch.games.quantal import solve_quantal

        with stage("quantal-response solve", limit_s=lim.time_limit):
            eq = solve_quantal(game, lam=opts.lam, time_limit=lim.time_limit)
        if not eq.optimal:
            clock_limited = True
            notes.append(f"The quantal-response solver was stopped by its wall-clock safety "
                         f"net ({lim.time_limit} s): the plan may differ on another machine.")
        notes.append(f"Planned against a quantal-response attacker (lambda={opts.lam}).")
    if scenario.protection:
        from citywatch.model.protection import armed_on_site

        on = armed_on_site(scenario).reshape(-1)
        freed = float(eq.coverage[on].sum())
        if freed > 1e-9:
            eq = dataclasses.replace(eq, coverage=np.where(on, 0.0, eq.coverage))
            if filler is not None:
                filler = np.where(on, 0.0, filler)
            notes.append(f"{freed:.3g} team-slots the solver left on sites with armed "
                         f"officers permanently on site were withdrawn (payoffs there do not "
                         f"depend on patrols, so the guarantee is unchanged).")
    attacked, value = best_responses(game, eq.coverage)
    if model == "qr" and eq.attack_distribution is not None:
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
    return Plan(scenario, built, eq, model, attacked, value, tuple(notes), policy_result,
                arv_plan, standards, opts, filler, entropy, clock_limited)


def plan_arv_posts(scenario: Scenario, options: PlanOptions | None = None
                   ) -> tuple[tuple[tuple[int, ...], ...], JointPlan | None]:
    """The ARV posts per slot that `make_plan(scenario, options)` plans with.

    Its first stage, alone: greedy, sequential (MCLP, then moved to meet the standards)
    or the joint search with the patrols, as ``options.arv`` says, under the plan's
    response standards and work limits; with the joint search's result (``None`` for
    the other two). `citywatch scenario explain` shows these posts' response times
    without solving the patrol game.
    """
    opts = options if options is not None else PlanOptions()
    standards = _standards(scenario, opts)
    lim = opts.limits
    if opts.arv == "greedy":
        from citywatch.response.joint import greedy_posts

        with stage("ARV posts: greedy, response standards first"):
            return greedy_posts(scenario, standards), None
    if opts.arv == "sequential":
        from citywatch.response.joint import meet_standards, sequential_posts

        with stage("ARV posts: maximal covering (MCLP)"):
            return meet_standards(scenario, sequential_posts(scenario), standards), None
    from citywatch.response.joint import joint_plan

    with stage("ARV posts: joint search with the patrols", limit_s=lim.arv_time_limit):
        jp = joint_plan(scenario, time_limit=lim.arv_time_limit,
                        max_evaluations=lim.arv_evaluations, standards=standards)
    return jp.arv_posts, jp


def _plan_optimising_shifts(scenario: Scenario, opts: PlanOptions, entropy: int) -> Plan:
    """The plan on the best of the optimiser's candidate shift patterns and the fixed one.

    `citywatch.schedule.shifts.optimise_shifts` searches with its scoring model; the
    real plan is then solved (same options, same seed) on the fixed pattern and on each
    candidate, and the one of fewest expected casualties per attack is kept, so the
    optimised plan is never worse than the fixed one.
    """
    from citywatch.schedule.shifts import optimise_shifts, starting_officers

    with stage("shift pattern: optimising the officers starting each shift"):
        res = optimise_shifts(scenario, lengths=opts.shift_lengths,
                              standards=_standards(scenario, opts),
                              max_evaluations=opts.limits.shift_evaluations)
    base = dataclasses.replace(opts, optimise_shifts=False)
    fixed = make_plan(scenario, base, seed=entropy)
    before = fixed.expected_casualties_per_attack
    best, best_value, best_shifts = fixed, before, scenario.force.shifts
    values = []
    for k, cand in enumerate(res.candidates):
        with stage(f"shift pattern: the plan on candidate {k + 1} of {len(res.candidates)}"):
            p = make_plan(scenario.with_force(shifts=cand), base, seed=entropy)
        values.append(p.expected_casualties_per_attack)
        if values[-1] < best_value - 1e-9 * max(1.0, abs(best_value)):
            best, best_value, best_shifts = p, values[-1], cand
    kept = best is fixed
    res = dataclasses.replace(
        res, shifts=best_shifts, plan_before=before, plan_after=best_value, kept_fixed=kept,
        officers_after=tuple(float(t.officers) for t in best.built.teams),
        starting=starting_officers(best.scenario, best_shifts),
        plan_candidates=tuple(values))
    tried = ", ".join(f"{v:.3g}" for v in values) or "none"
    if kept:
        note = (f"Shift optimisation: no candidate pattern beat the fixed one on the plan "
                f"({before:.3g} expected casualties per attack; candidates {tried}), so the "
                f"fixed pattern is kept.")
    else:
        note = (f"Shift optimisation: {len(best_shifts)} shifts chosen ("
                + ", ".join(f"{k} {v:g}" for k, v in res.starting.items())
                + f" officers starting a day) for {best_value:.3g} expected casualties per "
                f"attack against {before:.3g} on the fixed pattern (gain "
                f"{before - best_value:.3g}; candidates {tried}); officers on duty per slot "
                + ", ".join(f"{sl} {a:.0f}->{b:.0f}" for sl, a, b in zip(
                    scenario.slot_names, res.officers_before, res.officers_after,
                    strict=True)) + ".")
    return dataclasses.replace(best, options=opts, shift_optimisation=res,
                               notes=(*best.notes, note, *res.notes))


def _standards(scenario: Scenario, options: PlanOptions) -> tuple[ResponseStandard, ...]:
    """The response standards a plan meets: the options', else the scenario's."""
    return (scenario.response_standards if options.response_standards is None
            else tuple(options.response_standards))


def _entropy(seed: int | np.random.SeedSequence | None) -> int:
    """The entropy a plan records (fresh OS entropy for ``None``)."""
    if isinstance(seed, np.random.SeedSequence):
        ent = seed.entropy
        if isinstance(ent, int | np.integer) and 0 <= ent < 2**63 and not seed.spawn_key:
            return int(ent)
        return int(seed.generate_state(1, np.uint64)[0] >> np.uint64(1))
    if seed is None:  # 63 bits of OS entropy: exact in every JSON reader that has int64
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    msg = f"`seed` must be a non-negative int, a SeedSequence or None, got {seed!r}"
    raise GameError(msg)
