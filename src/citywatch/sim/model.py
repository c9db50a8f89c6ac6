"""What the simulator draws from: attack distribution, coverage, vehicles, casualty curves."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from citywatch.errors import ScenarioError
from citywatch.model.casualties import curve_arrays
from citywatch.model.payoffs import attacker_curves, scenario_spread, standby_travel_minutes
from citywatch.model.response_time import DEFAULT_SPREAD, Spread, answering_travel
from citywatch.model.protection import armed_on_site

if TYPE_CHECKING:
    from citywatch.plan import Plan

__all__ = ["DEFAULT_SPREAD", "DEFAULT_THRESHOLDS", "TARGETING", "SimulationModel", "Spread",
           "attack_distribution"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: How the simulated attackers pick their targets (see `attack_distribution`); not the
#: planner's attacker model (`citywatch.options.PlanOptions.attacker`).
TARGETING = ("plan", "best", "qr", "people", "fixed")
#: Armed-arrival standards reported, minutes (REFERENCE: offer 5, 8 and 10 minutes).
DEFAULT_THRESHOLDS = (5.0, 8.0, 10.0)
#: Default quantal-response rationality, per casualty-equivalent of attacker utility
#: [assumption: at 0.1 a target worth 10 more is e ≈ 2.7 times as likely].
DEFAULT_LAMBDA = 0.1


@dataclass(frozen=True, eq=False)
class SimulationModel:
    """Everything one simulated attack draws from, as arrays.

    Build with `from_plan` (a solved plan and its scenario) or `from_arrays` (numbers
    only, as tests and other tools have them). Targets follow the game's order: slot
    ``s``, site ``i``; cells add the attack type ``k`` in front.

    Attributes
    ----------
    type_ids, slot_names, site_ids
        Labels of the axes.
    attack_probability
        Joint probability of attack type and target, shape (types, slots, sites).
    coverage
        Probability an armed team is on site, shape (slots, sites).
    people
        People present, shape (slots, sites) (for people-weighted attacks and reports).
    vehicle_minutes
        Per slot, model travel minutes from each response vehicle to each site,
        shape (vehicles, sites).
    busy_probability
        Probability each vehicle is busy with another call (independently).
    dispatch_minutes, engage_minutes
        Mean detection + dispatch delay, and minutes from arrival to stopping the attack.
    on_site_minutes
        Minutes for an armed team on site to stop the attack.
    interdiction
        Per type, probability an armed team on site stops the attack before harm.
    casualty_initial, casualty_rate, casualty_cap
        Casualty curve ``K(T) = min(cap, initial + rate·T)`` per (type, slot, site),
        hardening already applied.
    spread
        Random spread of dispatch and travel.
    rosters
        Optional sampled rosters, bool (rosters, slots, sites); when given, presence on
        site is read from a random roster instead of drawn from `coverage`.
    thresholds
        Armed-arrival standards in minutes for the "within" shares (multiples of
        ``1 / bins_per_minute``, so the histogram counts them exactly).
    bins_per_minute, max_minutes
        Resolution and range of the time histogram used for quantiles and shares.
    """

    type_ids: tuple[str, ...]
    slot_names: tuple[str, ...]
    site_ids: tuple[str, ...]
    attack_probability: FloatArray
    coverage: FloatArray
    people: FloatArray
    vehicle_minutes: tuple[FloatArray, ...]
    busy_probability: float
    dispatch_minutes: float
    engage_minutes: float
    on_site_minutes: float
    interdiction: FloatArray
    casualty_initial: FloatArray
    casualty_rate: FloatArray
    casualty_cap: FloatArray
    spread: Spread = DEFAULT_SPREAD
    rosters: BoolArray | None = None
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    bins_per_minute: int = 10
    max_minutes: float = 90.0

    def __post_init__(self) -> None:
        t, s, n = len(self.type_ids), len(self.slot_names), len(self.site_ids)
        shapes = {"attack_probability": (t, s, n), "coverage": (s, n), "people": (s, n),
                  "interdiction": (t,), "casualty_initial": (t, s, n),
                  "casualty_rate": (t, s, n), "casualty_cap": (t, s, n)}
        for name, shape in shapes.items():
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.shape != shape:
                msg = f"`{name}` must have shape {shape}, got {arr.shape}"
                raise ScenarioError(msg)
            if not np.all(np.isfinite(arr)):
                msg = f"`{name}` must be finite"
                raise ScenarioError(msg)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        p = self.attack_probability
        if np.any(p < 0) or abs(p.sum() - 1.0) > 1e-9:
            msg = f"`attack_probability` must be >= 0 and sum to 1, got sum {p.sum():.6g}"
            raise ScenarioError(msg)
        if np.any(self.coverage < -1e-12) or np.any(self.coverage > 1 + 1e-12):
            msg = "`coverage` must lie in [0, 1]"
            raise ScenarioError(msg)
        object.__setattr__(self, "coverage", np.clip(self.coverage, 0.0, 1.0))
        if len(self.vehicle_minutes) != s:
            msg = (f"`vehicle_minutes` must hold one array per slot ({s}), "
                   f"got {len(self.vehicle_minutes)}")
            raise ScenarioError(msg)
        vm = []
        for k, arr in enumerate(self.vehicle_minutes):
            a = np.asarray(arr, dtype=np.float64)
            if a.ndim != 2 or a.shape[1] != n or a.shape[0] < 1:
                msg = (f"`vehicle_minutes[{k}]` must have shape (vehicles >= 1, {n}), "
                       f"got {a.shape}")
                raise ScenarioError(msg)
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                msg = f"`vehicle_minutes[{k}]` must be finite and >= 0"
                raise ScenarioError(msg)
            vm.append(a)
        object.__setattr__(self, "vehicle_minutes", tuple(vm))
        if not 0.0 <= self.busy_probability <= 1.0:
            msg = f"`busy_probability` must lie in [0, 1], got {self.busy_probability}"
            raise ScenarioError(msg)
        for name in ("dispatch_minutes", "engage_minutes", "on_site_minutes"):
            if not getattr(self, name) >= 0:
                msg = f"`{name}` must be >= 0, got {getattr(self, name)}"
                raise ScenarioError(msg)
        if np.any(self.interdiction < 0) or np.any(self.interdiction > 1):
            msg = f"`interdiction` must lie in [0, 1], got {self.interdiction.tolist()}"
            raise ScenarioError(msg)
        if self.rosters is not None:
            r = np.asarray(self.rosters, dtype=np.bool_)
            if r.ndim != 3 or r.shape[1:] != (s, n) or r.shape[0] < 1:
                msg = f"`rosters` must have shape (rosters, {s}, {n}), got {r.shape}"
                raise ScenarioError(msg)
            object.__setattr__(self, "rosters", r)
        if self.bins_per_minute < 1 or not self.max_minutes > 1.0:
            msg = "`bins_per_minute` must be >= 1 and `max_minutes` > 1"
            raise ScenarioError(msg)
        for x in self.thresholds:
            steps = x * self.bins_per_minute
            if not (0 < x < self.max_minutes and abs(steps - round(steps)) < 1e-9):
                msg = (f"`thresholds` must be multiples of {1 / self.bins_per_minute:g} min "
                       f"in (0, {self.max_minutes}), got {x}")
                raise ScenarioError(msg)

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_arrays(cls, *, attack_probability: npt.ArrayLike, coverage: npt.ArrayLike,
                    vehicle_minutes: Sequence[npt.ArrayLike], busy_probability: float,
                    dispatch_minutes: float, engage_minutes: float, on_site_minutes: float,
                    interdiction: npt.ArrayLike, initial: npt.ArrayLike, rate: npt.ArrayLike,
                    people_cap: npt.ArrayLike, people: npt.ArrayLike,
                    hardening: npt.ArrayLike = 0.0, hardening_effect: npt.ArrayLike = 0.0,
                    crowd_exponent: npt.ArrayLike = 0.0, reference_people: npt.ArrayLike = 1000.0,
                    targets: Sequence[float | None] | None = None,
                    max_reach: Sequence[float | None] | None = None,
                    spread: Spread = DEFAULT_SPREAD, rosters: npt.ArrayLike | None = None,
                    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                    type_ids: Sequence[str] | None = None,
                    slot_names: Sequence[str] | None = None,
                    site_ids: Sequence[str] | None = None) -> SimulationModel:
        """A model from plain numbers: shapes (types, slots, sites), (slots, sites), (types,).

        ``initial``, ``rate``, ``people_cap``, ``interdiction``, ``hardening_effect``,
        ``crowd_exponent``, ``targets`` and ``max_reach`` are per type; ``hardening`` per site;
        ``people`` per (slot, site). Casualties follow
        `citywatch.model.casualties.curve_arrays` (per cell ``min(cap, initial + rate·T)``).
        """
        p = np.asarray(attack_probability, dtype=np.float64)
        if p.ndim != 3:
            msg = f"`attack_probability` must have shape (types, slots, sites), got {p.shape}"
            raise ScenarioError(msg)
        t, s, n = p.shape
        ppl = np.broadcast_to(np.asarray(people, dtype=np.float64), (s, n))
        hard = np.broadcast_to(np.asarray(hardening, dtype=np.float64), (n,))

        ini, rt, he, beta, ref = (np.broadcast_to(np.asarray(x, dtype=np.float64), (t,))
                                  for x in (initial, rate, hardening_effect, crowd_exponent,
                                            reference_people))
        caps = np.broadcast_to(np.asarray(people_cap, dtype=np.float64), (t,))
        tg = [None] * t if targets is None else list(targets)
        reach = [None] * t if max_reach is None else list(max_reach)
        for name, values in (("targets", tg), ("max_reach", reach)):
            if len(values) != t:
                msg = f"`{name}` must have one entry per type ({t}), got {len(values)}"
                raise ScenarioError(msg)
        curves = [curve_arrays(initial=float(ini[k]), rate=float(rt[k]),
                               people_cap=float(caps[k]), crowd_exponent=float(beta[k]),
                               reference_people=float(ref[k]), targets=tg[k], people=ppl,
                               hardening=hard[None, :], hardening_effect=float(he[k]),
                               max_reach=reach[k])
                  for k in range(t)]
        return cls(
            type_ids=tuple(type_ids or (f"type{k}" for k in range(t))),
            slot_names=tuple(slot_names or (f"slot{k}" for k in range(s))),
            site_ids=tuple(site_ids or (f"site{k}" for k in range(n))),
            attack_probability=p, coverage=np.asarray(coverage, dtype=np.float64),
            people=np.array(ppl), vehicle_minutes=tuple(np.asarray(v, dtype=np.float64)
                                                        for v in vehicle_minutes),
            busy_probability=float(busy_probability), dispatch_minutes=float(dispatch_minutes),
            engage_minutes=float(engage_minutes), on_site_minutes=float(on_site_minutes),
            interdiction=np.broadcast_to(np.asarray(interdiction, dtype=np.float64), (t,)),
            casualty_initial=np.stack([np.broadcast_to(c.initial, (s, n)) for c in curves]),
            casualty_rate=np.stack([np.broadcast_to(c.rate, (s, n)) for c in curves]),
            casualty_cap=np.stack([np.broadcast_to(c.cap, (s, n)) for c in curves]),
            spread=spread, rosters=None if rosters is None else np.asarray(rosters, bool),
            thresholds=tuple(float(x) for x in thresholds),
        )

    @classmethod
    def from_plan(cls, plan: Plan, *, targeting: str = "plan", lam: float | None = None,
                  site: str | None = None, slot: str | None = None,
                  spread: Spread | None = None, travel_minutes: npt.ArrayLike | None = None,
                  rosters: npt.ArrayLike | None = None,
                  thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> SimulationModel:
        """The model of attacks against a plan, its scenario and its response vehicles.

        Parameters
        ----------
        plan
            The deployment plan: coverage, ARV posts per slot, scenario.
        targeting
            How the simulated attackers choose targets (see `attack_distribution`).
        lam, site, slot
            Quantal-response rationality; the fixed target's site and slot.
        spread
            Random spread of dispatch and travel; default the scenario's
            (`citywatch.model.payoffs.scenario_spread`), the one the plan's payoffs
            used.
        travel_minutes
            Standby-point-to-site minutes, shape (slots, points, sites); default the
            scenario's straight-line model (as the plan used).
        rosters
            Sampled rosters (rosters, slots, sites), e.g. from ``citywatch.schedule``.
        thresholds
            Armed-arrival standards reported, minutes.
        """
        sc = plan.scenario
        spread = scenario_spread(sc) if spread is None else spread
        n_slots, n_sites = len(sc.slots), len(sc.sites)
        travel = (standby_travel_minutes(sc) if travel_minutes is None
                  else np.broadcast_to(np.asarray(travel_minutes, dtype=np.float64),
                                       (n_slots, len(sc.standby), n_sites)))
        vehicles = tuple(travel[s][list(posts)] for s, posts in enumerate(plan.built.arv_posts))
        tm = sc.travel
        a = sc.attackers
        model = cls.from_arrays(
            attack_probability=attack_distribution(plan, targeting=targeting, lam=lam,
                                                   site=site, slot=slot),
            # armed officers permanently on site (protection posts, partner forces)
            # are there for certain (citywatch.model.protection)
            coverage=np.maximum(np.asarray(plan.coverage).reshape(n_slots, n_sites),
                                armed_on_site(sc)),
            vehicle_minutes=vehicles, busy_probability=tm.arv_busy_probability,
            dispatch_minutes=tm.dispatch_delay_min, engage_minutes=tm.engage_min,
            on_site_minutes=sc.payoffs.on_site_intervention_min,
            interdiction=[x.interdiction for x in a], initial=[x.initial_casualties for x in a],
            rate=[x.casualties_per_minute for x in a], people_cap=[x.people_cap for x in a],
            people=sc.people().T, hardening=[x.hardening for x in sc.sites],
            hardening_effect=[x.hardening_effect for x in a],
            crowd_exponent=[x.crowd_exponent for x in a],
            reference_people=[x.reference_people for x in a], targets=[x.targets for x in a],
            max_reach=[x.max_reach for x in a], spread=spread,
            rosters=None if rosters is None else np.maximum(np.asarray(rosters),
                                                            armed_on_site(sc)[None]),
            thresholds=thresholds, type_ids=[x.id for x in a], slot_names=sc.slot_names,
            site_ids=sc.site_ids)
        # the casualty curves are the payoff model's own, cell by cell (one source)
        curves = attacker_curves(sc)
        shape = (len(a), n_slots, n_sites)
        return dataclasses.replace(
            model, casualty_initial=np.stack([c.initial for c in curves]).reshape(shape),
            casualty_rate=np.stack([c.rate for c in curves]).reshape(shape),
            casualty_cap=np.stack([c.cap for c in curves]).reshape(shape))

    def with_attack(self, attack_probability: npt.ArrayLike) -> SimulationModel:
        """The same model with another attack distribution (types, slots, sites)."""
        import dataclasses

        return dataclasses.replace(self, attack_probability=np.asarray(attack_probability,
                                                                       dtype=np.float64))

    # ------------------------------------------------------------- derived arrays
    @property
    def n_types(self) -> int:
        """Number of attack types."""
        return len(self.type_ids)

    @property
    def n_slots(self) -> int:
        """Number of slots."""
        return len(self.slot_names)

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.site_ids)

    @property
    def n_targets(self) -> int:
        """Number of (slot, site) targets."""
        return self.n_slots * self.n_sites

    @property
    def dispatch_sigma(self) -> float:
        """Log-scale spread of the dispatch delay."""
        return self.spread.dispatch_sigma

    @property
    def travel_sigma(self) -> float:
        """Log-scale spread of travel time."""
        return self.spread.travel_sigma

    @property
    def n_bins(self) -> int:
        """Bins of the time histogram."""
        return int(np.ceil(self.max_minutes * self.bins_per_minute))

    @cached_property
    def travel_factor_table(self) -> FloatArray:
        """65,536 equiprobable quantiles of the mean-one lognormal travel factor.

        Drawing an index uniformly and reading the table is inverse-transform sampling
        on a grid of ``2^16`` quantiles (midpoints ``(i + ½)/2^16``, so the tails are cut
        at ±4.3σ); the table is rescaled to mean exactly one. One 16-bit field of a
        random word replaces a normal draw and an ``exp``, the simulator's costliest
        steps.
        """
        return _lognormal_table(self.travel_sigma)

    @cached_property
    def dispatch_engage_table(self) -> FloatArray:
        """Dispatch delay quantiles (as `travel_factor_table`) plus ``engage_minutes``."""
        return self.dispatch_minutes * _lognormal_table(self.dispatch_sigma) + self.engage_minutes

    @cached_property
    def max_vehicles(self) -> int:
        """Most vehicles on duty in any slot."""
        return int(max(v.shape[0] for v in self.vehicle_minutes))

    @cached_property
    def travel_table(self) -> FloatArray:
        """Travel minutes of the vehicle answering when ``j`` nearer ones are busy.

        Shape (slots, max_vehicles + 1, sites): row ``j < vehicles`` is the ``j+1``-th
        nearest vehicle; rows from the slot's vehicle count on hold the all-busy time
        (nearest + ``ALL_BUSY_EXTRA_MIN``): `citywatch.model.response_time.answering_travel`,
        the distribution the game's expected casualties integrate over.
        """
        table = np.empty((self.n_slots, self.max_vehicles + 1, self.n_sites))
        for s, v in enumerate(self.vehicle_minutes):
            rows = answering_travel(v)   # the same table the payoffs' expectation uses
            table[s, :rows.shape[0]] = rows
            table[s, rows.shape[0]:] = rows[-1]
        return table

    @cached_property
    def active_cells(self) -> IntArray:
        """Flat (type, slot, site) cells with positive attack probability."""
        return np.flatnonzero(self.attack_probability.reshape(-1) > 0).astype(np.int64)

    @cached_property
    def active_probability(self) -> FloatArray:
        """Attack probability of each active cell (renormalised against rounding)."""
        p = self.attack_probability.reshape(-1)[self.active_cells]
        return np.asarray(p / p.sum())

    @cached_property
    def cell_target(self) -> IntArray:
        """Target (slot-major) of every cell."""
        return np.tile(np.arange(self.n_targets, dtype=np.int64), self.n_types)

    @cached_property
    def roster_share(self) -> FloatArray:
        """Share of the sampled rosters with a team at each (slot-major) target, shape
        (targets,); without rosters, the coverage."""
        if self.rosters is None:
            return np.asarray(self.coverage, dtype=np.float64).reshape(-1)
        return np.asarray(self.rosters.reshape(self.rosters.shape[0], -1).mean(axis=0))

    @cached_property
    def cell_type(self) -> IntArray:
        """Attack type of every cell."""
        return np.repeat(np.arange(self.n_types, dtype=np.int64), self.n_targets)

    @cached_property
    def cell_coverage(self) -> FloatArray:
        """Coverage of every cell's target."""
        return np.asarray(self.coverage.reshape(-1)[self.cell_target])

    @cached_property
    def cell_interdiction(self) -> FloatArray:
        """Interdiction probability of every cell's type."""
        return np.asarray(self.interdiction[self.cell_type])

    @cached_property
    def cell_coverage_interdiction(self) -> FloatArray:
        """Probability of interdiction in every cell (coverage × interdiction)."""
        return self.cell_coverage * self.cell_interdiction

    @cached_property
    def cell_site_casualties(self) -> FloatArray:
        """Casualties in every cell when a team on site stops the attack (no interdiction)."""
        return np.asarray(np.minimum(self.cell_cap, self.cell_initial
                                     + self.cell_rate * self.on_site_minutes))

    @cached_property
    def cell_table_base(self) -> IntArray:
        """Flat offset of every cell's target in `travel_table` at ``j = 0``."""
        s, i = np.divmod(self.cell_target, self.n_sites)
        return np.asarray(s * (self.max_vehicles + 1) * self.n_sites + i)

    @cached_property
    def cell_initial(self) -> FloatArray:
        """Initial casualties of every cell."""
        return self.casualty_initial.reshape(-1)

    @cached_property
    def cell_rate(self) -> FloatArray:
        """Casualties per minute of every cell."""
        return self.casualty_rate.reshape(-1)

    @cached_property
    def cell_cap(self) -> FloatArray:
        """Casualty cap of every cell."""
        return self.casualty_cap.reshape(-1)


