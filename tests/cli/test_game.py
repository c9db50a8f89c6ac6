"""``citywatch game`` commands."""

from __future__ import annotations

import json
from pathlib import Path

from _cli import assert_clean_error, run

from citywatch.games import solve_multiple_lps
from citywatch.games.io import load_game


def test_random_then_solve_json(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    proc = run("game", "random", "--targets", "15", "--resources", "3", "--seed", "3",
               "--out", str(path))
    assert proc.returncode == 0, proc.stderr
    proc = run("game", "solve", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"coverage", "defender_utility", "attack", "method", "optimal", "gap",
            "seconds"} <= set(data)
    assert len(data["coverage"]) == 15 and data["optimal"] is True
    reference = solve_multiple_lps(load_game(path))
    assert abs(data["defender_utility"] - reference.defender_utility) < 1e-6


def test_export_tiny_scenario(tiny_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    proc = run("game", "export", "--scenario", str(tiny_dir), "--out", str(path))
    assert proc.returncode == 0, proc.stderr
    game = load_game(path)
    assert game.n_targets == 10 and game.n_types == 2
    assert game.target_labels is not None and game.target_labels[0] == "alpha@day"


def test_invalid_file_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"resources": 5, "attacker_types": [
        {"prior": 1, "defender": {"covered": [1, 1], "uncovered": [0, 0]},
         "attacker": {"covered": [0, 0], "uncovered": [1, 1]}}]}))
    assert_clean_error(run("game", "solve", str(path)), "`resources`")
    assert_clean_error(run("game", "solve", str(path), "--method", "magic"), "`--method`")


def test_lp_solver_json_is_clean(tmp_path: Path) -> None:
    """HiGHS's banner must not leak into JSON on stdout."""
    path = tmp_path / "g.json"
    assert run("game", "random", "--targets", "8", "--resources", "2", "--seed", "1",
               "--out", str(path)).returncode == 0
    proc = run("game", "solve", str(path), "--method", "multiple-lps", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["method"] == "multiple-lps"


def test_bayesian_solve_reports_method_bound_and_gap(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    assert run("game", "random", "--targets", "10", "--resources", "2", "--types", "3",
               "--seed", "4", "--out", str(path)).returncode == 0
    levels = run("game", "solve", str(path), "--json")
    milp = run("game", "solve", str(path), "--method", "bayesian-milp", "--json")
    assert levels.returncode == 0 and milp.returncode == 0, levels.stderr + milp.stderr
    a, b = json.loads(levels.stdout), json.loads(milp.stdout)
    assert a["method"] == "bayesian-levels" and b["method"] == "bayesian-tight"
    assert a["optimal"] and a["gap"] == 0.0 and a["relative_gap"] == 0.0
    assert a["bound_source"] == "level branch and bound"
    assert abs(a["defender_utility"] - b["defender_utility"]) < 1e-6
    text = run("game", "solve", str(path), "--node-limit", "1")
    assert text.returncode == 0, text.stderr
    assert "bayesian-levels" in text.stdout and "bound:" in text.stdout
    assert "proven optimal" in text.stdout or "proven gap" in text.stdout
