"""Checks on the embedded London default tables (src/citywatch/data/london)."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import pytest

import citywatch

DATA = Path(citywatch.__file__).parent / "data" / "london"
REPO = Path(__file__).resolve().parents[2]
FOOTFALL_SCRIPT = REPO / "tools" / "london_footfall.py"
FOOTFALL_INPUT = REPO / "tools" / "london_sites_input.csv"

SLOTS = ("00-04", "04-08", "08-12", "12-16", "16-20", "20-24")
ZONE_COLUMNS = ["id", "name", "population_2021", "lat", "lon", "area_km2", "inner"]
SITE_COLUMNS = [
    "id",
    "name",
    "category",
    "lat",
    "lon",
    "zone_id",
    "symbolic_value",
    "hardening",
    "annual_entries_exits_m",
    "capacity",
] + [f"people_{slot}" for slot in SLOTS]
STANDBY_COLUMNS = ["id", "name", "kind", "lat", "lon", "zone_id", "capacity"]
CATEGORIES = {
    "station",
    "landmark",
    "shopping_street",
    "stadium",
    "arena",
    "government",
    "worship",
    "market",
    "museum",
    "entertainment",
    "park",
}
STANDBY_KINDS = {"police_station", "base", "junction"}
GREATER_LONDON_2021 = 8_799_800
LAT_RANGE = (51.28, 51.70)
LON_RANGE = (-0.52, 0.34)
# ONS statistical (census) definition of Inner London.
ONS_INNER = {
    "camden",
    "city_of_london",
    "hackney",
    "hammersmith_fulham",
    "haringey",
    "islington",
    "kensington_chelsea",
    "lambeth",
    "lewisham",
    "newham",
    "southwark",
    "tower_hamlets",
    "wandsworth",
    "westminster",
}


def _read(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def zones() -> dict[str, dict[str, str]]:
    header, rows = _read("zones.csv")
    assert header == ZONE_COLUMNS
    return {row["id"]: row for row in rows}


@pytest.fixture(scope="module")
def sites() -> list[dict[str, str]]:
    header, rows = _read("sites.csv")
    assert header == SITE_COLUMNS
    return rows


@pytest.fixture(scope="module")
def standby() -> list[dict[str, str]]:
    header, rows = _read("standby.csv")
    assert header == STANDBY_COLUMNS
    return rows


def test_sources_document_exists() -> None:
    text = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    for table in ("zones.csv", "sites.csv", "standby.csv"):
        assert table in text


def test_zone_count_and_unique_ids(zones: dict[str, dict[str, str]]) -> None:
    _, rows = _read("zones.csv")
    assert len(rows) == 33
    assert len(zones) == 33
    assert "city_of_london" in zones and "westminster" in zones


def test_population_matches_2021_census(zones: dict[str, dict[str, str]]) -> None:
    total = sum(int(z["population_2021"]) for z in zones.values())
    assert abs(total - GREATER_LONDON_2021) <= 0.005 * GREATER_LONDON_2021
    assert all(int(z["population_2021"]) > 0 for z in zones.values())
    assert 5_000 < int(zones["city_of_london"]["population_2021"]) < 12_000


def test_zone_fields(zones: dict[str, dict[str, str]]) -> None:
    area = sum(float(z["area_km2"]) for z in zones.values())
    assert 1_540 < area < 1_600  # Greater London is about 1,572 km2
    for zone in zones.values():
        assert LAT_RANGE[0] <= float(zone["lat"]) <= LAT_RANGE[1], zone["id"]
        assert LON_RANGE[0] <= float(zone["lon"]) <= LON_RANGE[1], zone["id"]
        assert float(zone["area_km2"]) > 0
        assert zone["inner"] in {"true", "false"}
    inner = {zid for zid, z in zones.items() if z["inner"] == "true"}
    assert inner == ONS_INNER


def test_site_counts_and_ids(sites: list[dict[str, str]]) -> None:
    assert len(sites) >= 150
    ids = [s["id"] for s in sites]
    assert len(ids) == len(set(ids))
    assert all(i and i == i.lower() and " " not in i for i in ids)


def test_site_zone_and_category(
    sites: list[dict[str, str]], zones: dict[str, dict[str, str]]
) -> None:
    for site in sites:
        assert site["zone_id"] in zones, site["id"]
        assert site["category"] in CATEGORIES, site["id"]
    assert len({s["zone_id"] for s in sites}) >= 25
    # every category is represented
    assert {s["category"] for s in sites} == CATEGORIES


def test_site_coordinates(sites: list[dict[str, str]], zones: dict[str, dict[str, str]]) -> None:
    for site in sites:
        lat, lon = float(site["lat"]), float(site["lon"])
        assert LAT_RANGE[0] <= lat <= LAT_RANGE[1], site["id"]
        assert LON_RANGE[0] <= lon <= LON_RANGE[1], site["id"]
        zone = zones[site["zone_id"]]
        distance = _km(lat, lon, float(zone["lat"]), float(zone["lon"]))
        assert distance <= 12.0, (site["id"], site["zone_id"], round(distance, 1))


@pytest.mark.parametrize(
    ("site_id", "lat", "lon"),
    [
        ("oxford_circus_stn", 51.5152, -0.1418),
        ("london_bridge_stn", 51.5049, -0.0863),
        ("wembley_stadium", 51.5560, -0.2796),
    ],
)
def test_reference_coordinates(
    sites: list[dict[str, str]], site_id: str, lat: float, lon: float
) -> None:
    site = next(s for s in sites if s["id"] == site_id)
    assert _km(float(site["lat"]), float(site["lon"]), lat, lon) < 0.2


def test_site_values(sites: list[dict[str, str]]) -> None:
    stations = 0
    for site in sites:
        hardening = float(site["hardening"])
        assert 0.0 <= hardening <= 1.0, site["id"]
        assert 0.0 <= float(site["symbolic_value"]) <= 20.0, site["id"]
        for slot in SLOTS:
            value = site[f"people_{slot}"]
            assert value.isdigit(), (site["id"], slot, value)  # non-negative integer
        if site["category"] == "station":
            stations += 1
            assert float(site["annual_entries_exits_m"]) > 0, site["id"]
        else:
            assert site["annual_entries_exits_m"] == "", site["id"]
        if site["category"] in {"stadium", "arena"}:
            assert int(site["capacity"]) > 0, site["id"]
        if site["capacity"]:
            assert int(site["capacity"]) > 0, site["id"]
    assert stations >= 40


def test_footfall_magnitudes(sites: list[dict[str, str]]) -> None:
    by_id = {s["id"]: s for s in sites}
    oxford = by_id["oxford_circus_stn"]
    assert 1_000 <= int(oxford["people_12-16"]) <= 10_000
    assert int(oxford["people_00-04"]) < int(oxford["people_12-16"])
    wembley = by_id["wembley_stadium"]
    assert 500 <= int(wembley["people_16-20"]) <= 10_000
    assert int(wembley["people_04-08"]) == 0
    # night life: the small hours are busier in Soho than at a museum
    assert int(by_id["soho"]["people_00-04"]) > int(by_id["british_museum"]["people_00-04"])
    for site in sites:
        night = int(site["people_00-04"])
        peak = max(int(site[f"people_{slot}"]) for slot in SLOTS)
        assert night <= peak, site["id"]
        assert peak <= 100_000, site["id"]


def test_famous_sites_present(sites: list[dict[str, str]]) -> None:
    ids = {s["id"] for s in sites}
    for required in (
        "palace_of_westminster",
        "buckingham_palace",
        "tower_of_london",
        "st_pauls_cathedral",
        "trafalgar_square",
        "westminster_abbey",
        "london_eye",
        "tower_bridge",
        "oxford_street",
        "borough_market",
        "downing_street",
        "us_embassy",
        "british_museum",
        "twickenham_stadium",
        "o2_arena",
        "royal_albert_hall",
        "excel_london",
    ):
        assert required in ids, required


def test_standby(standby: list[dict[str, str]], zones: dict[str, dict[str, str]]) -> None:
    assert len(standby) >= 40
    ids = [p["id"] for p in standby]
    assert len(ids) == len(set(ids))
    for point in standby:
        assert point["kind"] in STANDBY_KINDS, point["id"]
        assert point["zone_id"] in zones, point["id"]
        assert 1 <= int(point["capacity"]) <= 4, point["id"]
        lat, lon = float(point["lat"]), float(point["lon"])
        assert LAT_RANGE[0] <= lat <= LAT_RANGE[1], point["id"]
        assert LON_RANGE[0] <= lon <= LON_RANGE[1], point["id"]
        zone = zones[point["zone_id"]]
        assert _km(lat, lon, float(zone["lat"]), float(zone["lon"])) <= 12.0, point["id"]
    assert {p["zone_id"] for p in standby} == set(zones)


def test_footfall_script_reproduces_sites(tmp_path: Path) -> None:
    out = tmp_path / "sites.csv"
    result = subprocess.run(
        [
            sys.executable,
            str(FOOTFALL_SCRIPT),
            "--input",
            str(FOOTFALL_INPUT),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == (DATA / "sites.csv").read_bytes()


BOUNDARIES_SCRIPT = REPO / "tools" / "london_boundaries.py"
SHARED_BOUNDARIES = REPO.parent / "shared" / "data" / "london_boroughs.geojson"


def test_boundaries_are_33_polygons_with_the_credit() -> None:
    import json

    data = json.loads((DATA / "zones.geojson").read_text(encoding="utf-8"))
    ids = [f["properties"]["id"] for f in data["features"]]
    with (DATA / "zones.csv").open(encoding="utf-8") as fh:
        zone_ids = {row["id"] for row in csv.DictReader(fh)}
    assert len(ids) == 33 and set(ids) == zone_ids
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in data["features"])
    assert "Crown copyright" in data["attribution"] and "CC BY 4.0" in data["attribution"]
    assert data["attribution"].replace("\n", " ") in " ".join(
        (DATA / "SOURCES.md").read_text(encoding="utf-8").replace("> ", "").split())


def test_sites_lie_in_their_borough_and_the_rest_are_explained() -> None:
    from citywatch.data import london
    from citywatch.model.zones import share_inside, zone_mismatches

    sc = london()
    assert sum(z.polygon is not None for z in sc.zones) == 33
    assert share_inside(sc) >= 0.95
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    for m in zone_mismatches(sc):
        assert f"`{m.id}`" in sources, f"{m.table} {m.id} is outside {m.zone_id}, unexplained"
        assert m.distance_m < 250, m


def test_bounds_come_from_the_boundaries() -> None:
    from citywatch.data import london
    from citywatch.geo.polygon import multipolygon_bounds

    sc = london()
    b = sc.bounds
    want = multipolygon_bounds([z.polygon for z in sc.zones if z.polygon is not None])
    assert (b.min_lat, b.min_lon, b.max_lat, b.max_lon) == want
    assert LAT_RANGE[0] <= b.min_lat < b.max_lat <= LAT_RANGE[1]


@pytest.mark.skipif(not SHARED_BOUNDARIES.is_file(), reason="shared boundaries not here")
def test_boundary_script_reproduces_the_files(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(BOUNDARIES_SCRIPT), "--input", str(SHARED_BOUNDARIES),
                    "--output", str(tmp_path / "z.geojson"), "--basemap",
                    str(tmp_path / "b.geojson")], check=True)
    assert (tmp_path / "z.geojson").read_bytes() == (DATA / "zones.geojson").read_bytes()
    assert (tmp_path / "b.geojson").read_bytes() == (DATA / "basemap.geojson").read_bytes()
