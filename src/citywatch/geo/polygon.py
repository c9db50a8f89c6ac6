"""Points in polygons and distances to them, in numpy (no GEOS needed).

Polygons are GeoJSON coordinates: a Polygon is a sequence of rings of ``(lon, lat)``
points, the first the outer boundary and the rest holes; a MultiPolygon is a sequence of
Polygons. A point is inside a MultiPolygon when it is inside one of its polygons' outer
rings and inside none of that polygon's holes (the even-odd crossing rule, Shimrat's
algorithm 112). Points exactly on an edge may fall either way, as in any crossing test;
shapely is not used so that the core works without the ``geo`` extra.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from citywatch.geo.distance import EARTH_RADIUS_M

__all__ = ["MultiPolygon", "distance_to_multipolygon_m", "points_in_multipolygon",
           "multipolygon_bounds"]

Ring = Sequence[tuple[float, float]]
Polygon = Sequence[Ring]
MultiPolygon = Sequence[Polygon]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _in_ring(x: FloatArray, y: FloatArray, ring: Ring) -> BoolArray:
    """Crossing-number test of points (x, y) against one closed or open ring."""
    r = np.asarray(ring, dtype=np.float64)[:, :2]
    x0, y0 = r[:, 0], r[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    px, py = x[:, None], y[:, None]
    straddles = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    crosses = straddles & (px < x_cross)
    return np.asarray(crosses.sum(axis=1) % 2 == 1)


def points_in_multipolygon(lon: npt.ArrayLike, lat: npt.ArrayLike,
                           multipolygon: MultiPolygon) -> BoolArray:
    """Whether each point lies inside `multipolygon` (holes excluded).

    Parameters
    ----------
    lon, lat
        Point coordinates in degrees, equal shapes.
    multipolygon
        GeoJSON MultiPolygon coordinates (polygons of rings of ``(lon, lat)``).
    """
    x = np.atleast_1d(np.asarray(lon, dtype=np.float64)).ravel()
    y = np.atleast_1d(np.asarray(lat, dtype=np.float64)).ravel()
    inside = np.zeros(x.shape, dtype=bool)
    for polygon in multipolygon:
        if not polygon:
            continue
        here = _in_ring(x, y, polygon[0])
        for hole in polygon[1:]:
            here &= ~_in_ring(x, y, hole)
        inside |= here
    return inside


def distance_to_multipolygon_m(lon: float, lat: float, multipolygon: MultiPolygon) -> float:
    """Metres from a point to the nearest edge of `multipolygon` (0 when inside).

    Uses a local equirectangular projection around the point, accurate to well under
    1% at the scale of a city.
    """
    if points_in_multipolygon([lon], [lat], multipolygon)[0]:
        return 0.0
    k = np.cos(np.radians(lat))
    best = np.inf
    for polygon in multipolygon:
        for ring in polygon:
            r = np.asarray(ring, dtype=np.float64)[:, :2]
            ax = (r[:, 0] - lon) * k
            ay = r[:, 1] - lat
            bx, by = np.roll(ax, -1), np.roll(ay, -1)
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.clip(np.where(length2 > 0, -(ax * dx + ay * dy) / length2, 0.0), 0, 1)
            d2 = (ax + t * dx) ** 2 + (ay + t * dy) ** 2
            best = min(best, float(d2.min()))
    return float(np.radians(np.sqrt(best)) * EARTH_RADIUS_M)


def multipolygon_bounds(multipolygons: Sequence[MultiPolygon]
                        ) -> tuple[float, float, float, float]:
    """``(min_lat, min_lon, max_lat, max_lon)`` of every point of `multipolygons`."""
    pts = np.concatenate([np.asarray(ring, dtype=np.float64)[:, :2]
                          for mp in multipolygons for poly in mp for ring in poly])
    return (float(pts[:, 1].min()), float(pts[:, 0].min()), float(pts[:, 1].max()),
            float(pts[:, 0].max()))
