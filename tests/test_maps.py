"""Map layers of a plan: zone figures, response cells, the plan's zones.geojson."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from citywatch.geo.distance import straight_line_times
from citywatch.maps import map_data, response_cells, scenario_map_data, zone_figures
from citywatch.model.io import load_scenario
from citywatch.model.payoffs import expected_response_minutes
from citywatch.plan import Plan, make_plan, write_plan

ZONES = (("central", -0.11, 51.51), ("south", -0.20, 51.45), ("east", 0.02, 51.55))


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    from _scenarios import write_tiny

    folder = write_tiny(Path(tmp_path_factory.mktemp("tiny")) / "tiny")
    feats = [{"type": "Feature", "properties": {"id": zid, "name": zid.title()},
              "geometry": {"type": "Polygon", "coordinates": [[
                  [lon - 0.03, lat - 0.03], [lon + 0.03, lat - 0.03],
                  [lon + 0.03, lat + 0.03], [lon - 0.03, lat + 0.03],
                  [lon - 0.03, lat - 0.03]]]}} for zid, lon, lat in ZONES]
    (folder / "zones.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "attribution": "Test (CC0)", "features": feats}))
    return make_plan(load_scenario(folder), attacker="mixture", arv="greedy")


def test_cells_reverify_minutes_from_the_posts(plan: Plan) -> None:
    sc = plan.scenario
    cells = response_cells(plan)
    assert cells.minutes.shape == (2, len(cells.cells)) == cells.people.shape
    tm = sc.travel
    assert cells.minutes.min() >= tm.dispatch_delay_min + tm.engage_min
    # one cell by hand: straight-line minutes from every post, nearest available answers
    i = int(np.argmax(cells.people[1]))
    zone = sc.zones[int(cells.zone[i])]
    speed = (tm.inner_speed_kmh if zone.inner else tm.outer_speed_kmh) * tm.slot_speed_factor[1]
    posts = plan.built.arv_posts[1]
    t = straight_line_times(np.array([sc.standby[j].lat for j in posts]),
                            np.array([sc.standby[j].lon for j in posts]),
                            cells.lat[i:i + 1], cells.lon[i:i + 1], speed_kmh=speed,
                            circuity=tm.circuity, short_trip_circuity=tm.short_trip_circuity,
                            short_trip_m=tm.short_trip_m) / 60
    want = tm.dispatch_delay_min + tm.engage_min + expected_response_minutes(
        t, list(range(len(posts))), busy_probability=tm.arv_busy_probability)[0]
    assert cells.minutes[1, i] == pytest.approx(want, rel=1e-9)
    assert len(cells.boundaries[i]) == 7  # a hexagon, closed


def test_zone_figures_add_up(plan: Plan) -> None:
    sc = plan.scenario
    figures = zone_figures(plan)
    assert set(figures) == {z.id for z in sc.zones}
    ns = plan.built.n_sites
    for s, slot in enumerate(sc.slot_names):
        total = sum(f[f"patrols_{slot}"] for f in figures.values())
        assert total == pytest.approx(plan.coverage[s * ns:(s + 1) * ns].sum(), abs=1e-3)
        assert sum(f[f"arv_posts_{slot}"] for f in figures.values()) == \
            len(plan.built.arv_posts[s])
        for f in figures.values():
            assert f[f"coverage_{slot}"] is None or 0 <= f[f"coverage_{slot}"] <= 1
            if f[f"response_min_{slot}"] is not None:
                assert f[f"response_min_{slot}"] <= f[f"worst_response_min_{slot}"] + 1e-9
    central = sc.site_ids.index("alpha"), sc.site_ids.index("bravo"), sc.site_ids.index("delta")
    people = sc.people()[list(central), 0]
    cov = plan.coverage[list(central)]
    assert figures["central"]["coverage_day"] == pytest.approx(cov @ people / people.sum(),
                                                               abs=1e-4)


def test_write_plan_writes_zones_geojson(plan: Plan, tmp_path: Path) -> None:
    written = write_plan(plan, tmp_path)
    assert tmp_path / "zones.geojson" in written
    data = json.loads((tmp_path / "zones.geojson").read_text())
    assert [f["properties"]["id"] for f in data["features"]] == ["central", "south", "east"]
    assert data["attribution"] == "Test (CC0)"
    props = data["features"][0]["properties"]
    assert {"name", "coverage_day", "response_min_night", "patrols_day"} <= set(props)


def test_map_data_is_json_with_every_layer(plan: Plan) -> None:
    data = json.loads(json.dumps(map_data(plan)))
    assert data["slots"] == ["day", "night"]
    assert len(data["zones"]["features"]) == 3
    assert len(data["posts"]) == 2 and all(p["vehicles"] >= 1 for p in data["posts"][0])
    assert len(data["cells"]["rings"]) == len(data["cells"]["minutes"][0])
    assert all(len(s["coverage"]) == 2 for s in data["sites"])
    bare = scenario_map_data(plan.scenario)
    assert bare["cells"] is None and bare["posts"] is None and len(bare["sites"]) == 5
