"""The H3 demand grid: residents and people at sites, apportioned to hexagonal cells.

How people are apportioned
--------------------------
The grid holds every H3 cell (at one resolution, 8 by default: about 0.74 km² a cell
on average, about 0.66 km² in London) that a zone or a site claims.

*Residents.* Each zone's population is spread evenly over the cells it claims:

1. a zone with a polygon claims the cells whose centres fall inside the polygon
   (holes excluded), as :func:`h3.polygon_to_cells` selects them;
2. a zone without a polygon claims a hexagonal disk (:func:`h3.grid_disk`) around the
   cell containing its centroid, with the radius ``k`` whose cell count
   ``1 + 3k(k + 1)`` times the area of the centroid's cell comes closest to the
   zone's area;
3. a zone that claims no cell (a polygon smaller than a cell, say) puts all its
   residents in the cell containing its centroid.

A cell claimed by several zones (overlapping disks, say) receives its share from each.
Every zone's population is thus divided among a non-empty set of cells, so the grid's
residents add up to the zones' total, exactly up to floating-point rounding.

*People at sites.* Each site's people (footfall) go wholly to the cell containing the
site; with one column per time slot, slot by slot. The grid's footfall adds up to the
sites' total in every slot. Residents and footfall are kept apart, so that the caller
decides how to weigh people at home against people at busy places.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np
import numpy.typing as npt

from citywatch.errors import TravelTimeError
from citywatch.geo.distance import _coordinates

__all__ = [
    "MAX_DISK_CELLS",
    "DemandGrid",
    "build_demand_grid",
]

FloatArray = npt.NDArray[np.float64]

MAX_DISK_CELLS = 1_000_000
"""Largest disk a zone may claim; a zone needing more wants a coarser resolution."""


@dataclass(frozen=True, eq=False)
class DemandGrid:
    """People to protect, by H3 cell.

    Attributes
    ----------
    cells
        H3 cell indexes (strings), sorted.
    lat, lon
        Cell centres in degrees, shape (n_cells,).
    residents
        Residents apportioned to each cell, shape (n_cells,).
    footfall
        People present at sites in each cell: shape (n_cells,), or
        (n_slots, n_cells) when the sites' people were given per time slot.
    resolution
        H3 resolution of every cell.
    """

    cells: tuple[str, ...]
    lat: FloatArray
    lon: FloatArray
    residents: FloatArray
    footfall: FloatArray
    resolution: int

    def __post_init__(self) -> None:
        n = len(self.cells)
        for name in ("lat", "lon", "residents"):
            if getattr(self, name).shape != (n,):
                msg = f"`{name}` must have shape ({n},), got {getattr(self, name).shape}"
                raise TravelTimeError(msg)
        if self.footfall.ndim not in (1, 2) or self.footfall.shape[-1] != n:
            msg = f"`footfall` must have shape ({n},) or (n_slots, {n}), got {self.footfall.shape}"
            raise TravelTimeError(msg)

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return len(self.cells)


def build_demand_grid(
    *,
    zone_lat: npt.ArrayLike,
    zone_lon: npt.ArrayLike,
    zone_population: npt.ArrayLike,
    zone_area_km2: npt.ArrayLike,
    site_lat: npt.ArrayLike,
    site_lon: npt.ArrayLike,
    site_people: npt.ArrayLike,
    resolution: int = 8,
    zone_polygons: Sequence[Any] | None = None,
) -> DemandGrid:
    """Apportion zone residents and site people to H3 cells (see the module docstring).

    Parameters
    ----------
    zone_lat, zone_lon
        Zone centroids in degrees, shape (n_zones,).
    zone_population
        Residents of each zone (>= 0), shape (n_zones,).
    zone_area_km2
        Area of each zone in km² (>= 0), shape (n_zones,); sets the disk of a zone
        without a polygon.
    site_lat, site_lon
        Site coordinates in degrees, shape (n_sites,).
    site_people
        People at each site (>= 0), shape (n_sites,), or (n_slots, n_sites) for
        one row per time slot.
    resolution
        H3 resolution, 0 to 15.
    zone_polygons
        One entry per zone, or ``None`` for none: the zone's boundary as GeoJSON-like
        polygon coordinates (a list of rings of ``[lon, lat]`` points, the first the
        outer boundary and the rest holes), a GeoJSON ``Polygon``/``MultiPolygon``
        geometry or ``Feature`` mapping, or any object with ``__geo_interface__``;
        an entry of ``None`` makes that zone use its disk.

    Returns
    -------
    DemandGrid

    Raises
    ------
    TravelTimeError
        If the resolution is out of range, arrays are malformed or disagree in
        length, a coordinate is out of range, a population, area or people count
        is negative or not finite, a polygon is malformed, or a disk would exceed
        `MAX_DISK_CELLS`.
    """
    res = _resolution(resolution)
    zlat, zlon = _coordinates(zone_lat, zone_lon, "zone_lat", "zone_lon")
    n_zones = zlat.shape[0]
    population = _non_negative(zone_population, "zone_population", (n_zones,))
    area = _non_negative(zone_area_km2, "zone_area_km2", (n_zones,))
    slat, slon = _coordinates(site_lat, site_lon, "site_lat", "site_lon")
    n_sites = slat.shape[0]
    people = np.asarray(_non_negative(site_people, "site_people", None), dtype=np.float64)
    if people.ndim == 0 or people.ndim > 2 or people.shape[-1] != n_sites:
        msg = (
            f"`site_people` must have shape ({n_sites},) or (n_slots, {n_sites}), "
            f"got {people.shape}"
        )
        raise TravelTimeError(msg)
    if zone_polygons is not None and len(zone_polygons) != n_zones:
        msg = f"`zone_polygons` must have one entry per zone ({n_zones}), got {len(zone_polygons)}"
        raise TravelTimeError(msg)

    zone_cells: list[list[str]] = []
    for z in range(n_zones):
        polygon = None if zone_polygons is None else zone_polygons[z]
        if polygon is None:
            claimed = _disk_cells(float(zlat[z]), float(zlon[z]), float(area[z]), res, z)
        else:
            claimed = _polygon_cells(polygon, res, z)
        if not claimed:
            claimed = [h3.latlng_to_cell(float(zlat[z]), float(zlon[z]), res)]
        zone_cells.append(claimed)
    site_cells = [
        h3.latlng_to_cell(float(a), float(b), res) for a, b in zip(slat, slon, strict=True)
    ]

    cells = tuple(sorted({c for claimed in zone_cells for c in claimed} | set(site_cells)))
    index = {c: i for i, c in enumerate(cells)}
    residents = np.zeros(len(cells), dtype=np.float64)
    for z, claimed in enumerate(zone_cells):
        np.add.at(residents, [index[c] for c in claimed], population[z] / len(claimed))
    site_idx = np.array([index[c] for c in site_cells], dtype=np.int64)
    by_slot = people if people.ndim == 2 else people[None, :]
    footfall = np.zeros((by_slot.shape[0], len(cells)), dtype=np.float64)
    for slot in range(by_slot.shape[0]):
        np.add.at(footfall[slot], site_idx, by_slot[slot])
    footfall = footfall.reshape(*people.shape[:-1], len(cells))

    centres = np.array([h3.cell_to_latlng(c) for c in cells], dtype=np.float64).reshape(-1, 2)
    return DemandGrid(
        cells=cells,
        lat=np.ascontiguousarray(centres[:, 0]),
        lon=np.ascontiguousarray(centres[:, 1]),
        residents=residents,
        footfall=footfall,
        resolution=res,
    )


def _resolution(resolution: int) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer):
        msg = f"`resolution` must be an integer from 0 to 15, got {resolution!r}"
        raise TravelTimeError(msg)
    if not 0 <= int(resolution) <= 15:
        msg = f"`resolution` must be from 0 to 15, got {resolution!r}"
        raise TravelTimeError(msg)
    return int(resolution)


def _non_negative(values: npt.ArrayLike, name: str, shape: tuple[int, ...] | None) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        msg = f"`{name}` must be an array of numbers, got {values!r}"
        raise TravelTimeError(msg) from err
    if shape is not None and arr.shape != shape:
        msg = f"`{name}` must have shape {shape}, got {arr.shape}"
        raise TravelTimeError(msg)
    bad = np.argwhere(~(np.isfinite(arr) & (arr >= 0.0)))
    if bad.size:
        where = tuple(int(i) for i in bad[0])
        label = f"{name}[{', '.join(map(str, where))}]" if where else name
        msg = f"`{label}` must be finite and >= 0, got {float(arr[where])!r}"
        raise TravelTimeError(msg)
    return arr


def _disk_cells(lat: float, lon: float, area_km2: float, res: int, zone: int) -> list[str]:
    """The disk of cells around the centroid's cell whose area best matches the zone's."""
    centre = h3.latlng_to_cell(lat, lon, res)
    wanted = area_km2 / h3.cell_area(centre, "km^2")  # cells wanted, n = 1 + 3k(k + 1)
    k_real = (-3.0 + math.sqrt(max(12.0 * wanted - 3.0, 0.0))) / 6.0
    candidates = {max(math.floor(k_real), 0), max(math.ceil(k_real), 0)}
    k = min(candidates, key=lambda k: (abs(1 + 3 * k * (k + 1) - wanted), k))
    if 1 + 3 * k * (k + 1) > MAX_DISK_CELLS:
        msg = (
            f"zone {zone}: `zone_area_km2` = {area_km2!r} needs a disk of radius {k} at "
            f"`resolution` = {res}, more than {MAX_DISK_CELLS} cells; use a coarser resolution"
        )
        raise TravelTimeError(msg)
    return sorted(h3.grid_disk(centre, k))


def _polygon_cells(polygon: Any, res: int, zone: int) -> list[str]:
    """Cells whose centres fall inside a zone's polygon or multipolygon."""
    shape = _h3_shape(polygon, zone)
    return sorted(h3.h3shape_to_cells(shape, res))


