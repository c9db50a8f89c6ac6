"""The payoff model: turn a scenario into a security game over (site, slot) targets.

For attacker type θ at site *i* in slot *s* with ``P`` people present:

* time to armed intervention ``T``: an armed team on site intervenes after
  ``on_site_intervention_min`` (about a minute, as at Westminster 2017 and Streatham
  2020); otherwise after ``dispatch_delay_min + E[travel] + engage_min``, where
  ``E[travel]`` is the expected travel time of the nearest *available* response
  vehicle (each vehicle busy elsewhere with probability ``arv_busy_probability``);
* the site's protective security (hardening ``h_i``) lets through a share
  ``f = 1 − hardening_effect_θ · h_i`` of the attack's effect;
* casualties ``K(T) = min(people_cap_θ · P, (P/P0)^β_θ · (initial_θ + rate_θ · T)) · f``,
  growing with the crowd and with the time to armed help
  (`citywatch.model.casualties`, calibrated on real attacks);
* an armed team on site interdicts the attack before it causes harm with probability ``q_θ``;
* at a site with armed officers permanently on site in the slot (a protection post or a
  partner force, `citywatch.model.protection`) the uncovered payoffs are the covered
  ones and the response time is ``on_site_intervention_min``: covered for certain.

Payoffs (symbolic value ``S_i``, realised as ``f · S_i``; defender weight ``w``;
capture penalty ``C_θ``)::

    defender covered   = −(1 − q_θ) · (K(T_on_site) + w · f · S_i)
    defender uncovered = −(K(T_response) + w · f · S_i)
    attacker covered   = (1 − q_θ) · (K(T_on_site) + f · S_i) − q_θ · C_θ
    attacker uncovered = K(T_response) + f · S_i

so a site far from help (large ``T_response``) is a worse target for the defender and
a better one for the attacker. Targets are ordered slot by slot: target
``s * n_sites + i`` is site *i* in slot *s*, and slot *s* is budget group *s*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from citywatch.errors import ScenarioError
from citywatch.geo.distance import straight_line_times
from citywatch.model.casualties import CasualtyCurve, attacker_curve, curve_arrays
from citywatch.model.force import SlotTeams, teams_per_slot
from citywatch.model.game import SecurityGame
from citywatch.model.protection import armed_on_site, protection_officers
from citywatch.model.scenario import Scenario

__all__ = [
    "ALL_BUSY_EXTRA_MIN",
    "ScenarioGame",
    "SiteExplanation",
    "attacker_curves",
    "build_game",
    "casualties",
    "default_arv_posts",
    "expected_response_minutes",
    "explain_site",
    "standby_travel_minutes",
]

FloatArray = npt.NDArray[np.float64]

#: Extra minutes when every vehicle is busy: the call waits for the nearest to clear
#: or for mutual aid [assumption].
ALL_BUSY_EXTRA_MIN = 10.0


def standby_travel_minutes(scenario: Scenario) -> FloatArray:
    """Blue-light travel minutes from each standby point to each site in each slot.

    Shape (slots, standby points, sites), from the scenario's straight-line model.
    """
    tm = scenario.travel
    inner = {z.id: z.inner for z in scenario.zones}
    speed = np.array([tm.inner_speed_kmh if inner.get(s.zone_id, False) else tm.outer_speed_kmh
                      for s in scenario.sites])
    olat = np.array([p.lat for p in scenario.standby])
    olon = np.array([p.lon for p in scenario.standby])
    dlat = np.array([s.lat for s in scenario.sites])
    dlon = np.array([s.lon for s in scenario.sites])
    factors = tm.slot_speed_factor or (1.0,) * len(scenario.slots)
    out = np.empty((len(scenario.slots), olat.size, dlat.size))
    for k, factor in enumerate(factors):
        seconds = straight_line_times(olat, olon, dlat, dlon, speed_kmh=speed * factor,
                                      circuity=tm.circuity,
                                      short_trip_circuity=tm.short_trip_circuity,
                                      short_trip_m=tm.short_trip_m)
        out[k] = seconds / 60.0
    return out


def expected_response_minutes(travel: FloatArray, posts: Sequence[int], *,
                              busy_probability: float) -> FloatArray:
    """Expected travel minutes of the nearest available vehicle to each destination.

    Vehicles wait at standby points ``posts`` (a point may appear more than once).
    Sorting them by travel time ``T(1) <= T(2) <= ...`` to a destination, the ``j``-th
    responds when the ``j − 1`` nearer ones are busy:
    ``E = Σ_j b^(j−1) (1 − b) T(j) + b^n (T(1) + ALL_BUSY_EXTRA_MIN)``.

    Parameters
    ----------
    travel
        Minutes from each standby point to each destination, shape (points, destinations).
    posts
        Standby point index of each vehicle.
    busy_probability
        Probability ``b`` that a vehicle is busy with another call.
    """
    idx = np.asarray(posts, dtype=np.int64)
    if idx.size == 0:
        msg = "`posts` is empty: at least one response vehicle is needed"
        raise ScenarioError(msg)
    times = np.sort(travel[idx], axis=0)
    b = busy_probability
    weights = (1.0 - b) * b ** np.arange(idx.size)
    return np.asarray(weights @ times + b ** idx.size * (times[0] + ALL_BUSY_EXTRA_MIN))


def default_arv_posts(travel: FloatArray, weight: FloatArray, vehicles: int,
                      capacity: Sequence[int], *, busy_probability: float) -> list[int]:
    """Place `vehicles` ARVs greedily to minimise weighted expected response time.

    The sequential default until a location model places the vehicles: each step adds
    the vehicle whose standby point most reduces ``Σ_i weight_i · E[response_i]``,
    respecting each point's ``capacity``.
    """
    cap = np.asarray(capacity, dtype=np.int64).copy()
    if vehicles > cap.sum():
        msg = f"`vehicles` ({vehicles}) exceeds the standby points' total capacity ({cap.sum()})"
        raise ScenarioError(msg)
    w = np.asarray(weight, dtype=np.float64) + 1e-9
    posts: list[int] = []
    for _ in range(vehicles):
        best, best_cost = -1, np.inf
        for j in np.flatnonzero(cap > 0):
            cost = float(w @ expected_response_minutes(travel, [*posts, int(j)],
                                                       busy_probability=busy_probability))
            if cost < best_cost - 1e-12:
                best, best_cost = int(j), cost
        posts.append(best)
        cap[best] -= 1
    return posts


def casualties(people: npt.ArrayLike, minutes: npt.ArrayLike, *, initial: float, rate: float,
               people_cap: float, hardening: npt.ArrayLike = 0.0,
               hardening_effect: float = 0.0, crowd_exponent: float = 0.0,
               reference_people: float = 1000.0,
               targets: float | None = None) -> FloatArray:
    """Expected casualties of an attack stopped after `minutes` (see the module docstring)."""
    return curve_arrays(initial=initial, rate=rate, people_cap=people_cap,
                        crowd_exponent=crowd_exponent, reference_people=reference_people,
                        targets=targets, people=people, hardening=hardening,
                        hardening_effect=hardening_effect)(minutes)


def attacker_curves(scenario: Scenario) -> list[CasualtyCurve]:
    """Each attacker type's casualty curve over the targets (slot-major), hardening applied."""
    n_slots = len(scenario.slots)
    ppl = scenario.people().T.reshape(-1)
    hard = np.tile(np.array([site.hardening for site in scenario.sites]), n_slots)
    return [attacker_curve(a, ppl, hardening=hard) for a in scenario.attackers]


