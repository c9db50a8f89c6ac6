"""The scenario: every fact a plan depends on, as frozen, validated objects."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from citywatch.errors import ScenarioError
from citywatch.model.force import Force
from citywatch.model.protection import ProtectionPost
from citywatch.model.slots import TimeSlot
from citywatch.model.standards import ResponseStandard
from citywatch.model.threat import PostureTable, ThreatLevel, default_postures

__all__ = [
    "SITE_CATEGORIES",
    "AttackerType",
    "Bounds",
    "MultiPolygonCoords",
    "PayoffParameters",
    "Scenario",
    "Site",
    "StandbyPoint",
    "TimeSlot",
    "TravelModel",
    "Zone",
]

SITE_CATEGORIES = (
    "station", "landmark", "shopping_street", "stadium", "arena", "government",
    "worship", "market", "museum", "entertainment", "park", "other",
)
STANDBY_KINDS = ("police_station", "base", "junction", "other")

#: GeoJSON MultiPolygon coordinates: polygons, each a tuple of rings (the first the outer
#: boundary, the rest holes), each ring a tuple of ``(lon, lat)`` points.
MultiPolygonCoords = tuple[tuple[tuple[tuple[float, float], ...], ...], ...]


@dataclass(frozen=True)
class Site:
    """A crowded place or symbolic target.

    ``people`` holds the expected number of people present at one time, on average,
    in each slot (same order as ``Scenario.slots``).
    """

    id: str
    name: str
    category: str
    lat: float
    lon: float
    zone_id: str
    people: tuple[float, ...]
    symbolic_value: float = 0.0
    hardening: float = 0.0
    annual_entries_exits_m: float | None = None
    capacity: int | None = None


@dataclass(frozen=True)
class Zone:
    """A borough or district, with its residents and centroid (and boundary if known).

    ``polygon`` is the zone's boundary as GeoJSON MultiPolygon coordinates, or ``None``
    when the scenario gives only centroids and areas.
    """

    id: str
    name: str
    population: int
    lat: float
    lon: float
    area_km2: float
    inner: bool = False
    polygon: MultiPolygonCoords | None = None


@dataclass(frozen=True)
class StandbyPoint:
    """A candidate place where armed response vehicles wait."""

    id: str
    name: str
    kind: str
    lat: float
    lon: float
    zone_id: str
    capacity: int = 2


@dataclass(frozen=True)
class AttackerType:
    """A kind of attack, with its prior and casualty model.

    Casualties (killed and injured) of an attack stopped by armed officers after ``T``
    minutes, with ``P`` people in its reach (the people present, at most ``max_reach``,
    and ``targets`` when the attack is aimed at them; `citywatch.model.casualties`)::

        K = min(people_cap · P, (P / reference_people)^crowd_exponent
                                · (initial_casualties + casualties_per_minute · T))
            · (1 − hardening_effect · site.hardening)

    ``crowd_exponent = 0`` gives the older crowd-blind curve. ``kind`` is the attack
    type (``"bladed"``, ``"vehicle+bladed"``) the calibrated defaults came from (empty
    for a curve set by hand). ``interdiction`` is the probability that an armed team
    already on site stops the attack before it causes harm (spotting hostile
    reconnaissance, confronting the attacker at once); ``capture_penalty`` is what
    being stopped costs the attacker.
    """

    id: str
    name: str
    prior: float
    initial_casualties: float
    casualties_per_minute: float
    people_cap: float
    interdiction: float
    capture_penalty: float
    hardening_effect: float
    description: str = ""
    kind: str = ""
    crowd_exponent: float = 0.0
    reference_people: float = 1000.0
    targets: float | None = None
    max_reach: float | None = None


@dataclass(frozen=True)
class TravelModel:
    """Straight-line travel times for response vehicles, used when no road network is loaded.

    Road distance = great-circle distance × ``circuity`` (``short_trip_circuity`` under
    ``short_trip_m``); speed = ``inner_speed_kmh`` or ``outer_speed_kmh`` by the
    destination's zone, times the slot's factor in ``slot_speed_factor``.
    Time to armed intervention after a call = ``dispatch_delay_min`` + travel +
    ``engage_min``; the responding vehicle is the nearest *available* one, each vehicle
    being busy with another call with probability ``arv_busy_probability``.
    """

    circuity: float = 1.3
    short_trip_circuity: float = 1.4
    short_trip_m: float = 2000.0
    inner_speed_kmh: float = 25.0
    outer_speed_kmh: float = 37.5
    slot_speed_factor: tuple[float, ...] = ()
    dispatch_delay_min: float = 1.5
    engage_min: float = 1.0
    arv_busy_probability: float = 0.3


@dataclass(frozen=True)
class PayoffParameters:
    """Parameters of the payoff model that are not attacker-specific."""

    on_site_intervention_min: float = 1.0
    symbolic_weight: float = 1.0


@dataclass(frozen=True)
class Bounds:
    """The scenario's bounding box; every coordinate must fall inside."""

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        """Whether a point lies inside the box (edges included)."""
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


