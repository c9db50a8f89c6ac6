"""The joint deter+respond plan: ARV standby posts and patrol coverage chosen together."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from citywatch.errors import InfeasibleError, ScenarioError
from citywatch.games.equilibrium import Equilibrium
from citywatch.games.origami import origami_group_level, origami_value, solve_origami
from citywatch.model.casualties import attacker_curve
from citywatch.model.game import SecurityGame
from citywatch.model.payoffs import (
    ScenarioGame,
    build_game,
    expected_response_minutes,
    scenario_spread,
    standby_travel_minutes,
)
from citywatch.model.response_time import (
    PlacementCasualties,
    ResponseTimes,
    expected_casualties,
)
from citywatch.model.protection import armed_on_site
from citywatch.model.scenario import Scenario
from citywatch.response._problem import CoverageProblem
from citywatch.response.standards import ResponseStandard, meets, nested_greedy, repair

__all__ = ["JOINT_METHODS", "JointPlan", "PlacementEvaluator", "greedy_posts", "joint_plan",
           "meet_standards", "sequential_posts"]

FloatArray = npt.NDArray[np.float64]
Posts = tuple[tuple[int, ...], ...]

JOINT_METHODS = ("auto", "exhaustive", "local")
SEQUENTIAL_MODELS = ("mclp", "mexclp", "greedy")


@dataclass(frozen=True, eq=False)
class JointPlan:
    """ARV posts per slot and patrol coverage, chosen for the defender's expected loss.

    The loss is that of the prior-weighted (mixture) attacker against the patrol
    coverage, solved exactly by ORIGAMI for any fixed posts; joint and sequential plans
    are scored the same way, so `gain` compares like with like.

    Attributes
    ----------
    arv_posts
        Standby index of every ARV, per slot.
    built
        The scenario's game with these posts.
    equilibrium
        ORIGAMI's equilibrium of the mixture game with these posts.
    expected_loss
        Casualty-equivalents per attack of the joint plan.
    sequential_posts, sequential_loss
        The sequential plan: posts from a location model first, then the game.
    gain
        ``sequential_loss - expected_loss`` (>= 0).
    method
        ``"exhaustive"`` (every placement in every slot tried: proven optimal) or
        ``"local"`` (alternating: coverage given posts by ORIGAMI, posts given the game
        by single-vehicle moves, until no move helps).
    optimal
        Whether `expected_loss` is proven to be the least possible.
    bound
        A proven lower bound on the least possible loss (see `joint_plan`).
    evaluations
        Placements evaluated.
    seconds
        Wall-clock time.
    notes
        Plain statements about how the plan was made.
    clock_limited
        Whether the wall-clock safety net stopped the search before its work limit
        (the posts may then differ on another machine).
    """

    scenario: Scenario
    arv_posts: Posts
    built: ScenarioGame
    equilibrium: Equilibrium
    expected_loss: float
    sequential_posts: Posts
    sequential_loss: float
    sequential_model: str
    method: str
    optimal: bool
    bound: float
    evaluations: int
    seconds: float
    notes: tuple[str, ...] = field(default=())
    clock_limited: bool = False

    @property
    def gain(self) -> float:
        """Loss avoided against the sequential plan."""
        return self.sequential_loss - self.expected_loss

    @property
    def coverage(self) -> FloatArray:
        """Patrol coverage of each (site, slot) target, slot-major."""
        return self.equilibrium.coverage

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        sc = self.scenario
        ids = [p.id for p in sc.standby]
        return {
            "method": self.method,
            "optimal": self.optimal,
            "expected_loss": self.expected_loss,
            "bound": self.bound if math.isfinite(self.bound) else None,
            "gap": (self.expected_loss - self.bound) if math.isfinite(self.bound) else None,
            "sequential_model": self.sequential_model,
            "sequential_loss": self.sequential_loss,
            "gain": self.gain,
            "arv_posts": {slot: [ids[j] for j in posts]
                          for slot, posts in zip(sc.slot_names, self.arv_posts, strict=True)},
            "sequential_arv_posts": {slot: [ids[j] for j in posts] for slot, posts in
                                     zip(sc.slot_names, self.sequential_posts, strict=True)},
            "evaluations": self.evaluations,
            "clock_limited": self.clock_limited,
            "seconds": self.seconds,
            "notes": list(self.notes),
        }


class _Evaluator:
    """Expected loss of a placement, fast: the payoff model for the mixture attacker."""

    def __init__(self, scenario: Scenario, travel: FloatArray,
                 standards: Sequence[ResponseStandard] = ()) -> None:
        self.sc = scenario
        self.standards = tuple(standards)
        base = build_game(scenario, arv_posts=[[0]] * len(scenario.slots),
                          travel_minutes=travel)
        self.teams = base.teams
        self.vehicles = [max(t.arv_crews, 1) for t in base.teams]
        mix = base.game.mixture()
        self.dc = mix.defender_covered[0]
        self.ac = mix.attacker_covered[0]
        self.resources = mix.resources
        self.groups = mix.groups
        self.travel = travel
        tm = scenario.travel
        self.busy = tm.arv_busy_probability
        self.delay = tm.dispatch_delay_min + tm.engage_min
        self.n_sites = len(scenario.sites)
        n_slots = len(scenario.slots)
        people = scenario.people()
        self.ppl = people.T.copy()  # (slots, sites)
        hard = np.array([s.hardening for s in scenario.sites])
        sym = np.array([s.symbolic_value for s in scenario.sites])
        w = scenario.payoffs.symbolic_weight
        self.t_site = scenario.payoffs.on_site_intervention_min
        pri = scenario.priors()
        # per type: prior, casualty curve over (slots, sites) with hardening applied, and
        # the share of symbolic value let through
        self.types = [(p, attacker_curve(a, self.ppl, hardening=hard[None, :]),
                       1.0 - a.hardening_effect * hard) for p, a in
                      zip(pri, scenario.attackers, strict=True)]
        self.sym_att = sum(p * sym * f for p, _, f in self.types)  # (sites,)
        self.sym_def = w * self.sym_att
        self.capacity = np.array([p.capacity for p in scenario.standby], dtype=np.int64)
        self.guarded = armed_on_site(scenario)  # (slots, sites): covered for certain
        self.on = self.guarded.reshape(-1)
        self._slot_cache: list[dict[tuple[int, ...], tuple[FloatArray, FloatArray, float]]] = [
            {} for _ in range(n_slots)]
        self._tables: list[PlacementCasualties | None] = [None] * n_slots
        self.budget = self.resources.astype(np.float64)
        self.ac_scale = float(np.abs(self.ac).max())
        self.priors = np.array([p for p, _, _ in self.types])
        self.evaluations = 0

    def harm(self, s: int, times: ResponseTimes) -> FloatArray:
        """Prior-weighted expected casualties at each site of slot `s` (no team on site).

        The expectation over the response-time distribution `times`, as in the payoff
        model (`citywatch.model.payoffs.build_game`).
        """
        out = np.zeros(self.n_sites)
        for p, curve, _ in self.types:
            out += p * expected_casualties(times, initial=curve.initial[s],
                                           rate=curve.rate[s], cap=curve.cap[s])
        return out

    def feasible(self, s: int, posts: Sequence[int]) -> bool:
        """Whether slot `s`'s placement meets the response standards."""
        if not self.standards:
            return True
        e = expected_response_minutes(self.travel[s], posts, busy_probability=self.busy)
        return meets(self.delay + e, self.ppl[s], self.standards, exempt=self.guarded[s])

    def repair(self, posts: Posts, fallback: Posts | None = None) -> Posts:
        """The placement nearest `posts` meeting the standards in every slot.

        With `fallback` (placements known to meet the standards), a slot whose repair
        needs more than the penalty descent takes the fallback's placement instead of
        the covering MILP, which can take minutes near the least fleet that serves.
        """
        out = []
        for s, p in enumerate(posts):
            if fallback is None:
                out.append(self.repair_slot(s, p))
                continue
            try:
                out.append(self.repair_slot(s, p, max_rounds=0))
            except InfeasibleError:
                out.append(tuple(fallback[s]))
        return tuple(out)

    def repair_slot(self, s: int, posts: Sequence[int], *, max_rounds: int = 30
                    ) -> tuple[int, ...]:
        """Slot `s`'s placement nearest `posts` meeting the standards
        (`citywatch.response.standards.repair`; `max_rounds` of penalty descent)."""
        return repair(self.travel[s], posts, self.ppl[s], self.capacity, self.standards,
                      busy_probability=self.busy, fixed_minutes=self.delay,
                      exempt=self.guarded[s], site_ids=self.sc.site_ids,
                      slot=self.sc.slot_names[s], max_rounds=max_rounds)

    def table(self, s: int) -> PlacementCasualties:
        """Slot `s`'s casualty table over standby points (built on first use)."""
        if self._tables[s] is None:
            tm = self.sc.travel
            self._tables[s] = PlacementCasualties(
                self.travel[s],
                initial=np.stack([c.initial[s] for _, c, _ in self.types]),
                rate=np.stack([c.rate[s] for _, c, _ in self.types]),
                cap=np.stack([c.cap[s] for _, c, _ in self.types]),
                busy_probability=self.busy, dispatch_minutes=tm.dispatch_delay_min,
                engage_minutes=tm.engage_min, spread=scenario_spread(self.sc))
        return self._tables[s]

    def slot_payoffs(self, s: int, posts: tuple[int, ...]) -> tuple[FloatArray, FloatArray, float]:
        """Slot `s`'s uncovered payoffs (attacker, defender) with vehicles at `posts`, and
        its ORIGAMI level (`origami_group_level`), cached per placement."""
        key = tuple(sorted(posts))
        cache = self._slot_cache[s]
        if key not in cache:
            h = self.priors @ self.table(s)(key)   # `harm`, by table lookup
            cells = slice(s * self.n_sites, (s + 1) * self.n_sites)
            on = self.on[cells]
            au = np.where(on, self.ac[cells], h + self.sym_att)
            du = np.where(on, self.dc[cells], -(h + self.sym_def))
            level = origami_group_level(au, self.ac[cells], float(self.resources[s]),
                                        scale=max(1.0, float(np.abs(au).max()),
                                                  self.ac_scale))
            cache[key] = (au, du, level)
        return cache[key]

    def loss(self, posts: Posts) -> float:
        """Expected loss of the mixture attacker's equilibrium (`solve_origami`'s value),
        re-solving only the slots whose placement is new (`origami_value`)."""
        self.evaluations += 1
        parts = [self.slot_payoffs(s, p) for s, p in enumerate(posts)]
        return -origami_value(np.concatenate([a for a, _, _ in parts]), self.ac,
                              np.concatenate([d for _, d, _ in parts]), self.dc,
                              self.groups, self.budget, [lv for _, _, lv in parts])

    # ---------------------------------------------------------------- the bound

    def extreme_times(self, s: int, nearest: bool) -> ResponseTimes:
        """The quickest (or slowest) possible response-time distribution at each site.

        Filling the nearest (farthest) points first, up to capacity, makes every order
        statistic of the vehicles' travel times to a site as small (large) as it can be;
        the response time grows with each of them in every busy state, so the expected
        casualties (``K`` nondecreasing) are least (greatest) there.
        """
        n = self.vehicles[s]
        t = self.travel[s]  # (points, sites)
        order = np.argsort(t if nearest else -t, axis=0, kind="stable")
        vehicles = np.empty((n, self.n_sites))
        for i in range(self.n_sites):
            posts = np.repeat(order[:, i], self.capacity[order[:, i]])[:n]
            vehicles[:, i] = t[posts, i]
        tm = self.sc.travel
        return ResponseTimes.from_vehicles(vehicles, busy_probability=self.busy,
                                           dispatch_minutes=tm.dispatch_delay_min,
                                           engage_minutes=tm.engage_min,
                                           spread=scenario_spread(self.sc))

    def bound(self) -> float:
        r"""A proven lower bound on the expected loss of any placement.

        Let :math:`h_t` be target :math:`t`'s mixture harm (expected casualties over the
        response-time distribution), :math:`h_t^-` and :math:`h_t^+` its least and
        greatest possible values over placements (`extreme_times`), and :math:`u^-`
        ORIGAMI's least attainable attacker level in the game where every target has
        :math:`h_t^-`. Attacker payoffs only grow with :math:`h`, so in any placement the
        attacker's level is :math:`u \ge u^-`, and the attacked target :math:`t^*` has
        attacker utility :math:`u`. Along :math:`t^*`'s line the defender's utility falls as the
        attacker's rises, so it is at most its value at attacker utility :math:`u^-`:

        .. math::

            U^d \le U^d_u + (U^a_u - u^-) \frac{U^d_c - U^d_u}{U^a_u - U^a_c}
            = \kappa_t + \frac{D_t}{U^a_u - U^a_c},

        monotone in :math:`h_t` (a constant over a positive linear function), so its
        maximum over :math:`h_t \in [h^-_t, h^+_t]` (with :math:`U^a_u \ge u^-`) is at
        an end. The bound is minus the largest such value over all targets.
        """
        n_slots = len(self.vehicles)
        h_lo = np.concatenate([self.harm(s, self.extreme_times(s, True))
                               for s in range(n_slots)])
        h_hi = np.concatenate([self.harm(s, self.extreme_times(s, False))
                               for s in range(n_slots)])
        sa = np.tile(self.sym_att, n_slots)
        sd = np.tile(self.sym_def, n_slots)
        lo_game = SecurityGame(self.dc, np.where(self.on, self.dc, -(h_lo + sd)), self.ac,
                               np.where(self.on, self.ac, h_lo + sa),
                               resources=self.resources, groups=self.groups)
        eq = solve_origami(lo_game)
        u_min = float(eq.attacker_utility[0])
        # the level u^- is the attacker utility in the lo game (attacked target)

        def value(h: FloatArray) -> FloatArray:
            au = np.where(self.on, self.ac, h + sa)
            du = np.where(self.on, self.dc, -(h + sd))
            da = au - self.ac
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(da > 1e-12, du + (au - u_min) * (self.dc - du) / da,
                             np.where(au >= u_min - 1e-9, self.dc, -np.inf))
            return np.where(au >= u_min - 1e-9, v, -np.inf)

        # the least harm at which t* can still be attacked: U^a_u = u^-
        h_edge = np.clip(u_min - sa, h_lo, h_hi)
        best = np.max(np.maximum.reduce([value(h_lo), value(h_hi), value(h_edge)]))
        return float(-best)