def _h3_shape(polygon: Any, zone: int) -> h3.H3Shape:
    geometry = polygon.__geo_interface__ if hasattr(polygon, "__geo_interface__") else polygon
    if isinstance(geometry, Mapping):
        kind = geometry.get("type")
        if kind == "Feature":
            return _h3_shape(geometry.get("geometry"), zone)
        coordinates = geometry.get("coordinates")
        if kind == "Polygon":
            return _lat_lng_poly(coordinates, zone)
        if kind == "MultiPolygon" and isinstance(coordinates, Sequence):
            return h3.LatLngMultiPoly(*(_lat_lng_poly(p, zone) for p in coordinates))
        msg = f"`zone_polygons[{zone}]` must be a Polygon or MultiPolygon, got type {kind!r}"
        raise TravelTimeError(msg)
    return _lat_lng_poly(geometry, zone)


def _lat_lng_poly(rings: Any, zone: int) -> h3.LatLngPoly:
    """An H3 polygon from GeoJSON rings of ``[lon, lat]`` points."""
    name = f"zone_polygons[{zone}]"
    if isinstance(rings, str | bytes) or not isinstance(rings, Sequence) or not rings:
        msg = f"`{name}` must be a non-empty list of rings of [lon, lat] points, got {rings!r}"
        raise TravelTimeError(msg)
    loops: list[list[tuple[float, float]]] = []
    for r, ring in enumerate(rings):
        try:
            points = np.asarray(ring, dtype=np.float64)
        except (TypeError, ValueError) as err:
            msg = f"`{name}` ring {r} must be a list of [lon, lat] points"
            raise TravelTimeError(msg) from err
        if points.ndim != 2 or points.shape[1] < 2:
            msg = f"`{name}` ring {r} must be a list of [lon, lat] points, got shape {points.shape}"
            raise TravelTimeError(msg)
        lon, lat = points[:, 0], points[:, 1]
        _coordinates(lat, lon, f"{name} ring {r} lat", f"{name} ring {r} lon")
        if points.shape[0] > 1 and np.array_equal(points[0, :2], points[-1, :2]):
            lat, lon = lat[:-1], lon[:-1]  # GeoJSON closes rings; H3 does not need it
        if lat.shape[0] < 3:
            msg = f"`{name}` ring {r} needs at least 3 distinct points, got {lat.shape[0]}"
            raise TravelTimeError(msg)
        loops.append(list(zip(lat.tolist(), lon.tolist(), strict=True)))
    return h3.LatLngPoly(loops[0], *loops[1:])
