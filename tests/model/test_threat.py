"""Threat levels and posture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from citywatch.errors import ScenarioError
from citywatch.model.threat import ThreatLevel, default_postures, load_postures


def test_official_meanings() -> None:
    assert [lvl.name for lvl in ThreatLevel] == ["LOW", "MODERATE", "SUBSTANTIAL", "SEVERE",
                                                 "CRITICAL"]
    assert ThreatLevel.SEVERE.meaning == "an attack is highly likely"
    assert ThreatLevel.parse("critical") is ThreatLevel.CRITICAL
    with pytest.raises(ScenarioError, match="got 'purple'"):
        ThreatLevel.parse("purple")


def test_default_postures_rise_with_threat() -> None:
    table = default_postures()
    assert table.version
    likelihood = [table[lvl].attack_likelihood for lvl in ThreatLevel]
    share = [table[lvl].deployed_share for lvl in ThreatLevel]
    assert likelihood == sorted(likelihood) and share == sorted(share)


def test_bad_posture_file(tmp_path: Path) -> None:
    path = tmp_path / "threat_levels.toml"
    path.write_text('version = "x"\n[LOW]\nattack_likelihood = -1\ndeployed_share = 2\n'
                    'shift_extension_hours = 0\n')
    with pytest.raises(ScenarioError) as info:
        load_postures(path)
    fields = {p.field for p in info.value.problems}
    assert {"LOW.attack_likelihood", "LOW.deployed_share", "SEVERE"} <= fields
