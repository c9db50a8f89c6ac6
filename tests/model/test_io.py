"""Loading, validating and writing scenario folders."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citywatch.errors import ScenarioError
from citywatch.model.io import load_scenario, save_scenario
from _scenarios import SITES, STANDBY, TINY_TOML, ZONES, write_tiny


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    return [str(p) for p in info.value.problems]


def test_tiny_loads(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir)
    assert sc.name == "Tiny"
    assert sc.slot_names == ("day", "night")
    assert [s.id for s in sc.sites] == ["alpha", "bravo", "charlie", "delta", "echo"]
    assert sc.site("charlie").people == (2000.0, 2500.0)
    assert sc.zone("central").inner is True
    assert sc.travel.slot_speed_factor == (0.9, 1.2)
    assert sc.priors().sum() == pytest.approx(1.0)


def test_round_trip(tiny_dir: Path, tmp_path: Path) -> None:
    sc = load_scenario(tiny_dir)
    again = load_scenario(save_scenario(sc, tmp_path / "copy"))
    assert again == sc


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="holds no scenario.toml"):
        load_scenario(tmp_path / "nope")


def test_missing_table(tiny_dir: Path) -> None:
    (tiny_dir / "standby.csv").unlink()
    assert any("standby.csv" in p and "existing CSV file" in p for p in problems_of(tiny_dir))


def test_wrong_type(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "s", sites_csv=SITES.replace("51.50,-0.12", "north,-0.12"))
    found = problems_of(folder)
    assert any("sites.csv row 2" in p and "`lat`" in p and "'north'" in p for p in found)


def test_coordinates_outside_bounds(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "s", standby_csv=STANDBY.replace("51.54,0.0", "52.54,0.0"))
    found = problems_of(folder)
    assert any("standby.csv row 4" in p and "inside the scenario bounds" in p for p in found)


def test_negative_footfall(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "s", sites_csv=SITES.replace("1500,50", "-1500,50"))
    found = problems_of(folder)
    assert any("row 3" in p and "people_day" in p and ">= 0" in p for p in found)


def test_unknown_slot_name(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "s", sites_csv=SITES.replace("people_night", "people_evening"))
    found = problems_of(folder)
    assert any("people_evening" in p and "a slot name" in p for p in found)
    assert any("people_night" in p and "column of people" in p for p in found)


def test_priors_must_sum_to_one(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "s", scenario_toml=TINY_TOML.replace("prior = 0.6",
                                                                        "prior = 0.5"))
    found = problems_of(folder)
    assert any("attackers.prior" in p and "sum to 0.9" in p for p in found)


def test_more_teams_than_officers(tmp_path: Path) -> None:
    toml = TINY_TOML.replace('start = "08:00"\nhours = 12',
                             'start = "08:00"\nhours = 12\npatrol_teams = 80')
    found = problems_of(write_tiny(tmp_path / "s", scenario_toml=toml))
    assert any("slots.day.patrol_teams" in p and "need 160" in p for p in found)
    toml = TINY_TOML.replace("committed_officers = 50", "committed_officers = 500")
    found = problems_of(write_tiny(tmp_path / "t", scenario_toml=toml))
    assert any("force.committed_officers" in p for p in found)


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    sites = SITES.replace("1500,50", "-1500,50").replace(",market,", ",bazaar,")
    zones = ZONES.replace("200000", "lots")
    folder = write_tiny(tmp_path / "s", sites_csv=sites, zones_csv=zones,
                        scenario_toml=TINY_TOML.replace("prior = 0.6", "prior = 0.7"))
    found = problems_of(folder)
    assert any("people_day" in p for p in found)
    assert any("category" in p and "bazaar" in p for p in found)
    assert any("population_2021" in p and "lots" in p for p in found)
    assert any("attackers.prior" in p for p in found)


def test_unknown_zone_and_duplicate_id(tmp_path: Path) -> None:
    sites = SITES.replace(",east,", ",west,") + "alpha,Again,station,51.5,-0.1,central,1,0,1,1\n"
    found = problems_of(write_tiny(tmp_path / "s", sites_csv=sites))
    assert any("zone_id" in p and "'west'" in p for p in found)
    assert any("`id` = 'alpha'" in p and "unique" in p for p in found)


def test_bad_toml_field(tmp_path: Path) -> None:
    toml = TINY_TOML.replace('timezone = "Europe/London"', 'timezone = "Mars/Olympus"')
    found = problems_of(write_tiny(tmp_path / "s", scenario_toml=toml))
    assert any("timezone" in p for p in found)
    toml = TINY_TOML.replace('threat_level = "SEVERE"', 'threat_level = "PURPLE"')
    found = problems_of(write_tiny(tmp_path / "t", scenario_toml=toml))
    assert any("threat_level" in p and "PURPLE" in p for p in found)


def test_zones_geojson(tiny_dir: Path) -> None:
    import json

    ring = [[-0.15, 51.49], [-0.07, 51.49], [-0.07, 51.53], [-0.15, 51.53], [-0.15, 51.49]]
    feats = []
    for zid, lon, lat in (("central", -0.11, 51.51), ("south", -0.20, 51.45),
                          ("east", 0.02, 51.55)):
        r = [[x - (-0.11) + lon, y - 51.51 + lat] for x, y in ring]
        feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [r]},
                      "properties": {"id": zid, "name": zid.title(), "population_2021": 1000,
                                     "area_km2": 25}})
    (tiny_dir / "zones.geojson").write_text(json.dumps({"type": "FeatureCollection",
                                                        "features": feats}))
    toml = (tiny_dir / "scenario.toml").read_text().replace(
        "[bounds]", '[tables]\nzones = "zones.geojson"\n\n[bounds]')
    (tiny_dir / "scenario.toml").write_text(toml)
    sc = load_scenario(tiny_dir)
    central = sc.zone("central")
    assert central.polygon is not None
    assert central.lat == pytest.approx(51.51, abs=1e-9)
    assert central.lon == pytest.approx(-0.11, abs=1e-9)


_text = st.text(alphabet=string.ascii_letters + string.digits + " ,.\"'-_", max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_text, lat=st.floats(allow_nan=True, allow_infinity=True),
       people=st.one_of(st.floats(allow_nan=True), _text))
def test_site_rows_never_crash(tmp_path_factory: pytest.TempPathFactory, name: str, lat: float,
                               people: object) -> None:
    """Any value in a site row either loads or gives ScenarioError, never another exception."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "name", "category", "lat", "lon", "zone_id", "symbolic_value",
                "hardening", "people_day", "people_night"])
    w.writerow(["x", name, "station", lat, -0.1, "central", 1, 0.1, people, 1])
    folder = write_tiny(tmp_path_factory.mktemp("h"), sites_csv=buf.getvalue())
    try:
        sc = load_scenario(folder)
    except ScenarioError as err:
        assert err.problems
    else:
        site = sc.sites[0]
        assert site.name == name and 51.4 <= site.lat <= 51.6
        assert site.people[0] >= 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=5,
                       max_size=5),
       hardening=st.floats(min_value=0, max_value=1))
