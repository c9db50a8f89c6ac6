"""Live response: rank the available armed units by estimated time of arrival at an incident."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from citywatch.errors import ScenarioError
from citywatch.geo.distance import _coordinates, haversine_m, straight_line_times
from citywatch.model.scenario import Scenario, TravelModel

__all__ = ["UNIT_STATUSES", "UnitRecommendation", "UnitState", "recommend", "scenario_units"]

FloatArray = npt.NDArray[np.float64]

UNIT_STATUSES = ("available", "committed", "off_duty")

#: ``travel(orig_lat, orig_lon, dest_lat, dest_lon) -> seconds`` of shape (orig, dest),
#: e.g. a closure over `citywatch.geo.network.network_travel_times`.
TravelFunction = Callable[[FloatArray, FloatArray, FloatArray, FloatArray], FloatArray]


@dataclass(frozen=True)
class UnitState:
    """Where an armed unit is and whether it can be sent.

    ``on_patrol`` units are already moving and crewed, so they skip the dispatch delay
    (about 0 for a unit on patrol nearby, 60-90 s for one waiting at a base). ``post``
    names the standby point a waiting unit is at, if any.
    """

    id: str
    lat: float
    lon: float
    status: str = "available"
    kind: str = "arv"
    on_patrol: bool = False
    post: str | None = None


@dataclass(frozen=True)
class UnitRecommendation:
    """One available unit, ranked by estimated time of arrival (ETA)."""

    rank: int
    unit_id: str
    kind: str
    eta_min: float
    travel_min: float
    dispatch_min: float
    distance_km: float


def recommend(incident_lat: float, incident_lon: float, unit_states: Iterable[UnitState], *,
              travel: TravelModel | None = None, inner: bool = True, speed_factor: float = 1.0,
              travel_seconds: TravelFunction | None = None, kinds: Sequence[str] | None = None,
              top: int | None = None) -> tuple[UnitRecommendation, ...]:
    """The available units ranked by ETA (the CAD "recommended unit").

    ``ETA = dispatch delay + travel``: the dispatch delay is the travel model's
    ``dispatch_delay_min`` (0 for units on patrol); travel is the straight-line model
    (great-circle distance x circuity at the inner- or outer-London blue-light speed x
    `speed_factor`), or `travel_seconds` when a road network is at hand. Ties go to
    the unit id, so the ranking is deterministic. This is advice for a controller, who
    knows things the model does not (traffic, crews' kit, the incident itself).

    Parameters
    ----------
    incident_lat, incident_lon
        The incident, degrees.
    unit_states
        Every unit; committed and off-duty ones are left out.
    travel
        Speeds and delays; default `TravelModel()`.
    inner
        Whether the incident is in inner London (sets the speed).
    speed_factor
        The time slot's speed factor.
    travel_seconds
        Travel-time function overriding the straight-line model.
    kinds
        Unit kinds to consider (default all).
    top
        Keep only the first `top`.

    Raises
    ------
    ScenarioError
        If a unit's status is unknown or ids repeat.
    TravelTimeError
        If a coordinate is invalid.
    """
    tm = TravelModel() if travel is None else travel
    units = list(unit_states)
    seen: set[str] = set()
    for u in units:
        if u.status not in UNIT_STATUSES:
            msg = (f"unit `{u.id}`: `status` must be one of {', '.join(UNIT_STATUSES)}, "
                   f"got {u.status!r}")
            raise ScenarioError(msg)
        if u.id in seen:
            msg = f"unit id `{u.id}` appears more than once"
            raise ScenarioError(msg)
        seen.add(u.id)
    if not (math.isfinite(speed_factor) and speed_factor > 0):
        msg = f"`speed_factor` must be positive, got {speed_factor!r}"
        raise ScenarioError(msg)
    ilat, ilon = _coordinates(incident_lat, incident_lon, "incident_lat", "incident_lon")
    free = [u for u in units if u.status == "available" and (kinds is None or u.kind in kinds)]
    if not free:
        return ()
    lat = np.array([u.lat for u in free])
    lon = np.array([u.lon for u in free])
    if travel_seconds is None:
        speed = (tm.inner_speed_kmh if inner else tm.outer_speed_kmh) * speed_factor
        secs = straight_line_times(lat, lon, ilat, ilon, speed_kmh=speed, circuity=tm.circuity,
                                   short_trip_circuity=tm.short_trip_circuity,
                                   short_trip_m=tm.short_trip_m)[:, 0]
    else:
        secs = np.asarray(travel_seconds(lat, lon, ilat, ilon), dtype=np.float64).reshape(-1)
    km = haversine_m(lat, lon, ilat[0], ilon[0]) / 1000.0
    delay = np.array([0.0 if u.on_patrol else tm.dispatch_delay_min for u in free])
    eta = delay + secs / 60.0
    order = sorted(range(len(free)), key=lambda k: (eta[k], free[k].id))
    if top is not None:
        order = order[:top]
    return tuple(UnitRecommendation(rank=r + 1, unit_id=free[k].id, kind=free[k].kind,
                                    eta_min=float(eta[k]), travel_min=float(secs[k] / 60.0),
                                    dispatch_min=float(delay[k]), distance_km=float(km[k]))
                 for r, k in enumerate(order))


def scenario_units(scenario: Scenario, slot: str | int = 0, *,
                   posts: Sequence[int] | None = None,
                   busy: Sequence[str] = ()) -> tuple[UnitState, ...]:
    """The slot's ARVs standing at their posts, named ``ARV01``... (ids in `busy` committed).

    `posts` gives each vehicle's standby index; by default the payoff model's greedy
    placement of the slot's ARV crews.
    """
    s = slot if isinstance(slot, int) else scenario.slot_index(slot)
    if posts is None:
        from citywatch.model.payoffs import build_game

        posts = build_game(scenario).arv_posts[s]
    units = []
    for k, j in enumerate(posts):
        p = scenario.standby[int(j)]
        uid = f"ARV{k + 1:02d}"
        units.append(UnitState(uid, p.lat, p.lon, "committed" if uid in busy else "available",
                               post=p.id))
    unknown = set(busy) - {u.id for u in units}
    if unknown:
        msg = (f"`busy` names units that do not exist: {', '.join(sorted(unknown))} "
               f"(units are ARV01..ARV{len(units):02d})")
        raise ScenarioError(msg)
    return tuple(units)


def incident_is_inner(scenario: Scenario, lat: float, lon: float) -> bool:
    """Whether the nearest zone centroid to a point is in inner London."""
    if not scenario.zones:
        return True
    d = haversine_m(lat, lon, np.array([z.lat for z in scenario.zones]),
                    np.array([z.lon for z in scenario.zones]))
    return bool(scenario.zones[int(np.argmin(d))].inner)
