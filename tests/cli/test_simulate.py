"""``citywatch simulate | compare | whatif | capacity`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from citywatch.cli import simulate as commands

KEYS = ("expected_casualties_per_attack", "median_minutes_to_armed_intervention",
        "p90_minutes_to_armed_intervention")


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """The commands on an app of their own (the main app registers the same functions)."""
    a = typer.Typer(pretty_exceptions_enable=False)
    for name in ("simulate", "compare", "whatif", "capacity"):
        a.command(name)(getattr(commands, name))
    return a


def invoke(app: typer.Typer, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return r.exit_code, r.stdout


def test_simulate_json(app: typer.Typer, tiny_dir: Path) -> None:
    code, out = invoke(app, "simulate", "--scenario", str(tiny_dir), "-n", "100000",
                       "--seed", "1", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["attacks"] == 100_000 and data["complete"]
    o = data["overall"]
    assert o["median_minutes_ci"][0] <= o["median_minutes"] <= o["median_minutes_ci"][1]
    assert set(data["by_type"]) <= {"mtfa", "vehicle"}
    code2, out2 = invoke(app, "simulate", "--scenario", str(tiny_dir), "-n", "100000",
                         "--seed", "1", "--json")
    assert out2 == out


def test_simulate_text_with_rosters_and_fixed_target(app: typer.Typer, tiny_dir: Path) -> None:
    code, out = invoke(app, "simulate", "--scenario", str(tiny_dir), "-n", "50000",
                       "--seed", "2", "--targeting", "fixed", "--site", "alpha", "--slot",
                       "day", "--rosters", "200", "--by", "slot")
    assert code == 0
    assert "Expected casualties per attack" in out and "By slot" in out


def test_compare_plans(app: typer.Typer, tiny_dir: Path, tmp_path: Path) -> None:
    from citywatch.model.io import load_scenario
    from citywatch.plan import make_plan, write_plan

    write_plan(make_plan(load_scenario(tiny_dir), attacker="mixture"), tmp_path / "p")
    code, out = invoke(app, "compare", str(tmp_path / "p"), "uniform", "static",
                       "--scenario", str(tiny_dir), "-n", "50000", "--seed", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data["plans"]) == [str(tmp_path / "p"), "uniform", "static"]
    assert {d["plan"] for d in data["differences"]} == {"uniform", "static"}
    code, out = invoke(app, "compare", "optimal", "footfall", "--scenario", str(tiny_dir),
                       "-n", "50000", "--seed", "3")
    assert code == 0 and "significant" in out


def test_whatif_json_has_the_issue_keys(app: typer.Typer, tiny_dir: Path) -> None:
    code, out = invoke(app, "whatif", "--scenario", str(tiny_dir), "--add-officers", "20",
                       "--threat", "substantial", "--event", "alpha,night,2000",
                       "-n", "50000", "--seed", "4", "--json")
    assert code == 0
    data = json.loads(out)
    for side in ("before", "after"):
        assert all(isinstance(v, int) for v in data[side]["teams_on_duty"].values())
        for key in KEYS:
            low, high = data[side][f"{key}_ci"]
            assert low <= data[side][key] <= high
    assert data["after"]["threat_level"] == "SUBSTANTIAL"


def test_whatif_and_capacity_text(app: typer.Typer, tiny_dir: Path, tmp_path: Path) -> None:
    code, out = invoke(app, "whatif", "--scenario", str(tiny_dir), "--close-site", "bravo",
                       "-n", "20000", "--seed", "5")
    assert code == 0 and "close bravo" in out and "closed" in out
    pytest.importorskip("matplotlib")
    code, out = invoke(app, "capacity", "--scenario", str(tiny_dir), "--officers", "0:40:20",
                       "-n", "20000", "--seed", "6", "--out", str(tmp_path / "cap.svg"))
    assert code == 0 and (tmp_path / "cap.svg").exists() and "+40" in out


@pytest.mark.parametrize(("args", "needle"), [
    (["whatif", "--event", "nowhere,20-24,100"], "`site`"),
    (["whatif", "--event", "oops"], "`event`"),
    (["capacity", "--officers", "0:100:-5"], "`officers`"),
    (["compare", "nonsense"], "`PLAN`"),
    (["simulate", "--by", "borough"], "`--by`"),
])
def test_bad_input_is_one_line_exit_2(args: list[str], needle: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "citywatch", *args, "-n", "1000"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and needle in proc.stderr


def test_whatif_london_default_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "citywatch", "whatif", "--add-officers", "600",
                           "-n", "200000", "--seed", "1", "--json"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["after"]["officers"] == data["before"]["officers"] + 600


def test_report_writes_html(tiny_dir: Path, tmp_path: Path) -> None:
    a = typer.Typer(pretty_exceptions_enable=False)
    a.command("report")(commands.report)
    a.command("noop")(lambda: None)
    code, out = invoke(a, "report", "--scenario", str(tiny_dir), "--out",
                       str(tmp_path / "r.html"), "-n", "20000", "--seed", "1",
                       "--add-officers", "20")
    assert code == 0 and (tmp_path / "r.html").exists() and "wrote" in out
