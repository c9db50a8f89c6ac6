"""Exports parse back with independent readers into the same roster."""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import date, datetime
from pathlib import Path

import icalendar
import numpy as np
import pytest
import shapely.geometry

from citywatch.errors import GameError, RosterError
from citywatch.model.scenario import Scenario
from citywatch.schedule.export import (
    COVERAGE_COLUMNS,
    MARKING,
    ROSTER_COLUMNS,
    export_roster,
)
from citywatch.schedule.missions import Roster
from citywatch.schedule.roster import make_roster
from citywatch.schedule.teams import WorkingTimeRules

COVERAGE = np.array([[0.9, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0],
                     [0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def roster(small: Scenario) -> Roster:
    return make_roster(small, COVERAGE, days=4, start=date(2026, 3, 27), seed=8, budgets=[3, 3])


@pytest.fixture(scope="module")
def exported(roster: Roster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    export_roster(roster, out)
    return out


def test_csv_round_trip(roster: Roster, exported: Path) -> None:
    with (exported / "roster.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == ROSTER_COLUMNS
        rows = list(reader)
    missions = list(roster.missions())
    assert len(rows) == len(missions)
    for row, m in zip(rows, missions, strict=True):
        assert row["mission_id"] == m.mission_id and row["team"] == m.team
        start = datetime.fromisoformat(row["start"])
        assert start.utcoffset() is not None and start == m.start
        assert datetime.fromisoformat(row["end"]) == m.end
        assert (row["slot"], row["site_id"], row["site_name"], row["tactic"]) == (
            m.slot, m.site_id, m.site_name, m.tactic)
        assert float(row["lat"]) == pytest.approx(m.lat) and float(row["lon"]) == pytest.approx(
            m.lon)
        assert float(row["dwell_minutes"]) == pytest.approx(m.dwell_minutes)
    # the clock change on 29 March shows in the offsets
    offsets = {datetime.fromisoformat(r["start"]).utcoffset().total_seconds() for r in rows}
    assert offsets == {0.0, 3600.0}


def test_coverage_csv(roster: Roster, exported: Path) -> None:
    with (exported / "coverage.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == COVERAGE_COLUMNS
        rows = list(reader)
    assert len(rows) == 16
    sc = roster.scenario
    realised = roster.mission_visits().mean(axis=0)
    for r in rows:
        i, s = sc.site_ids.index(r["site_id"]), sc.slot_index(r["slot"])
        assert float(r["target_coverage"]) == pytest.approx(COVERAGE[s, i], abs=1e-6)
        assert float(r["realised_coverage"]) == pytest.approx(realised[s, i], abs=1e-6)


def test_geojson_round_trip(roster: Roster, exported: Path) -> None:
    doc = json.loads((exported / "beats.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and doc["marking"] == MARKING
    sites = {s.id: s for s in roster.scenario.sites}
    seen = set()
    for f in doc["features"]:
        geom = shapely.geometry.shape(f["geometry"])
        assert geom.is_valid
        p = f["properties"]
        first = sites[p["site_ids"][0]]
        assert geom.coords[0] == pytest.approx((first.lon, first.lat))
        seen.update(p["missions"])
        d = (date.fromisoformat(p["date"]) - roster.start).days
        k = [t.name for t in roster.teams].index(p["team"])
        s = roster.scenario.slot_index(p["slot"])
        assert roster.beats[roster.assignment[d, s, k]].id == p["beat_id"]
    assert seen == {m.mission_id for m in roster.missions()}


def test_ics_round_trip(roster: Roster, exported: Path) -> None:
    files = sorted((exported / "ics").glob("*.ics"))
    assert len(files) == len(roster.teams)
    by_uid = {f"{m.mission_id}@citywatch": m for m in roster.missions()}
    found = 0
    for path in files:
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        assert str(cal["version"]) == "2.0" and cal.walk("VTIMEZONE")
        for ev in cal.walk("VEVENT"):
            m = by_uid[str(ev["uid"])]
            assert path.stem == m.team
            assert ev.decoded("dtstart") == m.start and ev.decoded("dtend") == m.end
            assert ev["geo"].latitude == pytest.approx(m.lat)
            assert MARKING in str(ev["description"])
            found += 1
    assert found == len(by_uid)


def test_briefings_are_marked(roster: Roster, exported: Path) -> None:
    pages = sorted((exported / "briefings").glob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert text.count(MARKING) >= 2
        assert text.index(MARKING) < text.index("<h1>")
        assert text.rstrip().endswith("</html>")
    names_on_pages = "".join(p.read_text() for p in pages)
    assert all(m.mission_id in names_on_pages for m in roster.missions())
    # every mission is listed once (issue 14: day shifts listed each mission twice)
    assert all(names_on_pages.count(f"<td>{m.mission_id}</td>") == 1
               for m in roster.missions())


def test_rule_breaking_roster_is_not_published(roster: Roster, tmp_path: Path) -> None:
    bad = dataclasses.replace(roster, rules=WorkingTimeRules(max_shift_hours=8))
    with pytest.raises(RosterError, match="max|more than"):
        export_roster(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unknown_format(roster: Roster, tmp_path: Path) -> None:
    with pytest.raises(GameError, match="pdf"):
        export_roster(roster, tmp_path, formats=["csv", "pdf"])


def test_only_requested_formats(roster: Roster, tmp_path: Path) -> None:
    written = export_roster(roster, tmp_path, formats=["csv"])
    assert {p.name for p in written} == {"roster.csv", "coverage.csv", "predictability.csv"}
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
