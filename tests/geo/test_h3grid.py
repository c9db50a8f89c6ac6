"""Tests for the H3 demand grid."""

from __future__ import annotations

from typing import Any

import h3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon, shape

from citywatch.errors import TravelTimeError
from citywatch.geo.h3grid import DemandGrid, build_demand_grid

# a box around Westminster with a hole over St James's Park, GeoJSON order [lon, lat]
BOX = [[-0.16, 51.49], [-0.11, 51.49], [-0.11, 51.52], [-0.16, 51.52], [-0.16, 51.49]]
HOLE = [[-0.14, 51.50], [-0.13, 51.50], [-0.13, 51.505], [-0.14, 51.505], [-0.14, 51.50]]

lats = st.floats(min_value=51.30, max_value=51.70)
lons = st.floats(min_value=-0.50, max_value=0.30)
counts = st.floats(min_value=0.0, max_value=1e6)


def _grid(**kwargs: Any) -> DemandGrid:
    args: dict[str, Any] = {
        "zone_lat": [51.5],
        "zone_lon": [-0.12],
        "zone_population": [1000.0],
        "zone_area_km2": [3.0],
        "site_lat": [],
        "site_lon": [],
        "site_people": [],
    }
    args.update(kwargs)
    return build_demand_grid(**args)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n_zones = draw(st.integers(min_value=0, max_value=6))
    n_sites = draw(st.integers(min_value=0, max_value=6))
    n_slots = draw(st.sampled_from([None, 1, 3]))
    people_shape = (n_sites,) if n_slots is None else (n_slots, n_sites)
    people = draw(
        st.lists(counts, min_size=int(np.prod(people_shape)), max_size=int(np.prod(people_shape)))
    )
    return {
        "zone_lat": draw(st.lists(lats, min_size=n_zones, max_size=n_zones)),
        "zone_lon": draw(st.lists(lons, min_size=n_zones, max_size=n_zones)),
        "zone_population": draw(st.lists(counts, min_size=n_zones, max_size=n_zones)),
        "zone_area_km2": draw(
            st.lists(st.floats(min_value=0.0, max_value=40.0), min_size=n_zones, max_size=n_zones)
        ),
        "site_lat": draw(st.lists(lats, min_size=n_sites, max_size=n_sites)),
        "site_lon": draw(st.lists(lons, min_size=n_sites, max_size=n_sites)),
        "site_people": np.array(people, dtype=np.float64).reshape(people_shape),
        "resolution": draw(st.sampled_from([6, 7, 8])),
    }


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios())
def test_residents_and_footfall_are_conserved(scenario: dict[str, Any]) -> None:
    grid = build_demand_grid(**scenario)
    total = float(np.sum(scenario["zone_population"]))
    assert grid.residents.sum() == pytest.approx(total, rel=1e-6, abs=1e-6)
    people = scenario["site_people"]
    assert grid.footfall.shape == (*people.shape[:-1], grid.n_cells)
    np.testing.assert_allclose(
        grid.footfall.sum(axis=-1), people.sum(axis=-1), rtol=1e-6, atol=1e-6
    )
    assert np.all(grid.residents >= 0.0) and np.all(grid.footfall >= 0.0)
    assert list(grid.cells) == sorted(set(grid.cells))
    assert all(h3.is_valid_cell(c) for c in grid.cells)
    assert all(h3.get_resolution(c) == grid.resolution for c in grid.cells)
    for c, la, lo in zip(grid.cells, grid.lat, grid.lon, strict=True):
        assert (la, lo) == pytest.approx(h3.cell_to_latlng(c))


def test_sites_land_in_their_containing_cell() -> None:
    site_lat = [51.5033, 51.5308, 51.5033]  # Westminster, King's Cross, Westminster again
    site_lon = [-0.1196, -0.1238, -0.1196]
    people = np.array([[100.0, 50.0, 10.0], [0.0, 5.0, 1.0]])
    grid = _grid(site_lat=site_lat, site_lon=site_lon, site_people=people)
    index = {c: i for i, c in enumerate(grid.cells)}
    west = index[h3.latlng_to_cell(51.5033, -0.1196, 8)]
    kings = index[h3.latlng_to_cell(51.5308, -0.1238, 8)]
    np.testing.assert_array_equal(grid.footfall[:, west], [110.0, 1.0])
    np.testing.assert_array_equal(grid.footfall[:, kings], [50.0, 5.0])
    assert grid.footfall.sum() == people.sum()


def test_one_dimensional_site_people_give_one_dimensional_footfall() -> None:
    grid = _grid(site_lat=[51.5], site_lon=[-0.12], site_people=[7.0])
    assert grid.footfall.shape == (grid.n_cells,)
    assert grid.footfall.sum() == 7.0