def test_save_load_round_trip_property(tmp_path_factory: pytest.TempPathFactory,
                                       people: list[float], hardening: float) -> None:
    import dataclasses

    folder = write_tiny(tmp_path_factory.mktemp("r"))
    sc = load_scenario(folder)
    sites = tuple(dataclasses.replace(s, people=(p, p / 2), hardening=hardening)
                  for s, p in zip(sc.sites, people, strict=True))
    sc = dataclasses.replace(sc, sites=sites)
    assert load_scenario(save_scenario(sc, tmp_path_factory.mktemp("o"))) == sc


def _boundaries(tiny_dir: Path, *, drop: str | None = None, **extra: object) -> Path:
    """Square boundaries around the tiny zones, as ``zones.geojson`` beside zones.csv."""
    import json

    feats = []
    for zid, lon, lat in (("central", -0.11, 51.51), ("south", -0.20, 51.45),
                          ("east", 0.02, 51.55)):
        if zid == drop:
            continue
        ring = [[lon - 0.03, lat - 0.03], [lon + 0.03, lat - 0.03], [lon + 0.03, lat + 0.03],
                [lon - 0.03, lat + 0.03], [lon - 0.03, lat - 0.03]]
        feats.append({"type": "Feature", "properties": {"id": zid, "name": zid.title()},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    data = {"type": "FeatureCollection", "attribution": "Test boundaries (CC0)",
            "features": feats, **extra}
    (tiny_dir / "zones.geojson").write_text(json.dumps(data))
    return tiny_dir


def test_boundaries_beside_zones_csv(tiny_dir: Path, tmp_path: Path) -> None:
    sc = load_scenario(_boundaries(tiny_dir))
    central = sc.zone("central")
    assert central.polygon is not None and len(central.polygon) == 1
    assert central.lat == 51.51  # the CSV's centroid is kept
    assert sc.boundary_attribution == "Test boundaries (CC0)"
    again = load_scenario(save_scenario(sc, tmp_path / "copy"))
    assert again == sc
    assert (tmp_path / "copy" / "zones.geojson").is_file()


def test_bounds_come_from_the_polygons(tiny_dir: Path) -> None:
    _boundaries(tiny_dir)
    toml = (tiny_dir / "scenario.toml").read_text()
    start = toml.index("[bounds]")
    end = toml.index("[[slots]]")
    (tiny_dir / "scenario.toml").write_text(toml[:start] + toml[end:])
    sc = load_scenario(tiny_dir)
    assert (sc.bounds.min_lat, sc.bounds.min_lon, sc.bounds.max_lat, sc.bounds.max_lon) == \
        pytest.approx((51.42, -0.23, 51.58, 0.05))


def test_no_bounds_and_no_polygons_names_the_field(tiny_dir: Path) -> None:
    toml = (tiny_dir / "scenario.toml").read_text()
    start = toml.index("[bounds]")
    end = toml.index("[[slots]]")
    (tiny_dir / "scenario.toml").write_text(toml[:start] + toml[end:])
    found = problems_of(tiny_dir)
    assert any("bounds" in p and "zone polygons" in p for p in found), found


@pytest.mark.parametrize(("change", "needle"), [
    ({"drop": "east"}, "a feature for every zone"),
    ({"features": [{"type": "Feature", "properties": {"name": "x"},
                    "geometry": {"type": "Polygon", "coordinates": [[[0, 51.5], [0.1, 51.5],
                                                                     [0.1, 51.6], [0, 51.5]]]}}]},
     "properties.id"),
    ({"features": [{"type": "Feature", "properties": {"id": "nowhere"},
                    "geometry": {"type": "Polygon", "coordinates": [[[0, 51.5], [0.1, 51.5],
                                                                     [0.1, 51.6], [0, 51.5]]]}}]},
     "'nowhere'"),
    ({"features": [{"type": "Feature", "properties": {"id": "east"},
                    "geometry": {"type": "Point", "coordinates": [0, 51.5]}}]},
     "geometry.type"),
    ({"features": [{"type": "Feature", "properties": {"id": "east"},
                    "geometry": {"type": "Polygon", "coordinates": [[[0, 51.5], [0.1, 51.5]]]}}]},
     "geometry.coordinates[0]"),
    ({"features": [{"type": "Feature", "properties": {"id": "east"},
                    "geometry": {"type": "Polygon", "coordinates": [[[0, 51.5], ["x", 51.5],
                                                                     [0.1, 51.6], [0, 51.5]]]}}]},
     "[lon, lat] number pairs"),
    ({"attribution": 7}, "attribution"),
])
def test_boundary_errors_name_the_field(tiny_dir: Path, change: dict[str, object],
                                        needle: str) -> None:
    drop = change.pop("drop", None)
    found = problems_of(_boundaries(tiny_dir, drop=drop, **change))  # type: ignore[arg-type]
    assert any("zones.geojson" in p and needle in p for p in found), found


def test_basemap_is_loaded_checked_and_exported(tiny_dir: Path, tmp_path: Path) -> None:
    import json

    lines = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"layer": "water"},
         "geometry": {"type": "LineString", "coordinates": [[-0.2, 51.5], [0.0, 51.5]]}}]}
    (tiny_dir / "basemap.geojson").write_text(json.dumps(lines))
    sc = load_scenario(tiny_dir)
    assert json.loads(sc.basemap) == lines
    assert load_scenario(save_scenario(sc, tmp_path / "copy")) == sc
    lines["features"][0]["properties"]["layer"] = "lava"  # type: ignore[index]
    (tiny_dir / "basemap.geojson").write_text(json.dumps(lines))
    assert any("properties.layer" in p and "lava" in p for p in problems_of(tiny_dir))
