"""Map layers of a plan: zone boundaries with their figures, response cells, posts and sites.

The dashboard and the HTML report draw the same layers with the same symbology
(``web/static/citymap.js``); ``plan --out`` writes the zone layer as ``zones.geojson``.

Minutes from call to armed help at a place are those of the payoff model: the dispatch
delay, plus the expected travel of the nearest *available* ARV from the slot's posts (each
busy with the scenario's probability; `citywatch.model.payoffs.expected_response_minutes`),
plus the minute to engage. Cells are the scenario's H3 demand grid; a zone's response
figure is the mean over its cells weighted by the people in them (residents plus the
people at sites in the slot).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from citywatch.geo.polygon import points_in_multipolygon
from citywatch.model.io import zones_feature_collection
from citywatch.model.payoffs import expected_response_minutes

if TYPE_CHECKING:
    from citywatch.model.scenario import Scenario
    from citywatch.plan import Plan

__all__ = ["ResponseCells", "map_data", "response_cells", "scenario_map_data", "zone_figures",
           "zones_geojson"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ResponseCells:
    """Minutes from call to armed help in each H3 cell, slot by slot.

    Attributes
    ----------
    cells
        H3 cell ids.
    lat, lon
        Cell centres.
    zone
        Index of the zone holding each cell's centre (the nearest zone centroid for a
        cell in no zone's polygon, e.g. on the river).
    minutes
        Shape (slots, cells): dispatch + expected travel of the nearest available ARV +
        engage.
    people
        Shape (slots, cells): residents plus people at sites in the slot.
    """

    cells: tuple[str, ...]
    lat: FloatArray
    lon: FloatArray
    zone: IntArray
    minutes: FloatArray
    people: FloatArray

    @cached_property
    def boundaries(self) -> list[list[list[float]]]:
        """Each cell's hexagon as a closed ring of ``[lon, lat]`` (5 decimals, ~1 m)."""
        import h3

        out = []
        for c in self.cells:
            ring = [[round(lng, 5), round(lat, 5)] for lat, lng in h3.cell_to_boundary(c)]
            out.append([*ring, ring[0]])
        return out


def response_cells(plan: Plan, *, resolution: int = 8) -> ResponseCells:
    """Minutes from call to armed help over the scenario's demand grid, from the plan's posts."""
    from citywatch.response._problem import CoverageProblem

    sc = plan.scenario
    tm = sc.travel
    minutes, people = [], []
    lat = lon = np.empty(0)
    cells: tuple[str, ...] = ()
    for s in range(len(sc.slots)):
        prob = CoverageProblem.from_scenario(sc, s, demand="grid", resolution=resolution)
        assert prob.demand_lat is not None and prob.demand_lon is not None
        lat, lon, cells = prob.demand_lat, prob.demand_lon, prob.demand_ids
        travel = expected_response_minutes(prob.minutes.T, list(plan.built.arv_posts[s]),
                                           busy_probability=tm.arv_busy_probability)
        minutes.append(tm.dispatch_delay_min + travel + tm.engage_min)
        people.append(prob.weights)
    return ResponseCells(cells, lat, lon, _cell_zones(plan, lat, lon), np.array(minutes),
                         np.array(people))


def _cell_zones(plan: Plan, lat: FloatArray, lon: FloatArray) -> IntArray:
    zones = plan.scenario.zones
    zone = np.full(lat.shape, -1, dtype=np.int64)
    for j, z in enumerate(zones):
        if z.polygon is not None:
            zone[(zone < 0) & points_in_multipolygon(lon, lat, z.polygon)] = j
    rest = np.flatnonzero(zone < 0)
    if rest.size:
        zlat = np.array([z.lat for z in zones])
        zlon = np.array([z.lon for z in zones])
        k = np.cos(np.radians(lat[rest]))[:, None]
        d2 = (lat[rest, None] - zlat) ** 2 + ((lon[rest, None] - zlon) * k) ** 2
        zone[rest] = np.argmin(d2, axis=1)
    return zone