@pytest.mark.parametrize("as_mapping", [False, True])
def test_a_polygon_zone_only_gets_cells_inside_it(as_mapping: bool) -> None:
    rings = [BOX, HOLE]
    polygon: Any = {"type": "Polygon", "coordinates": rings} if as_mapping else rings
    grid = _grid(zone_lat=[51.505], zone_lon=[-0.135], zone_polygons=[polygon])
    region = Polygon(BOX, [HOLE])
    assert grid.n_cells > 5
    for la, lo in zip(grid.lat, grid.lon, strict=True):
        assert region.contains(Point(lo, la))
    hole = Polygon(HOLE)
    assert not any(hole.contains(Point(lo, la)) for la, lo in zip(grid.lat, grid.lon, strict=True))
    np.testing.assert_allclose(grid.residents, 1000.0 / grid.n_cells)


def test_shapely_and_multipolygon_zones_are_accepted() -> None:
    other = [[-0.05, 51.49], [-0.02, 51.49], [-0.02, 51.51], [-0.05, 51.51]]
    multi = {"type": "MultiPolygon", "coordinates": [[BOX], [other]]}
    grid = _grid(zone_polygons=[shape(multi)])
    region = shape(multi)
    assert all(region.contains(Point(lo, la)) for la, lo in zip(grid.lat, grid.lon, strict=True))
    assert (grid.lon > -0.05).any() and (grid.lon < -0.11).any()
    assert grid.residents.sum() == pytest.approx(1000.0)


def test_a_zone_too_small_for_any_cell_goes_to_its_centroid_cell() -> None:
    tiny = [[[-0.12, 51.5], [-0.11999, 51.5], [-0.11999, 51.50001], [-0.12, 51.50001]]]
    grid = _grid(zone_lat=[51.500005], zone_lon=[-0.119995], zone_polygons=[tiny])
    assert grid.cells == (h3.latlng_to_cell(51.500005, -0.119995, 8),)
    assert grid.residents[0] == 1000.0


def test_a_cell_claimed_by_several_zones_takes_residents_from_each() -> None:
    grid = _grid(
        zone_lat=[51.5, 51.5],
        zone_lon=[-0.12, -0.12],
        zone_population=[100.0, 300.0],
        zone_area_km2=[0.0, 0.0],
        zone_polygons=None,
    )
    assert grid.n_cells == 1
    assert grid.residents[0] == 400.0


def test_a_zone_without_polygon_gets_a_disk_of_about_its_area() -> None:
    grid = _grid(zone_area_km2=[20.0], zone_polygons=[None])
    area = sum(h3.cell_area(c, "km^2") for c in grid.cells)
    assert grid.n_cells == 1 + 3 * 3 * 4  # k = 3
    assert area == pytest.approx(20.0, rel=0.25)
    centre = h3.latlng_to_cell(51.5, -0.12, 8)
    assert set(grid.cells) == set(h3.grid_disk(centre, 3))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resolution": 16}, r"`resolution` must be from 0 to 15, got 16"),
        ({"resolution": -1}, r"`resolution` must be from 0 to 15, got -1"),
        ({"resolution": True}, r"`resolution` must be an integer"),
        ({"resolution": 8.0}, r"`resolution` must be an integer"),
        ({"zone_population": [-1.0]}, r"`zone_population\[0\]` must be finite and >= 0, got -1.0"),
        ({"zone_population": [1.0, 2.0]}, r"`zone_population` must have shape \(1,\)"),
        ({"zone_area_km2": [float("nan")]}, r"`zone_area_km2\[0\]` must be finite and >= 0"),
        ({"zone_lat": [95.0]}, r"`zone_lat\[0\]` must be in \[-90, 90\]"),
        (
            {"site_lat": [51.5], "site_lon": [0.0], "site_people": [[1.0, 2.0]]},
            r"`site_people` must have shape \(1,\) or \(n_slots, 1\)",
        ),
        (
            {"site_lat": [51.5], "site_lon": [0.0], "site_people": [-3.0]},
            r"`site_people\[0\]` must be finite and >= 0, got -3.0",
        ),
        ({"zone_polygons": []}, r"`zone_polygons` must have one entry per zone \(1\), got 0"),
        ({"zone_polygons": [[[[0.0, 51.0], [0.1, 51.0]]]]}, r"ring 0 needs at least 3"),
        ({"zone_polygons": [{"type": "Point"}]}, r"must be a Polygon or MultiPolygon"),
        ({"zone_polygons": ["nonsense"]}, r"`zone_polygons\[0\]` must be a non-empty list"),
        ({"zone_area_km2": [1e6]}, r"more than 1000000 cells; use a coarser resolution"),
    ],
)
def test_invalid_inputs_name_the_argument(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(TravelTimeError, match=match):
        _grid(**kwargs)