@dataclass(frozen=True, eq=False)
class ScenarioGame:
    """A scenario's security game with the quantities it was built from.

    Arrays indexed by target have length ``slots × sites`` (slot-major); those indexed
    ``[slot, site]`` have shape (slots, sites).
    """

    game: SecurityGame
    site_ids: tuple[str, ...]
    slot_names: tuple[str, ...]
    teams: tuple[SlotTeams, ...]
    arv_posts: tuple[tuple[int, ...], ...]
    response_minutes: FloatArray
    casualties_covered: FloatArray
    casualties_uncovered: FloatArray
    idle_teams: tuple[int, ...]

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.site_ids)

    def target(self, site: int, slot: int) -> int:
        """Target index of `site` in `slot`."""
        return slot * self.n_sites + site

    def target_label(self, t: int) -> tuple[str, str]:
        """(site id, slot name) of target `t`."""
        return self.site_ids[t % self.n_sites], self.slot_names[t // self.n_sites]


def build_game(scenario: Scenario, *, arv_posts: Sequence[Sequence[int]] | None = None,
               travel_minutes: FloatArray | None = None) -> ScenarioGame:
    """Build the security game a scenario induces.

    Parameters
    ----------
    scenario
        The validated scenario.
    arv_posts
        Standby point index of every response vehicle, per slot. By default the
        slot's ARV crews are placed greedily (`default_arv_posts`) weighted by the
        people present at the sites in that slot.
    travel_minutes
        Travel minutes from standby points to sites, shape (slots, points, sites) or
        (points, sites), e.g. from a road network; default the straight-line model.
    """
    posture = scenario.postures[scenario.threat_level]
    teams = tuple(teams_per_slot(scenario.force, scenario.slots, posture=posture))
    n_sites, n_slots = len(scenario.sites), len(scenario.slots)
    if travel_minutes is None:
        travel = standby_travel_minutes(scenario)
    else:
        travel = np.asarray(travel_minutes, dtype=np.float64)
        if travel.ndim == 2:
            travel = np.broadcast_to(travel, (n_slots, *travel.shape))
        if travel.shape != (n_slots, len(scenario.standby), n_sites):
            msg = (f"`travel_minutes` must have shape ({n_slots}, {len(scenario.standby)}, "
                   f"{n_sites}), got {travel.shape}")
            raise ScenarioError(msg)
    people = scenario.people()
    tm = scenario.travel
    capacity = [p.capacity for p in scenario.standby]
    posts: list[tuple[int, ...]] = []
    response = np.empty((n_slots, n_sites))
    for s in range(n_slots):
        if arv_posts is None:
            slot_posts = default_arv_posts(travel[s], people[:, s], max(teams[s].arv_crews, 1),
                                           capacity, busy_probability=tm.arv_busy_probability)
        else:
            slot_posts = [int(j) for j in arv_posts[s]]
        posts.append(tuple(slot_posts))
        response[s] = tm.dispatch_delay_min + tm.engage_min + expected_response_minutes(
            travel[s], slot_posts, busy_probability=tm.arv_busy_probability)

    hardening = np.array([site.hardening for site in scenario.sites])
    symbolic = np.array([site.symbolic_value for site in scenario.sites])
    ppl = people.T.reshape(-1)  # slot-major targets
    t_resp = response.reshape(-1)
    hard = np.tile(hardening, n_slots)
    sym = np.tile(symbolic, n_slots)
    w = scenario.payoffs.symbolic_weight
    t_site = scenario.payoffs.on_site_intervention_min
    n_types = len(scenario.attackers)
    kc = np.empty((n_types, ppl.size))
    ku = np.empty((n_types, ppl.size))
    dc, du, ac, au = (np.empty((n_types, ppl.size)) for _ in range(4))
    curves = attacker_curves(scenario)
    for k, a in enumerate(scenario.attackers):
        kc[k] = curves[k](np.full(ppl.size, t_site))
        ku[k] = curves[k](np.maximum(t_resp, t_site))
        q = a.interdiction
        sym_k = sym * (1.0 - a.hardening_effect * hard)
        dc[k] = -(1.0 - q) * (kc[k] + w * sym_k)
        du[k] = -(ku[k] + w * sym_k)
        ac[k] = (1.0 - q) * (kc[k] + sym_k) - q * a.capture_penalty
        au[k] = ku[k] + sym_k
    if scenario.protection:
        # armed officers permanently on site: covered for certain (model/protection.py)
        guarded = armed_on_site(scenario)
        response[guarded] = t_site
        on = guarded.reshape(-1)
        ku[:, on], du[:, on], au[:, on] = kc[:, on], dc[:, on], ac[:, on]
    resources = np.array([min(t.patrol_teams, n_sites) for t in teams], dtype=np.int64)
    idle = tuple(max(0, t.patrol_teams - n_sites) for t in teams)
    game = SecurityGame(
        dc, du, ac, au, resources=resources,
        groups=np.repeat(np.arange(n_slots, dtype=np.int64), n_sites),
        priors=scenario.priors(),
        target_labels=tuple(f"{sid}@{slot}" for slot in scenario.slot_names
                            for sid in scenario.site_ids),
        type_names=tuple(a.id for a in scenario.attackers),
        group_labels=scenario.slot_names,
    )
    return ScenarioGame(game, scenario.site_ids, scenario.slot_names, teams, tuple(posts),
                        response, kc, ku, idle)


@dataclass(frozen=True)
class SiteExplanation:
    """How one site's payoffs arose, slot by slot (see `explain_site`)."""

    site_id: str
    name: str
    category: str
    zone: str
    hardening: float
    symbolic_value: float
    slots: tuple[str, ...]
    people: tuple[float, ...]
    response_minutes: tuple[float, ...]
    nearest_post: tuple[str, ...]
    attacker_types: tuple[str, ...]
    casualties_covered: tuple[tuple[float, ...], ...]    # [type][slot]
    casualties_uncovered: tuple[tuple[float, ...], ...]  # [type][slot]
    defender_covered: tuple[float, ...]    # prior-weighted, per slot
    defender_uncovered: tuple[float, ...]
    attacker_covered: tuple[float, ...]
    attacker_uncovered: tuple[float, ...]
    armed_on_site: tuple[float, ...] = ()  # protection / partner-force officers, per slot
    protection: tuple[str, ...] = ()       # who they are ("British Transport Police", ...)


def explain_site(scenario: Scenario, site_id: str, *,
                 built: ScenarioGame | None = None) -> SiteExplanation:
    """Show how a site's payoffs arise from people, response time and the attack types."""
    site = scenario.site(site_id)
    built = build_game(scenario) if built is None else built
    i = scenario.site_ids.index(site.id)
    n_slots = len(scenario.slots)
    targets = [built.target(i, s) for s in range(n_slots)]
    g = built.game
    pri = g.priors
    travel = standby_travel_minutes(scenario)
    nearest = tuple(scenario.standby[min(posts, key=lambda j: travel[s, j, i])].name
                    for s, posts in enumerate(built.arv_posts))

    def mix(arr: FloatArray) -> tuple[float, ...]:
        return tuple(float(pri @ arr[:, t]) for t in targets)

    return SiteExplanation(
        site.id, site.name, site.category, scenario.zone(site.zone_id).name, site.hardening,
        site.symbolic_value, scenario.slot_names, site.people,
        tuple(float(built.response_minutes[s, i]) for s in range(n_slots)), nearest,
        tuple(a.name for a in scenario.attackers),
        tuple(tuple(float(built.casualties_covered[k, t]) for t in targets)
              for k in range(g.n_types)),
        tuple(tuple(float(built.casualties_uncovered[k, t]) for t in targets)
              for k in range(g.n_types)),
        mix(g.defender_covered), mix(g.defender_uncovered),
        mix(g.attacker_covered), mix(g.attacker_uncovered),
        tuple(float(x) for x in protection_officers(scenario)[:, i]),
        tuple(f"{p.unit or p.force} ({p.officers}"
              + (f", {', '.join(p.slots)})" if p.slots else ", around the clock)")
              for p in scenario.protection if p.site_id == site.id),
    )
