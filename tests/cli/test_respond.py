"""``citywatch respond`` and ``citywatch dispatch``, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _cli import assert_clean_error, run
from hypothesis import given, settings
from hypothesis import strategies as st


def test_respond_tiny_json(tiny_dir: Path) -> None:
    proc = run("respond", "--scenario", str(tiny_dir), "--model", "mclp", "--vehicles", "2",
               "--standard", "8m", "--demand", "sites", "--slot", "night", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["optimal"] is True and data["vehicles"] == 2
    assert set(data["share_within"]) >= {"5", "8", "10"}
    assert data["slot"] == "night" and len(data["chosen_ids"]) == 2
    assert 0 <= data["covered_weight"] <= data["total_weight"]


@pytest.mark.parametrize("model", ["lscp", "mexclp", "pmedian", "pcenter", "backup"])
def test_respond_every_model(tiny_dir: Path, model: str) -> None:
    args = ["respond", "--scenario", str(tiny_dir), "--model", model, "--demand", "sites",
            "--standard", "30m", "--json"]
    if model != "lscp":
        args += ["--vehicles", "2"]
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["model"] == model


def test_respond_out_writes_geojson(tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "resp"
    proc = run("respond", "--scenario", str(tiny_dir), "--vehicles", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "People reached" in proc.stdout
    geo = json.loads((out / "cells.geojson").read_text())
    cells = [f for f in geo["features"] if f["geometry"]["type"] == "Polygon"]
    assert cells and all("response_min" in f["properties"] and f["properties"]["fill"]
                         for f in cells)
    assert json.loads((out / "respond.json").read_text())["demand"] == "grid"


def test_respond_instance(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    times = rng.uniform(0, 900, (30, 6))
    weights = rng.integers(1, 10, 30).astype(float)
    path = tmp_path / "inst.npz"
    np.savez(path, times=times, weights=weights)
    proc = run("respond", "--instance", str(path), "--model", "mclp", "--vehicles", "2",
               "--standard", "480", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"chosen", "covered_weight", "objective", "optimal", "seconds"} <= set(data)
    chosen = data["chosen"]
    assert data["covered_weight"] == pytest.approx(
        weights[(times[:, chosen] <= 480).any(axis=1)].sum())
    assert data["objective"] == pytest.approx(data["covered_weight"])
    proc = run("respond", "--instance", str(path), "--model", "pcenter", "--vehicles", "2",
               "--json")
    data = json.loads(proc.stdout)
    assert data["objective"] == pytest.approx(times[:, data["chosen"]].min(axis=1).max())


def test_respond_errors(tiny_dir: Path, tmp_path: Path) -> None:
    assert_clean_error(run("respond", "--scenario", str(tiny_dir), "--model", "magic"),
                       "`--model`")
    assert_clean_error(run("respond", "--scenario", str(tiny_dir), "--standard", "soon"),
                       "`--standard`")
    assert_clean_error(run("respond", "--instance", str(tmp_path / "none.npz")), "`--instance`")
    assert_clean_error(run("respond", "--scenario", str(tiny_dir), "--vehicles", "99"),
                       "exceeds")


def test_dispatch_ranks_units(tiny_dir: Path) -> None:
    proc = run("dispatch", "--scenario", str(tiny_dir), "--at", "51.50,-0.12", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    etas = [r["eta_min"] for r in data["recommended"]]
    assert etas == sorted(etas) and data["recommended"][0]["rank"] == 1
    first = data["recommended"][0]["unit"]
    proc = run("dispatch", "--scenario", str(tiny_dir), "--at", "51.50,-0.12", "--busy", first,
               "--json")
    again = json.loads(proc.stdout)
    assert first not in [r["unit"] for r in again["recommended"]]
    for option in again["moveups"]:
        assert option["share_after"] > option["share_now"]
        assert all(m["unit"] != first for m in option["moves"])
    proc = run("dispatch", "--scenario", str(tiny_dir), "--at", "51.50,-0.12")
    assert proc.returncode == 0 and "ETA" in proc.stdout


def test_dispatch_errors(tiny_dir: Path) -> None:
    assert_clean_error(run("dispatch", "--scenario", str(tiny_dir), "--at", "51.5"), "`--at`")
    assert_clean_error(run("dispatch", "--scenario", str(tiny_dir), "--at", "51.5,-0.1",
                           "--busy", "ARV77"), "ARV77")


@settings(deadline=None)
@given(st.floats(min_value=0.01, max_value=1e4, allow_nan=False), st.sampled_from(
    ["m", "min", "minutes", "s", "sec", "seconds", ""]))
def test_parse_standard_units(value: float, unit: str) -> None:
    from citywatch.cli.respond import parse_standard

    text = f"{value:.3f}{unit}"
    minutes = parse_standard(text, bare_unit="s")
    number = float(f"{value:.3f}")
    assert minutes == pytest.approx(number if unit.startswith("m") else number / 60.0)


@settings(deadline=None)
@given(st.text(alphabet="abcxyz-!, ", min_size=1, max_size=8))
def test_parse_standard_rejects_words(text: str) -> None:
    from citywatch.cli.respond import parse_standard
    from citywatch.errors import ScenarioError

    with pytest.raises(ScenarioError, match="`--standard`"):
        parse_standard(text, bare_unit="m")
