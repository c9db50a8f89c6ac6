"""Whether sites and standby points lie inside their own zone's boundary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citywatch.geo.polygon import distance_to_multipolygon_m, points_in_multipolygon
from citywatch.model.scenario import Scenario

__all__ = ["ZoneMismatch", "share_inside", "zone_mismatches"]


@dataclass(frozen=True)
class ZoneMismatch:
    """A site or standby point outside its own zone's polygon.

    Attributes
    ----------
    table
        ``"sites"`` or ``"standby"``.
    id, name, zone_id
        The point and the zone it is assigned to.
    found_in
        The zone whose polygon holds the point, or ``None`` (in no zone: on the river,
        say, where boundaries clipped to the bank leave a gap).
    distance_m
        Metres from the point to its own zone's boundary.
    """

    table: str
    id: str
    name: str
    zone_id: str
    found_in: str | None
    distance_m: float


def zone_mismatches(scenario: Scenario) -> list[ZoneMismatch]:
    """Sites and standby points that lie outside their zone's polygon.

    Zones without a polygon are not checked. Empty when every point is inside.
    """
    polygons = {z.id: z.polygon for z in scenario.zones if z.polygon is not None}
    if not polygons:
        return []
    out = []
    for table, points in (("sites", scenario.sites), ("standby", scenario.standby)):
        lon = np.array([p.lon for p in points])
        lat = np.array([p.lat for p in points])
        inside = {zid: points_in_multipolygon(lon, lat, poly) for zid, poly in polygons.items()}
        for i, p in enumerate(points):
            own = polygons.get(p.zone_id)
            if own is None or inside[p.zone_id][i]:
                continue
            found = next((zid for zid, mask in inside.items() if mask[i]), None)
            out.append(ZoneMismatch(table, p.id, p.name, p.zone_id, found,
                                    distance_to_multipolygon_m(p.lon, p.lat, own)))
    return out


def share_inside(scenario: Scenario) -> float:
    """Share of the sites (in zones with a polygon) that lie inside their zone's polygon."""
    checked = [s for s in scenario.sites
               if any(z.id == s.zone_id and z.polygon is not None for z in scenario.zones)]
    if not checked:
        return 1.0
    outside = sum(m.table == "sites" for m in zone_mismatches(scenario))
    return 1.0 - outside / len(checked)
