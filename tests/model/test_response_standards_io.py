"""Response standards in scenario.toml: loaded, validated naming the field, round-tripped."""

from __future__ import annotations

from pathlib import Path

import pytest

from citywatch.data import london
from citywatch.errors import ScenarioError
from citywatch.model.io import load_scenario, save_scenario
from citywatch.model.standards import ResponseStandard
from tests._scenarios import TINY_TOML, write_tiny


def test_london_ships_the_15_minute_standard_and_export_keeps_it(tmp_path: Path) -> None:
    sc = london()
    assert sc.response_standards == (ResponseStandard(15.0, 1.0),)
    back = load_scenario(save_scenario(sc, tmp_path / "x"))
    assert back.response_standards == sc.response_standards


def test_standards_load_and_bad_ones_name_the_field(tmp_path: Path) -> None:
    toml = TINY_TOML + '\n[response]\nstandards = ["10m@90%", "20m"]\n'
    sc = load_scenario(write_tiny(tmp_path / "a", scenario_toml=toml))
    assert sc.response_standards == (ResponseStandard(10.0, 0.9), ResponseStandard(20.0))
    bad = TINY_TOML + '\n[response]\nstandards = ["10m@90%", "soon"]\n'
    with pytest.raises(ScenarioError) as err:
        load_scenario(write_tiny(tmp_path / "b", scenario_toml=bad))
    assert any(p.field == "response.standards[1]" and p.value == "soon"
               for p in err.value.problems)
    assert load_scenario(write_tiny(tmp_path / "c")).response_standards == ()