TABLE_BITS = 16



def _lognormal_table(sigma: float) -> FloatArray:
    """Equiprobable quantiles of ``exp(σZ − σ²/2)``, rescaled to mean one."""
    from scipy.special import ndtri

    if sigma == 0:
        return np.ones(1 << TABLE_BITS)
    z = ndtri((np.arange(1 << TABLE_BITS) + 0.5) / (1 << TABLE_BITS))
    f = np.exp(sigma * z - 0.5 * sigma * sigma)
    return np.asarray(f / f.mean())


def attack_distribution(plan: Plan, *, targeting: str = "plan", lam: float | None = None,
                        site: str | None = None, slot: str | None = None) -> FloatArray:
    """Joint probability of attack type and target against a plan, (types, slots, sites).

    Types follow the scenario's priors. Given the type ``k``:

    * ``"plan"``: as the plan's attacker model assumes (`citywatch.plan.Plan.attack_probability`:
      each type's best response for the Bayesian and mixture models, its quantal
      response for ``"qr"``), so the simulated casualties estimate the plan's
      ``expected_casualties_per_attack``;
    * ``"best"``: the type's best response to the plan's coverage, ties broken in the
      defender's favour (the Stackelberg assumption; `citywatch.games.equilibrium.best_responses`);
    * ``"qr"``: quantal response ``P(t) ∝ exp(λ·U_k(t))`` over targets (rationality
      `lam`, default `DEFAULT_LAMBDA`);
    * ``"people"``: a target in proportion to the people present (an opportunistic
      attacker, and the weighting of "share of people within X minutes");
    * ``"fixed"``: site `site` in slot `slot` (with no slot, the time of day is uniform:
      slots in proportion to their hours).
    """
    from citywatch.games.equilibrium import best_responses

    sc = plan.scenario
    game = plan.built.game
    n_slots, n_sites = len(sc.slots), len(sc.sites)
    priors = game.priors
    p = np.zeros((game.n_types, n_slots * n_sites))
    if targeting == "plan":
        p = plan.attack_probability()
    elif targeting == "best":
        attacked, _ = best_responses(game, plan.coverage)
        p[np.arange(game.n_types), attacked] = priors
    elif targeting == "qr":
        lam = DEFAULT_LAMBDA if lam is None else float(lam)
        if not (np.isfinite(lam) and lam >= 0):
            msg = f"`lam` must be finite and >= 0, got {lam}"
            raise ScenarioError(msg)
        ua = game.attacker_payoffs(plan.coverage)
        w = np.exp(lam * (ua - ua.max(axis=1, keepdims=True)))
        p = priors[:, None] * w / w.sum(axis=1, keepdims=True)
    elif targeting == "people":
        ppl = sc.people().T.reshape(-1)
        if ppl.sum() <= 0:
            msg = "`targeting` 'people' needs people at some site, but every count is 0"
            raise ScenarioError(msg)
        p = priors[:, None] * (ppl / ppl.sum())[None, :]
    elif targeting == "fixed":
        if site is None:
            msg = "`site` is required with targeting 'fixed'"
            raise ScenarioError(msg)
        i = sc.site_ids.index(sc.site(site).id)
        if slot is None:
            hours = np.array([x.hours for x in sc.slots], dtype=np.float64)
            w_slot = hours / hours.sum()
        else:
            w_slot = np.zeros(n_slots)
            w_slot[sc.slot_index(slot)] = 1.0
        p3 = np.zeros((game.n_types, n_slots, n_sites))
        p3[:, :, i] = priors[:, None] * w_slot[None, :]
        return p3
    else:
        msg = f"`targeting` must be one of {', '.join(TARGETING)}, got {targeting!r}"
        raise ScenarioError(msg)
    return np.asarray(p.reshape(game.n_types, n_slots, n_sites))
