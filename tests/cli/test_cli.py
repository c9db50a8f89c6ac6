"""The command line, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _cli import assert_clean_error, run
from _scenarios import SITES, write_tiny

from citywatch.data import london


def test_plan_tiny_json(tiny_dir: Path) -> None:
    proc = run("plan", "--scenario", str(tiny_dir), "--attacker", "mixture", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data["slots"]) == {"day", "night"}
    assert {r["site"] for r in data["coverage"]} == {"alpha", "bravo", "charlie", "delta",
                                                     "echo"}
    for slot, teams in data["slots"].items():
        used = sum(r["coverage"] for r in data["coverage"] if r["slot"] == slot)
        assert used <= teams + 1e-6
    assert data["defender_utility"] < 0


def test_plan_out_writes_files(tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    proc = run("plan", "--scenario", str(tiny_dir), "--attacker", "mixture", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Expected casualties per attack" in proc.stdout and "game value" in proc.stdout
    geo = json.loads((out / "sites.geojson").read_text())
    assert len(geo["features"]) == 5
    assert (out / "coverage.csv").read_text().count("\n") == 1 + 10
    assert json.loads((out / "plan.json").read_text())["method"] == "origami"


def test_validate_lists_every_problem(tmp_path: Path) -> None:
    bad = SITES.replace("1500,50", "-1500,50").replace("51.50,-0.12", "north,-0.12")
    folder = write_tiny(tmp_path / "bad", sites_csv=bad)
    proc = run("scenario", "validate", str(folder))
    assert_clean_error(proc, "sites.csv row 2", "`lat`", "sites.csv row 3", "people_day")


def test_validate_ok(tiny_dir: Path) -> None:
    proc = run("scenario", "validate", str(tiny_dir))
    assert proc.returncode == 0 and "ok: Tiny" in proc.stdout


@pytest.mark.parametrize(("args", "needle"), [
    (["plan", "--scenario", "atlantis"], "`--scenario`"),
    (["plan", "--threat", "purple"], "`threat_level`"),
    (["plan", "--officers", "12"], "`--officers`"),
    (["plan", "--attacker", "psychic"], "`attacker`"),
    (["scenario", "explain", "nowhere_at_all"], "`site`"),
    (["scenario", "validate", "/no/such/folder"], "scenario.toml"),
])
def test_bad_input_one_line_exit_2(args: list[str], needle: str) -> None:
    proc = run(*args)
    assert_clean_error(proc, needle)
    assert len(proc.stderr.strip().splitlines()) <= 2


def test_bad_scenario_for_plan_is_one_line(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "bad", sites_csv=SITES.replace("1500,50", "-1500,50"))
    proc = run("plan", "--scenario", str(folder))
    assert_clean_error(proc, "citywatch scenario validate")


def test_london_export_validate_explain(tmp_path: Path) -> None:
    out = tmp_path / "london"
    proc = run("scenario", "export", "london", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert {"scenario.toml", "sites.csv", "zones.csv", "standby.csv",
            "threat_levels.toml"} <= {p.name for p in out.iterdir()}
    proc = run("scenario", "validate", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"{len(london().sites)} sites" in proc.stdout
    proc = run("scenario", "explain", "oxford_circus_stn")
    assert proc.returncode == 0, proc.stderr
    assert "Oxford Circus" in proc.stdout and "ARV response" in proc.stdout


def test_london_plan_json_default_keys() -> None:
    proc = run("plan", "--attacker", "mixture", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert list(data["slots"]) == ["00-04", "04-08", "08-12", "12-16", "16-20", "20-24"]
    assert isinstance(data["defender_utility"], float)
    assert {"site", "slot", "coverage", "filler"} == set(data["coverage"][0])
    assert data["expected_casualties_per_attack"] > 0 and "units" in data


def test_error_text_with_brackets_is_printed_verbatim() -> None:
    """Rich markup must not eat `[web]`-like text (e.g. install commands) in errors."""
    proc = run("plan", "--scenario", "nowhere[web]")
    assert_clean_error(proc, "nowhere[web]")
