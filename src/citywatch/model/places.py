"""Name points on the map as a planner would: the zone they lie in and the nearest site."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from citywatch.geo.distance import haversine_m
from citywatch.geo.polygon import points_in_multipolygon
from citywatch.model.scenario import Scenario

__all__ = ["Place", "place_of", "zone_of_points"]


@dataclass(frozen=True)
class Place:
    """Where a point is: its zone, and the nearest site with its distance in metres."""

    zone_id: str
    zone_name: str
    site_id: str | None
    site_name: str | None
    site_m: float

    def __str__(self) -> str:
        if self.site_name is None:
            return self.zone_name
        return f"{self.site_name} area, {self.zone_name} ({self.site_m / 1000:.1f} km)"


def zone_of_points(scenario: Scenario, lat: npt.ArrayLike, lon: npt.ArrayLike
                   ) -> npt.NDArray[np.int64]:
    """Index of the zone holding each point: its polygon, else the nearest zone centroid."""
    la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    zone = np.full(la.shape, -1, dtype=np.int64)
    for j, z in enumerate(scenario.zones):
        if z.polygon is not None:
            zone[(zone < 0) & points_in_multipolygon(lo, la, z.polygon)] = j
    rest = np.flatnonzero(zone < 0)
    if rest.size and scenario.zones:
        zlat = np.array([z.lat for z in scenario.zones])
        zlon = np.array([z.lon for z in scenario.zones])
        d = haversine_m(la[rest, None], lo[rest, None], zlat[None, :], zlon[None, :])
        zone[rest] = np.argmin(d, axis=1)
    return zone


def place_of(scenario: Scenario, lat: npt.ArrayLike, lon: npt.ArrayLike) -> list[Place]:
    """Each point's zone and nearest site."""
    la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    zones = zone_of_points(scenario, la, lo)
    slat = np.array([s.lat for s in scenario.sites])
    slon = np.array([s.lon for s in scenario.sites])
    out = []
    d = (haversine_m(la[:, None], lo[:, None], slat[None, :], slon[None, :]) if slat.size
         else np.empty((la.size, 0)))
    for i in range(la.size):
        z = scenario.zones[int(zones[i])]
        if d.shape[1]:
            k = int(np.argmin(d[i]))
            s = scenario.sites[k]
            out.append(Place(z.id, z.name, s.id, s.name, float(d[i, k])))
        else:
            out.append(Place(z.id, z.name, None, None, float("nan")))
    return out