def zone_figures(plan: Plan, cells: ResponseCells | None = None
                 ) -> dict[str, dict[str, Any]]:
    """Each zone's coverage and response figures, slot by slot, keyed by zone id.

    Per slot: ``people_<slot>`` at the zone's sites; ``patrols_<slot>``, the expected
    armed patrol teams at them (the sum of their coverage); ``coverage_<slot>``, the share
    of those people at a site with a patrol present (people-weighted coverage);
    ``response_min_<slot>`` and ``worst_response_min_<slot>``, the people-weighted mean
    and the largest minutes from call to armed help over the zone's cells; and
    ``arv_posts_<slot>``, the ARVs waiting in the zone.
    """
    sc = plan.scenario
    cells = response_cells(plan) if cells is None else cells
    ns = plan.built.n_sites
    people = sc.people()
    zone_of = {z.id: j for j, z in enumerate(sc.zones)}
    site_zone = np.array([zone_of[s.zone_id] for s in sc.sites])
    post_zone = [zone_of[p.zone_id] for p in sc.standby]
    out: dict[str, dict[str, Any]] = {}
    for j, z in enumerate(sc.zones):
        props: dict[str, Any] = {"population": z.population, "inner": z.inner,
                                 "sites": int((site_zone == j).sum())}
        mine = site_zone == j
        in_zone = cells.zone == j
        for s, slot in enumerate(sc.slot_names):
            cov = plan.coverage[s * ns:(s + 1) * ns]
            p = people[mine, s]
            props[f"people_{slot}"] = round(float(p.sum()), 1)
            props[f"patrols_{slot}"] = round(float(cov[mine].sum()), 4)
            props[f"coverage_{slot}"] = (round(float(cov[mine] @ p / p.sum()), 4)
                                         if p.sum() > 0 else None)
            w = cells.people[s, in_zone]
            m = cells.minutes[s, in_zone]
            props[f"response_min_{slot}"] = (round(float(m @ w / w.sum()), 2) if w.sum() > 0
                                             else None)
            props[f"worst_response_min_{slot}"] = round(float(m.max()), 2) if m.size else None
            props[f"arv_posts_{slot}"] = sum(post_zone[k] == j
                                             for k in plan.built.arv_posts[s])
        out[z.id] = props
    return out


def zones_geojson(plan: Plan, cells: ResponseCells | None = None) -> dict[str, Any]:
    """The zones as a GeoJSON FeatureCollection with `zone_figures` as properties."""
    return zones_feature_collection(plan.scenario, zone_figures(plan, cells))


def scenario_map_data(scenario: Scenario, *, title: str = "") -> dict[str, Any]:
    """What ``citymap.js`` draws for a scenario before any plan: boundaries, basemap, sites.

    Keys: ``title``, ``attribution``, ``bounds`` (``[[south, west], [north, east]]``),
    ``slots``, ``zones`` (GeoJSON), ``basemap`` (GeoJSON or ``None``), ``sites`` (id, name,
    category, lat, lon, zone, ``people`` per slot), and ``posts`` and ``cells`` as
    ``None``.
    """
    sc = scenario
    people = sc.people()
    zone_names = {z.id: z.name for z in sc.zones}
    b = sc.bounds
    return {
        "title": title or sc.name,
        "attribution": sc.boundary_attribution,
        "bounds": [[b.min_lat, b.min_lon], [b.max_lat, b.max_lon]],
        "slots": list(sc.slot_names),
        "zones": zones_feature_collection(sc, {z.id: {"population": z.population,
                                                      "inner": z.inner} for z in sc.zones}),
        "basemap": json.loads(sc.basemap) if sc.basemap else None,
        "sites": [{"id": s.id, "name": s.name, "category": s.category, "lat": s.lat,
                   "lon": s.lon, "zone": zone_names.get(s.zone_id, s.zone_id),
                   "people": [round(float(x), 1) for x in people[i]]}
                  for i, s in enumerate(sc.sites)],
        "posts": None,
        "cells": None,
    }


def map_data(plan: Plan, *, title: str = "") -> dict[str, Any]:
    """Everything ``citymap.js`` draws for a plan, JSON-ready.

    The keys of `scenario_map_data`, with ``zones`` carrying `zone_figures`, each site
    its ``coverage`` and ``response`` minutes per slot, ``posts`` (per slot: the standby
    points holding ARVs, with their ``vehicles``) and ``cells`` (hexagon ``rings`` and per
    slot ``minutes`` from call to armed help).
    """
    sc = plan.scenario
    out = scenario_map_data(sc, title=title or f"{sc.name} plan")
    cells = response_cells(plan)
    ns = plan.built.n_sites
    for i, site in enumerate(out["sites"]):
        site["coverage"] = [round(float(plan.coverage[k * ns + i]), 4)
                            for k in range(len(sc.slots))]
        site["response"] = [round(float(plan.built.response_minutes[k, i]), 2)
                            for k in range(len(sc.slots))]
    posts = []
    for s in range(len(sc.slots)):
        counts: dict[int, int] = {}
        for j in plan.built.arv_posts[s]:
            counts[j] = counts.get(j, 0) + 1
        posts.append([{"id": sc.standby[j].id, "name": sc.standby[j].name,
                       "kind": sc.standby[j].kind, "lat": sc.standby[j].lat,
                       "lon": sc.standby[j].lon, "vehicles": n}
                      for j, n in sorted(counts.items())])
    out["zones"] = zones_geojson(plan, cells)
    out["posts"] = posts
    out["cells"] = {"rings": cells.boundaries, "minutes": np.round(cells.minutes, 1).tolist()}
    return out
