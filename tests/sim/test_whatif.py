"""What-if changes, re-planning, and the capacity curve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citywatch.errors import MissingDependencyError, ScenarioError
from citywatch.model.io import load_scenario
from citywatch.model.scenario import Scenario
from citywatch.sim.whatif import (
    Event,
    apply_changes,
    capacity,
    parse_event,
    parse_range,
    plot_capacity,
    whatif,
)

KEYS = ("expected_casualties_per_attack", "median_minutes_to_armed_intervention",
        "p90_minutes_to_armed_intervention")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    from _scenarios import write_tiny

    return load_scenario(write_tiny(Path(tmp_path_factory.mktemp("tiny")) / "tiny"))


def test_parse_event_and_range() -> None:
    assert parse_event("alpha, day, 5000") == Event("alpha", "day", 5000.0)
    for bad in ("alpha,day", "alpha,day,many", "alpha,day,-3"):
        with pytest.raises(ScenarioError, match="`event`"):
            parse_event(bad)
    assert parse_range("0:300:100") == [0, 100, 200, 300]
    assert parse_range("0,50") == [0, 50]
    with pytest.raises(ScenarioError, match="`officers`"):
        parse_range("0:100:0")


def test_apply_changes(tiny: Scenario) -> None:
    sc = apply_changes(tiny, add_officers=100, threat="critical", close_sites=["bravo"],
                       events=[Event("alpha", "night", 1000)])
    assert sc.force.officers == tiny.force.officers + 100
    assert sc.threat_level.name == "CRITICAL"
    assert "bravo" not in sc.site_ids and len(sc.sites) == 4
    assert sc.site("alpha").people[1] == tiny.site("alpha").people[1] + 1000
    with pytest.raises(ScenarioError, match="`add_officers`"):
        apply_changes(tiny, add_officers=-10_000)
    with pytest.raises(ScenarioError, match="`site`"):
        apply_changes(tiny, close_sites=["nowhere"])


def test_whatif_json_shape(tiny: Scenario) -> None:
    w = whatif(tiny, add_officers=40, n=100_000, seed=1)
    data = json.loads(json.dumps(w.to_dict()))
    for side in ("before", "after"):
        d = data[side]
        assert set(d["teams_on_duty"]) == {"day", "night"}
        for key in KEYS:
            low, high = d[f"{key}_ci"]
            assert isinstance(d[key], float) and low <= d[key] <= high
    assert all(v >= 0 for v in data["change"]["teams_on_duty"].values())
    assert sum(data["change"]["teams_on_duty"].values()) > 0
    # more officers: expected loss of the re-planned game does not rise
    assert data["after"]["plan_expected_loss"] <= data["before"]["plan_expected_loss"] + 1e-9


def test_no_change_is_no_change(tiny: Scenario) -> None:
    w = whatif(tiny, n=50_000, seed=4)
    assert w.before.to_dict() == w.after.to_dict()


def test_capacity_curve_and_plot(tiny: Scenario, tmp_path: Path) -> None:
    curve = capacity(tiny, added=[0, 20, 40], n=50_000, seed=2)
    assert [p.added for p in curve.points] == [0, 20, 40]
    assert [p.officers for p in curve.points] == [tiny.force.officers + a for a in (0, 20, 40)]
    losses = [p.plan_expected_loss for p in curve.points]
    assert losses == sorted(losses, reverse=True)
    assert len(curve.marginal()) == 2
    pytest.importorskip("matplotlib")
    for suffix in ("png", "svg"):
        out = plot_capacity(curve, tmp_path / f"cap.{suffix}")
        assert out.stat().st_size > 1000
    with pytest.raises(ScenarioError, match="`path`"):
        plot_capacity(curve, tmp_path / "cap.pdf")


def test_missing_matplotlib_names_the_extra(tiny: Scenario, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    curve = capacity(tiny, added=[0], n=10_000, seed=2)
    with pytest.raises(MissingDependencyError, match=r"pip install 'citywatch\[plot\]'"):
        plot_capacity(curve, tmp_path / "cap.png")