def _count_vectors(n: int, cap: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Every way to put `n` identical vehicles at points with capacities `cap`."""
    if not cap:
        if n == 0:
            yield ()
        return
    rest = sum(cap[1:])
    for k in range(max(0, n - rest), min(cap[0], n) + 1):
        for tail in _count_vectors(n - k, cap[1:]):
            yield (k, *tail)


def _n_vectors(n: int, cap: Sequence[int]) -> int:
    ways = np.zeros(n + 1, dtype=object)
    ways[0] = 1
    for c in cap:
        new = np.zeros(n + 1, dtype=object)
        for k in range(c + 1):
            new[k:] += ways[: n + 1 - k]
        ways = new
    return int(ways[n])


def _posts_from_counts(counts: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(j) for j in np.repeat(np.arange(len(counts)), counts))


def sequential_posts(scenario: Scenario, *, model: str = "mclp", standard_min: float = 8.0,
                     travel_minutes: FloatArray | None = None) -> Posts:
    """ARV posts per slot from a location model alone (the first step of the sequential plan).

    ``"mclp"``: the slot's ARV crews placed to reach the most people at the sites within
    `standard_min` (travel only); ``"mexclp"``: the same with each vehicle busy with the
    scenario's ``arv_busy_probability``; ``"greedy"``: the payoff model's default
    (greedy least expected response time).
    """
    if model not in SEQUENTIAL_MODELS:
        msg = f"`model` must be one of {', '.join(SEQUENTIAL_MODELS)}, got {model!r}"
        raise ScenarioError(msg)
    built = build_game(scenario, travel_minutes=travel_minutes)
    if model == "greedy":
        return built.arv_posts
    from citywatch.response.mclp import solve_mclp
    from citywatch.response.mexclp import solve_mexclp

    travel = (standby_travel_minutes(scenario) if travel_minutes is None
              else np.broadcast_to(travel_minutes,
                                   (len(scenario.slots), *np.shape(travel_minutes)[-2:])))
    out = []
    for s, team in enumerate(built.teams):
        n = max(team.arv_crews, 1)
        problem = CoverageProblem.from_scenario(scenario, s, demand="sites",
                                                travel_minutes=np.asarray(travel[s]).T)
        if model == "mclp":
            res = solve_mclp(problem, n, standard_min=standard_min)
        else:
            res = solve_mexclp(problem, n, busy=scenario.travel.arv_busy_probability,
                               standard_min=standard_min)
        out.append(res.chosen)
    return tuple(out)


def joint_plan(scenario: Scenario, *, method: str = "auto", time_limit: float | None = 300.0,
               max_evaluations: int = 20_000, sequential_model: str = "mclp",
               standard_min: float = 8.0, travel_minutes: FloatArray | None = None,
               max_exhaustive: int = 20_000, neighbours: int = 12,
               standards: Sequence[ResponseStandard] | None = None) -> JointPlan:
    """Choose ARV posts and patrol coverage together for the least expected loss.

    Every placement considered meets the response `standards` (a hard constraint;
    `citywatch.response.standards`): the starting placements are repaired to meet
    them, the exhaustive method skips placements that miss them and the local search
    makes only moves that keep them.

    A site's uncovered payoff depends on the expected response time of the nearest
    free ARV (`citywatch.model.payoffs`), so where the ARVs wait changes which sites
    the patrols must cover. For fixed posts the patrol game (prior-weighted attacker)
    is solved exactly by ORIGAMI; the posts are then chosen by:

    * ``"exhaustive"``: every placement of each slot's vehicles (within capacities),
      all slots jointly: the least loss found is proven optimal;
    * ``"local"``: alternating optimisation from the better of the sequential and the
      greedy placement: coverage given posts (ORIGAMI), then the best single-vehicle
      move to one of the `neighbours` nearest standby points, until no move lowers
      the loss or `max_evaluations` placements have been evaluated;
    * ``"auto"``: exhaustive when at most `max_exhaustive` placements exist, else local.

    The local method reports a proven lower bound (`_Evaluator.bound`): every site at
    its best conceivable response time and the attacker held at the least level it
    could then be held to. The plan is called optimal only when exhaustive, or when
    the loss meets that bound.

    Parameters
    ----------
    scenario
        The scenario.
    method
        ``"auto"``, ``"exhaustive"`` or ``"local"``.
    time_limit
        Wall-clock seconds for the search, a safety net (``None``: no limit). The
        search itself stops on `max_evaluations`, a work limit, so the same scenario
        gives the same posts on any machine unless this net is reached
        (``clock_limited``).
    max_evaluations
        Placements the search may evaluate (each an exact ORIGAMI solve), counting
        the sequential and greedy starts.
    sequential_model
        Location model of the sequential plan compared against: ``"mclp"`` (default),
        ``"mexclp"`` or ``"greedy"``.
    standard_min
        Response standard of the sequential location model.
    travel_minutes
        Travel minutes (slots, standby, sites); default the straight-line model.
    max_exhaustive
        Largest number of joint placements ``"auto"`` enumerates.
    neighbours
        Standby points considered for each move in the local search.
    standards
        Response standards every slot's placement must meet (default: the
        scenario's, London's being armed help within 15 minutes at every site);
        ``()`` for none.

    Raises
    ------
    InfeasibleError
        When the slot's ARVs cannot meet a standard at the scenario's standby points.
    """
    start = time.perf_counter()
    if not (isinstance(max_evaluations, int) and max_evaluations >= 1):
        msg = f"`max_evaluations` must be an int >= 1, got {max_evaluations!r}"
        raise ScenarioError(msg)
    if method not in JOINT_METHODS:
        msg = f"`method` must be one of {', '.join(JOINT_METHODS)}, got {method!r}"
        raise ScenarioError(msg)
    travel = (standby_travel_minutes(scenario) if travel_minutes is None
              else np.broadcast_to(np.asarray(travel_minutes, dtype=np.float64),
                                   (len(scenario.slots), len(scenario.standby),
                                    len(scenario.sites))))
    if standards is None:
        standards = scenario.response_standards
    ev = _Evaluator(scenario, np.asarray(travel), standards)
    caps = ev.capacity.tolist()
    if any(n > sum(caps) for n in ev.vehicles):
        msg = (f"a slot has {max(ev.vehicles)} ARVs but the standby points hold only "
               f"{sum(caps)}")
        raise ScenarioError(msg)
    # the nested standard-first greedy placement: it meets the standards (repaired only
    # where the greedy cannot) and stands in for a sequential slot the descent cannot fix
    greedy = greedy_posts(scenario, standards, vehicles=ev.vehicles,
                          travel_minutes=np.asarray(travel))
    seq = sequential_posts(scenario, model=sequential_model, standard_min=standard_min,
                           travel_minutes=np.asarray(travel))
    seq = ev.repair(seq, fallback=greedy)
    seq_loss = ev.loss(seq)
    n_joint = math.prod(_n_vectors(n, caps) for n in ev.vehicles)
    if method == "auto":
        method = "exhaustive" if n_joint <= max_exhaustive else "local"
    notes: list[str] = []
    deadline = math.inf if time_limit is None else start + time_limit
    stop = _Stop(ev, max_evaluations, deadline)
    tol = 1e-9 * max(1.0, abs(seq_loss))
    if method == "exhaustive":
        best, best_loss = seq, seq_loss
        per_slot = [[p for p in (_posts_from_counts(c) for c in _count_vectors(n, caps))
                     if ev.feasible(s, p)] for s, n in enumerate(ev.vehicles)]
        n_joint = math.prod(len(p) for p in per_slot)
        finished = True
        for combo in itertools.product(*per_slot):
            if stop():
                finished = False
                break
            loss = ev.loss(combo)
            if loss < best_loss - tol:
                best, best_loss = combo, loss
        optimal = finished
        bound = best_loss if finished else ev.bound()
        notes.append(f"Tried all {n_joint:,} placements of the ARVs: proven optimal."
                     if finished else
                     f"The {stop.reason} stopped the enumeration of {n_joint:,} placements.")
    else:
        g_loss = ev.loss(greedy)
        best, best_loss = (greedy, g_loss) if g_loss < seq_loss else (seq, seq_loss)
        best, best_loss, finished = _local_search(ev, best, best_loss, stop, neighbours)
        bound = ev.bound()
        optimal = best_loss <= bound + tol
        notes.append("Alternating search: patrol coverage solved exactly for each ARV "
                     "placement, placements improved one vehicle move at a time"
                     + (" until no move helped (a local optimum)." if finished else
                        f"; stopped by the {stop.reason}."))
        notes.append(f"Proven lower bound on the loss: {bound:.3f} (every site at its best "
                     f"possible response time); the plan is within {best_loss - bound:.3f} "
                     f"of the optimum.")
    built = build_game(scenario, arv_posts=best, travel_minutes=np.asarray(travel))
    eq = solve_origami(built.game.mixture())
    loss = -eq.defender_utility
    return JointPlan(scenario=scenario, arv_posts=best, built=built, equilibrium=eq,
                     expected_loss=loss, sequential_posts=seq, sequential_loss=seq_loss,
                     sequential_model=sequential_model, method=method, optimal=optimal,
                     bound=bound, evaluations=ev.evaluations,
                     seconds=time.perf_counter() - start, notes=tuple(notes),
                     clock_limited=stop.reason == "wall-clock safety net")


#: The per-slot casualty tables of placements (used by the shift optimiser,
#: `citywatch.schedule.shifts`): ``PlacementEvaluator(scenario, travel).table(s)(posts)``
#: is each attack type's expected casualties at slot ``s``'s sites, no team on site.
PlacementEvaluator = _Evaluator


class _Stop:
    """When the search must stop: the work limit first, the wall clock as a safety net."""

    def __init__(self, ev: _Evaluator, max_evaluations: int, deadline: float) -> None:
        self.ev, self.max_evaluations, self.deadline = ev, max_evaluations, deadline
        self.reason = ""

    def __call__(self) -> bool:
        if self.ev.evaluations >= self.max_evaluations:
            self.reason = f"work limit ({self.max_evaluations:,} placements evaluated)"
        elif time.perf_counter() > self.deadline:
            self.reason = "wall-clock safety net"
        return bool(self.reason)


def _local_search(ev: _Evaluator, posts: Posts, loss: float, stop: _Stop,
                  neighbours: int) -> tuple[Posts, float, bool]:
    """Best-improvement single-vehicle moves, slot by slot, until none helps."""
    n_points = ev.travel.shape[1]
    # standby points near each other: mean travel time over the sites as a proxy
    profile = ev.travel.mean(axis=0)  # (points, sites)
    dist = np.abs(profile[:, None, :] - profile[None, :, :]).mean(axis=2)
    near = np.argsort(dist, axis=1)[:, 1:neighbours + 1]
    current = [list(p) for p in posts]
    improved = True
    while improved:
        improved = False
        for s in range(len(current)):
            counts = np.bincount(current[s], minlength=n_points)
            best_move: tuple[int, int] | None = None
            best_loss = loss
            for j in sorted(set(current[s])):
                for k in near[j]:
                    if counts[k] >= ev.capacity[k]:
                        continue
                    if stop():
                        return _freeze(current, s, best_move), best_loss, False
                    trial = list(current[s])
                    trial[trial.index(j)] = int(k)
                    if not ev.feasible(s, trial):
                        continue
                    cand = tuple(tuple(p) if t != s else tuple(trial)
                                 for t, p in enumerate(current))
                    value = ev.loss(cand)
                    if value < best_loss - 1e-9 * max(1.0, abs(best_loss)):
                        best_loss, best_move = value, (j, int(k))
            if best_move is not None:
                j, k = best_move
                current[s][current[s].index(j)] = k
                loss = best_loss
                improved = True
    return tuple(tuple(sorted(p)) for p in current), loss, True


def _freeze(current: list[list[int]], s: int, move: tuple[int, int] | None) -> Posts:
    out = [list(p) for p in current]
    if move is not None:
        j, k = move
        out[s][out[s].index(j)] = k
    return tuple(tuple(sorted(p)) for p in out)


def greedy_posts(scenario: Scenario, standards: Sequence[ResponseStandard] | None = None, *,
                 vehicles: Sequence[int] | None = None,
                 travel_minutes: FloatArray | None = None) -> Posts:
    """Each slot's ARVs placed greedily, standard first (`response.standards.nested_greedy`).

    Nested in the fleet: a slot with one more ARV keeps every post of the smaller
    fleet's placement and adds one (whenever the smaller fleet meets the standards),
    so a larger force's response times are nowhere worse. `vehicles` defaults to the
    ARV crews on duty in each slot.
    """
    if standards is None:
        standards = scenario.response_standards
    travel = (standby_travel_minutes(scenario) if travel_minutes is None
              else np.broadcast_to(np.asarray(travel_minutes, dtype=np.float64),
                                   (len(scenario.slots), len(scenario.standby),
                                    len(scenario.sites))))
    if vehicles is None:
        from citywatch.model.force import teams_per_slot

        teams = teams_per_slot(scenario.force, scenario.slots,
                               posture=scenario.postures[scenario.threat_level])
        vehicles = [max(t.arv_crews, 1) for t in teams]
    tm = scenario.travel
    people = scenario.people()
    caps = [p.capacity for p in scenario.standby]
    guarded = armed_on_site(scenario)
    return tuple(nested_greedy(travel[s], people[:, s], int(n), caps, standards,
                               busy_probability=tm.arv_busy_probability,
                               fixed_minutes=tm.dispatch_delay_min + tm.engage_min,
                               exempt=guarded[s], site_ids=scenario.site_ids,
                               slot=scenario.slot_names[s])
                 for s, n in enumerate(vehicles))


def meet_standards(scenario: Scenario, posts: Sequence[Sequence[int]],
                   standards: Sequence[ResponseStandard] | None = None, *,
                   travel_minutes: FloatArray | None = None) -> Posts:
    """`posts` moved as little as needed to meet `standards` in every slot.

    For the sequential and greedy placements, which choose posts without the standard
    (`citywatch.response.standards.repair`).
    """
    if standards is None:
        standards = scenario.response_standards
    if not standards:
        return tuple(tuple(int(j) for j in p) for p in posts)
    travel = (standby_travel_minutes(scenario) if travel_minutes is None
              else np.broadcast_to(np.asarray(travel_minutes, dtype=np.float64),
                                   (len(scenario.slots), len(scenario.standby),
                                    len(scenario.sites))))
    tm = scenario.travel
    people = scenario.people()
    caps = [p.capacity for p in scenario.standby]
    guarded = armed_on_site(scenario)
    return tuple(repair(travel[s], p, people[:, s], caps, standards,
                        busy_probability=tm.arv_busy_probability,
                        fixed_minutes=tm.dispatch_delay_min + tm.engage_min,
                        exempt=guarded[s],
                        site_ids=scenario.site_ids, slot=scenario.slot_names[s])
                 for s, p in enumerate(posts))
