"""The scenario's demand grid for response coverage (H3 cells with residents and footfall)."""

from __future__ import annotations

import numpy as np

from citywatch.geo.h3grid import DemandGrid, build_demand_grid
from citywatch.model.scenario import Scenario

__all__ = ["demand_grid"]


def demand_grid(scenario: Scenario, *, resolution: int = 8) -> DemandGrid:
    """H3 demand grid over the scenario's zones and sites.

    Each zone's residents are spread evenly over the cells whose centres fall in the
    zone (its polygon when the scenario has one, else a disk of its area around its
    centroid); each site's people present in each slot go to the cell holding the site.
    ``footfall`` therefore has shape (slots, cells). See `citywatch.geo.h3grid`.
    """
    zones, sites = scenario.zones, scenario.sites
    polygons = None
    if any(z.polygon is not None for z in zones):
        polygons = [None if z.polygon is None else
                    {"type": "MultiPolygon", "coordinates": z.polygon} for z in zones]
    return build_demand_grid(
        zone_lat=np.array([z.lat for z in zones]),
        zone_lon=np.array([z.lon for z in zones]),
        zone_population=np.array([z.population for z in zones], dtype=np.float64),
        zone_area_km2=np.array([z.area_km2 for z in zones]),
        site_lat=np.array([s.lat for s in sites]),
        site_lon=np.array([s.lon for s in sites]),
        site_people=scenario.people().T,
        resolution=resolution,
        zone_polygons=polygons,
    )
