"""`citywatch basemap build` on pyrosm's bundled test extract, and the maps that draw it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pyrosm = pytest.importorskip("pyrosm")
pytest.importorskip("shapely")

from _cli import assert_clean_error, run  # noqa: E402

from citywatch.errors import CityWatchError  # noqa: E402
from citywatch.geo.basemap import MAJOR_ROADS, OSM_ATTRIBUTION, build_basemap  # noqa: E402

TEST_PBF = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"


@pytest.fixture(scope="module")
def basemap() -> dict[str, object]:
    return build_basemap(TEST_PBF)


def test_keeps_only_major_roads_simplified_and_rounded(basemap: dict) -> None:
    feats = basemap["features"]
    assert basemap["attribution"] == OSM_ATTRIBUTION
    assert feats and all(f["properties"]["layer"] == "road" for f in feats)
    assert {f["properties"]["highway"] for f in feats} <= set(MAJOR_ROADS)
    # the test extract has 171 drivable ways, most residential: only the major ones stay
    osm = pyrosm.OSM(str(TEST_PBF))
    net = osm.get_network(network_type="driving")
    assert len(feats) == int(net.highway.isin(MAJOR_ROADS).sum())
    for f in feats:
        coords = f["geometry"]["coordinates"]
        flat = coords if f["geometry"]["type"] == "LineString" else [p for c in coords for p in c]
        assert all(round(x, 5) == x and round(y, 5) == y for x, y in flat)
        xmin, ymin, xmax, ymax = net.total_bounds
        assert all(xmin - 1e-4 <= x <= xmax + 1e-4 and ymin - 1e-4 <= y <= ymax + 1e-4
                   for x, y in flat)
    unsimplified = build_basemap(TEST_PBF, simplify_m=0)
    count = lambda b: sum(len(f["geometry"]["coordinates"]) for f in b["features"])  # noqa: E731
    assert count(basemap) <= count(unsimplified)


def test_a_scenario_folder_draws_its_basemap(basemap: dict, tmp_path: Path) -> None:
    from _scenarios import write_tiny

    from citywatch.maps import scenario_map_data
    from citywatch.model.io import load_scenario

    folder = write_tiny(tmp_path / "tiny")
    (folder / "basemap.geojson").write_text(json.dumps(basemap))
    data = scenario_map_data(load_scenario(folder))
    assert data["basemap"]["features"] == basemap["features"]


def test_cli_builds_and_fails_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "basemap.geojson"
    proc = run("basemap", "build", str(TEST_PBF), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "road features" in proc.stdout
    assert json.loads(out.read_text())["features"]
    bad = tmp_path / "bad.osm.pbf"
    bad.write_text("not a pbf")
    assert_clean_error(run("basemap", "build", str(bad), "--out", str(out)), "bad.osm.pbf")
    assert_clean_error(run("basemap", "build", str(tmp_path / "none.pbf")), "is not a file")


def test_missing_file_is_an_error() -> None:
    with pytest.raises(CityWatchError, match="is not a file"):
        build_basemap("/nonexistent.osm.pbf")