@dataclass(frozen=True)
class Scenario:
    """Everything a plan depends on; build with `load_scenario` or `citywatch.data.london`.

    ``boundary_attribution`` is the credit the zone boundaries' licence requires on every
    map drawn from them (empty when the scenario has none); ``basemap`` is the GeoJSON
    text of the background the maps draw (roads, water, boundaries; see
    `citywatch.geo.basemap`), or empty.
    """

    name: str
    version: str
    timezone: str
    bounds: Bounds
    slots: tuple[TimeSlot, ...]
    sites: tuple[Site, ...]
    zones: tuple[Zone, ...]
    standby: tuple[StandbyPoint, ...]
    attackers: tuple[AttackerType, ...]
    force: Force
    threat_level: ThreatLevel = ThreatLevel.SEVERE
    postures: PostureTable = field(default_factory=default_postures)
    travel: TravelModel = field(default_factory=TravelModel)
    payoffs: PayoffParameters = field(default_factory=PayoffParameters)
    #: Response standards every plan's ARV placement must meet (``[response]`` in
    #: scenario.toml; London ships ``15m@100%``); ``()`` for none.
    response_standards: tuple[ResponseStandard, ...] = ()
    #: Armed officers permanently at sites (`citywatch.model.protection`).
    protection: tuple[ProtectionPost, ...] = ()
    boundary_attribution: str = ""
    basemap: str = field(default="", repr=False)

    @property
    def slot_names(self) -> tuple[str, ...]:
        """Names of the time slots in order."""
        return tuple(s.name for s in self.slots)

    @property
    def site_ids(self) -> tuple[str, ...]:
        """Ids of the sites in order."""
        return tuple(s.id for s in self.sites)

    def site(self, site_id: str) -> Site:
        """The site with id `site_id`."""
        for s in self.sites:
            if s.id == site_id:
                return s
        close = [s.id for s in self.sites if site_id.lower() in s.id or site_id.lower()
                 in s.name.lower()][:5]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        msg = f"`site` {site_id!r} is not in scenario {self.name!r}{hint}"
        raise ScenarioError(msg)

    def slot_index(self, slot: str) -> int:
        """Position of the slot named `slot`."""
        try:
            return self.slot_names.index(slot)
        except ValueError:
            msg = f"`slot` must be one of {', '.join(self.slot_names)}, got {slot!r}"
            raise ScenarioError(msg) from None

    def zone(self, zone_id: str) -> Zone:
        """The zone with id `zone_id`."""
        for z in self.zones:
            if z.id == zone_id:
                return z
        msg = f"`zone` {zone_id!r} is not in scenario {self.name!r}"
        raise ScenarioError(msg)

    def people(self) -> npt.NDArray[np.float64]:
        """People present at each site in each slot, shape (sites, slots)."""
        return np.array([s.people for s in self.sites], dtype=np.float64).reshape(
            len(self.sites), len(self.slots))

    def priors(self) -> npt.NDArray[np.float64]:
        """Prior probability of each attacker type.

        The threat level's posture replaces the attackers' own priors when its file
        gives priors for this level (attacker ids it leaves out get 0).
        """
        posture = self.postures[self.threat_level]
        if posture.priors:
            table = dict(posture.priors)
            unknown = sorted(set(table) - {a.id for a in self.attackers})
            if unknown:
                msg = (f"threat level {self.threat_level.name}: priors name attacker types "
                       f"not in the scenario: {', '.join(unknown)}")
                raise ScenarioError(msg)
            return np.array([table.get(a.id, 0.0) for a in self.attackers], dtype=np.float64)
        return np.array([a.prior for a in self.attackers], dtype=np.float64)

    def with_threat(self, level: ThreatLevel | str) -> Scenario:
        """The same scenario at another threat level."""
        return dataclasses.replace(self, threat_level=ThreatLevel.parse(level))

    def with_force(self, **changes: Any) -> Scenario:
        """The same scenario with force fields changed (``officers=3400``)."""
        return dataclasses.replace(self, force=dataclasses.replace(self.force, **changes))
