"""Points in polygons (numpy crossing test) against shapely, distances to boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from citywatch.geo.polygon import (
    distance_to_multipolygon_m,
    multipolygon_bounds,
    points_in_multipolygon,
)

SQUARE = [[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0)],
          [(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0), (1.0, 1.0)]]  # with a hole
TRIANGLE = [[(10.0, 0.0), (14.0, 0.0), (12.0, 3.0), (10.0, 0.0)]]
MULTI = [SQUARE, TRIANGLE]


def test_holes_and_parts() -> None:
    lon = [0.5, 1.5, 3.0, 12.0, 13.0, 7.0, -1.0]
    lat = [0.5, 1.5, 3.0, 1.0, 2.9, 1.0, 2.0]
    got = points_in_multipolygon(lon, lat, MULTI)
    assert got.tolist() == [True, False, True, True, False, False, False]


def test_agrees_with_shapely_on_random_points() -> None:
    shapely = pytest.importorskip("shapely")
    from shapely.geometry import MultiPolygon, Point

    rng = np.random.default_rng(7)
    shape = MultiPolygon([(p[0], p[1:]) for p in MULTI])
    lon = rng.uniform(-1, 15, 2_000)
    lat = rng.uniform(-1, 5, 2_000)
    got = points_in_multipolygon(lon, lat, MULTI)
    want = np.array([shape.contains(Point(x, y)) for x, y in zip(lon, lat, strict=True)])
    assert shapely is not None
    assert (got == want).all()


def test_distance_to_the_boundary() -> None:
    # a 0.01-degree square at 51.5 N; a point 0.001 degrees of latitude south of it
    ring = [(0.0, 51.5), (0.01, 51.5), (0.01, 51.51), (0.0, 51.51), (0.0, 51.5)]
    d = distance_to_multipolygon_m(0.005, 51.499, [[ring]])
    assert d == pytest.approx(111.2, rel=0.01)
    assert distance_to_multipolygon_m(0.005, 51.505, [[ring]]) == 0.0


def test_bounds() -> None:
    assert multipolygon_bounds([MULTI]) == (0.0, 0.0, 4.0, 14.0)
