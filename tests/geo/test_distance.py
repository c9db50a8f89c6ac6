"""Tests for great-circle distances and straight-line travel times."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.errors import TravelTimeError
from citywatch.geo.distance import EARTH_RADIUS_M, haversine_m, straight_line_times

CHARING_CROSS = (51.5073, -0.1276)


def test_one_degree_of_latitude_is_an_arc_of_the_earth_radius() -> None:
    d = haversine_m(51.0, -0.1, 52.0, -0.1)
    assert d == pytest.approx(EARTH_RADIUS_M * math.pi / 180.0, rel=1e-12)


def test_london_to_paris_is_about_344_km() -> None:
    assert haversine_m(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343_900, rel=2e-3)


def test_haversine_broadcasts_to_a_matrix() -> None:
    lat = np.array([51.50, 51.51, 51.52])
    lon = np.array([-0.10, -0.12])
    d = haversine_m(lat[:, None], -0.1, 51.5, lon[None, :])
    assert d.shape == (3, 2)
    assert d[0, 0] == 0.0
    assert np.all(d >= 0.0)


def test_haversine_is_symmetric_across_the_antimeridian() -> None:
    d1 = haversine_m(0.0, 179.9, 0.0, -179.9)
    d2 = haversine_m(0.0, -179.9, 0.0, 179.9)
    assert d1 == pytest.approx(d2)
    assert d1 == pytest.approx(EARTH_RADIUS_M * math.radians(0.2), rel=1e-9)


def _north_of(lat: float, metres: float) -> float:
    return lat + math.degrees(metres / EARTH_RADIUS_M)


@pytest.mark.parametrize(
    ("metres", "road_m"),
    [
        (0.0, 0.0),
        (1000.0, 1400.0),  # short trip: 1.4
        (2100.0, 2800.0),  # just over 2 km: floored at 1.4 x 2 km, never below a shorter trip
        (3000.0, 3900.0),  # long trip: 1.3
    ],
)
def test_road_distance_uses_circuity(metres: float, road_m: float) -> None:
    lat, lon = CHARING_CROSS
    t = straight_line_times([lat], [lon], [_north_of(lat, metres)], [lon], speed_kmh=36.0)
    assert t.shape == (1, 1)
    assert t[0, 0] == pytest.approx(road_m / 10.0, rel=1e-9, abs=1e-9)  # 36 km/h = 10 m/s


def test_one_speed_per_destination() -> None:
    lat, lon = CHARING_CROSS
    dest_lat = [_north_of(lat, 3000.0), _north_of(lat, 3000.0)]
    t = straight_line_times([lat, lat], [lon, lon], dest_lat, [lon, lon], speed_kmh=[25.0, 40.0])
    assert t.shape == (2, 2)
    assert t[0, 0] / t[0, 1] == pytest.approx(40.0 / 25.0)
    np.testing.assert_allclose(t[0], t[1])


@settings(max_examples=100, deadline=None)
@given(
    a=st.floats(min_value=0.0, max_value=30_000.0),
    b=st.floats(min_value=0.0, max_value=30_000.0),
)
def test_times_never_decrease_with_distance(a: float, b: float) -> None:
    near, far = sorted((a, b))
    lat, lon = CHARING_CROSS
    t = straight_line_times(
        [lat], [lon], [_north_of(lat, near), _north_of(lat, far)], [lon, lon], speed_kmh=25.0
    )
    assert t[0, 0] <= t[0, 1] + 1e-9


def test_empty_inputs_give_an_empty_matrix() -> None:
    t = straight_line_times([], [], [51.5], [-0.1], speed_kmh=25.0)
    assert t.shape == (0, 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"orig_lat": [91.0]}, r"`orig_lat\[0\]` must be in \[-90, 90\], got 91.0"),
        ({"orig_lat": [float("nan")]}, r"`orig_lat\[0\]`"),
        ({"dest_lon": [-181.0]}, r"`dest_lon\[0\]` must be in \[-180, 180\], got -181.0"),
        ({"dest_lon": [0.0, 1.0]}, r"`dest_lat` and `dest_lon` must have the same length"),
        ({"orig_lat": [[51.5]]}, r"`orig_lat` must be 1-D"),
        ({"speed_kmh": 0.0}, r"`speed_kmh` must be positive and finite, got 0.0"),
        ({"speed_kmh": [25.0, -1.0]}, r"`speed_kmh` must be a scalar or have shape \(1,\)"),
        ({"speed_kmh": [float("inf")]}, r"`speed_kmh` must be positive and finite, got inf"),
        ({"circuity": 0.9}, r"`circuity` must be a finite number >= 1, got 0.9"),
        ({"short_trip_circuity": 0.5}, r"`short_trip_circuity` must be a finite number >= 1"),
        ({"short_trip_m": -1.0}, r"`short_trip_m` must be a finite number >= 0, got -1.0"),
    ],
)
def test_invalid_inputs_name_the_argument(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "orig_lat": [51.5],
        "orig_lon": [-0.1],
        "dest_lat": [51.6],
        "dest_lon": [-0.2],
        "speed_kmh": 25.0,
    }
    args.update(kwargs)
    with pytest.raises(TravelTimeError, match=match):
        straight_line_times(
            args.pop("orig_lat"),  # type: ignore[arg-type]
            args.pop("orig_lon"),  # type: ignore[arg-type]
            args.pop("dest_lat"),  # type: ignore[arg-type]
            args.pop("dest_lon"),  # type: ignore[arg-type]
            **args,  # type: ignore[arg-type]
        )
