"""``citywatch plan --response-standard`` and ``scenario explain --plan``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._cli import assert_clean_error, run


@pytest.mark.parametrize("bad", ["10m@120%", "fast", "0m"])
def test_bad_standard_is_one_line_naming_option_and_value(tiny_dir: Path, bad: str) -> None:
    proc = run("plan", "--scenario", str(tiny_dir), "--response-standard", bad)
    assert_clean_error(proc, "--response-standard", repr(bad))
    assert len(proc.stderr.strip().splitlines()) == 1


def test_standard_the_fleet_cannot_meet_is_a_clean_error(tiny_dir: Path) -> None:
    proc = run("plan", "--scenario", str(tiny_dir), "--officers", "100", "--attacker",
               "mixture", "--response-standard", "15m")
    assert_clean_error(proc, "response standard 15m@100%")


def test_plan_meets_and_reports_the_standard(tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    proc = run("plan", "--scenario", str(tiny_dir), "--officers", "200", "--attacker",
               "mixture", "--response-standard", "16m", "--response-standard", "14m@60%",
               "--json", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["response_standards"] == ["16m@100%", "14m@60%"]
    for slot, rep in data["response_report"].items():
        assert rep["worst_minutes"] <= 16.0 + 1e-9, slot
        assert rep["within"]["15"] >= 0.6 and rep["meets_standards"]
        worst = max(data["response_minutes"][slot].values())
        assert rep["worst_minutes"] == pytest.approx(worst, abs=0.01)
    header = (out / "coverage.csv").read_text().splitlines()[0].split(",")
    assert {"site_id", "slot", "coverage", "people", "response_minutes"} <= set(header)
    # explain shows the plan's own posts and response times
    proc = run("scenario", "explain", "alpha", "--scenario", str(tiny_dir), "--plan",
               str(out))
    assert proc.returncode == 0, proc.stderr
    assert "ARV posts: from" in proc.stdout
    alpha = data["response_minutes"]["day"]["alpha"]
    assert f"{alpha:.1f}" in proc.stdout
