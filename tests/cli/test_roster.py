"""``citywatch roster``, run as a user runs it."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
from _cli import run as cli_run
from _schedule_scenarios import write_small


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_run("roster", *args)


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small(tmp_path_factory.mktemp("small") / "s")


def test_roster_writes_every_format(small_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("--scenario", str(small_dir), "--days", "3", "--seed", "4", "--out", str(out),
               "--start", "2026-03-28", "--format", "csv,geojson,ics,html")
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    with (out / "coverage.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) == {"site_id", "slot", "target_coverage", "realised_coverage"}
    assert len(rows) == 16
    with (out / "roster.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert {"mission_id", "team", "start", "end", "slot", "site_id", "site_name", "lat",
                "lon", "dwell_minutes", "tactic"} <= set(reader.fieldnames or ())
        assert list(reader)
    assert json.loads((out / "beats.geojson").read_text())["features"]
    assert list((out / "ics").glob("*.ics")) and list((out / "briefings").glob("*.html"))


def test_seed_reproduces_roster(small_dir: Path, tmp_path: Path) -> None:
    texts = []
    for name in ("a", "b"):
        proc = run("--scenario", str(small_dir), "--days", "2", "--seed", "11", "--out",
                   str(tmp_path / name), "--start", "2026-06-01", "--format", "csv",
                   "--attacker", "mixture")
        assert proc.returncode == 0, proc.stderr
        texts.append((tmp_path / name / "roster.csv").read_text())
    assert texts[0] == texts[1]
    assert not (tmp_path / "a" / "ics").exists()


def test_override_warning_and_bad_input(small_dir: Path, tmp_path: Path) -> None:
    proc = run("--scenario", str(small_dir), "--days", "2", "--seed", "1", "--out",
               str(tmp_path / "o"), "--start", "2026-06-01", "--format", "csv",
               "--forbid", "abbey:0", "--attacker", "mixture")
    assert proc.returncode == 0, proc.stderr
    assert "warning" in proc.stdout and "forbid abbey" in proc.stdout
    bad = run("--scenario", str(small_dir), "--days", "2", "--out", str(tmp_path / "x"),
              "--forbid", "nowhere:0", "--attacker", "mixture")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "nowhere" in bad.stderr
    fmt = run("--scenario", str(small_dir), "--days", "1", "--out", str(tmp_path / "y"),
              "--format", "pdf", "--attacker", "mixture")
    assert fmt.returncode == 2 and "pdf" in fmt.stderr


def test_roster_from_saved_plan_and_beats(small_dir: Path, tmp_path: Path) -> None:
    plan_dir = tmp_path / "plan"
    made = cli_run("plan", "--scenario", str(small_dir), "--attacker", "mixture", "--out",
                   str(plan_dir))
    assert made.returncode == 0, made.stderr
    proc = run("--scenario", str(small_dir), "--plan", str(plan_dir / "plan.json"), "--days",
               "2", "--seed", "5", "--out", str(tmp_path / "a"), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((plan_dir / "plan.json").read_text())
    target = {(r["site"], r["slot"]): r["coverage"] for r in plan["coverage"]}
    with (tmp_path / "a" / "coverage.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            assert float(row["target_coverage"]) == pytest.approx(
                target[(row["site_id"], row["slot"])], abs=1e-6)
    wrong = run("--scenario", str(small_dir), "--plan", str(plan_dir / "plan.json"),
                "--threat", "low", "--out", str(tmp_path / "b"))
    assert wrong.returncode == 2 and "threat level" in wrong.stderr
    beats = run("--scenario", str(small_dir), "--beats", "--attacker", "mixture", "--days", "2",
                "--seed", "6", "--out", str(tmp_path / "c"), "--format", "csv,geojson")
    assert beats.returncode == 0, beats.stderr
    with (tmp_path / "c" / "roster.csv").open(newline="") as fh:
        tactics = {row["tactic"] for row in csv.DictReader(fh)}
    assert tactics <= {"static", "beat"} and tactics


def test_plan_with_roster_days(small_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    proc = cli_run("plan", "--scenario", str(small_dir), "--attacker", "mixture",
                   "--roster-days", "2", "--seed", "3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    with (out / "roster" / "roster.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {"site_id", "start"} <= set(rows[0])
    bad = cli_run("plan", "--scenario", str(small_dir), "--roster-days", "0")
    assert bad.returncode == 2 and "--roster-days" in bad.stderr


def test_plan_with_beats_then_roster_of_beats(small_dir: Path, tmp_path: Path) -> None:
    plan_dir = tmp_path / "plan"
    made = cli_run("plan", "--scenario", str(small_dir), "--attacker", "mixture", "--beats",
                   "--out", str(plan_dir))
    assert made.returncode == 0, made.stderr
    assert "Price of beats" in made.stdout
    doc = json.loads((plan_dir / "beats.geojson").read_text())
    assert doc["features"]
    for f in doc["features"]:
        assert f["geometry"]["type"] == "LineString"
        assert {"slot", "stops", "dwell_minutes"} <= set(f["properties"])
    saved = json.loads((plan_dir / "beats.json").read_text())
    assert saved["price"]["mixture"]["price"] >= -1e-9  # walking never beats standing
    out = tmp_path / "r"
    proc = run("--scenario", str(small_dir), "--plan", str(plan_dir / "plan.json"), "--beats",
               "--days", "3", "--seed", "2", "--out", str(out), "--format", "csv,geojson,html")
    assert proc.returncode == 0, proc.stderr
    with (out / "roster.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    tours = [r for r in rows if r["tactic"] == "beat"]
    assert tours and all(r["beat_id"] and r["hub"] and int(r["stop"]) >= 1 for r in tours)
    walks = json.loads((out / "beats.geojson").read_text())["features"]
    assert any(f["geometry"]["type"] == "LineString" and f["properties"]["stops"]
               for f in walks)
    no_beats = tmp_path / "plain"
    assert cli_run("plan", "--scenario", str(small_dir), "--attacker", "mixture", "--out",
                   str(no_beats)).returncode == 0
    missing = run("--scenario", str(small_dir), "--plan", str(no_beats / "plan.json"),
                  "--beats", "--out", str(tmp_path / "m"))
    assert missing.returncode == 2 and "beats.json" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_bad_beats_csv_is_one_line(small_dir: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "scenario"
    shutil.copytree(small_dir, folder)
    (folder / "beats.csv").write_text("action,id,stops,dwell_minutes\nadd,x,abbey,45\n")
    proc = cli_run("plan", "--scenario", str(folder), "--attacker", "mixture", "--beats")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "dwell_minutes" in proc.stderr and "row 2" in proc.stderr
